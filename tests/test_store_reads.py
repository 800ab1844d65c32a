"""The store's read API (models, runs, run results, findings, samples) and `opentrust history` on top of it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from opentrust.backends.base import Completion, GenerationRequest
from opentrust.errors import UserError
from opentrust.findings import Finding, Severity
from opentrust.store import Store
from tests.conftest import run_cli


def _fill(store: Store, runs: int) -> list[str]:
    ids = []
    for i in range(runs):
        fp = f"fp{i % 3}"
        store.record_model(fp, "gguf", f"model-{i % 3}.gguf", f"model-{i % 3}", f"/m/{i % 3}.gguf")
        run_id, _ = store.start_run("audit" if i % 2 else "test", f"model-{i % 3}.gguf", fp, {"i": i})
        store.save_results(run_id, "smoke", [Finding(rule_id=f"R{i % 4}", severity=list(Severity)[i % 5], title="t")],
                           [])
        store.finish_run(run_id, "done", json.dumps({"i": i}))
        ids.append(run_id)
    return ids


def test_models_runs_findings_with_filters_and_pages(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        ids = _fill(store, 30)
        models = store.models()
        assert [m["fingerprint"] for m in models] and {m["fingerprint"] for m in models} == {"fp0", "fp1", "fp2"}
        assert all(m["runs"] == 10 and m["names"][0]["spec"].startswith("model-") for m in models)
        assert [m["fingerprint"] for m in store.models(location="/m/1.gguf")] == ["fp1"]

        fp0 = store.runs(fingerprint="fp0", limit=100)
        assert len(fp0) == 10 and {r["id"] for r in fp0} == set(ids[0::3])
        assert [r["id"] for r in fp0] == list(reversed(ids[0::3]))  # newest first
        page1, page2 = store.runs(limit=7), store.runs(limit=7, offset=7)
        assert not {r["id"] for r in page1} & {r["id"] for r in page2}
        assert all(r["command"] == "audit" for r in store.runs(command="audit"))
        assert sum(fp0[0]["findings"].values()) == 1 and fp0[0]["has_result"]

        high = store.findings(severity="high", limit=1000)
        assert high and all(f["severity"] in ("critical", "high") for f in high)
        assert all(f["run_id"] == ids[4] for f in store.findings(run_id=ids[4]))
        assert len(store.findings(fingerprint="fp1", limit=1000)) == 10
        assert [f["rule_id"] for f in store.findings(rule_id="R2", limit=1000)] == ["R2"] * 7  # i = 2, 6, ..., 26
        with pytest.raises(UserError, match="unknown severity"):
            store.findings(severity="urgent")


def test_run_result_reads_back_and_unknown_runs_are_user_errors(tmp_path: Path) -> None:
    from opentrust.evals.suite import load_suite
    from opentrust.evals.testrun import run_cases

    suite = tmp_path / "s.yaml"
    suite.write_text("cases:\n  - id: c\n    prompt: hi\n    require: {max_samples: 2}\n"
                     "    assert: [{type: contains, value: hi}]\n")
    run = run_cases(load_suite(suite).cases, "fake:echo", db=tmp_path / "s.db")
    with Store(tmp_path / "s.db") as store:
        result = store.run_result(run.run_id)
        assert result.kind == "test" and result.cases[0].id == "c"
        samples = store.samples(run_id=run.run_id)
        assert len(samples) == 2 and not any(s["reused"] for s in samples)
        assert store.samples(run_id=run.run_id, reused=True) == []
        assert len(store.samples(fingerprint=run.model["fingerprint"], backend="fake", legacy=False)) == 2
        with pytest.raises(UserError, match="no run"):
            store.run_result("nope")
        with pytest.raises(UserError, match="needs run_id"):
            store.samples(reused=True)


def test_reads_use_indexes_and_stay_fast_with_thousands_of_runs(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        req = GenerationRequest.chat("x")
        with store._lock:
            store.db.execute("BEGIN")
            for i in range(3000):
                fp = f"fp{i % 50}"
                store.db.execute("INSERT INTO runs (id, command, target, fingerprint, parameters, param_hash, "
                                 "started_at, status) VALUES (?, 'test', ?, ?, '{}', 'h', ?, 'done')",
                                 (f"r{i:05d}", f"m{i % 50}", fp, f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}"))
                store.db.execute("INSERT INTO findings (run_id, check_name, rule_id, severity, body) "
                                 "VALUES (?, 'c', 'R', 'low', '{}')", (f"r{i:05d}",))
            store.db.execute("COMMIT")
        for i in range(20):
            store.put_sample("fp0", req.cache_key(), i, req.model_dump_json(), Completion(text="t", seed=i), "r00000")
        plans = {
            "runs by model": "SELECT id FROM runs WHERE fingerprint='fp7' ORDER BY started_at DESC LIMIT 20",
            "findings of a run": "SELECT body FROM findings WHERE run_id='r00010'",
            "samples of a run": "SELECT * FROM samples WHERE run_id='r00000'",
            "run samples": "SELECT * FROM run_samples WHERE run_id='r00000'",
        }
        for what, sql in plans.items():
            plan = " ".join(str(row[-1]) for row in store.db.execute("EXPLAIN QUERY PLAN " + sql))
            assert "USING" in plan and "SCAN" not in plan, f"{what}: {plan}"
        start = time.perf_counter()
        for i in range(50):
            assert len(store.runs(fingerprint=f"fp{i}", limit=20)) == 20
        assert time.perf_counter() - start < 2.0


def test_history_lists_a_models_runs(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    suite = tmp_path / "s.yaml"
    suite.write_text("cases:\n  - id: c\n    prompt: hi\n    require: {max_samples: 2}\n"
                     "    assert: [{type: contains, value: hi}]\n")
    for _ in range(2):
        assert run_cli("test", str(suite), "-m", "fake:echo", "--db", str(db)).returncode == 0
    r = run_cli("history", "fake:echo", "--db", str(db), "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    [model] = data["models"]
    assert [run["samples"] for run in model["runs"]] == [{"generated": 0, "reused": 2}, {"generated": 2, "reused": 0}]
    table = run_cli("history", "fake:echo", "--db", str(db))
    assert table.returncode == 0 and model["runs"][0]["id"] in table.stdout and "0/2" in table.stdout.replace(" ", "")
    empty = run_cli("history", "fake:text=never", "--db", str(db))
    assert empty.returncode == 0 and "no runs recorded" in empty.stdout
    bad = run_cli("history", "fake:echo", "--db", str(db), "--format", "xml")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown format" in bad.stderr


def test_history_of_a_file_matches_its_weights_whatever_its_name(tmp_path: Path, smollm2_path: Path) -> None:
    from opentrust.target import file_sha256

    db = tmp_path / "s.db"
    with Store(db) as store:
        digest = file_sha256(smollm2_path, store)
        store.record_model(digest, "gguf", "smollm2", "smollm2", str(smollm2_path))
        run_id, _ = store.start_run("audit", "smollm2", digest, {})
    r = run_cli("history", str(smollm2_path), "--db", str(db), "--format", "json")
    assert r.returncode == 0, r.stderr
    [model] = json.loads(r.stdout)["models"]
    assert model["fingerprint"] == digest and [x["id"] for x in model["runs"]] == [run_id]
