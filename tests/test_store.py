from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from opentrust.backends.base import Completion, GenerationRequest
from opentrust.findings import Finding, Measurement, Severity
from opentrust.store import MIGRATIONS, Store


def test_wal_mode_and_migrations_are_recorded(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [r[0] for r in store.db.execute("SELECT name FROM _migrations ORDER BY name")]
        assert names == [m[0] for m in MIGRATIONS]
    # Re-opening applies nothing twice.
    with Store(tmp_path / "s.db") as store:
        assert store.migrate() == []


def test_samples_are_unique_per_key(tmp_path: Path) -> None:
    req = GenerationRequest.chat("hi")
    with Store(tmp_path / "s.db") as store:
        for text in ("first", "second"):
            store.put_sample("fp", req.cache_key(), 0, req.model_dump_json(), Completion(text=text, seed=1), "run")
        store.put_sample("fp", req.cache_key(), 1, req.model_dump_json(), Completion(text="other", seed=2), "run")
        assert store.count_samples("fp") == 2
        assert store.get_sample("fp", req.cache_key(), 0)["text"] == "first"


def test_unfinished_run_is_resumed_finished_is_not(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        run, resumed = store.start_run("audit", "t", "fp", {"profile": "quick"})
        assert not resumed
        again, resumed = store.start_run("audit", "t", "fp", {"profile": "quick"})
        assert (again, resumed) == (run, True)
        other, resumed = store.start_run("audit", "t", "fp", {"profile": "standard"})
        assert other != run and not resumed
        store.finish_run(run, "done")
        fresh, resumed = store.start_run("audit", "t", "fp", {"profile": "quick"})
        assert fresh != run and not resumed


def test_results_replace_on_resume(tmp_path: Path) -> None:
    f = Finding(rule_id="X", severity=Severity.low, title="t")
    m = Measurement(name="m", value=1.0)
    with Store(tmp_path / "s.db") as store:
        store.save_results("r", "c", [f, f], [m])
        store.save_results("r", "c", [f], [m])
        assert store.db.execute("SELECT count(*) FROM findings").fetchone()[0] == 1


def test_unwritable_store_is_a_user_error(tmp_path: Path) -> None:
    import pytest

    from opentrust.errors import UserError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot open the store") as err:
        Store(blocker / "sub" / "s.db")
    assert "--db" in err.value.one_line()


def test_old_database_without_migrations_table_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()  # an empty database from "before" migrations existed
    with Store(path) as store:
        assert store.count_samples() == 0


def _open_at(path: str, start: float, results: "Any") -> None:
    import time as _time

    from opentrust.store import Store

    while _time.time() < start:
        pass
    try:
        Store(path).close()
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
        results.put(str(exc))


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Six processes opening a new store at the same instant, ten times: SQLite refuses the switch to WAL at once
    ("database is locked", no busy timeout) while another is making it; the store waits instead (this failed
    about one open in fifteen before)."""
    import multiprocessing
    import time

    ctx = multiprocessing.get_context("spawn")
    failures = []
    for round_ in range(10):
        path = str(tmp_path / f"s{round_}.db")
        results = ctx.Queue()
        start = time.time() + 1.0
        procs = [ctx.Process(target=_open_at, args=(path, start, results)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        failures += [r for r in (results.get(timeout=10) for _ in procs) if r != "ok"]
    assert failures == []
