"""Cached, resumable, concurrent sampling: the one way every check draws completions from a model.

Sample ``i`` of a request uses ``derive_seed(request.seed, i)`` and is stored under (fingerprint,
request hash, i) the moment it completes, so re-running a command reuses what was computed, a killed run
resumes where it stopped, and two samples of the same request are always independent draws.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Sequence

from opentrust.backends.base import Backend, Completion, GenerationRequest, derive_seed
from opentrust.store import Store


class Sampler:
    def __init__(self, backend: Backend, store: Store | None, fingerprint: str, run_id: str | None = None,
                 use_cache: bool = True, concurrency: int | None = None,
                 on_sample: Callable[[Completion], None] | None = None):
        self.backend = backend
        self.store = store
        self.fingerprint = fingerprint
        self.run_id = run_id
        self.use_cache = use_cache and store is not None
        self.on_sample = on_sample
        self._sem = asyncio.Semaphore(concurrency or backend.max_concurrency)
        self.generated = 0
        self.reused = 0
        # (request hash, index) -> the generation in flight: two callers asking for the same sample at once
        # (e.g. two cases with the same request) share one generation instead of racing.
        self._inflight: dict[tuple[str, int], "asyncio.Task[Completion]"] = {}

    async def sample(self, request: GenerationRequest, index: int) -> Completion:
        key = request.cache_key()
        if self.use_cache:
            assert self.store is not None
            row = self.store.get_sample(self.fingerprint, key, index)
            if row is not None:
                self.reused += 1
                done = Completion(text=row["text"], prompt_tokens=row["prompt_tokens"],
                                  completion_tokens=row["completion_tokens"], latency_s=row["latency_s"] or 0.0,
                                  finish_reason=row["finish_reason"], seed=row["seed"], cached=True)
                if self.on_sample:
                    self.on_sample(done)
                return done
        slot = (key, index)
        running = self._inflight.get(slot)
        if running is not None:
            shared = (await asyncio.shield(running)).model_copy(update={"cached": True})
            self.reused += 1
            if self.on_sample:
                self.on_sample(shared)
            return shared
        task = asyncio.ensure_future(self._generate(request, key, index))
        self._inflight[slot] = task
        task.add_done_callback(lambda _t: self._inflight.pop(slot, None))
        return await asyncio.shield(task)

    async def _generate(self, request: GenerationRequest, key: str, index: int) -> Completion:
        async with self._sem:
            completion = await self.backend.generate(request, seed=derive_seed(request.seed, index))
        self.generated += 1
        if self.store is not None:
            self.store.put_sample(self.fingerprint, key, index, request.model_dump_json(), completion, self.run_id)
        if self.on_sample:
            self.on_sample(completion)
        return completion

    async def samples(self, request: GenerationRequest, n: int, start: int = 0) -> list[Completion]:
        """Samples ``start .. start+n-1`` of ``request``, in index order."""
        return list(await asyncio.gather(*(self.sample(request, i) for i in range(start, start + n))))

    async def many(self, requests: Sequence[tuple[GenerationRequest, int]]) -> list[list[Completion]]:
        """``n`` samples for each (request, n), all scheduled together so the backend stays busy."""
        return list(await asyncio.gather(*(self.samples(r, n) for r, n in requests)))
