"""Shared fixtures. Every test gets its own store and cache (no state leaks between tests or from the user)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path_factory.mktemp("opentrust-state")
    monkeypatch.setenv("OPENTRUST_DB", str(state / "opentrust.db"))
    monkeypatch.setenv("OPENTRUST_CACHE", str(state / "cache"))
    monkeypatch.delenv("OPENTRUST_DEBUG", raising=False)


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    from opentrust.target import smollm2_path

    return smollm2_path()


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess (what a user or CI runs)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "opentrust", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)


from opentrust.backends.local_server import free_port  # noqa: E402,F401  (re-exported for tests)


@pytest.fixture(scope="session")
def llama_server(smollm2_path: Path):
    """A real OpenAI-compatible server (llama-cpp-python[server]) on 127.0.0.1, stopped after the session."""
    from opentrust.backends.local_server import llama_server as start

    with open(Path(os.environ.get("TMPDIR", "/tmp")) / f"llama-server-{os.getpid()}.log", "w") as log:
        with start(smollm2_path, log=log) as base:
            yield base


SHARED = REPO.parent / "shared"  # ../shared beside the checkout, as in CI


def sarif_schema() -> dict:
    """The official SARIF 2.1.0 schema from ../shared (skips the calling test with a reason if absent)."""
    import json

    path = SHARED / "data" / "schemas" / "sarif-schema-2.1.0.json"
    if not path.exists():
        pytest.skip(f"SARIF schema not found at {path} (../shared is absent)")
    return json.loads(path.read_text())


def count_samples(db: Path) -> int:
    """Samples stored in a store file (0 before the store exists)."""
    import sqlite3

    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT count(*) FROM samples").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def sigkill_after(args: list[str], db: Path, samples: int, timeout_s: float = 300) -> int:
    """Start ``args``, SIGKILL it once ``db`` holds ``samples`` samples; return how many were stored."""
    import signal
    import time

    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OPENTRUST_DB": str(db)})
    deadline = time.monotonic() + timeout_s
    while count_samples(db) < samples and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return count_samples(db)
