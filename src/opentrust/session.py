"""One run of one command against one target: the core every capability stands on.

``RunSession`` resolves the target, opens the store, fingerprints the model (the weights' sha256, or what an
endpoint's server reports about its model), records the model and the run's start, owns the backends it
creates, hands out samplers (for the target and for judge models), and records the run's end with its result::

    with RunSession("smollm2", "test", {"seed": 0}) as session:
        result = session.run(lambda: my_engine(session.sampler()))
        session.finish(result)          # a pydantic result (opentrust.results) or a JSON-able dict

A run left without ``finish`` by an exception or Ctrl-C is recorded as interrupted; one whose process was killed
stays running, and the next session with the same command, target and parameters resumes it (``resumed``).
Either way every sample completed so far is in the cache and is reused.
``opentrust audit``, ``test`` and ``redteam`` run through it; so should every capability after them.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar

from opentrust.errors import UserError

if TYPE_CHECKING:
    from opentrust.backends.base import Backend, Completion
    from opentrust.executor import Executor
    from opentrust.sampler import Sampler
    from opentrust.store import Store
    from opentrust.target import Target

T = TypeVar("T")


class RunSession:
    def __init__(self, target: "Target | str", command: str, parameters: dict[str, Any] | None = None, *,
                 db: Any = None, store: "Store | None" = None, api_key_env: str | None = None,
                 model_id: str | None = None, use_cache: bool = True, concurrency: int | None = None,
                 backend: "Backend | None" = None, generate: bool = True, executor: "Executor | None" = None):
        """``target``: a Target or what the user typed; ``parameters``: what identifies the run for resuming
        (and is recorded with it); ``backend``: a ready backend to use instead of the target's (tests use
        ``opentrust.backends.fake.FakeBackend``; the session does not close it); ``generate``: the command
        samples the model, so a target that cannot generate is a usage error; ``executor``: where generations
        run (``opentrust.executor``; default: this process). It is not part of the run's identity: a run
        started on Ray resumes locally and the other way round, with every cached sample reused."""
        self._spec = target
        self.command = command
        self.parameters = dict(parameters or {})
        self._db = db
        self._given_store = store
        self.api_key_env = api_key_env
        self.model_id = model_id
        self.use_cache = use_cache
        self.concurrency = concurrency
        self._given_backend = backend
        self.executor = executor
        self.generate = generate
        self.target: "Target" = None  # type: ignore[assignment]
        self.store: "Store" = None  # type: ignore[assignment]
        self.fingerprint = ""
        self.run_id = ""
        self.resumed = False
        self._backend: "Backend | None" = None
        self._owned: list["Backend"] = []
        self._judges: dict[str, "Sampler"] = {}
        self._finished = False

    # -- lifecycle ------------------------------------------------------------------------------------
    def __enter__(self) -> "RunSession":
        return self.open()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()

    def open(self) -> "RunSession":
        from opentrust.store import Store
        from opentrust.target import Target, resolve_target

        self.target = self._spec if isinstance(self._spec, Target) else resolve_target(
            self._spec, api_key_env=self.api_key_env, model_id=self.model_id)
        if self.generate and not self.target.can_generate:
            raise UserError(f"{self.target.spec} cannot generate text",
                            "pass a .gguf file, smollm2 or openai:<url>#<model>")
        self.store = self._given_store or Store(self._db)
        try:
            self.fingerprint = self.target.fingerprint(self.store)
            identity = self.target.identity() if self.target.kind in ("endpoint", "plugin") else None
            self.store.record_model(self.fingerprint, self.target.kind, self.target.spec, self.target.name,
                                    self.target.location, _identity_record(self.target, identity))
            self.run_id, self.resumed = self.store.start_run(self.command, self.target.spec, self.fingerprint,
                                                             self.parameters)
        except BaseException:
            self._close_store()
            raise
        return self

    def finish(self, result: Any, status: str = "done") -> None:
        """Record the run's end and its result (a pydantic model or a JSON-able dict)."""
        if hasattr(result, "model_dump_json"):
            text = result.model_dump_json()
        elif result is None:
            text = None
        else:
            text = json.dumps(result, default=str)
        self.store.finish_run(self.run_id, status, text)
        self._finished = True

    def close(self) -> None:
        """Mark an unfinished run interrupted and close the store (backends close in ``run``/``aclose``)."""
        if self.run_id and not self._finished and self.store is not None:
            self.store.finish_run(self.run_id, "interrupted")
            self._finished = True
        self._close_store()

    def _close_store(self) -> None:
        if self._given_store is None and self.store is not None:
            self.store.close()
            self.store = None  # type: ignore[assignment]

    # -- generation -----------------------------------------------------------------------------------
    def backend(self) -> "Backend":
        """The target's backend, created once and shared by everything in the session."""
        if self._backend is None:
            if self._given_backend is not None:
                self._backend = self._given_backend
            else:
                self._backend = self._make_backend(self.target, self.concurrency)
                self._owned.append(self._backend)
        return self._backend

    def _make_backend(self, target: "Target", concurrency: int | None) -> "Backend":
        if self.executor is not None:
            return self.executor.backend(target, concurrency)
        return target.backend(concurrency=concurrency)

    def sampler(self, on_sample: "Callable[[Completion], None] | None" = None,
                concurrency: int | None = None) -> "Sampler":
        """A sampler over the target: cached under the target's fingerprint and the backend's provenance,
        every sample linked to this run as generated or reused."""
        from opentrust.sampler import Sampler

        return Sampler(self.backend(), self.store, self.fingerprint, run_id=self.run_id, use_cache=self.use_cache,
                       concurrency=concurrency or self.concurrency, on_sample=on_sample)

    def judge_sampler(self, spec: str | None = None, api_key_env: str | None = None) -> "Sampler":
        """A sampler over a judge model (``spec``: any target; None: the target itself), cached like any
        sample and linked to this run. The judge's backend belongs to the session."""
        if spec is None:
            if "" not in self._judges:
                self._judges[""] = self.sampler()
            return self._judges[""]
        if spec not in self._judges:
            from opentrust.sampler import Sampler
            from opentrust.target import resolve_target

            judge = resolve_target(spec, api_key_env=api_key_env or self.api_key_env)
            if not judge.can_generate:
                raise UserError(f"the judge {spec} cannot generate text", "pass a .gguf file or openai:<url>#<model>")
            fingerprint = judge.fingerprint(self.store)
            self.store.record_model(fingerprint, judge.kind, judge.spec, judge.name, judge.location,
                                    _identity_record(judge, judge.identity() if judge.kind != "gguf" else None))
            backend = self._make_backend(judge, None)
            self._owned.append(backend)
            self._judges[spec] = Sampler(backend, self.store, fingerprint, run_id=self.run_id,
                                         use_cache=self.use_cache)
        return self._judges[spec]

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work()`` on a new event loop and close the session's backends on that loop afterwards
        (HTTP clients belong to the loop that opened them)."""

        async def wrapped() -> T:
            try:
                return await work()
            finally:
                await self.aclose()

        return asyncio.run(wrapped())

    async def aclose(self) -> None:
        owned, self._owned = self._owned, []
        self._judges.clear()
        if self._backend in owned:
            self._backend = None
        for backend in owned:
            await backend.aclose()

    # -- what results record --------------------------------------------------------------------------
    def model_info(self) -> dict[str, Any]:
        """The ``model`` block of test and red-team results."""
        return {"spec": self.target.spec, "name": self.target.name, "kind": self.target.kind,
                "fingerprint": self.fingerprint}


def _identity_record(target: "Target", identity: dict[str, Any] | None) -> dict[str, Any] | None:
    if target.model_id:
        return {"pinned": target.model_id}
    if identity and (identity.get("model") or identity.get("runtime")):
        return identity
    return None
