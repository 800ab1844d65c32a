"""The store's governance tables: an old store upgrades in place and loses nothing; two audits at once both
appear; `opentrust models` and `opentrust history` show each model's evidence and gate verdicts."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from opentrust.store import MIGRATIONS, Store
from tests.conftest import REPO, run_cli
from tests.gguf_writer import write_gguf


def _store_at(path: Path, upto: str) -> None:
    """A store as an older opentrust left it: the migrations up to ``upto`` and nothing after."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    for name, fn in MIGRATIONS:
        db.execute("BEGIN")
        fn(db)
        db.execute("INSERT INTO _migrations VALUES (?, '2026-01-01')", (name,))
        db.execute("COMMIT")
        if name == upto:
            break
    db.close()


def test_a_store_from_before_governance_upgrades_in_place_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _store_at(path, "002_provenance_and_reads")
    old = sqlite3.connect(path)
    with old:
        old.execute("INSERT INTO runs (id, command, target, fingerprint, parameters, param_hash, started_at, "
                    "finished_at, status, report) VALUES ('r1', 'audit', 'm.gguf', 'fp', '{}', 'h', "
                    "'2026-01-01T00:00:00+00:00', '2026-01-01T00:01:00+00:00', 'done', ?)",
                    ((REPO / "tests/data/results/audit-1.0.json").read_text(),))
        old.execute("INSERT INTO models VALUES ('fp', 'gguf', NULL, '2026-01-01', '2026-01-01')")
        old.execute("INSERT INTO model_names VALUES ('fp', 'm.gguf', 'm', '/m.gguf', '2026-01-01', '2026-01-01')")
        old.execute("INSERT INTO samples (fingerprint, request_hash, sample_index, request, text, created_at) "
                    "VALUES ('fp', 'rq', 0, '{}', 'hello', '2026-01-01')")
    tables_before = {t: old.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("runs", "models", "model_names", "samples")}
    old.close()
    with Store(path) as store:
        names = [r[0] for r in store.db.execute("SELECT name FROM _migrations ORDER BY name")]
        assert names == [m[0] for m in MIGRATIONS] and "003_governance" in names
        assert {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables_before} == tables_before
        assert store.run_result("r1").kind == "audit"  # the 1.0 report still loads, upgraded
    r = run_cli("models", "--db", str(path), "--format", "json")
    assert r.returncode == 0, r.stderr
    model = json.loads(r.stdout)["models"][0]
    assert model["names"] == ["m.gguf"] and model["last_audit"]["run_id"] == "r1"
    assert model["openness"]["mof_class"] == 0 and model["openness"]["licence"] == "Apache-2.0"
    with Store(path) as store:  # the summary is computed once and kept
        assert store.inventory_summaries(["r1"])["r1"]["openness"]["mof_class"] == 0


def test_stores_opened_at_once_on_a_new_file_apply_each_migration_once(tmp_path: Path) -> None:
    """Both stores read an empty _migrations table and queue for the write lock (held here); the second one in
    must see that the first applied the migration, not run it again ("table runs already exists")."""
    import threading
    import time

    path = tmp_path / "fresh.db"
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("PRAGMA journal_mode=WAL")
    lock.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    lock.execute("BEGIN IMMEDIATE")
    errors: list[str] = []

    def open_store() -> None:
        try:
            Store(path).close()
        except Exception as exc:  # noqa: BLE001 - the test reports whatever broke
            errors.append(repr(exc))

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    lock.execute("COMMIT")
    for t in threads:
        t.join(60)
    lock.close()
    assert errors == []
    with Store(path) as store:
        assert [r[0] for r in store.db.execute("SELECT name FROM _migrations ORDER BY name")] == [m[0] for m in
                                                                                                 MIGRATIONS]


def test_two_audits_at_once_both_appear_with_their_evidence(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    models = []
    for name, licence in (("one", "mit"), ("two", "apache-2.0")):
        models.append(write_gguf(tmp_path / f"{name}.gguf", {"general.architecture": "llama",
                                                             "general.license": licence},
                                 [("token_embd.weight", (8, 4 if name == "one" else 6))]))
    args = ["--check", "model_facts", "--check", "scan", "--check", "openness", "--db", str(db)]
    procs = [subprocess.Popen([sys.executable, "-m", "opentrust", "audit", str(m), "--out", str(tmp_path / "out"),
                               *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for m in models]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    r = run_cli("gate", "--policy", "minimal", str(tmp_path / "out" / "one" / "report.json"), "--db", str(db))
    assert r.returncode == 0, r.stdout + r.stderr
    inventory = json.loads(run_cli("models", "--db", str(db), "--format", "json").stdout)["models"]
    by_name = {m["names"][0].rsplit("/", 1)[-1]: m for m in inventory}
    assert set(by_name) == {"one.gguf", "two.gguf"}
    assert by_name["one.gguf"]["openness"]["licence"] == "MIT" and by_name["two.gguf"]["openness"]["licence"] == \
        "Apache-2.0"
    assert all(m["scan"]["verdict"] == "clean" and m["last_audit"] for m in inventory)
    assert [g["verdict"] for g in by_name["one.gguf"]["gates"]] == ["pass"] and by_name["two.gguf"]["gates"] == []
    table = run_cli("models", "--db", str(db), env={"COLUMNS": "200"})
    assert table.returncode == 0 and "minimal: pass" in table.stdout
    hist = json.loads(run_cli("history", str(models[0]), "--db", str(db), "--format", "json").stdout)
    run = hist["models"][0]["runs"][0]
    assert run["evidence"]["scan"]["verdict"] == "clean" and run["gates"][0]["policy"] == "minimal"
    text = run_cli("history", str(models[0]), "--db", str(db), env={"COLUMNS": "200"})
    assert text.returncode == 0 and "minimal: pass" in text.stdout and "scan clean" in text.stdout
