"""Peak memory of a model: its in-process backend runs in a worker process of its own, whose peak resident set
(``VmHWM`` in ``/proc/PID/status``) is the model's — weights, context and runtime — and nothing else's.

``WorkerBackend`` is a ``Backend`` like any other: it forwards ``generate`` and ``stream`` to a
``LlamaCppBackend`` in the worker (``python -m opentrust.compare.worker``, JSON lines over stdin/stdout) and
reports the *same provenance* as the in-process backend, so samples it draws are the ones an audit or a test
would draw and are shared through the cache both ways. It also reads the worker's CPU time (for the
``estimated:cpu-watts`` energy figure) and peak RSS.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from opentrust.backends.base import Backend, Completion, GenerationRequest
from opentrust.errors import BackendError


def proc_status_kb(pid: int, key: str) -> int | None:
    """A ``kB`` field of /proc/PID/status (VmHWM: peak resident set; VmRSS: current), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (/proc/PID/stat fields 14 and 15), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class WorkerBackend(Backend):
    """A GGUF model in a worker process (see the module docstring)."""

    name = "llama.cpp"
    max_concurrency = 1

    def __init__(self, path: Path, n_ctx: int = 2048, prompt_mode: str = "chat"):
        from opentrust.backends.llamacpp import LlamaCppBackend

        self.path = Path(path)
        self.n_ctx = n_ctx
        self.prompt_mode = prompt_mode
        self._twin = LlamaCppBackend(self.path, n_ctx=n_ctx, prompt_mode=prompt_mode)  # never loads: provenance
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self.peak_rss_kb: int | None = None

    def provenance(self) -> dict[str, object]:
        return self._twin.provenance()

    def describe(self) -> dict[str, object]:
        return {**self._twin.describe(), "process": "worker"}

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        if self._proc is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "opentrust.compare.worker", str(self.path), str(self.n_ctx), self.prompt_mode],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def _call(self, message: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.start()
            assert self._proc is not None and self._proc.stdin is not None and self._proc.stdout is not None
            try:
                self._proc.stdin.write(json.dumps(message) + "\n")
                self._proc.stdin.flush()
                line = self._proc.stdout.readline()
            except (BrokenPipeError, OSError) as exc:
                raise BackendError(f"the model worker for {self.path.name} died ({exc})",
                                   "re-run with --debug; the model may not fit in memory") from exc
            if not line:
                code = self._proc.poll()
                raise BackendError(f"the model worker for {self.path.name} exited (code {code})",
                                   "check the model with `opentrust scan`; it may not fit in memory")
            self._note_peak()
        reply = json.loads(line)
        if "error" in reply:
            raise BackendError(reply["error"], reply.get("hint", "check the model and the request"))
        return reply  # type: ignore[no-any-return]

    def _note_peak(self) -> None:
        if self._proc is not None:
            peak = proc_status_kb(self._proc.pid, "VmHWM")
            if peak is not None:
                self.peak_rss_kb = max(peak, self.peak_rss_kb or 0)

    async def load(self) -> None:
        """Load the model now (so that timing starts with it loaded)."""
        await asyncio.to_thread(self._call, {"op": "load"})

    async def generate(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        seed = request.seed if seed is None else seed
        reply = await asyncio.to_thread(self._call, {"op": "generate", "request": request.model_dump(mode="json"),
                                                     "seed": seed})
        return Completion.model_validate(reply["completion"])

    async def stream(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        seed = request.seed if seed is None else seed
        reply = await asyncio.to_thread(self._call, {"op": "stream", "request": request.model_dump(mode="json"),
                                                     "seed": seed})
        return Completion.model_validate(reply["completion"])

    def cpu_seconds(self) -> float | None:
        return proc_cpu_seconds(self._proc.pid) if self._proc is not None else None

    def peak_rss_mb(self) -> float | None:
        self._note_peak()
        return None if self.peak_rss_kb is None else round(self.peak_rss_kb / 1024, 1)

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        self._note_peak_of(proc)
        try:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def _note_peak_of(self, proc: "subprocess.Popen[str]") -> None:
        peak = proc_status_kb(proc.pid, "VmHWM")
        if peak is not None:
            self.peak_rss_kb = max(peak, self.peak_rss_kb or 0)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)
