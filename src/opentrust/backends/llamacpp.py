"""In-process llama.cpp backend (llama-cpp-python), using the chat template stored in the GGUF.

One model instance per process and path (loading takes seconds and hundreds of MB); a lock serialises
calls into it because a llama.cpp context is not re-entrant, and generation runs in a worker thread so the
event loop stays free for the store and other backends.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
from pathlib import Path
from typing import Any

from opentrust.backends.base import Backend, Completion, GenerationRequest
from opentrust.errors import BackendError

_MODELS: dict[tuple[str, int], tuple[Any, threading.Lock]] = {}
_MODELS_LOCK = threading.Lock()


def load_model(path: Path, n_ctx: int = 2048) -> tuple[Any, threading.Lock]:
    """The process-wide model instance for ``path`` and the lock that guards its context."""
    key = (str(path), n_ctx)
    with _MODELS_LOCK:
        if key not in _MODELS:
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - a core dependency
                raise BackendError("llama-cpp-python is not installed", "run `make install`") from exc
            try:
                llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=os.cpu_count() or 2,
                            verbose=False, seed=0)
                if not _MODELS:
                    atexit.register(close_models)
                _MODELS[key] = (llm, threading.Lock())
            except (ValueError, RuntimeError, OSError) as exc:
                raise BackendError(f"llama.cpp could not load {path}: {exc}",
                                   "check the file with `opentrust scan`; it may be truncated or unsupported") from exc
        return _MODELS[key]


def close_models() -> None:
    """Free every loaded model while the interpreter is still intact: left to ``Llama.__del__`` at
    shutdown, llama-cpp-python prints an "Exception ignored" traceback (its module globals are gone)."""
    with _MODELS_LOCK:
        for llm, lock in _MODELS.values():
            with lock:
                llm.close()
        _MODELS.clear()


class LlamaCppBackend(Backend):
    name = "llama.cpp"
    max_concurrency = 1  # one context; more in flight would only queue on the lock

    def __init__(self, path: Path, n_ctx: int = 2048):
        self.path = Path(path)
        self.n_ctx = n_ctx

    def describe(self) -> dict[str, object]:
        import llama_cpp

        return {"backend": self.name, "llama_cpp_python": llama_cpp.__version__, "n_ctx": self.n_ctx}

    async def generate(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        return await asyncio.to_thread(self._generate_sync, request, request.seed if seed is None else seed)

    def _generate_sync(self, request: GenerationRequest, seed: int) -> Completion:
        llm, lock = load_model(self.path, self.n_ctx)
        with lock:
            # Forget the previous prompt: llama-cpp-python reuses a matching prefix of the KV cache, and a
            # prompt evaluated in different batch splits gives slightly different logits, so without this a
            # fixed seed would not give a fixed answer.
            llm.reset()
            start = time.perf_counter()
            try:
                out = llm.create_chat_completion(
                    messages=[m.model_dump() for m in request.messages],
                    temperature=request.temperature, top_p=request.top_p, max_tokens=request.max_tokens,
                    seed=seed, stop=request.stop or None,
                )
            except ValueError as exc:  # e.g. prompt longer than the context window
                raise BackendError(f"llama.cpp rejected the request: {exc}",
                                   "shorten the prompt or lower max_tokens") from exc
            latency = time.perf_counter() - start
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"),
            latency_s=latency, finish_reason=choice.get("finish_reason"), seed=seed,
        )
