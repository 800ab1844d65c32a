"""Where samples are generated and files scanned: on this machine (``local``, the default) or on a Ray cluster
(``ray``, the ``opentrust[ray]`` extra).

The check, suite and campaign code never knows which: a ``RunSession`` asks its executor for the target's
backend, and the sampler (in the driver) consults the cache before any work is shipped and is the only writer
of the store. File scans hand the executor a picklable function and the items to map it over.
"""

from __future__ import annotations

from typing import Callable

from opentrust.errors import UserError
from opentrust.executor.base import EXECUTORS, Executor, LocalExecutor, NodeStats, result_block

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "NodeStats", "make_executor", "result_block"]


def make_executor(name: str = "local", address: str | None = None, workers: int | None = None,
                  progress: Callable[[str, int, int], None] | None = None) -> Executor:
    """The executor a command's ``--executor``, ``--ray-address`` and ``--ray-workers`` name."""
    if name == "local":
        if address:
            raise UserError("--ray-address needs --executor ray", "add --executor ray, or drop --ray-address")
        return LocalExecutor()
    if name == "ray":
        from opentrust.executor.ray_cluster import RayExecutor

        return RayExecutor(address=address, workers=workers, progress=progress)
    raise UserError(f"unknown executor {name!r}", f"use --executor {' or '.join(EXECUTORS)}")
