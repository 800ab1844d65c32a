"""Ray: connecting to a cluster, the Ray executor, and the cluster as opentrust sees it (``opentrust workers``).

Ray is imported only here and in ``ray_backend`` (the ``opentrust[ray]`` extra); nothing else imports it.
Usage statistics are switched off before Ray starts or connects (no telemetry); a cluster started by hand
should be started with ``--disable-usage-stats`` too (README).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

from opentrust.errors import UserError
from opentrust.executor.base import Executor, NodeStats

if TYPE_CHECKING:
    from opentrust.backends.base import Backend
    from opentrust.executor.ray_backend import RayBackend

T = TypeVar("T")
R = TypeVar("R")

#: object store of a Ray instance we start ourselves: we ship prompts and answers, not tensors, and Ray's
#: default (30% of memory) is a lot to reserve on a laptop
LOCAL_OBJECT_STORE_BYTES = 128 * 1024 * 1024


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise UserError("Ray is not installed", "pip install 'opentrust[ray]' here and on every node of the cluster") \
            from exc
    return ray


def connect(address: str | None) -> tuple[Any, bool]:
    """Connect this process to the cluster at ``address`` (or ``RAY_ADDRESS``); with neither, start a local
    Ray instance. Returns (ray, whether we started it)."""
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    _cluster_messages_to_stderr()
    if ray.is_initialized():
        return ray, False
    addr = address or os.environ.get("RAY_ADDRESS") or None
    if addr and addr not in ("auto", "local") and not addr.startswith("ray://"):
        _reachable(addr)  # Ray itself retries an address nobody listens on for minutes
    try:
        if addr:
            ray.init(address=addr, logging_level="ERROR", log_to_driver=False)
            return ray, False
        ray.init(address="local", include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                 object_store_memory=LOCAL_OBJECT_STORE_BYTES)
        return ray, True
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError... for one cause
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "auth" in first.lower() or "token" in first.lower():
            hint = ("set RAY_AUTH_MODE=token and the cluster's token (RAY_AUTH_TOKEN, or `ray get-auth-token` on the "
                    "head node) in this shell")
        else:
            hint = ("start the head node with `ray start --head` (README: Running on a Ray cluster), check "
                    "--ray-address, and give this shell the cluster's auth token (RAY_AUTH_MODE=token, RAY_AUTH_TOKEN)")
        raise UserError(f"cannot connect to Ray at {addr or 'a new local instance'}: {first[:200]}", hint) from exc


def _cluster_messages_to_stderr() -> None:
    """Ray's driver prints the cluster's messages (e.g. "A worker died...") on stdout, even with
    ``log_to_driver=False``; stdout carries our JSON, SARIF and JUnit, so they go to stderr. Ray 2.60 offers no
    setting for this: the hook is its private ``print_to_stdstream``, wrapped if present."""
    try:
        from ray._private import worker
    except ImportError:  # pragma: no cover - a Ray without that module
        return
    original = getattr(worker, "print_to_stdstream", None)
    if original is None or getattr(original, "_opentrust", False):
        return

    def to_stderr(data: dict[str, Any], ignore_prefix: bool) -> None:
        original({**data, "is_err": True}, ignore_prefix)

    to_stderr._opentrust = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = to_stderr


def _reachable(address: str) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--ray-address {address} is not host:port", "pass the head node's address, e.g. 10.0.0.1:6379")
    try:
        socket.create_connection((host, int(port)), timeout=5.0).close()
    except OSError as exc:
        raise UserError(f"nothing answers at {address} ({exc.strerror or exc})",
                        "start the head node with `ray start --head --port PORT` there, or check --ray-address") from exc


def node_label(node_id: str, host: str) -> str:
    """How a node is named in tables: its host and the start of its id (two nodes may share a host)."""
    return f"{host}/{node_id[:8]}" if host else node_id[:8]


class RayExecutor(Executor):
    """Generation on Ray actors (one model per actor, reused for all its samples) and file work as Ray tasks.

    Only the driver (this process) writes the store: actors and tasks return samples and findings."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None,
                 progress: Callable[[str, int, int], None] | None = None):
        if workers is not None and workers < 1:
            raise UserError("--ray-workers must be at least 1", "pass --ray-workers 1 or more, or leave it out")
        self.ray, self._started = connect(address)
        self.address = address or os.environ.get("RAY_ADDRESS") or "local"
        self.workers = workers
        self.progress = progress
        self._backends: list["RayBackend"] = []
        self._lock = threading.Lock()
        self._nodes: dict[str, NodeStats] = {}
        self._first: dict[str, float] = {}
        self._done = 0
        self._last_progress = 0.0

    # -- generation --------------------------------------------------------------------------------------
    def backend(self, target: Any, concurrency: int | None = None) -> "Backend":
        from opentrust.executor.ray_backend import RayBackend

        backend = RayBackend(self, target, workers=self.workers, concurrency=concurrency)
        self._backends.append(backend)
        return backend

    def record(self, node_id: str, host: str, started: float, workers: int | None = None, count: int = 1) -> None:
        """``count`` units of work finished on ``node_id`` (called by backends and ``map``)."""
        now = time.perf_counter()
        with self._lock:
            stats = self._nodes.setdefault(node_id, NodeStats(node=node_label(node_id, host), host=host))
            first = self._first.setdefault(node_id, started)
            stats.samples += count
            stats.seconds = round(now - first, 4)
            if workers is not None:
                stats.workers = workers
            self._done += 1
            done = self._done
            show = self.progress is not None and (now - self._last_progress > 0.5)
            if show:
                self._last_progress = now
        if show:
            assert self.progress is not None
            rates = " · ".join(f"{s.node} {s.per_s:.1f}/s" for s in self.nodes())
            self.progress(f"ray: {rates}", done, done)

    def add_workers(self, node_id: str, host: str, count: int = 1) -> None:
        with self._lock:
            stats = self._nodes.setdefault(node_id, NodeStats(node=node_label(node_id, host), host=host))
            stats.workers += count

    def nodes(self) -> list[NodeStats]:
        with self._lock:
            return [s.model_copy() for s in sorted(self._nodes.values(), key=lambda s: s.node)]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address,
                "workers": sum(b.worker_count for b in self._backends) or self.workers,
                "retried": sum(b.retried for b in self._backends),
                "worker_processes": [w for b in self._backends for w in b.finished_workers],
                "nodes": [{**s.model_dump(), "per_s": round(s.per_s, 3)} for s in self.nodes()]}

    # -- file work ---------------------------------------------------------------------------------------
    def map(self, fn: Callable[[T], R], items: Iterable[T],
            units: Callable[[T], int] | None = None) -> Iterator[R]:
        """Ray tasks of one CPU each, at most twice the cluster's CPUs in flight, results as they finish.
        A task whose worker or node dies is retried by Ray (``max_retries``): the work is pure."""
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=3)(_run_item)
        # --ray-workers bounds the tasks in flight; by default twice the cluster's CPUs keeps every node busy
        limit = self.workers or max(2, int(2 * ray.cluster_resources().get("CPU", 1)))
        pending: list[Any] = []
        started: dict[Any, tuple[float, int]] = {}
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                ref = remote.remote(fn, item)
                started[ref] = (time.perf_counter(), units(item) if units is not None else 1)
                pending.append(ref)
            if not pending:
                return
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                node_id, host, value = ray.get(ref)
                at, count = started.pop(ref)
                self.record(node_id, host, at, count=count)
                yield value

    def close(self) -> None:
        for backend in self._backends:
            backend.kill_workers()
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()


def _run_item(fn: Callable[[Any], Any], item: Any) -> tuple[str, str, Any]:
    import ray

    return ray.get_runtime_context().get_node_id(), socket.gethostname(), fn(item)


# -- the cluster as opentrust sees it (`opentrust workers`) ------------------------------------------------------
def _probe_node(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs on one node: which of the targets it can serve (a GGUF file present there, an endpoint reachable)."""
    from pathlib import Path

    import httpx

    out = {}
    for check in checks:
        if check["kind"] == "file":
            path = Path(check["path"])
            out[check["spec"]] = {"ok": path.is_file(), "detail": "file present" if path.is_file() else "no such file"}
        else:
            try:
                r = httpx.get(check["url"].rstrip("/") + "/models", timeout=3.0)
                out[check["spec"]] = {"ok": r.status_code < 500, "detail": f"HTTP {r.status_code}"}
            except httpx.HTTPError as exc:
                out[check["spec"]] = {"ok": False, "detail": f"unreachable: {type(exc).__name__}"}
    return {"host": socket.gethostname(), "targets": out}


def cluster_view(address: str | None, specs: list[str]) -> dict[str, Any]:
    """Nodes (alive or dead), their slots in use, the model files they declare, and which targets each can serve."""
    from opentrust.target import resolve_target

    checks = []
    for spec in specs:
        target = resolve_target(spec)
        if getattr(target, "gguf_path", None) is not None:
            checks.append({"spec": spec, "kind": "file", "path": str(target.gguf_path)})
        elif target.base_url:
            checks.append({"spec": spec, "kind": "url", "url": target.base_url})
        else:
            raise UserError(f"{spec} is neither a GGUF model nor an endpoint",
                            "pass a .gguf file, smollm2 or openai:<url>#<model>")
    ray, started = connect(address)
    try:
        from ray._private.state import available_resources_per_node  # no public per-node API in Ray 2.60
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        available = available_resources_per_node()
        probe = ray.remote(num_cpus=0, max_retries=0)(_probe_node)
        nodes, refs = [], {}
        for n in ray.nodes():
            node_id = n["NodeID"]
            total = {k: v for k, v in (n.get("Resources") or {}).items() if not k.startswith("node:")}
            free = available.get(node_id, {})
            nodes.append({
                "node": node_label(node_id, n.get("NodeManagerHostname", "")), "node_id": node_id,
                "host": n.get("NodeManagerHostname", ""), "address": n.get("NodeManagerAddress", ""),
                "alive": bool(n.get("Alive")),
                "cpus": total.get("CPU", 0.0), "cpus_in_use": round(total.get("CPU", 0.0) - free.get("CPU", 0.0), 3)
                if n.get("Alive") else None,
                "gpus": total.get("GPU", 0.0),
                "gpus_in_use": round(total.get("GPU", 0.0) - free.get("GPU", 0.0), 3) if n.get("Alive") else None,
                "object_store_mb": round(total.get("object_store_memory", 0.0) / 2**20),
                "models": sorted(k[len("model:"):] for k in total if k.startswith("model:")),
                "targets": {}})
            if n.get("Alive") and checks:
                refs[node_id] = probe.options(
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)).remote(checks)
        if refs:
            ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=30)
            for node in nodes:
                ref = refs.get(node["node_id"])
                if ref is None:
                    continue
                if ref in ready:
                    try:
                        node["targets"] = ray.get(ref)["targets"]
                    except Exception as exc:  # noqa: BLE001 - one node failing its probe is a row, not a crash
                        node["targets"] = {c["spec"]: {"ok": False, "detail": f"probe failed: {exc}"[:120]}
                                           for c in checks}
                else:
                    node["targets"] = {c["spec"]: {"ok": False, "detail": "probe timed out"} for c in checks}
        return {"address": address or os.environ.get("RAY_ADDRESS") or "local", "nodes": nodes,
                "cpus": sum(n["cpus"] for n in nodes if n["alive"]),
                "cpus_in_use": round(sum(n["cpus_in_use"] or 0 for n in nodes if n["alive"]), 3)}
    finally:
        if started:
            ray.shutdown()
