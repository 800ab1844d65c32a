"""The executor interface and the local executor (today's in-process asyncio runner)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

from pydantic import BaseModel

from opentrust.errors import UserError

if TYPE_CHECKING:
    from opentrust.backends.base import Backend

EXECUTORS = ("local", "ray")
T = TypeVar("T")
R = TypeVar("R")


class NodeStats(BaseModel):
    """What one node did for a run: the per-node rows of the summary table and of ``executor`` in results."""

    node: str
    host: str = ""
    workers: int = 0
    samples: int = 0
    #: seconds from the node's first dispatched sample to its last finished one
    seconds: float = 0.0

    @property
    def per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0


class Executor(ABC):
    """Runs generations (through ``backend``) and file work (through ``map``) somewhere."""

    name: str = ""

    @abstractmethod
    def backend(self, target: Any, concurrency: int | None = None) -> "Backend":
        """A backend generating with ``target`` (an ``opentrust.target.Target``) on this executor."""

    @abstractmethod
    def map(self, fn: Callable[[T], R], items: Iterable[T],
            units: Callable[[T], int] | None = None) -> Iterator[R]:
        """``fn`` over ``items``, results in completion order. ``fn`` must be a module-level function (it is
        pickled to reach another machine) and its results plain data. ``units``: how much work an item is in
        the per-node counts (a chunk of 64 files counts 64; default 1 per item); called in this process."""

    def nodes(self) -> list[NodeStats]:
        return []

    def describe(self) -> dict[str, Any]:
        """The ``executor`` block of results: never part of a run's identity, so a run started on one
        executor resumes on another with every cached sample reused."""
        return {"name": self.name}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers and connections."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalExecutor(Executor):
    """This process: backends run in the event loop of the session, files are scanned one after another."""

    name = "local"

    def backend(self, target: Any, concurrency: int | None = None) -> "Backend":
        backend: "Backend" = target.backend(concurrency=concurrency)
        return backend

    def map(self, fn: Callable[[T], R], items: Iterable[T],
            units: Callable[[T], int] | None = None) -> Iterator[R]:
        return (fn(item) for item in items)


def result_block(executor: "Executor | None") -> dict[str, Any] | None:
    """A result's ``executor`` block: only for work that left this process (a local result is unchanged)."""
    return executor.describe() if executor is not None and executor.name != "local" else None
