"""`opentrust scan --executor ray`: chunks of files as Ray tasks, one merged report identical to the local scan.

The registry is a real folder tree of model folders built by the scan fixtures' generators: hostile pickles
(which would create a marker file if ever loaded), nested archives, broken safetensors and GGUF files,
remote-code configs, plus files that are never read (a FIFO, a broken link). The Ray scans run on the test
session's two-node local Ray cluster (``ray_cluster`` in tests/executor/conftest.py).
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from opentrust.executor import LocalExecutor
from opentrust.scan import dispatch
from opentrust.scan.dispatch import ScanChunk, scan_chunk, scan_paths
from opentrust.scan.report import to_json_dict
from tests.conftest import run_cli
from tests.scan import fixtures_formats as F
from tests.scan.payloads import benign_pickles, pickle_payloads

#: generators that need no optional package (onnx, h5py); a hostile one per family and some benign ones
MAKERS = ["make_safetensors_overlap", "make_safetensors_trailing_pickle", "make_gguf_ssti", "make_gguf_truncated",
          "make_hf_template_ssti", "make_hf_remote_code_malicious", "make_hf_remote_code_missing",
          "make_archive_zip_slip", "make_archive_tar_pickle", "make_archive_zip_bomb", "make_savedmodel_pyfunc",
          "make_safetensors_benign", "make_gguf_benign", "make_hf_remote_code_benign", "make_archive_benign"]


def build_registry(root: Path, copies: int = 3) -> Path:
    """``copies`` × one model folder per generator, each with a README and a pickle (benign or hostile)."""
    registry = root / "registry"
    hostile = pickle_payloads(F.marker_path(root))
    benign = list(benign_pickles().values())
    names = sorted(hostile)
    n = 0
    for copy in range(copies):
        for maker in MAKERS:
            d = registry / f"org{copy}" / f"{maker.removeprefix('make_')}-{n:03d}"
            d.mkdir(parents=True)
            F.maker(maker)(d)
            (d / "README.md").write_text(f"# model {n}\n")
            (d / "extra.bin").write_bytes(hostile[names[n % len(names)]] if n % 4 == 0 else benign[n % len(benign)])
            n += 1
    odd = registry / "odd"
    odd.mkdir()
    os.mkfifo(odd / "pytorch_model.bin")  # never opened: reported as skipped
    (odd / "dangling.safetensors").symlink_to(root / "nowhere")
    (odd / "model.pkl").write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    return registry


def stable(doc: dict[str, Any]) -> dict[str, Any]:
    """The report without its timings (the only part that differs between two scans of the same tree)."""
    for f in doc["files"]:
        f.pop("seconds")
    doc["summary"].pop("seconds")
    return doc


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_registry(tmp_path_factory.mktemp("scan-ray"))


@pytest.fixture
def ray_address(two_nodes: Any) -> str:
    """The address of the session's two-node local Ray cluster (tests/executor/conftest.py), both nodes up."""
    return str(two_nodes.address)


def test_chunked_scan_equals_the_local_scan(registry: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunk-and-merge path alone (the local executor maps the chunks): same files, findings and order."""
    local = to_json_dict(scan_paths([registry]))
    monkeypatch.setattr(dispatch, "CHUNK_FILES", 5)  # many chunks, some holding files of several folders
    chunked = to_json_dict(scan_paths([registry], executor=LocalExecutor()))
    assert stable(chunked) == stable(local)
    walked = [str(e.path) for e in dispatch.iter_files([registry])]
    assert [f["path"] for f in local["files"] if not f["format"].startswith("folder:")] == walked
    assert len(walked) > 10 * 5


def test_chunks_are_plain_data_and_small_files_share_one(registry: Path) -> None:
    files = list(dispatch.iter_files([registry]))
    chunks = list(dispatch._chunks(files, [registry], 60.0, dispatch.DEFAULT_MAX_BYTES))
    assert chunks[0].folder == (0, str(registry)) and not chunks[0].files  # the folder checks: one task
    readable = [e for e in files if e.skip is None]
    assert sum(len(c.files) for c in chunks) == len(readable)
    assert len(chunks) - 1 == -(-len(readable) // dispatch.CHUNK_FILES)  # small files: full chunks
    back = pickle.loads(pickle.dumps(scan_chunk(chunks[1])))  # what travels back is plain data
    assert [i for i, _ in back.files] == [c[0] for c in chunks[1].files]


def test_a_node_without_the_folder_is_a_one_line_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "not-here")
    out = scan_chunk(ScanChunk([missing], files=[(0, f"{missing}/a.bin", f"{missing}/a.bin", True)]))
    assert out.missing == missing and not out.files

    class NodeWithoutTheFolderDouble(LocalExecutor):
        """A node that lacks the scanned folder: on one machine every node sees the same disk, so the fault
        is simulated by removing the folder after the driver walked it."""

        def map(self, fn: Any, items: Any, units: Any = None) -> Any:
            (tmp_path / "m" / "a.pkl").unlink()
            (tmp_path / "m").rmdir()
            return super().map(fn, items, units)

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.pkl").write_bytes(pickle.dumps(1))
    from opentrust.errors import UserError

    with pytest.raises(UserError, match="is not on node"):
        scan_paths([tmp_path / "m"], executor=NodeWithoutTheFolderDouble())


@pytest.mark.slow
def test_ray_scan_equals_the_local_scan(registry: Path, ray_address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same folder tree scanned in this process and as Ray tasks on two nodes: identical reports, every
    file scanned exactly once (the per-node counts are files), payloads never run."""
    from opentrust.executor import make_executor

    local = to_json_dict(scan_paths([registry]))
    monkeypatch.setattr(dispatch, "CHUNK_FILES", 8)  # enough tasks for both nodes
    with make_executor("ray", ray_address) as ex:
        on_ray = to_json_dict(scan_paths([registry], executor=ex))
        nodes = ex.nodes()
    assert stable(on_ray) == stable(local)
    rules = {f["rule_id"] for f in local["findings"]}
    assert {"PICKLE-DANGEROUS-CALL", "REMOTE-CODE-EXEC", "ARCHIVE-ZIP-SLIP", "SCAN-SKIPPED"} <= rules, rules
    assert local["summary"]["findings_by_severity"]["critical"] > 0
    readable = sum(1 for e in dispatch.iter_files([registry]) if e.skip is None)
    assert sum(n.samples for n in nodes) == readable  # per-node counts are files: every one scanned once
    assert not F.marker_path(registry.parent).exists()


@pytest.mark.slow
def test_cli_scan_on_the_cluster(registry: Path, ray_address: str, tmp_path: Path) -> None:
    """`opentrust scan --executor ray --ray-address A`: the merged JSON report equals the local command's, the
    per-node table is printed, and the exit code is the same (1: findings at --fail-on)."""
    # a relative path, as users type it: tasks run in their workers' own folders, and must still find the files
    local = run_cli("scan", registry.name, "--format", "json", "--out", str(tmp_path / "local.json"),
                    cwd=registry.parent)
    ray = run_cli("scan", "--executor", "ray", "--ray-address", ray_address, registry.name, "--format", "json",
                  "--out", str(tmp_path / "ray.json"), cwd=registry.parent)
    assert local.returncode == ray.returncode == 1, ray.stderr
    assert "per second" in ray.stderr and "Ray:" in ray.stderr
    assert stable(json.loads((tmp_path / "ray.json").read_text())) == stable(
        json.loads((tmp_path / "local.json").read_text()))
