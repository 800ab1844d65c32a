"""`opentrust data --executor ray`: each file's personal-data and secrets pass runs as a Ray task on the test
session's two-node cluster; the result is the local one (timings aside), read errors, sampling and the redacted
preview included."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.datascan.conftest import dataset_folder  # noqa: F401  (the fixture)
from tests.executor.conftest import Cluster

pytestmark = pytest.mark.slow


def _untimed(doc: dict[str, Any]) -> dict[str, Any]:
    for f in doc["files"]:
        f.pop("seconds", None)
    for key in ("seconds", "mb_per_s"):
        doc["summary"].pop(key, None)
    return doc


@pytest.mark.parametrize("extra", [[], ["--sample", "15", "--seed", "3", "--redact-preview"]])
@pytest.mark.parametrize("workers", [[], ["--ray-workers", "1"]])
def test_data_on_ray_matches_local(two_nodes: Cluster, dataset_folder: Path, extra: list[str],  # noqa: F811
                                   workers: list[str]) -> None:
    damaged = gzip.compress(b"".join(json.dumps({"text": f"row {i} mail a{i}@example.org"}).encode() + b"\n"
                                     for i in range(400)))
    (dataset_folder / "data" / "extra.jsonl.gz").write_bytes(damaged[: len(damaged) // 2])  # cut mid-stream
    args = ["data", dataset_folder.name, "--format", "json", *extra]  # relative, as users type it
    local = run_cli(*args, cwd=dataset_folder.parent)
    on_ray = run_cli(*args, "--executor", "ray", "--ray-address", two_nodes.address, *workers,
                     cwd=dataset_folder.parent)
    assert local.returncode == on_ray.returncode == 1, on_ray.stderr[-2000:]
    a, b = json.loads(local.stdout), json.loads(on_ray.stdout)
    assert b["pii"]["counts"] and any(f["rule_id"] == "DATA-READ-ERROR" for f in b["findings"])
    assert _untimed(b) == _untimed(a)
    if "--redact-preview" in extra:
        assert b["preview"] and "@example.org" not in json.dumps(b["preview"])
    assert "Ray: " in on_ray.stderr and "per second" in on_ray.stderr  # 4 small files may all land on one node
