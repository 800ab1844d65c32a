"""Start llama.cpp's OpenAI-compatible server (``llama-cpp-python[server]``) on 127.0.0.1.

One place for what tests and benchmarks need to compare the HTTP backend with the in-process one.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 60, name: str = "the server",
              hint: str = "") -> None:
    """Wait until ``url`` answers HTTP 200 while ``proc`` runs (RuntimeError when it exits or time runs out).
    Also used by the guard's load benchmark and tests for the servers they start."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} {hint}".rstrip())
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not answer within {timeout_s:.0f} s")
        time.sleep(0.2)


def stop(proc: subprocess.Popen, timeout_s: float = 15) -> None:
    """Terminate a server process, killing it if it has not exited within ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def llama_server(model: Path, alias: str = "smollm2", n_ctx: int = 2048, timeout_s: float = 180,
                 log: IO[str] | None = None, port: int | None = None) -> Iterator[str]:
    """Yield the server's base URL (``http://127.0.0.1:PORT/v1``); the server is stopped on exit.
    ``port``: a fixed port (e.g. to restart a server with other weights at the same URL); default: a free one."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)],
        stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT if log else subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_http(f"{base}/models", proc, timeout_s, "llama_cpp.server", "(is llama-cpp-python[server] installed?)")
        yield base
    finally:
        stop(proc)
