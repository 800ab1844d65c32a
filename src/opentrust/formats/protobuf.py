"""A bounded, lazy protobuf wire-format walker (ONNX models, TF SavedModel graphs).

Written by hand rather than using ``onnx.load`` / the ``protobuf`` runtime because those decode the whole
message — tensor data included — into memory before we can look at it, need the generated schema classes,
and recurse without bounds on hostile input. Scanning only needs the headers (node op types, domains,
external-data locations), so this walker reads tag and length, descends into the sub-messages the caller
asks for and skips everything else (raw tensor bytes are never read). Every length is checked against the
enclosing message before it is used, varints are at most 10 bytes, and nesting depth is bounded by the
caller; any violation raises ``ProtobufError`` with the offset, which scanners turn into a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

VARINT, FIXED64, LEN, SGROUP, EGROUP, FIXED32 = 0, 1, 2, 3, 4, 5
_WINDOW = 1 << 16


class ProtobufError(Exception):
    """The bytes are not a well-formed protobuf message."""

    def __init__(self, message: str, offset: int):
        super().__init__(f"{message} at offset {offset}")
        self.offset = offset


class ByteSource:
    """Random-access reads over bytes or a seekable file, through a small window (never the whole file)."""

    def __init__(self, data: bytes | None = None, fh: BinaryIO | None = None, size: int | None = None):
        if data is None and fh is None:
            raise ValueError("ByteSource needs data or a file handle")
        self._data = data
        self._fh = fh
        if data is not None:
            self.size = len(data)
        else:
            assert fh is not None
            if size is None:
                fh.seek(0, 2)
                size = fh.tell()
            self.size = size
        self._win = b""
        self._win_start = 0

    def read_at(self, offset: int, n: int) -> bytes:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise ProtobufError(f"read of {n} bytes runs past the end ({self.size} bytes)", offset)
        if self._data is not None:
            return self._data[offset : offset + n]
        rel = offset - self._win_start
        if rel < 0 or rel + n > len(self._win):
            assert self._fh is not None
            self._fh.seek(offset)
            self._win = self._fh.read(max(n, _WINDOW))
            self._win_start = offset
            rel = 0
        return self._win[rel : rel + n]

    def varint(self, offset: int, end: int) -> tuple[int, int]:
        """Decode a varint at ``offset`` (not past ``end``); return (value, next offset)."""
        chunk = self.read_at(offset, min(10, end - offset))
        value = 0
        for i, b in enumerate(chunk):
            value |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                return value, offset + i + 1
        if len(chunk) < 10:
            raise ProtobufError("truncated varint", offset)
        raise ProtobufError("varint longer than 10 bytes", offset)


@dataclass(slots=True)
class Field:
    number: int
    wire: int
    offset: int  # where the tag starts
    value: int = 0  # VARINT / FIXED32 / FIXED64
    start: int = 0  # LEN: payload start
    length: int = 0  # LEN: payload length

    @property
    def end(self) -> int:
        return self.start + self.length


def iter_fields(src: ByteSource, start: int = 0, end: int | None = None,
                check: Callable[[], None] | None = None) -> Iterator[Field]:
    """Yield the fields of one message lying in ``[start, end)``. Payloads of LEN fields are not read."""
    end = src.size if end is None else end
    if end > src.size:
        raise ProtobufError(f"message end {end} lies past the end of the data", start)
    pos = start
    count = 0
    while pos < end:
        count += 1
        if check is not None and count % 4096 == 0:
            check()
        tag_at = pos
        tag, pos = src.varint(pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 0 or number > 0x1FFFFFFF:
            raise ProtobufError(f"invalid field number {number}", tag_at)
        if wire == VARINT:
            value, pos = src.varint(pos, end)
            yield Field(number, wire, tag_at, value=value)
        elif wire == FIXED64:
            if pos + 8 > end:
                raise ProtobufError("truncated fixed64", pos)
            yield Field(number, wire, tag_at, value=int.from_bytes(src.read_at(pos, 8), "little"))
            pos += 8
        elif wire == FIXED32:
            if pos + 4 > end:
                raise ProtobufError("truncated fixed32", pos)
            yield Field(number, wire, tag_at, value=int.from_bytes(src.read_at(pos, 4), "little"))
            pos += 4
        elif wire == LEN:
            length, pos = src.varint(pos, end)
            if length > end - pos:
                raise ProtobufError(f"length {length} runs past the enclosing message", tag_at)
            yield Field(number, wire, tag_at, start=pos, length=length)
            pos += length
        else:  # groups (3/4) are deprecated and never used by ONNX or TensorFlow; 6/7 are invalid
            raise ProtobufError(f"unsupported wire type {wire}", tag_at)


def read_string(src: ByteSource, f: Field, limit: int = 1 << 16) -> str:
    """Decode a LEN field as text, reading at most ``limit`` bytes (longer strings are cut)."""
    if f.wire != LEN:
        raise ProtobufError(f"field {f.number} should be length-delimited", f.offset)
    return src.read_at(f.start, min(f.length, limit)).decode("utf-8", errors="replace")
