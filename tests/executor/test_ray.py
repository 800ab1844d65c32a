"""`--executor ray` on a real two-node Ray cluster (tests/executor/conftest.py) with the real SmolLM2 model.

Asserted: the same seeds give the same result and the same sample texts on the local and the Ray executor; the
cache is consulted before work is shipped; a worker killed with kill -9, a node stopped and the driver killed
mid-run each lose and duplicate nothing; model files are placed with custom resources; `opentrust workers`
shows the cluster.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.executor.conftest import Cluster, _pids_with

pytestmark = pytest.mark.slow

CASES = ["-k", "capital[italy]", "-k", "capital[japan]"]
CAMPAIGN = ["-c", "prompt_injection,system_prompt_leak", "--mutators", "none"]


def _ray(cluster: Cluster) -> list[str]:
    return ["--executor", "ray", "--ray-address", cluster.address]


def _json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return json.loads(proc.stdout)


def _cases(doc: dict[str, Any]) -> list[tuple]:
    return [(c["id"], c["verdict"], c["samples"], c.get("ci")) for c in doc["cases"]]


def _probes(doc: dict[str, Any]) -> list[tuple]:
    return sorted((p["id"], p["verdict"], p["samples"], p["attack_successes"]) for p in doc["probes"])


def _samples(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT request_hash, sample_index, provenance_hash, text FROM samples "
                           "ORDER BY 1, 2").fetchall()


def _no_duplicates(db: Path) -> int:
    rows = _samples(db)
    keys = [r[:3] for r in rows]
    assert len(keys) == len(set(keys)), "a sample was stored twice"
    return len(rows)


def _report(what: str, doc: dict[str, Any], db: Path, expected: int) -> None:
    """One line per fault for the record (pytest -s shows it): what the issue asks a closing note to show."""
    stored = len(_samples(db))
    keys = len({r[:3] for r in _samples(db)})
    print(f"\n{what}: expected {expected} samples, stored {stored}, lost {expected - keys}, duplicated "
          f"{stored - keys}, retried {(doc.get('executor') or {}).get('retried')}, generated "
          f"{doc['summary']['generated']}, reused {doc['summary']['reused']}")


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return int(con.execute("SELECT count(*) FROM samples").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _wait_for(predicate: Any, timeout: float = 300.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "opentrust", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())


@pytest.fixture(scope="module")
def local_campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[tuple]]:
    db = tmp_path_factory.mktemp("local") / "local.db"
    doc = _json(run_cli("redteam", "smollm2", *CAMPAIGN, "--db", str(db), "--format", "json"))
    return doc, _samples(db)


def test_same_seeds_same_result_and_cache_first(two_nodes: Cluster, tmp_path: Path) -> None:
    local = _json(run_cli("test", "--builtin", *CASES, "--model", "smollm2", "--db", str(tmp_path / "l.db"),
                          "--format", "json"))
    ray_db = tmp_path / "r.db"
    on_ray = _json(run_cli("test", "--builtin", *CASES, "--model", "smollm2", "--db", str(ray_db), "--format", "json",
                           *_ray(two_nodes)))
    assert _cases(on_ray) == _cases(local)
    assert _samples(ray_db) == _samples(tmp_path / "l.db")  # the very same answers, sample by sample
    ex = on_ray["executor"]
    assert ex["name"] == "ray" and ex["workers"] == 2 and ex["retried"] == 0
    assert len(ex["nodes"]) == 2 and all(n["samples"] > 0 for n in ex["nodes"])
    assert sum(n["samples"] for n in ex["nodes"]) == on_ray["suite"]["generated"]
    # each worker loaded the model once and reused it for all its samples
    assert [w["model_loads"] for w in ex["worker_processes"]] == [1, 1]
    assert local["executor"] is None  # drawn in this process

    again = _json(run_cli("test", "--builtin", *CASES, "--model", "smollm2", "--db", str(ray_db), "--format", "json",
                          *_ray(two_nodes)))
    assert _cases(again) == _cases(local)
    assert again["suite"]["generated"] == 0 and again["suite"]["reused"] == local["suite"]["generated"]
    assert sum(n["samples"] for n in again["executor"]["nodes"]) == 0  # nothing was shipped to the cluster


def test_worker_killed_mid_run_loses_nothing(two_nodes: Cluster, local_campaign: Any, tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    proc = _start(["redteam", "smollm2", *CAMPAIGN, "--db", str(db), "--format", "json", *_ray(two_nodes)])
    _wait_for(lambda: _count(db) >= 3 and _pids_with("ray::GenerationWorker"), what="samples from the workers")
    victim = _pids_with("ray::GenerationWorker")[0]
    os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    doc = _json(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    expected, expected_samples = local_campaign
    assert _probes(doc) == _probes(expected)
    assert doc["executor"]["retried"] >= 1
    assert _no_duplicates(db) == len(expected_samples) == doc["summary"]["samples"]
    assert _samples(db) == expected_samples
    _report("worker kill -9", doc, db, len(expected_samples))


def test_node_stopped_mid_run_loses_nothing(two_nodes: Cluster, local_campaign: Any, tmp_path: Path) -> None:
    db = tmp_path / "node.db"
    proc = _start(["redteam", "smollm2", *CAMPAIGN, "--db", str(db), "--format", "json", *_ray(two_nodes)])
    _wait_for(lambda: _count(db) >= 3, what="the first samples")
    two_nodes.stop_node_b()
    out, err = proc.communicate(timeout=600)
    doc = _json(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    expected, expected_samples = local_campaign
    assert _probes(doc) == _probes(expected)
    assert doc["executor"]["retried"] >= 1
    assert _no_duplicates(db) == len(expected_samples)
    assert _samples(db) == expected_samples
    _report("node stopped", doc, db, len(expected_samples))


def test_killed_driver_resumes_from_the_store(two_nodes: Cluster, local_campaign: Any, tmp_path: Path) -> None:
    db = tmp_path / "driver.db"
    args = ["redteam", "smollm2", *CAMPAIGN, "--db", str(db), "--format", "json", *_ray(two_nodes)]
    proc = _start(args)
    try:
        _wait_for(lambda: _count(db) >= 6, what="samples before the kill")
    except AssertionError as exc:  # say what the driver was doing
        proc.kill()
        out, err = proc.communicate(timeout=60)
        raise AssertionError(f"{exc}; stored {_count(db)}; the driver's stderr ends: {err[-3000:]}") from None
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    kept = _count(db)
    assert 0 < kept < len(local_campaign[1])
    resumed = run_cli(*args)
    doc = _json(resumed)
    assert "resumed" in resumed.stderr
    assert doc["summary"]["reused"] >= kept and doc["summary"]["generated"] == len(local_campaign[1]) - \
        doc["summary"]["reused"]
    assert _probes(doc) == _probes(local_campaign[0])
    assert _no_duplicates(db) == len(local_campaign[1])
    _report(f"driver kill -9 after {kept} samples, then rerun", doc, db, len(local_campaign[1]))


def test_model_file_placed_with_custom_resource(two_nodes: Cluster, tmp_path: Path) -> None:
    placed = two_nodes.placed_model  # type: ignore[attr-defined]
    doc = _json(run_cli("test", "--builtin", "-k", "capital[italy]", "--model", str(placed), "--db",
                        str(tmp_path / "p.db"), "--format", "json", *_ray(two_nodes)))
    node_b = two_nodes.node_b_id()[:8]
    assert [n["node"].split("/")[-1] for n in doc["executor"]["nodes"]] == [node_b]  # only node B declares it
    assert doc["suite"]["generated"] > 0


def test_workers_shows_the_cluster(two_nodes: Cluster, llama_server: str) -> None:
    endpoint = f"openai:{llama_server}#smollm2"
    proc = run_cli("workers", "smollm2", endpoint, "--ray-address", two_nodes.address, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    view = json.loads(proc.stdout)
    alive = [n for n in view["nodes"] if n["alive"]]
    assert len(alive) == 2 and view["cpus"] == 2
    assert all(n["targets"]["smollm2"]["ok"] and n["targets"][endpoint]["ok"] for n in alive)
    assert [n["models"] for n in alive if n["models"]] == [["placed-smollm2.gguf"]]
    table = run_cli("workers", "smollm2", "--ray-address", two_nodes.address)
    assert table.returncode == 0 and "2 node(s) alive" in table.stdout


def test_endpoint_on_ray_matches_local(two_nodes: Cluster, llama_server: str, tmp_path: Path) -> None:
    endpoint = f"openai:{llama_server}#smollm2"
    args = ["test", "--builtin", "-k", "capital[italy]", "--model", endpoint, "--format", "json", "--concurrency", "2"]
    local = _json(run_cli(*args, "--db", str(tmp_path / "l.db")))
    on_ray = _json(run_cli(*args, "--db", str(tmp_path / "r.db"), *_ray(two_nodes), "--ray-workers", "2"))
    assert _cases(on_ray) == _cases(local)
    assert _samples(tmp_path / "r.db") == _samples(tmp_path / "l.db")
    assert on_ray["executor"]["workers"] == 2


def test_bad_cluster_options_are_one_line_errors() -> None:
    for args, needle in [(["--executor", "ray", "--ray-address", "127.0.0.1:1"], "nothing answers at 127.0.0.1:1"),
                         (["--ray-workers", "2"], "--ray-workers needs --executor ray"),
                         (["--executor", "dask"], "unknown executor")]:
        proc = run_cli("test", "--builtin", "-k", "capital[italy]", "--model", "smollm2", *args)
        assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr


def test_compare_draws_quality_samples_on_ray(two_nodes: Cluster, tmp_path: Path) -> None:
    args = ["compare", "fake:echo", "fake:refuse", "--format", "json"]
    local = _json(run_cli(*args, "--db", str(tmp_path / "l.db")))
    on_ray = run_cli(*args, "--db", str(tmp_path / "r.db"), *_ray(two_nodes))
    doc = _json(on_ray)
    assert [p["verdict"] for p in doc["pairs"]] == [p["verdict"] for p in local["pairs"]]
    assert doc["recommendation"]["target"] == local["recommendation"]["target"]
    assert doc["summary"]["generated"] == local["summary"]["generated"]
    assert _samples(tmp_path / "r.db") == _samples(tmp_path / "l.db")
    assert "Ray: 2 node(s)" in on_ray.stderr


def test_more_workers_than_the_cluster_has_room_for(two_nodes: Cluster, tmp_path: Path) -> None:
    """Three GGUF workers of one CPU each on a cluster with two CPUs: the run goes on with the two that started
    (after a short grace, not the two-minute start budget) and gets the same result."""
    started = time.monotonic()
    doc = _json(run_cli("test", "--builtin", "-k", "capital[italy]", "--model", "smollm2", "--db",
                        str(tmp_path / "w.db"), "--format", "json", *_ray(two_nodes), "--ray-workers", "3"))
    assert doc["executor"]["workers"] == 2 and doc["cases"][0]["verdict"] == "fail"
    assert time.monotonic() - started < 100
