"""A real two-node Ray cluster on this machine, shared by the whole test session (Ray takes seconds to start).

``ray start --head`` plus a second ``ray start --address`` node, each with its own resources, token
authentication as Ray now requires (``RAY_AUTH_MODE=token`` with a generated token in every process's
environment), usage statistics off, a temp folder of its own (so stopping it touches no other Ray on the machine).
Each node declares 1 CPU, so the two GGUF workers of a run use one llama.cpp thread each on a 2-core machine.
The second node also declares ``model:placed-smollm2.gguf``: the placement test's model file.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Ray reads its authentication settings when it is imported: they are in place before the first import, here,
# and every CLI subprocess inherits them
os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"})
pytest.importorskip("ray", reason="the opentrust[ray] extra is not installed")

from tests.conftest import free_port  # noqa: E402

PLACED = "placed-smollm2.gguf"


def _ray_bin() -> str:
    return str(Path(sys.executable).with_name("ray"))


def _pids_with(needle: str) -> list[int]:
    import psutil

    out = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(needle in part for part in proc.info["cmdline"] or []):
                out.append(proc.info["pid"])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


@dataclass
class Cluster:
    address: str
    temp_dir: str
    env: dict[str, str]
    node_b_resources: str = ""
    started: list[str] = field(default_factory=list)

    def start_node_b(self) -> None:
        subprocess.run([_ray_bin(), "start", f"--address={self.address}", "--num-cpus=1",
                        f"--resources={self.node_b_resources}", "--object-store-memory=80000000",
                        "--disable-usage-stats"], check=True, capture_output=True, env=self.env, timeout=120)
        self.wait_nodes(2)

    def alive_nodes(self) -> list[dict]:
        import ray

        return [n for n in ray.nodes() if n.get("Alive")]

    def wait_nodes(self, count: int, timeout: float = 60.0) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, logging_level="ERROR", log_to_driver=False)
        deadline = time.monotonic() + timeout
        while len(self.alive_nodes()) != count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"expected {count} alive Ray nodes, have {len(self.alive_nodes())}")
            time.sleep(0.5)

    def node_b_id(self) -> str:
        return next(n["NodeID"] for n in self.alive_nodes() if "ot_b" in (n.get("Resources") or {}))

    def stop_node_b(self) -> None:
        """`ray stop` on node B alone (both nodes share this machine, so `ray stop` would stop both): kill -9 its
        raylet and every process it started, as a machine losing power would."""
        node_id = self.node_b_id()
        import psutil

        raylets = _pids_with(f"--node_id={node_id}")
        victims = set(raylets)
        for pid in raylets:
            try:
                victims.update(c.pid for c in psutil.Process(pid).children(recursive=True))
            except psutil.NoSuchProcess:
                pass
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Ray marks a killed node dead only after missed health checks (seconds to a minute on a loaded machine);
        # counted alive meanwhile, it was not restarted for the next test, whose workers were then placed on it and
        # waited (a CI failure). Wait until Ray itself gives it up.
        deadline = time.monotonic() + 240
        while any(n["NodeID"] == node_id for n in self.alive_nodes()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Ray still counts the stopped node {node_id[:12]} alive after 240 s")
            time.sleep(0.5)


@pytest.fixture(scope="session")
def ray_cluster(smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory):
    models = tmp_path_factory.mktemp("ray-models")
    placed = models / PLACED
    os.link(smollm2_path, placed) if smollm2_path.stat().st_dev == models.stat().st_dev else shutil.copy(smollm2_path, placed)
    temp_dir = tempfile.mkdtemp(prefix="otray_")
    port = free_port()
    env = dict(os.environ)
    subprocess.run([_ray_bin(), "start", "--head", f"--port={port}", "--num-cpus=1", '--resources={"ot_head": 1}',
                    f"--temp-dir={temp_dir}", "--include-dashboard=false", "--object-store-memory=80000000",
                    "--disable-usage-stats"], check=True, capture_output=True, env=env, timeout=120)
    cluster = Cluster(address=f"127.0.0.1:{port}", temp_dir=temp_dir, env=env,
                      node_b_resources=f'{{"ot_b": 1, "model:{PLACED}": 1}}')
    cluster.placed_model = placed  # type: ignore[attr-defined]
    try:
        cluster.start_node_b()
        yield cluster
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        for pid in _pids_with(temp_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture
def two_nodes(ray_cluster: Cluster) -> Cluster:
    """The cluster with both nodes alive (a test that stopped node B leaves it to be restarted here)."""
    ray_cluster.wait_nodes(len(ray_cluster.alive_nodes()))
    if len(ray_cluster.alive_nodes()) < 2:
        ray_cluster.start_node_b()
    return ray_cluster
