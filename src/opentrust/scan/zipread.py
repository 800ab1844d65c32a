"""A tolerant zip reader for model containers (torch, npz): the central directory when it is sound, the
local file headers when it is not — as torch's own reader copes with some damage — with the damage noted.

Members are read one at a time with a size bound; stored (uncompressed) members are sliced from the
file without reading the others, so a 400 MB state dict costs only its pickle's bytes. Flag bits (encryption
0x1, patch data 0x20, strong encryption 0x40) are ignored when reading, so a member whose bits lie about its
plain content is still inspected (Python's zipfile and PyTorch 2.13's reader refuse such members; tolerant
readers do not — ``archive.report_flagged_member`` reports the mismatch).
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from opentrust.scan.base import Source

_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # local file header, 30 bytes
MAX_MEMBERS = 100_000


@dataclass
class Member:
    name: str
    header_offset: int
    method: int
    compressed_size: int
    size: int
    data_offset: int | None = None  # known when read from a local header
    flags: int = 0  # general-purpose bit flags (read_member ignores them, as PyTorch's reader does)
    crc: int | None = None


@dataclass
class ZipListing:
    members: list[Member] = field(default_factory=list)
    damage: str | None = None  # why the central directory could not be used


def member_names(source: Source) -> list[str]:
    return [m.name for m in listing(source).members]


_cache: dict[int, tuple[Source, ZipListing]] = {}


def listing(source: Source) -> ZipListing:
    cached = _cache.get(id(source))
    if cached is not None and cached[0] is source:
        return cached[1]
    result = _listing(source)
    _cache.clear()  # one source at a time: keep memory flat
    _cache[id(source)] = (source, result)
    return result


def _listing(source: Source) -> ZipListing:
    try:
        with source.open() as fh, zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise zipfile.BadZipFile(f"{len(infos)} members")
            return ZipListing([Member(i.filename, i.header_offset, i.compress_type, i.compress_size, i.file_size,
                                      flags=i.flag_bits, crc=i.CRC) for i in infos])
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, struct.error) as exc:
        return ZipListing(_scan_local_headers(source), damage=f"central directory unusable ({exc})")


def _scan_local_headers(source: Source) -> list[Member]:
    """Walk local headers from the start (each header gives the next one's position)."""
    members: list[Member] = []
    size = source.size
    pos = 0
    with source.open() as fh:
        while pos + 30 <= size and len(members) < MAX_MEMBERS:
            fh.seek(pos)
            raw = fh.read(30)
            if len(raw) < 30 or raw[:4] != b"PK\x03\x04":
                break
            _, _ver, flags, method, _t, _d, _crc, csize, usize, nlen, xlen = _LOCAL.unpack(raw)
            name = fh.read(nlen).decode("utf-8" if flags & 0x800 else "cp437", "replace")
            data_offset = pos + 30 + nlen + xlen
            if flags & 0x08 and csize == 0:
                # sizes are in a data descriptor after the data: find the next header instead
                nxt = _find_next_header(fh, data_offset, size)
                csize = usize = (nxt if nxt is not None else size) - data_offset
                if nxt is not None and nxt - data_offset >= 16:
                    csize = usize = nxt - data_offset - 16
            members.append(Member(name, pos, method, csize, usize, data_offset, flags=flags, crc=_crc))
            pos = data_offset + csize
            if flags & 0x08:
                fh.seek(pos)
                sig = fh.read(4)
                pos += 16 if sig == b"PK\x07\x08" else 12
    return members


def _find_next_header(fh: Any, start: int, size: int) -> int | None:
    pos = start
    chunk = 1 << 20
    while pos < size:
        fh.seek(pos)
        block = fh.read(chunk + 3)
        i = block.find(b"PK\x03\x04")
        if i >= 0:
            return pos + i
        pos += chunk
    return None


def read_member(source: Source, member: Member, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of a member's content and whether it was cut. Raises ValueError on damage."""
    with source.open() as fh:
        if member.data_offset is None:
            fh.seek(member.header_offset)
            raw = fh.read(30)
            if len(raw) < 30 or raw[:4] != b"PK\x03\x04":
                raise ValueError(f"bad local header for {member.name}")
            nlen, xlen = struct.unpack("<HH", raw[26:30])
            member.data_offset = member.header_offset + 30 + nlen + xlen
        fh.seek(member.data_offset)
        if member.method == zipfile.ZIP_STORED:
            data = fh.read(min(member.compressed_size, limit))
            return data, member.compressed_size > limit
        if member.method == zipfile.ZIP_DEFLATED:
            d = zlib.decompressobj(-15)
            out = bytearray()
            remaining = member.compressed_size
            while remaining > 0 and len(out) < limit:
                block = fh.read(min(1 << 20, remaining))
                if not block:
                    break
                remaining -= len(block)
                try:
                    out += d.decompress(block, limit - len(out))
                except zlib.error as exc:
                    raise ValueError(f"corrupt deflate data in {member.name}: {exc}") from None
            return bytes(out), len(out) >= limit and (remaining > 0 or bool(d.unconsumed_tail))
        raise ValueError(f"{member.name}: compression method {member.method} not supported for inspection")


#: flag bits that make Python's zipfile refuse a member (0x1 encrypted, 0x20 patch data, 0x40 strong encryption)
REFUSED_FLAGS = 0x1 | 0x20 | 0x40


def flag_names(flags: int) -> str:
    return ", ".join(n for b, n in ((0x1, "0x1 encrypted"), (0x20, "0x20 patch data"),
                                    (0x40, "0x40 strong encryption")) if flags & b)
