"""Generation on Ray actors: the backend a ``RayExecutor`` hands a run session.

Each ``GenerationWorker`` actor builds the target's own backend once (an in-process GGUF model is loaded once
per actor and reused for every sample; an endpoint gets one pooled HTTP client with the HTTP backend's retry
and back-off rules) and declares the CPUs it needs. The driver keeps a local, never-used twin of the backend
for its provenance (the cache key), so samples drawn on Ray and locally share the cache, and each worker proves
on start that it would produce the same provenance (same runtime versions) before it gets any work.

A worker killed mid-run costs only its in-flight samples: the call fails with ``RayActorError``, the sample is
sent to another live worker (same request, same derived seed, so the same answer) and a replacement worker is
started wherever the cluster has room.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from opentrust.backends.base import Backend, Completion, GenerationRequest
from opentrust.errors import BackendError, UserError

#: CPUs an endpoint worker declares: it only waits on HTTP, so several share a core
ENDPOINT_WORKER_CPUS = 0.25
#: attempts per sample before the run fails (each on another worker when one is left)
MAX_ATTEMPTS = 4
#: how long workers may take to start (a worker loading a large GGUF takes a while on a cold disk)
WORKER_START_S = float(os.environ.get("OPENTRUST_RAY_WORKER_START_S", "120"))
#: how long the other workers may take once the first has started (see ``RayBackend._start_workers``)
WORKER_GRACE_S = 15.0
#: the custom resource a node declares to say it holds a model file: ``model:<file name>`` (any amount)
MODEL_RESOURCE_PREFIX = "model:"


def model_resource(target: Any) -> str | None:
    path = getattr(target, "gguf_path", None)
    return f"{MODEL_RESOURCE_PREFIX}{path.name}" if path is not None else None


class GenerationWorker:
    """The actor class (each RayBackend wraps it with ``ray.remote``, so importing this module needs no Ray)."""

    def __init__(self, target_json: str, identity: dict[str, Any] | None, options: dict[str, Any],
                 threads: int | None):
        import ray

        from opentrust.target import Target

        if threads:
            os.environ["OPENTRUST_LLAMA_THREADS"] = str(threads)  # read by the llama.cpp loader
        target = Target.model_validate_json(target_json)
        target._identity = identity
        gguf = getattr(target, "gguf_path", None)
        if gguf is not None and not gguf.is_file():
            raise UserError(f"{gguf} is not on node {socket.gethostname()}",
                            f"copy it to the same path there, or start only the nodes that have it with "
                            f"--resources '{{\"{MODEL_RESOURCE_PREFIX}{gguf.name}\": 1}}'")
        self.backend = target.backend(**options)
        self.node = ray.get_runtime_context().get_node_id()

    def info(self) -> dict[str, Any]:
        from opentrust._version import __version__

        from opentrust.backends.llamacpp import POOL

        return {"node": self.node, "host": socket.gethostname(), "pid": os.getpid(), "opentrust": __version__,
                "provenance": self.backend.provenance(), "model_loads": POOL.loads}

    async def generate(self, request: dict[str, Any], seed: int) -> dict[str, Any]:
        completion = await self.backend.generate(GenerationRequest.model_validate(request), seed=seed)
        return completion.model_dump()

    async def choice_logprobs(self, request: dict[str, Any]) -> dict[str, Any] | None:
        from opentrust.backends.logprobs import ChoiceRequest, choice_logprobs

        scores = await choice_logprobs(self.backend, ChoiceRequest.model_validate(request))
        return None if scores is None else scores.model_dump()


@dataclass
class _Worker:
    actor: Any
    node: str = ""
    host: str = ""
    pid: int = 0
    busy: int = 0
    alive: bool = True
    info: dict[str, Any] = field(default_factory=dict)


class RayBackend(Backend):
    def __init__(self, executor: Any, target: Any, workers: int | None = None,
                 concurrency: int | None = None):
        self.executor = executor
        self.ray = executor.ray
        self.target = target
        # the local twin: provenance and description only (a GGUF backend loads nothing until it generates)
        self._twin = target.backend(concurrency=concurrency)
        self.name = self._twin.name
        self.is_gguf = getattr(target, "gguf_path", None) is not None
        # placement is decided once (one look at the cluster); replacements are started the same way
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        res = model_resource(target)
        declared = [n for n in nodes if res and res in (n.get("Resources") or {})]
        eligible = declared or nodes
        self.worker_count = workers or max(1, len(eligible))  # default: one model copy per node that can serve it
        total = concurrency or self._twin.max_concurrency
        # a llama.cpp context serves one request at a time; an endpoint's concurrency is split over its workers
        self.slots = 1 if self.is_gguf else max(1, -(-total // self.worker_count))
        self.max_concurrency = self.slots * self.worker_count
        self.retried = 0
        self._workers: list[_Worker] = []
        self._starting: list[Any] = []  # replacements not yet admitted (killed with the rest at the end)
        #: per worker at the end of the run: node, pid, model loads (one per worker, never one per sample)
        self.finished_workers: list[dict[str, Any]] = []
        self._changed: asyncio.Event | None = None
        self._options = {} if self.is_gguf else {"concurrency": self.slots}
        # a GGUF worker declares the CPUs it runs llama.cpp threads on: the serving nodes' CPUs shared out
        self._threads = max(1, sum(int((n.get("Resources") or {}).get("CPU", 0)) for n in eligible)
                            // self.worker_count) if self.is_gguf else None
        self._actor_options = {"num_cpus": float(self._threads or 1) if self.is_gguf else ENDPOINT_WORKER_CPUS,
                               "resources": {res: 0.001} if declared and res else {},
                               "scheduling_strategy": "SPREAD", "max_concurrency": self.slots + 2,
                               "max_restarts": 0}
        self._actor_class = self.ray.remote(GenerationWorker)
        self._start_workers(self.worker_count)

    # -- placement -----------------------------------------------------------------------------------------
    def _new_actor(self) -> Any:
        identity = getattr(self.target, "_identity", None)
        return self._actor_class.options(**self._actor_options).remote(
            self.target.model_dump_json(), identity, self._options, self._threads)

    def _start_workers(self, count: int) -> None:
        """Start ``count`` workers and wait until each has built its backend and proved its provenance."""
        ray = self.ray
        actors = [self._new_actor() for _ in range(count)]
        refs = [a.info.remote() for a in actors]
        started = time.monotonic()
        ready, _ = ray.wait(refs, num_returns=1, timeout=WORKER_START_S)
        if ready and len(refs) > 1:
            # the others load the same model: given as long again as the first took (at least WORKER_GRACE_S),
            # so workers the cluster has no room for (more than its free CPUs) do not hold the run for minutes
            grace = max(WORKER_GRACE_S, 2 * (time.monotonic() - started))
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=grace)
        for actor, ref in zip(actors, refs):
            if ref in ready:
                self._admit(actor, self._info(ref))
            else:
                ray.kill(actor)
        if not self._workers:
            raise UserError(f"no Ray worker for {self.target.spec} started within {WORKER_START_S:.0f} s",
                            "the cluster needs free CPUs (`opentrust workers` shows them); lower --ray-workers, "
                            "add nodes, or start nodes holding the model with --resources")
        self.worker_count = len(self._workers)
        self.max_concurrency = self.slots * self.worker_count

    def _info(self, ref: Any) -> dict[str, Any]:
        try:
            info: dict[str, Any] = self.ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - a worker that cannot start says why
            raise _unwrap(exc) from None
        return info

    def _admit(self, actor: Any, info: dict[str, Any]) -> None:
        from opentrust._version import __version__

        mine = self._twin.provenance()
        if info["provenance"] != mine or info["opentrust"] != __version__:
            self.ray.kill(actor)
            raise UserError(f"the Ray worker on {info['host']} would generate with opentrust {info['opentrust']}, "
                            f"{info['provenance']}; this machine with opentrust {__version__}, {mine}",
                            "install the same opentrust and llama-cpp-python versions on every node")
        self._workers.append(_Worker(actor, info["node"], info["host"], info["pid"], info=info))
        self.executor.add_workers(info["node"], info["host"])
        if self._changed is not None:
            self._changed.set()

    @property
    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._workers if w.alive]

    # -- generation ----------------------------------------------------------------------------------------
    def describe(self) -> dict[str, object]:
        return {**self._twin.describe(), "executor": "ray", "workers": self.worker_count}

    def provenance(self) -> dict[str, object]:
        return self._twin.provenance()

    async def _pick(self) -> _Worker:
        if self._changed is None:
            self._changed = asyncio.Event()
        deadline = time.monotonic() + 60.0
        while True:
            live = [w for w in self._workers if w.alive]
            if live:
                return min(live, key=lambda w: w.busy)
            if time.monotonic() > deadline:
                raise BackendError(f"every Ray worker for {self.target.spec} died and none could be restarted",
                                   "check the cluster with `opentrust workers`; rerun to resume from the cache")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass

    def _lost(self, worker: _Worker) -> None:
        """A worker died: count it, and start a replacement wherever the cluster has room (in the background)."""
        if not worker.alive:
            return
        worker.alive = False
        self.executor.add_workers(worker.node, worker.host, -1)
        actor = self._new_actor()
        ref = actor.info.remote()
        self._starting.append(actor)

        async def admit() -> None:
            try:
                info = await asyncio.wait_for(asyncio.wrap_future(ref.future()), timeout=60.0)
            except Exception:  # noqa: BLE001 - no room for a replacement: the survivors carry on
                self.ray.kill(actor)
                return
            finally:
                if actor in self._starting:
                    self._starting.remove(actor)
            try:
                self._admit(actor, info)
            except UserError:
                return

        asyncio.ensure_future(admit())

    async def _call(self, method: str, *args: Any) -> Any:
        ray = self.ray
        last: Exception | None = None
        for _ in range(MAX_ATTEMPTS):
            worker = await self._pick()
            worker.busy += 1
            started = time.perf_counter()
            try:
                result = await getattr(worker.actor, method).remote(*args)
            except ray.exceptions.RayActorError as exc:
                last = exc
                self.retried += 1
                self._lost(worker)
                continue
            except ray.exceptions.RayTaskError as exc:
                raise _unwrap(exc) from None
            finally:
                worker.busy -= 1
            self.executor.record(worker.node, worker.host, started)
            return result
        raise BackendError(f"a sample failed on {MAX_ATTEMPTS} Ray workers in a row: {last}",
                           "check the cluster with `opentrust workers`; rerun to resume from the cache")

    async def generate(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        out = await self._call("generate", request.model_dump(mode="json"), request.seed if seed is None else seed)
        return Completion.model_validate(out)

    async def choice_logprobs(self, request: Any) -> Any:
        from opentrust.backends.logprobs import ChoiceScores

        out = await self._call("choice_logprobs", request.model_dump(mode="json"))
        return None if out is None else ChoiceScores.model_validate(out)

    def kill_workers(self) -> None:
        for actor in self._starting:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._starting.clear()
        for worker in self._workers:
            if worker.alive:
                worker.alive = False
                try:
                    self.ray.kill(worker.actor)
                except Exception:  # noqa: BLE001 - already gone
                    pass

    async def aclose(self) -> None:
        live = [w for w in self._workers if w.alive]
        if live:  # what each worker did, for the result's executor block (a dead worker cannot say)
            refs = [w.actor.info.remote() for w in live]
            try:
                infos = await asyncio.wait_for(asyncio.gather(*(asyncio.wrap_future(r.future()) for r in refs),
                                                              return_exceptions=True), timeout=10.0)
            except asyncio.TimeoutError:
                infos = []
            self.finished_workers = [{"node": i["node"][:8], "pid": i["pid"], "model_loads": i["model_loads"]}
                                     for i in infos if isinstance(i, dict)]
        self.kill_workers()
        await self._twin.aclose()


def _unwrap(exc: BaseException) -> BaseException:
    """The exception a worker raised (a UserError or BackendError says what to do), not Ray's wrapper."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, UserError):
        return cause
    if cause is not None:
        return BackendError(f"a Ray worker failed: {type(cause).__name__}: {cause}",
                            "rerun with OPENTRUST_DEBUG=1 for details; cached samples are kept")
    text = str(exc).strip().splitlines()
    return BackendError(f"a Ray worker failed: {text[-1] if text else type(exc).__name__}",
                        "check the cluster with `opentrust workers`; cached samples are kept")
