"""`opentrust ui` bad input: one line on stderr, exit 2, no traceback (no model needed)."""

from __future__ import annotations

import socket
from pathlib import Path

from opentrust.store import Store
from tests.conftest import run_cli


def _one_line_exit_2(r: object) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)  # type: ignore[attr-defined]
    lines = r.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("opentrust: error:") and "Traceback" not in r.stderr  # type: ignore[attr-defined]
    return lines[0]


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    Store(tmp_path / "s.db").close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line_exit_2(run_cli("ui", "--db", str(tmp_path / "s.db"), "--port", str(port), timeout=60))
    assert f"127.0.0.1:{port}" in line and "--port" in line


def test_missing_store_reports_folder_or_guard_log_are_refused(tmp_path: Path) -> None:
    assert "no store at" in _one_line_exit_2(run_cli("ui", "--db", str(tmp_path / "none.db"), timeout=60))
    assert not (tmp_path / "none.db").exists()  # read-only: nothing created
    Store(tmp_path / "s.db").close()
    line = _one_line_exit_2(run_cli("ui", "--db", str(tmp_path / "s.db"), "--reports", str(tmp_path / "nope"),
                                    timeout=60))
    assert "--reports" in line
    line = _one_line_exit_2(run_cli("ui", "--db", str(tmp_path / "s.db"), "--guard-log", str(tmp_path / "g.db"),
                                    timeout=60))
    assert "no guard log" in line
