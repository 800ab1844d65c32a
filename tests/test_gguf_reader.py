from __future__ import annotations

import struct
from pathlib import Path

import pytest

from opentrust.formats.gguf import GGUFError, read_gguf
from tests.gguf_writer import write_gguf


def test_reads_the_embedded_model(smollm2_path: Path) -> None:
    g = read_gguf(smollm2_path)
    assert g.architecture == "llama"
    assert g.file_type_name == "Q4_1"
    assert g.arch_key("context_length") == 8192
    assert 130e6 < g.parameter_count < 140e6  # SmolLM2-135M
    assert isinstance(g.get("tokenizer.chat_template"), str)
    assert g.get("tokenizer.ggml.tokens").count == 49152
    assert not g.problems


def test_small_file_round_trip(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", {"general.architecture": "llama", "general.license": "mit",
                                             "llama.context_length": 512, "flags": [1, 2, 3]},
                      [("a", (4, 8)), ("b", (16,))])
    g = read_gguf(path)
    assert g.get("general.license") == "mit"
    assert g.get("flags").head == [1, 2, 3]
    assert [t.name for t in g.tensors] == ["a", "b"]
    assert g.parameter_count == 48
    assert not g.problems


@pytest.mark.parametrize("cut", [3, 10, 40, 90])
def test_truncated_headers_raise(tmp_path: Path, cut: int) -> None:
    full = write_gguf(tmp_path / "m.gguf", {"general.architecture": "llama", "general.name": "x" * 50},
                      [("a", (4,))]).read_bytes()
    p = tmp_path / "cut.gguf"
    p.write_bytes(full[:cut])
    with pytest.raises(GGUFError):
        read_gguf(p)


def test_truncated_tensor_data_is_a_problem(tmp_path: Path) -> None:
    full = write_gguf(tmp_path / "m.gguf", {"general.architecture": "llama"}, [("a", (1024,))]).read_bytes()
    p = tmp_path / "cut.gguf"
    p.write_bytes(full[: len(full) - 100])
    assert [pr.code for pr in read_gguf(p).problems] == ["tensor-out-of-bounds"]


def test_absurd_counts_are_refused_before_allocating(tmp_path: Path) -> None:
    p = tmp_path / "huge.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 2**60))
    with pytest.raises(GGUFError, match="cannot fit"):
        read_gguf(p)


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    p = write_gguf(tmp_path / "m.gguf", {"general.architecture": "llama", "k": 1})
    raw = bytearray(p.read_bytes())
    # Rename key "k" into a second "general.architecture"-length-compatible duplicate by appending a KV.
    extra = struct.pack("<Q", 1) + b"k" + struct.pack("<I", 4) + struct.pack("<I", 2)
    raw[16:24] = struct.pack("<Q", 3)  # kv count 2 -> 3
    header_end = raw.index(b"k", 24) + 1 + 4 + 4
    p.write_bytes(bytes(raw[:header_end]) + extra + bytes(raw[header_end:]))
    assert "duplicate-key" in [pr.code for pr in read_gguf(p).problems]


def test_not_gguf(tmp_path: Path) -> None:
    p = tmp_path / "x.gguf"
    p.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(GGUFError, match="not a GGUF"):
        read_gguf(p)
