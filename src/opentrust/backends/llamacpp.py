"""In-process llama.cpp backend (llama-cpp-python), using the chat template stored in the GGUF.

Loaded models live in a bounded pool keyed by the file's path, size and modification time and the context
size: a backend holds its model from its first generation until ``aclose``, backends of the same file share
one instance (loading takes seconds and hundreds of MB), at most ``IDLE_MODELS`` unused models stay loaded for
the next backend, and a file replaced on disk is loaded afresh rather than served from the old weights — what
a long-running process (a server, a Ray worker) needs. A lock serialises calls into a model because a
llama.cpp context is not re-entrant; generation runs in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentrust.backends.base import (
    Backend,
    Completion,
    GenerationRequest,
    StreamedAnswer,
    completion_prompt,
    completion_stops,
)
from opentrust.errors import BackendError

IDLE_MODELS = 1


@dataclass
class _Loaded:
    llm: Any
    lock: threading.Lock
    users: int = 0
    last_used: float = 0.0


class ModelPool:
    """Loaded llama.cpp models, shared by the backends of one process (see the module docstring)."""

    def __init__(self, idle_max: int = IDLE_MODELS):
        self.idle_max = idle_max
        self._models: dict[tuple[Any, ...], _Loaded] = {}
        self._lock = threading.Lock()
        self._atexit = False
        #: models loaded so far (a Ray worker reports it: one load per worker, never one per sample)
        self.loads = 0

    @staticmethod
    def key(path: Path, n_ctx: int, lora: Path | None = None) -> tuple[Any, ...]:
        st = path.stat()
        key: tuple[Any, ...] = (str(path.resolve()), st.st_size, st.st_mtime_ns, n_ctx)
        if lora is not None:  # the same base with a LoRA adapter is another model
            la = lora.stat()
            key += (str(lora.resolve()), la.st_size, la.st_mtime_ns)
        return key

    def acquire(self, path: Path, n_ctx: int, lora: Path | None = None) -> tuple[tuple[Any, ...], Any, threading.Lock]:
        try:
            key = self.key(path, n_ctx, lora)
        except OSError as exc:
            raise BackendError(f"cannot read {path}: {exc}", "check the model path") from exc
        with self._lock:
            entry = self._models.get(key)
            if entry is None:
                # the same path with another size or mtime: the file was replaced; drop the old weights
                for old in [k for k, e in self._models.items() if k[0] == key[0] and k != key and not e.users]:
                    self._close(old)
                entry = _Loaded(_load(path, n_ctx, lora), threading.Lock())
                self._models[key] = entry
                self.loads += 1
                if not self._atexit:
                    atexit.register(self.close_all)
                    self._atexit = True
            entry.users += 1
            entry.last_used = time.monotonic()
            return key, entry.llm, entry.lock

    def release(self, key: tuple[Any, ...]) -> None:
        with self._lock:
            entry = self._models.get(key)
            if entry is None:
                return
            entry.users = max(0, entry.users - 1)
            entry.last_used = time.monotonic()
            idle = sorted((e.last_used, k) for k, e in self._models.items() if not e.users)
            for _, k in idle[:max(0, len(idle) - self.idle_max)]:
                self._close(k)

    def loaded(self) -> int:
        return len(self._models)

    def _close(self, key: tuple[Any, ...]) -> None:
        entry = self._models.pop(key)
        with entry.lock:
            entry.llm.close()

    def close_all(self) -> None:
        """Free every loaded model while the interpreter is still intact: left to ``Llama.__del__`` at
        shutdown, llama-cpp-python prints an "Exception ignored" traceback (its module globals are gone)."""
        with self._lock:
            for key in list(self._models):
                self._close(key)


def _load(path: Path, n_ctx: int, lora: Path | None = None) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise BackendError("llama-cpp-python is not installed", "run `make install`") from exc
    try:
        # a Ray worker sets OPENTRUST_LLAMA_THREADS to the CPUs it declared (opentrust.executor.ray_backend)
        threads = int(os.environ.get("OPENTRUST_LLAMA_THREADS") or 0) or os.cpu_count() or 2
        extra = {"lora_path": str(lora)} if lora is not None else {}
        return Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False, seed=0, **extra)
    except (ValueError, RuntimeError, OSError) as exc:
        what = f"{path} with the adapter {lora}" if lora is not None else str(path)
        raise BackendError(f"llama.cpp could not load {what}: {exc}",
                           "check the file with `opentrust scan`; it may be truncated or unsupported") from exc


#: the process's pool (one per process: a loaded model is process memory, not state to share across processes)
POOL = ModelPool()


def close_models() -> None:
    POOL.close_all()


def runtime_version() -> str:
    """llama-cpp-python's version (it pins the llama.cpp it builds), read without importing the library."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"llama-cpp-python {version('llama_cpp_python')}"
    except PackageNotFoundError:  # pragma: no cover - a core dependency
        return "llama-cpp-python unknown"


class LlamaCppBackend(Backend):
    name = "llama.cpp"
    max_concurrency = 1  # one context; more in flight would only queue on the lock

    def __init__(self, path: Path, n_ctx: int = 2048, pool: ModelPool | None = None, prompt_mode: str = "chat",
                 lora_path: Path | None = None):
        self.path = Path(path)
        #: a LoRA adapter GGUF applied on top (``BASE+ADAPTER.gguf`` targets)
        self.lora_path = Path(lora_path) if lora_path is not None else None
        self.n_ctx = n_ctx
        #: "chat": the GGUF's chat template; "completion": a plain-text prompt (opentrust.backends.base)
        self.prompt_mode = prompt_mode
        self.pool = pool or POOL
        self._held: tuple[tuple[Any, ...], Any, threading.Lock] | None = None
        self._hold_lock = threading.Lock()

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"backend": self.name, "llama_cpp_python": runtime_version().split()[-1],
                                  "n_ctx": self.n_ctx, "prompt_mode": self.prompt_mode}
        if self.lora_path is not None:
            out["lora"] = str(self.lora_path)
        return out

    def provenance(self) -> dict[str, object]:
        out: dict[str, object] = {"backend": self.name, "runtime": runtime_version(), "n_ctx": self.n_ctx}
        if self.prompt_mode != "chat":  # chat samples keep the key they always had
            out["prompt_mode"] = self.prompt_mode
        return out

    def _model(self) -> tuple[Any, threading.Lock]:
        with self._hold_lock:
            if self._held is None:
                self._held = self.pool.acquire(self.path, self.n_ctx, self.lora_path)
            return self._held[1], self._held[2]

    async def aclose(self) -> None:
        with self._hold_lock:
            held, self._held = self._held, None
        if held is not None:
            self.pool.release(held[0])

    async def generate(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        return await asyncio.to_thread(self._generate_sync, request, request.seed if seed is None else seed)

    async def choice_logprobs(self, request: Any) -> Any:
        """Exact log-probabilities of candidate next tokens (``opentrust.backends.logprobs``)."""
        from opentrust.backends.logprobs import llamacpp_choice_logprobs

        return await asyncio.to_thread(llamacpp_choice_logprobs, self, request)

    def _call(self, llm: Any, request: GenerationRequest, seed: int, stream: bool) -> Any:
        try:
            if self.prompt_mode == "completion":
                return llm.create_completion(
                    prompt=completion_prompt(request.messages), temperature=request.temperature,
                    top_p=request.top_p, max_tokens=request.max_tokens, seed=seed, stop=completion_stops(request),
                    stream=stream)
            return llm.create_chat_completion(
                messages=[m.model_dump() for m in request.messages],
                temperature=request.temperature, top_p=request.top_p, max_tokens=request.max_tokens,
                seed=seed, stop=request.stop or None, stream=stream,
            )
        except ValueError as exc:  # e.g. prompt longer than the context window
            raise BackendError(f"llama.cpp rejected the request: {exc}",
                               "shorten the prompt or lower max_tokens") from exc

    def _generate_sync(self, request: GenerationRequest, seed: int) -> Completion:
        llm, lock = self._model()
        with lock:
            # Forget the previous prompt: llama-cpp-python reuses a matching prefix of the KV cache, and a
            # prompt evaluated in different batch splits gives slightly different logits, so without this a
            # fixed seed would not give a fixed answer.
            llm.reset()
            start = time.perf_counter()
            out = self._call(llm, request, seed, stream=False)
            latency = time.perf_counter() - start
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        text = choice["text"] if "text" in choice else choice["message"].get("content")
        return Completion(
            text=(text or "").strip() if self.prompt_mode == "completion" else text or "",
            prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"),
            latency_s=latency, finish_reason=choice.get("finish_reason"), seed=seed,
        )

    async def stream(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        return await asyncio.to_thread(self._stream_sync, request, request.seed if seed is None else seed)

    def _stream_sync(self, request: GenerationRequest, seed: int) -> Completion:
        """Streamed generation: llama-cpp-python yields one chunk per generated token, so the first chunk with
        text marks the end of prompt processing plus one token, and the chunks count the tokens."""
        llm, lock = self._model()
        with lock:
            llm.reset()
            answer = StreamedAnswer()
            for chunk in self._call(llm, request, seed, stream=True):
                answer.add(chunk["choices"][0])
            evaluated = llm.n_tokens  # prompt + generated tokens in the context after the generation
        # the last generated token is sampled but not evaluated; prompt = evaluated - (generated - 1)
        generated = len(answer.pieces)
        prompt_tokens = max(0, evaluated - max(0, generated - 1)) if generated else evaluated
        return answer.completion(seed, prompt_tokens, strip=self.prompt_mode == "completion")
