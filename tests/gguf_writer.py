"""Writes small GGUF files for tests (a real, spec-conformant writer; the reader under test is separate)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

_TYPES = {bool: 7, int: 4, float: 6, str: 8}


def _string(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("<Q", len(raw)) + raw


def _value(v: Any) -> tuple[int, bytes]:
    if isinstance(v, bool):
        return 7, struct.pack("<B", int(v))
    if isinstance(v, int):
        return (4, struct.pack("<I", v)) if 0 <= v < 2**32 else (11, struct.pack("<q", v))
    if isinstance(v, float):
        return 6, struct.pack("<f", v)
    if isinstance(v, str):
        return 8, _string(v)
    if isinstance(v, list):
        item_type, _ = _value(v[0]) if v else (4, b"")
        body = b"".join(_value(x)[1] for x in v)
        return 9, struct.pack("<IQ", item_type, len(v)) + body
    raise TypeError(type(v))


def write_gguf(path: Path, metadata: dict[str, Any], tensors: list[tuple[str, tuple[int, ...]]] = (),
               alignment: int = 32, version: int = 3) -> Path:
    """F32 tensors filled with zeros, laid out contiguously and aligned."""
    header = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata))
    for key, value in metadata.items():
        vtype, body = _value(value)
        header += _string(key) + struct.pack("<I", vtype) + body
    offset = 0
    data = b""
    for name, shape in tensors:
        header += _string(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
        header += struct.pack("<IQ", 0, offset)
        n = 4
        for d in shape:
            n *= d
        chunk = b"\0" * n
        chunk += b"\0" * ((-len(chunk)) % alignment)
        data += chunk
        offset += len(chunk)
    header += b"\0" * ((-len(header)) % alignment)
    path.write_bytes(header + data)
    return path
