"""PyTorch zip (any prefix, every pickle member, TorchScript code), legacy stacked pickles, damaged zips."""

from __future__ import annotations

import zipfile
from pathlib import Path

from opentrust.findings import Severity
from opentrust.scan.dispatch import scan_paths
from payloads import pickle_payloads
from torchfiles import write_legacy_torch, write_torch_zip

SHAPES = {"linear.weight": (4, 3), "linear.bias": (4,)}


def _rules(result, at_least: Severity = Severity.info):
    return {f.rule_id for f in result.findings if f.severity.at_least(at_least)}


def test_benign_torch_zip_has_no_finding(tmp_path: Path) -> None:
    for prefix in ("archive", "my_model", "deep/er"):
        p = write_torch_zip(tmp_path / f"{prefix.replace('/', '_')}.pt", SHAPES, prefix=prefix)
        r = scan_paths([p])
        assert r.files[0].format == "torch"
        assert not r.findings, [(f.rule_id, f.message) for f in r.findings]


def test_payload_in_data_pkl_under_any_prefix_and_name(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = pickle_payloads(marker)["reduce_posix_system"]
    p = write_torch_zip(tmp_path / "weights.safetensors", SHAPES, prefix="x/y", data_pickle=evil)
    r = scan_paths([p])
    assert r.files[0].format == "torch"
    assert "PICKLE-DANGEROUS-CALL" in _rules(r)
    assert any("x/y/data.pkl" in (f.location.path or "") for f in r.findings)
    assert not marker.exists()


def test_every_pickle_member_is_scanned(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = pickle_payloads(marker)["timeit"]
    # a second pickle member with an innocent name and no .pkl suffix
    p = write_torch_zip(tmp_path / "m.pt", SHAPES, extra={"extra/notes.txt": evil, "constants.pkl": evil})
    r = scan_paths([p])
    paths = {f.location.path for f in r.findings if f.rule_id == "PICKLE-DANGEROUS-CALL"}
    assert any(p.endswith("extra/notes.txt") for p in paths) and any(p.endswith("constants.pkl") for p in paths)


def test_torchscript_code_member_flagged(tmp_path: Path) -> None:
    code = b"def forward(self, x: Tensor) -> Tensor:\n  os.system('touch /nonexistent')\n  return torch.ops.evil_ns.run(x)\n"
    p = write_torch_zip(tmp_path / "scripted.pt", SHAPES, extra={"code/__torch__/m.py": code})
    r = scan_paths([p])
    assert {"TORCH-SCRIPT-DANGEROUS", "TORCH-SCRIPT-CUSTOM-OP"} <= _rules(r)


def test_legacy_format_benign_and_payload_in_stacked_pickle(tmp_path: Path) -> None:
    benign = write_legacy_torch(tmp_path / "old.bin", SHAPES)
    r = scan_paths([benign])
    assert r.files[0].format == "torch" and not r.findings, [(f.rule_id, f.message) for f in r.findings]
    marker = tmp_path / "marker"
    evil = write_legacy_torch(tmp_path / "old_evil.bin", SHAPES, payload=pickle_payloads(marker)["builtins_exec"])
    r = scan_paths([evil])
    assert "PICKLE-DANGEROUS-CALL" in _rules(r)
    assert not marker.exists()


def test_damaged_central_directory_read_from_local_headers(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    p = write_torch_zip(tmp_path / "broken.pt", SHAPES, data_pickle=pickle_payloads(marker)["builtins_exec"])
    data = p.read_bytes()
    cd = data.rfind(b"PK\x01\x02")
    eocd = data.rfind(b"PK\x05\x06")
    broken = data[: data.find(b"PK\x01\x02")] + b"\x00" * (len(data) - data.find(b"PK\x01\x02"))
    assert cd > 0 and eocd > 0
    p.write_bytes(broken)
    try:
        zipfile.ZipFile(p)
        raise AssertionError("zip should be unreadable by zipfile")
    except zipfile.BadZipFile:
        pass
    r = scan_paths([p])
    assert {"TORCH-DAMAGED-ZIP", "PICKLE-DANGEROUS-CALL"} <= _rules(r)
