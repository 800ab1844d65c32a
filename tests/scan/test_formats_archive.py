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
