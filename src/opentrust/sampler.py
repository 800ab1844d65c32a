"""Cached, resumable, concurrent sampling: the one way every check draws completions from a model.

Sample ``i`` of a request uses ``derive_seed(request.seed, i)`` and is stored under (fingerprint, request
hash, i, provenance) the moment it completes, so re-running a command reuses what was computed, a killed run
resumes where it stopped, and two samples of the same request are always independent draws. The provenance
(``Backend.provenance``: backend kind, extra parameters, context size, runtime version) keeps a sample from
being reused where other settings would have produced another answer.

Samplers are handed out by ``opentrust.session.RunSession``; every sample served is linked to the session's
run as generated or reused (``Store.link_sample``), and ``Completion.cached`` tells callers which it was:
timings are only ever computed from fresh samples.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, Callable, Sequence

from opentrust.backends.base import Backend, Completion, GenerationRequest, derive_seed
from opentrust.store import Store, provenance_key

if TYPE_CHECKING:
    from opentrust.backends.logprobs import ChoiceRequest, ChoiceScores


class Sampler:
    def __init__(self, backend: Backend, store: Store | None, fingerprint: str, run_id: str | None = None,
                 use_cache: bool = True, concurrency: int | None = None,
                 on_sample: Callable[[Completion], None] | None = None,
                 provenance: dict[str, Any] | None = None):
        self.backend = backend
        self.store = store
        self.fingerprint = fingerprint
        self.run_id = run_id
        self.use_cache = use_cache and store is not None
        self.on_sample = on_sample
        self.provenance = dict(provenance if provenance is not None else backend.provenance())
        self.provenance_hash = provenance_key(self.provenance)[1]
        self._sem = asyncio.Semaphore(concurrency or backend.max_concurrency)
        self.generated = 0
        self.reused = 0
        # (request hash, index) -> the generation in flight: two callers asking for the same sample at once
        # (e.g. two cases with the same request) share one generation instead of racing.
        self._inflight: dict[tuple[str, int], "asyncio.Task[Completion]"] = {}

    def cached(self, request: GenerationRequest, index: int) -> bool:
        """Whether sample ``index`` of ``request`` would be served from the cache."""
        return self.use_cache and self.store is not None and self.store.get_sample(
            self.fingerprint, request.cache_key(), index, self.provenance_hash) is not None

    async def sample(self, request: GenerationRequest, index: int) -> Completion:
        key = request.cache_key()
        if self.use_cache:
            assert self.store is not None
            row = self.store.get_sample(self.fingerprint, key, index, self.provenance_hash)
            if row is not None:
                self.reused += 1
                self._link(row["id"], reused=True)
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
            sample_id = self.store.put_sample(self.fingerprint, key, index, request.model_dump_json(), completion,
                                              self.run_id, self.provenance)
            if sample_id is not None:
                self._link(sample_id, reused=False)
        if self.on_sample:
            self.on_sample(completion)
        return completion

    def _link(self, sample_id: int, reused: bool) -> None:
        if self.store is not None and self.run_id is not None:
            self.store.link_sample(self.run_id, sample_id, reused)

    async def choice_logprobs(self, request: "ChoiceRequest") -> "ChoiceScores | None":
        """Log-probabilities of candidate next tokens (``opentrust.backends.logprobs``), cached like a sample:
        stored under the request's own key (index 0) with the scores as JSON text, linked to the run as
        generated or reused. None when the backend offers no log-probabilities (nothing is stored)."""
        from opentrust.backends.logprobs import ChoiceScores, choice_logprobs

        key = request.cache_key()
        if self.use_cache:
            assert self.store is not None
            row = self.store.get_sample(self.fingerprint, key, 0, self.provenance_hash)
            if row is not None:
                self.reused += 1
                self._link(row["id"], reused=True)
                return ChoiceScores(logprobs=json.loads(row["text"]), prompt_tokens=row["prompt_tokens"],
                                    latency_s=row["latency_s"] or 0.0, cached=True)
        async with self._sem:
            scores = await choice_logprobs(self.backend, request)
        if scores is None:
            return None
        self.generated += 1
        if self.store is not None:
            record = Completion(text=json.dumps(scores.logprobs), prompt_tokens=scores.prompt_tokens,
                                completion_tokens=0, latency_s=scores.latency_s, finish_reason="logprobs", seed=0)
            sample_id = self.store.put_sample(self.fingerprint, key, 0, request.model_dump_json(), record,
                                              self.run_id, self.provenance)
            if sample_id is not None:
                self._link(sample_id, reused=False)
        return scores

    async def samples(self, request: GenerationRequest, n: int, start: int = 0) -> list[Completion]:
        """Samples ``start .. start+n-1`` of ``request``, in index order."""
        return list(await asyncio.gather(*(self.sample(request, i) for i in range(start, start + n))))

    async def many(self, requests: Sequence[tuple[GenerationRequest, int]]) -> list[list[Completion]]:
        """``n`` samples for each (request, n), all scheduled together so the backend stays busy."""
        return list(await asyncio.gather(*(self.samples(r, n) for r, n in requests)))
