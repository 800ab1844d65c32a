"""The model worker process: same provenance and the same answers as the in-process backend (so the cache can
serve both), its peak resident memory and CPU time read from /proc."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from opentrust.backends.base import GenerationRequest
from opentrust.backends.llamacpp import LlamaCppBackend
from opentrust.compare.memory import WorkerBackend, proc_cpu_seconds, proc_status_kb
from opentrust.errors import BackendError


def test_proc_readers_on_this_process() -> None:
    peak, now = proc_status_kb(os.getpid(), "VmHWM"), proc_status_kb(os.getpid(), "VmRSS")
    assert peak and now and peak >= now > 1000
    before = proc_cpu_seconds(os.getpid())
    sum(i * i for i in range(3_000_000))
    after = proc_cpu_seconds(os.getpid())
    assert before is not None and after is not None and after > before
    assert proc_status_kb(2 ** 22 + 12345, "VmHWM") is None and proc_cpu_seconds(2 ** 22 + 12345) is None


def test_the_worker_keys_the_cache_like_the_in_process_backend(smollm2_path: Path) -> None:
    assert WorkerBackend(smollm2_path).provenance() == LlamaCppBackend(smollm2_path).provenance()
    plain = WorkerBackend(smollm2_path, prompt_mode="completion").provenance()
    assert plain == LlamaCppBackend(smollm2_path, prompt_mode="completion").provenance()


def test_a_file_that_is_not_a_model_is_a_backend_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    worker = WorkerBackend(bad)
    try:
        with pytest.raises(BackendError):
            asyncio.run(worker.generate(GenerationRequest.chat("hi", max_tokens=4)))
    finally:
        worker.close()


@pytest.mark.slow
def test_the_worker_answers_as_in_process_and_reports_its_peak_memory(smollm2_path: Path) -> None:
    request = GenerationRequest.chat("Name a fruit.", temperature=0.8, max_tokens=16, seed=3)

    async def answers(backend) -> list[str]:
        try:
            return [(await backend.generate(request, seed=s)).text for s in (11, 12)]
        finally:
            await backend.aclose()

    worker = WorkerBackend(smollm2_path)
    assert asyncio.run(answers(worker)) == asyncio.run(answers(LlamaCppBackend(smollm2_path)))
    peak = worker.peak_rss_mb()
    size_mb = smollm2_path.stat().st_size / 1e6
    assert peak is not None and size_mb < peak < 2000  # the weights are mapped in, plus context and runtime
    assert worker.pid is None  # closed: the process is gone
