"""ONNX: external-data escapes and custom-domain operators, via the bounded protobuf walker."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrust.formats.protobuf import ByteSource, ProtobufError, iter_fields
from opentrust.scan import onnx as onnx_scan
from opentrust.scan.base import ScanContext, Source
from tests.scan import fixtures_formats as F

pytest.importorskip("onnx", reason="the onnx package (test extra) builds the fixtures")


def _rules(path: Path) -> list[str]:
    ctx = ScanContext()
    onnx_scan.scan(Source(display=path.name, path=path), ctx)
    return [f.rule_id for f in ctx.findings]


@pytest.mark.parametrize("maker,rule", [(m, r) for m, r in F.HOSTILE.items() if m.startswith("make_onnx")])
def test_hostile_models(tmp_path: Path, maker: str, rule: str) -> None:
    p = F.maker(maker)(tmp_path)
    assert onnx_scan.sniff(p.read_bytes()[:4096], p.stat().st_size)
    assert rule in _rules(p)


@pytest.mark.parametrize("maker", ["make_onnx_benign", "make_onnx_benign_external"])
def test_benign_models(tmp_path: Path, maker: str) -> None:
    assert _rules(F.maker(maker)(tmp_path)) == []


def test_external_data_missing_is_low(tmp_path: Path) -> None:
    p = F.make_onnx_benign_external(tmp_path)
    (p.parent / "weights.bin").unlink()
    assert _rules(p) == ["ONNX-EXTERNAL-DATA-MISSING"]


def test_traversal_inside_subgraph_and_local_functions(tmp_path: Path) -> None:
    """External tensors in an If branch are found; ops of a function defined in the model are not custom."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    t = numpy_helper.from_array(np.ones((1,), dtype=np.float32), name="C")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "..\\..\\windows\\system32\\config\\sam"
    then = helper.make_graph([helper.make_node("Constant", [], ["o"], value=t)], "then", [],
                             [helper.make_tensor_value_info("o", TensorProto.FLOAT, [1])])
    cond = helper.make_node("If", ["b"], ["o"], then_branch=then, else_branch=then)
    fn = helper.make_function("local.fns", "Twice", ["x"], ["y"], [helper.make_node("Add", ["x", "x"], ["y"])],
                              [helper.make_opsetid("", 17)])
    call = helper.make_node("Twice", ["o"], ["z"], domain="local.fns")
    g = helper.make_graph([cond, call], "g", [helper.make_tensor_value_info("b", TensorProto.BOOL, [])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1])])
    m = helper.make_model(g, functions=[fn], opset_imports=[helper.make_opsetid("", 17),
                                                              helper.make_opsetid("local.fns", 1)])
    p = tmp_path / "sub.onnx"
    p.write_bytes(m.SerializeToString())
    assert _rules(p) == ["ONNX-EXTERNAL-DATA-TRAVERSAL"]


def test_truncated_model_is_a_finding(tmp_path: Path) -> None:
    data = F.make_onnx_custom_op(tmp_path).read_bytes()
    ctx = ScanContext()
    onnx_scan.scan(Source(display="cut", data=data[: len(data) // 2]), ctx)
    assert "ONNX-MALFORMED" in [f.rule_id for f in ctx.findings]


def test_tensor_bytes_are_skipped_not_read(tmp_path: Path) -> None:
    """A 16 MB initializer: the scan reads tags and lengths only (bytes actually read from the file)."""
    import io

    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((4, 1024, 1024), dtype=np.float32), name="W")
    g = helper.make_graph([helper.make_node("Identity", ["W"], ["Y"], domain="com.example")], "g", [],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], [w])
    p = tmp_path / "big.onnx"
    p.write_bytes(helper.make_model(g).SerializeToString())

    class CountingFile(io.FileIO):
        read_bytes = 0

        def read(self, n: int = -1) -> bytes:
            data = super().read(n)
            CountingFile.read_bytes += len(data)
            return data

    ctx = ScanContext()
    with CountingFile(p, "r") as fh:
        onnx_scan.scan_model(ByteSource(fh=fh), Source(display="big", path=p), ctx)  # type: ignore[arg-type]
    assert [f.rule_id for f in ctx.findings] == ["ONNX-CUSTOM-OP"]
    assert CountingFile.read_bytes < 512 * 1024 < p.stat().st_size // 32


def test_protobuf_walker_rejects_bad_lengths() -> None:
    with pytest.raises(ProtobufError):
        list(iter_fields(ByteSource(data=b"\x0a\xff\xff\xff\x0f")))  # length past the end
    with pytest.raises(ProtobufError):
        list(iter_fields(ByteSource(data=b"\x08" + b"\xff" * 11)))  # varint too long
    with pytest.raises(ProtobufError):
        list(iter_fields(ByteSource(data=b"\x0b")))  # group wire type
