"""Keras (.keras zip, legacy .h5) and TensorFlow SavedModel graphs. Nothing is unmarshalled or loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrust.findings import Severity
from opentrust.scan import keras, savedmodel
from opentrust.scan.base import ScanContext, Source
from tests.scan import fixtures_formats as F


def _scan(module: object, path: Path) -> list[tuple[str, Severity]]:
    ctx = ScanContext()
    module.scan(Source(display=path.name, path=path), ctx)  # type: ignore[attr-defined]
    return [(f.rule_id, f.severity) for f in ctx.findings]


@pytest.mark.parametrize("maker,rule", [(m, r) for m, r in F.HOSTILE.items() if m.startswith(("make_keras", "make_h5"))])
def test_hostile_keras(tmp_path: Path, maker: str, rule: str) -> None:
    p = F.maker(maker)(tmp_path)
    assert keras.sniff(p.read_bytes()[:4096], p.stat().st_size)
    assert rule in [r for r, _ in _scan(keras, p)]
    assert not F.marker_path(tmp_path).exists()


@pytest.mark.parametrize("maker", ["make_keras_benign", "make_h5_benign"])
def test_benign_keras(tmp_path: Path, maker: str) -> None:
    assert _scan(keras, F.maker(maker)(tmp_path)) == []


def test_lambda_bytecode_names_are_evidence(tmp_path: Path) -> None:
    ctx = ScanContext()
    keras.scan(Source(display="l", path=F.make_keras_lambda(tmp_path)), ctx)
    [f] = ctx.findings
    assert f.severity == Severity.critical and "system" in f.message
    assert F.MARKER in f.evidence  # the command is visible to the reviewer, never run
    assert f.location.key == "config.json/config/layers/1/config/function"


def test_extra_members_are_dispatched(tmp_path: Path) -> None:
    seen: list[str] = []
    ctx = ScanContext(scan_nested=lambda src, c: seen.append(src.display))
    keras.scan(Source(display="x.keras", path=F.make_keras_extra_pickle(tmp_path)), ctx)
    assert seen == ["x.keras!assets/state.pkl"]


def test_h5_bytes_and_damaged_files(tmp_path: Path) -> None:
    data = F.make_h5_lambda(tmp_path).read_bytes()
    ctx = ScanContext()
    keras.scan(Source(display="mem.h5", data=data), ctx)
    assert [f.rule_id for f in ctx.findings] == ["KERAS-LAMBDA"]
    broken = bytearray(data)
    broken[8:200] = b"\xff" * 192
    ctx = ScanContext()
    keras.scan(Source(display="broken.h5", data=bytes(broken)), ctx)
    assert [f.rule_id for f in ctx.findings] in (["KERAS-MALFORMED"], ["KERAS-H5-CRASH"])


def test_h5_worker_hang_is_a_finding_and_the_worker_restarts(tmp_path: Path) -> None:
    """libhdf5 blocks forever opening a FIFO (a real hang, no double): the isolated worker times out, the
    scanner reports KERAS-H5-CRASH, and the next file gets a fresh worker."""
    import os

    from opentrust.scan import h5_attrs

    fifo = tmp_path / "fifo.h5"
    os.mkfifo(fifo)
    with pytest.raises(h5_attrs.H5Crash, match="hung"):
        h5_attrs.read_root_attrs(path=str(fifo), timeout=1.5)
    assert h5_attrs._client.proc is None
    assert _scan(keras, F.make_h5_benign(tmp_path)) == []


def test_tf_keras_function_reference_and_custom_module() -> None:
    ctx = ScanContext()
    src = Source(display="cfg", data=b"")
    keras.analyse_config({"class_name": "Lambda", "config": {"function": "system", "function_type": "function",
                                                             "module": "posix"}}, src, ctx, "model_config")
    keras.analyse_config({"module": "keras.layers", "class_name": "Dense", "config": {
        "activation": {"module": "my_pkg.acts", "class_name": "function", "config": "swishy"}}}, src, ctx, "c")
    assert [(f.rule_id, f.severity) for f in ctx.findings] == [
        ("KERAS-DANGEROUS-REFERENCE", Severity.critical), ("KERAS-CUSTOM-OBJECT", Severity.medium)]


@pytest.mark.parametrize("maker", ["make_savedmodel_readfile", "make_savedmodel_pyfunc"])
def test_hostile_savedmodel(tmp_path: Path, maker: str) -> None:
    p = F.maker(maker)(tmp_path)
    assert savedmodel.sniff(p.read_bytes()[:4096], p.stat().st_size)
    found = _scan(savedmodel, p)
    assert found and all(r == "SAVEDMODEL-DANGEROUS-OP" for r, _ in found)
    if maker.endswith("pyfunc"):
        assert found == [("SAVEDMODEL-DANGEROUS-OP", Severity.critical)]
    else:
        assert len(found) == 2  # ReadFile and WriteFile


def test_benign_savedmodel_with_checkpoint_ops(tmp_path: Path) -> None:
    assert _scan(savedmodel, F.make_savedmodel_benign(tmp_path)) == []


def test_savedmodel_truncated(tmp_path: Path) -> None:
    data = F.make_savedmodel_readfile(tmp_path).read_bytes()
    ctx = ScanContext()
    savedmodel.scan(Source(display="cut", data=data[:-7]), ctx)
    assert "SAVEDMODEL-MALFORMED" in [f.rule_id for f in ctx.findings]
