"""NumPy .npy/.npz (object arrays carry pickles) and joblib files, plain and compressed, benign and hostile."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from opentrust.findings import Severity
from opentrust.scan.dispatch import scan_paths
from payloads import _Reduce, shell


def _serious(result):
    return [(f.rule_id, f.message) for f in result.findings if f.severity.at_least(Severity.medium)]


def test_npy_numeric_and_object_benign(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
    np.save(tmp_path / "objs.npy", np.array(["a", {"k": 1}, None], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "bundle.npz", x=np.ones(3), y=np.zeros((2, 2)))
    r = scan_paths([tmp_path])
    assert not _serious(r)
    fmts = {Path(f.path).name: f.format for f in r.files}
    assert fmts == {"a.npy": "numpy", "objs.npy": "numpy", "bundle.npz": "npz"}
    assert [f.rule_id for f in r.findings] == ["NUMPY-OBJECT-ARRAY"]


def test_npy_and_npz_object_array_payload(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = np.array([1, _Reduce(os.system, (shell(marker),))], dtype=object)
    np.save(tmp_path / "evil.npy", evil, allow_pickle=True)
    np.savez(tmp_path / "evil.npz", ok=np.ones(2), bad=evil)
    os.rename(tmp_path / "evil.npz", tmp_path / "evil.data")  # misleading name
    r = scan_paths([tmp_path])
    hits = {f.location.path for f in r.findings if f.rule_id == "PICKLE-DANGEROUS-CALL"}
    assert any(h.endswith("evil.npy") for h in hits)
    assert any(h.endswith("evil.data!bad.npy") for h in hits)
    assert not marker.exists()


def test_malformed_npy_header(tmp_path: Path) -> None:
    p = tmp_path / "bad.npy"
    p.write_bytes(b"\x93NUMPY\x01\x00\x20\x00{'descr': __import__('os'), }      \n")
    r = scan_paths([p])
    assert [f.rule_id for f in r.findings] == ["NUMPY-MALFORMED"]


@pytest.fixture(scope="module")
def pipeline():
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=200))]).fit(X, y)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    return {"pipe": pipe, "forest": forest}


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3)])
def test_real_sklearn_joblib_has_no_finding_at_medium(pipeline, compress, tmp_path: Path) -> None:
    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump(pipeline, path, compress=compress)
    r = scan_paths([path])
    assert not _serious(r), _serious(r)
    assert r.findings == [] or all(f.severity == Severity.low for f in r.findings)


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("lzma", 3)])
def test_hostile_joblib_plain_and_compressed(compress, tmp_path: Path) -> None:
    import joblib

    marker = tmp_path / "marker"
    path = tmp_path / "model.pkl"
    joblib.dump({"arr": np.arange(100.0), "x": _Reduce(os.system, (shell(marker),))}, path, compress=compress)
    r = scan_paths([path])
    assert any(f.rule_id == "PICKLE-DANGEROUS-CALL" for f in r.findings), [(f.rule_id, f.message) for f in r.findings]
    assert not marker.exists()


def test_lz4_without_codec_is_reported_not_guessed(tmp_path: Path) -> None:
    pytest.importorskip("lz4") if False else None
    p = tmp_path / "m.joblib"
    p.write_bytes(b"\x04\x22\x4d\x18" + os.urandom(64))
    r = scan_paths([p])
    try:
        import lz4  # noqa: F401
    except ImportError:
        assert [f.rule_id for f in r.findings] == ["JOBLIB-COMPRESSED-UNINSPECTED"]
        assert r.findings[0].severity == Severity.high  # an unvetted pickle is never passed silently
