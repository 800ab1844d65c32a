"""Archives: members go through nested dispatch; bombs and path escapes are findings."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from opentrust.scan import archive
from opentrust.scan.base import ScanContext, Source
from tests.scan import fixtures_formats as F


def _scan(path_or_data: Path | bytes, name: str = "a") -> tuple[list[str], list[str]]:
    nested: list[str] = []
    ctx = ScanContext(scan_nested=lambda src, c: nested.append(src.display))
    src = Source(display=name, path=path_or_data) if isinstance(path_or_data, Path) else Source(
        display=name, data=path_or_data)
    archive.scan(src, ctx)
    return [f.rule_id for f in ctx.findings], nested


@pytest.mark.parametrize("maker,rule", [(m, r) for m, r in F.HOSTILE.items() if m.startswith("make_archive")])
def test_hostile_archives(tmp_path: Path, maker: str, rule: str) -> None:
    p = F.maker(maker)(tmp_path)
    assert archive.sniff(p.read_bytes()[:4096], p.stat().st_size)
    assert rule in _scan(p)[0]
    assert not F.marker_path(tmp_path).exists()


def test_benign_archive_members_are_dispatched(tmp_path: Path) -> None:
    rules, nested = _scan(F.make_archive_benign(tmp_path), "b.zip")
    assert rules == [] and nested == ["b.zip!model/README.md", "b.zip!model/config.json"]


def test_tar_gz_member_dispatched(tmp_path: Path) -> None:
    rules, nested = _scan(F.make_archive_tar_pickle(tmp_path), "w.tgz")
    assert rules == [] and nested == ["w.tgz!model/weights.txt"]


def test_lone_gzip_stream(tmp_path: Path) -> None:
    rules, nested = _scan(gzip.compress(F.pickle_payload(tmp_path)), "p.gz")
    assert rules == [] and nested == ["p.gz!<gzip>"]


def test_gzip_bomb_stops_at_the_budget() -> None:
    data = gzip.compress(b"\0" * (24 * 1024 * 1024), compresslevel=6)
    nested: list[str] = []
    ctx = ScanContext(max_total_bytes=8 * 1024 * 1024, scan_nested=lambda s, c: nested.append(s.display))
    archive.scan(Source(display="bomb.gz", data=data), ctx)
    assert [f.rule_id for f in ctx.findings] == ["ARCHIVE-BOMB"] and nested == []


def test_overlapping_zip_entries(tmp_path: Path) -> None:
    """Two central-directory entries pointing at the same local file (a non-recursive bomb)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.bin", b"x" * 100)
    raw = buf.getvalue()
    cd = raw.index(b"PK\x01\x02")
    eocd = raw.index(b"PK\x05\x06")
    entry = raw[cd:eocd].replace(b"a.bin", b"b.bin")
    end = bytearray(raw[eocd:])
    end[8:10] = end[10:12] = (2).to_bytes(2, "little")
    end[12:16] = (2 * (eocd - cd)).to_bytes(4, "little")
    data = raw[:eocd] + entry + bytes(end)
    assert "ARCHIVE-BOMB" in _scan(data)[0]


def test_tar_hardlink_and_device(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        hard = tarfile.TarInfo("model/h")
        hard.type = tarfile.LNKTYPE
        hard.linkname = "../../etc/passwd"
        tf.addfile(hard)
        dev = tarfile.TarInfo("model/dev")
        dev.type = tarfile.CHRTYPE
        tf.addfile(dev)
    rules, _ = _scan(buf.getvalue())
    assert rules == ["ARCHIVE-LINK-ESCAPE", "ARCHIVE-SPECIAL-FILE"]


def test_damaged_archives_are_findings() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.txt", b"hello world" * 100)
    raw = bytearray(buf.getvalue())
    raw[40:60] = b"\0" * 20  # corrupt the compressed data of the member
    assert "ARCHIVE-MALFORMED" in _scan(bytes(raw))[0]
    assert _scan(b"\x1f\x8b\x08\x00garbage")[0] == ["ARCHIVE-MALFORMED"]


def test_path_helpers() -> None:
    assert archive.path_escape("a/../../b") and archive.path_escape("/abs") and archive.path_escape("C:\\x")
    assert archive.path_escape("a/../b") is None and archive.path_escape("a/./b") is None
    assert archive.link_escape("a/b/link", "../c") is None and archive.link_escape("a/link", "../../x")


def test_lone_gzip_stream_is_passed_on_intact() -> None:
    """Regression: the nested bytes of a .gz must be the whole decompressed stream (byte 513 was lost)."""
    import gzip

    from opentrust.scan import archive
    from opentrust.scan.base import ScanContext, Source

    payload = bytes(range(256)) * 8
    seen: dict[str, bytes | None] = {}
    ctx = ScanContext()
    ctx.scan_nested = lambda src, c: seen.__setitem__(src.display, src.data)
    archive.scan(Source(display="x.gz", data=gzip.compress(payload)), ctx)
    assert seen == {"x.gz!<gzip>": payload}


# -- flag bits and formats the scanner cannot open ---------------------------------------------------------


@pytest.mark.parametrize("magic,kind", [(b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"), (b"Rar!\x1a\x07\x01\x00", "RAR"),
                                        (b"\x28\xb5\x2f\xfd\x04\x00", "zstd"), (b"!<arch>\nfoo", "ar"), (b"MSCF\x00\x00\x00\x00", "cab")])
def test_archives_we_cannot_open_are_high_never_silent(magic: bytes, kind: str) -> None:
    from opentrust.scan.dispatch import scan_bytes

    r = scan_bytes(magic + bytes(64))
    found = [(f.rule_id, f.severity.value, f.message) for f in r.findings]
    assert found and found[0][:2] == ("ARCHIVE-UNSUPPORTED-FORMAT", "high") and kind in found[0][2]


def test_lz4_stream_is_high_when_it_cannot_be_opened() -> None:
    """lz4 frames are joblib's fastest codec: without the codec installed the pickle inside is unvetted."""
    from opentrust.scan.dispatch import scan_bytes

    found = {(f.rule_id, f.severity.value) for f in scan_bytes(b"\x04\x22\x4d\x18\x64\x40" + bytes(64)).findings}
    assert found == {("JOBLIB-COMPRESSED-UNINSPECTED", "high")}


def test_real_7z_with_a_pickle_is_high(tmp_path: Path) -> None:
    from advisories import seven_zip
    from opentrust.scan.dispatch import scan_paths

    p = tmp_path / "model.7z"
    p.write_bytes(seven_zip("data.pkl", b"\x80\x04K\x01."))
    assert {(f.rule_id, f.severity.value) for f in scan_paths([p]).findings} == {
        ("ARCHIVE-UNSUPPORTED-FORMAT", "high")}


def test_torch_zip_with_lying_flag_bits_is_read_and_reported(tmp_path: Path) -> None:
    """A PyTorch checkpoint whose data.pkl claims encryption but is plain: its pickle is still analysed."""
    from advisories import set_zip_flags
    from opentrust.scan.dispatch import scan_paths
    from payloads import pickle_payloads
    from torchfiles import write_torch_zip

    marker = tmp_path / "marker"
    clean = write_torch_zip(tmp_path / "clean.pt", {"w": (2,)}, data_pickle=pickle_payloads(marker)["timeit"])
    p = tmp_path / "model.pt"
    for bit in (0x1, 0x20, 0x40):
        p.write_bytes(set_zip_flags(clean.read_bytes(), bit))
        r = scan_paths([p])
        rules = {f.rule_id for f in r.findings}
        assert {"ARCHIVE-FLAG-MISMATCH", "PICKLE-DANGEROUS-CALL"} <= rules, (bit, rules)
        assert r.files[0].format == "torch"
    assert not marker.exists()


def test_data_descriptor_zip_is_read_normally(tmp_path: Path) -> None:
    """Flag bit 0x8 (sizes after the data) is what streaming writers produce; loaders read it."""
    from opentrust.scan.dispatch import scan_paths
    from payloads import pickle_payloads

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buf = io.BytesIO()

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[override]
            return self.buf.write(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w") as zf:  # an unseekable target makes zipfile write data descriptors
        zf.writestr("payload.pkl", pickle_payloads(tmp_path / "m")["builtins_exec"])
    data = sink.buf.getvalue()
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].flag_bits & 0x8
    p = tmp_path / "dd.zip"
    p.write_bytes(data)
    assert "PICKLE-DANGEROUS-CALL" in {f.rule_id for f in scan_paths([p]).findings}


@pytest.mark.slow
def test_flag_bits_as_python_and_torch_read_them(tmp_path: Path) -> None:
    """Ground truth for ARCHIVE-FLAG-MISMATCH's help text: zipfile and torch 2.13 refuse 0x1/0x20/0x40 members
    and read 0x8 ones (torch checked in a child process when a torch interpreter is available)."""
    import os
    import subprocess

    from advisories import set_zip_flags
    from torchfiles import write_torch_zip

    clean = write_torch_zip(tmp_path / "clean.pt", {"w": (2,)}).read_bytes()
    verdicts = {}
    for bit in (0x1, 0x8, 0x20, 0x40):
        p = tmp_path / f"f{bit:x}.pt"
        p.write_bytes(set_zip_flags(clean, bit))
        try:
            with zipfile.ZipFile(p) as zf:
                zf.read("archive/data.pkl")
            verdicts[bit] = "reads"
        except (RuntimeError, NotImplementedError):
            verdicts[bit] = "refuses"
    assert verdicts == {0x1: "refuses", 0x8: "reads", 0x20: "refuses", 0x40: "refuses"}
    py = os.environ.get("OPENTRUST_TORCH_PYTHON", "/work/bench-venvs/torch/bin/python")
    if not Path(py).exists():
        pytest.skip("no torch interpreter for the torch half (OPENTRUST_TORCH_PYTHON)")
    code = ("import sys, torch\nfor p in sys.argv[1:]:\n    try:\n        torch.load(p, weights_only=False); print('reads')\n"
            "    except Exception:\n        print('refuses')\n")
    out = subprocess.run([py, "-c", code, *(str(tmp_path / f"f{b:x}.pt") for b in (0x1, 0x8, 0x20, 0x40))],
                         capture_output=True, text=True, timeout=300).stdout.split()
    assert out == ["refuses", "reads", "refuses", "refuses"]


def test_model_container_member_in_an_unreadable_compression_is_high(tmp_path: Path) -> None:
    """A checkpoint whose data.pkl uses a compression the scanner cannot decode is not passed as medium."""
    from opentrust.scan.dispatch import scan_paths

    for method in (zipfile.ZIP_LZMA,):
        p = tmp_path / f"m{method}.pt"
        with zipfile.ZipFile(p, "w", compression=method) as zf:
            zf.writestr("archive/data.pkl", b"\x80\x04K\x01.")
            zf.writestr("archive/version", b"3\n")
        found = {(f.rule_id, f.severity.value) for f in scan_paths([p]).findings}
        assert ("TORCH-MEMBER-UNREADABLE", "high") in found, found
