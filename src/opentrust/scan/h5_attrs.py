"""Read the root attributes of an HDF5 file with h5py, in a separate worker process.

Reading attributes executes nothing, but libhdf5 is a C library with a long history of memory-safety bugs
on malformed files (segfaults, aborts, hangs). A hostile ``.h5`` must not take the scanner down with it,
so h5py runs in one long-lived child process (started on first use, restarted after a crash); each
request has a timeout. Protocol on the child's stdin/stdout: one JSON line per request and response.

Run as ``python -m opentrust.scan.h5_attrs`` (the worker loop).
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import select
import subprocess
import sys
from typing import Any

WANTED = ("model_config", "training_config", "keras_version", "backend")
MAX_ATTR = 64 * 1024 * 1024
STARTUP_TIMEOUT = 120.0


class H5Crash(Exception):
    """The HDF5 library crashed or hung on the file."""


def _read(path: str | None, data_b64: str | None) -> dict[str, Any]:
    import io

    import h5py

    target: Any = path if path is not None else io.BytesIO(base64.b64decode(data_b64 or ""))
    out: dict[str, Any] = {}
    with h5py.File(target, "r") as f:  # read-only; attributes are plain data
        for name in WANTED:
            if name in f.attrs:
                value = f.attrs[name]
                if isinstance(value, bytes):
                    value = value[:MAX_ATTR].decode("utf-8", errors="replace")
                elif hasattr(value, "tolist"):
                    value = value.tolist()
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", errors="replace")
                out[name] = value if isinstance(value, (str, int, float, list)) else str(value)
        out["_groups"] = sorted(f.keys())[:50]
    return out


def _worker() -> None:
    import h5py  # noqa: F401 - imported before the first request, so a spare worker is warm

    sys.stdout.write("ready\n")  # the client's request timeout starts after this, not during start-up
    sys.stdout.flush()
    for line in sys.stdin:
        req = json.loads(line)
        try:
            resp = {"attrs": _read(req.get("path"), req.get("data"))}
        except Exception as exc:  # noqa: BLE001 - any h5py error is "not readable", reported by the caller
            resp = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        sys.stdout.write(json.dumps(resp, default=str) + "\n")
        sys.stdout.flush()


class _Client:
    """One worker, plus a warm spare started after a crash so the next file does not wait for a restart
    (a folder of hostile .h5 files would otherwise pay the h5py import once per file)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.spare: subprocess.Popen[str] | None = None

    @staticmethod
    def _spawn() -> subprocess.Popen[str]:
        env = {**os.environ, "HDF5_USE_FILE_LOCKING": "FALSE"}
        return subprocess.Popen([sys.executable, "-m", "opentrust.scan.h5_attrs"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)

    def _start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            spare, self.spare = self.spare, None
            self.proc = spare if spare is not None and spare.poll() is None else self._spawn()
        return self.proc

    @staticmethod
    def _kill(proc: subprocess.Popen[str] | None) -> None:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        self._kill(self.proc)
        self.proc = None

    def close(self) -> None:
        self.stop()
        self._kill(self.spare)
        self.spare = None

    def _wait_ready(self, proc: subprocess.Popen[str]) -> None:
        """Wait for a new worker's start-up line (importing h5py takes seconds on a loaded machine)."""
        if getattr(proc, "_ot_ready", False):
            return
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], STARTUP_TIMEOUT)
        if not ready or proc.stdout.readline().strip() != "ready":
            self.stop()
            raise H5Crash("the HDF5 worker did not start (is h5py installed?)")
        proc._ot_ready = True  # type: ignore[attr-defined]

    def request(self, path: str | None, data: bytes | None, timeout: float) -> dict[str, Any]:
        proc = self._start()
        self._wait_ready(proc)
        assert proc.stdin is not None and proc.stdout is not None
        req = {"path": path} if path is not None else {"data": base64.b64encode(data or b"").decode()}
        try:
            proc.stdin.write(json.dumps(req) + "\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], max(timeout, 0.1))
            line = proc.stdout.readline() if ready else ""
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            hung = proc.poll() is None
            self.stop()
            if self.spare is None:
                self.spare = self._spawn()
            raise H5Crash("the HDF5 library hung on this file" if hung else
                          f"the HDF5 library crashed on this file (exit {proc.returncode})")
        return json.loads(line)


_client = _Client()
atexit.register(_client.close)


def read_root_attrs(path: str | None = None, data: bytes | None = None, timeout: float = 20.0) -> dict[str, Any]:
    """Root attributes of interest, or ``{"error": ...}``; raises H5Crash when the worker dies or hangs."""
    return _client.request(path, data, timeout)


if __name__ == "__main__":
    _worker()
