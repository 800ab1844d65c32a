"""The audit log: append-only, hash-chained; verify-log finds an edited, deleted or truncated record."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from opentrust.guard.log import GuardLog, read, verify
from tests.conftest import run_cli


def record(i: int, rule: str = "input.pii") -> dict:
    return {"ts": f"2026-11-27T08:00:{i:02d}Z", "request_id": f"r{i}", "direction": "input", "endpoint": "chat",
            "decision": "redact", "rules": [{"id": rule, "action": "redact", "score": 0.99}],
            "content_sha256": "0" * 64, "result_sha256": "1" * 64, "client": "addr:127.0.0.1"}


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "g.db"
    g = GuardLog(path)

    async def many() -> None:  # concurrent appends share commits (group commit) and keep one chain
        await asyncio.gather(*(g.append([record(i, "input.pii" if i % 2 else "output.secrets")]) for i in range(20)))

    asyncio.run(many())
    g.close()
    return path


def tamper(path: Path, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER IF EXISTS decisions_no_update")
    db.execute("DROP TRIGGER IF EXISTS decisions_no_delete")
    db.execute(sql)
    db.commit()
    db.close()


def test_intact_and_triggers_refuse_edits(log: Path) -> None:
    result = verify(log)
    assert result["intact"] and result["records"] == 20 and result["head"] == 20
    db = sqlite3.connect(log)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE decisions SET decision='allow' WHERE seq=3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM decisions WHERE seq=3")
    db.close()
    assert {r["request_id"] for r in read(log, rule="output.secrets")} == {f"r{i}" for i in range(0, 20, 2)}
    assert len(read(log, since="2026-11-27T08:00:15Z")) == 5


@pytest.mark.parametrize("sql,problem", [
    ("UPDATE decisions SET decision='allow' WHERE seq=7", "record 7: its content does not match"),
    ("DELETE FROM decisions WHERE seq=7", "records 7..7 are missing"),
    ("DELETE FROM decisions WHERE seq>=18", "missing at the end"),
    ("UPDATE decisions SET rules='[]' WHERE seq=20", "record 20: its content"),
])
def test_tampering_is_found(log: Path, sql: str, problem: str) -> None:
    tamper(log, sql)
    result = verify(log)
    assert not result["intact"] and any(problem in p for p in result["problems"]), result["problems"]


def test_cli_log_and_verify_exit_codes(log: Path) -> None:
    proc = run_cli("guard", "verify-log", "--log", str(log))
    assert proc.returncode == 0 and "intact: 20 record(s)" in proc.stdout
    proc = run_cli("guard", "log", "--log", str(log), "--rule", "input.pii", "--format", "json")
    rows = json.loads(proc.stdout)
    assert proc.returncode == 0 and len(rows) == 10 and all(r["rules"][0]["id"] == "input.pii" for r in rows)
    tamper(log, "UPDATE decisions SET decision='allow' WHERE seq=2")
    proc = run_cli("guard", "verify-log", "--log", str(log))
    assert proc.returncode == 1 and "TAMPERED" in proc.stdout
    proc = run_cli("guard", "verify-log", "--log", str(log.parent / "missing.db"))
    assert proc.returncode == 2 and "no guard log" in proc.stderr and "Traceback" not in proc.stderr


def test_writer_refuses_a_log_that_lost_its_tail(log: Path) -> None:
    from opentrust.errors import UserError

    tamper(log, "DELETE FROM decisions WHERE seq>=19")
    with pytest.raises(UserError, match="records were deleted"):
        GuardLog(log)


def test_writers_take_turns_through_the_file_lock(tmp_path: Path) -> None:
    """Gateway processes sharing a log wait on DB.lock (woken at once) rather than on SQLite's busy handler (which
    sleeps up to 100 ms between polls): while another holder has the lock, a commit waits; once released it lands."""
    import fcntl
    import os
    import threading
    import time

    path = tmp_path / "guard.db"
    writer = GuardLog(path)
    other = os.open(str(path) + ".lock", os.O_RDWR)  # another process's turn (a second open file description)
    fcntl.flock(other, fcntl.LOCK_EX)
    done: list[float] = []
    thread = threading.Thread(target=lambda: (writer.append_sync([record(1)]), done.append(time.monotonic())))
    thread.start()
    time.sleep(0.5)
    assert not done, "the commit did not wait for the other writer's turn"
    released = time.monotonic()
    fcntl.flock(other, fcntl.LOCK_UN)
    thread.join(10)
    os.close(other)
    writer.close()
    assert done and done[0] >= released
    assert verify(path)["intact"] and verify(path)["records"] == 1
