"""NumPy ``.npy`` and ``.npz``: the header is parsed with ``ast.literal_eval`` (never eval); object arrays
carry a pickle after the header, which is scanned like any other pickle. Array data is never read.
"""

from __future__ import annotations

import ast
import struct
from typing import Any

from opentrust.scan import pickles, zipread
from opentrust.scan.base import Rule, ScanContext, Severity, Source

MAGIC = b"\x93NUMPY"
MAX_HEADER = 1 << 20  # numpy itself refuses headers above 10 KiB unless told otherwise

R_OBJECT = Rule("NUMPY-OBJECT-ARRAY", "NumpyObjectArray", Severity.low, "NumPy array of Python objects",
                "Object arrays are stored as a pickle; numpy loads them only with allow_pickle=True, which runs "
                "whatever the pickle calls. The embedded pickle was scanned (see its findings). Prefer numeric "
                "dtypes, or never pass allow_pickle=True for files you did not create.")
R_MALFORMED = Rule("NUMPY-MALFORMED", "NumpyMalformed", Severity.medium, "Malformed NumPy file",
                   "The .npy header is not valid (bad version, length, or dictionary); loaders may reject it or "
                   "misread the data. Re-export the array.")
RULES = [R_OBJECT, R_MALFORMED]


def sniff(head: bytes, size: int) -> bool:
    return head.startswith(MAGIC)


def claims_zip(names: list[str]) -> bool:
    """An .npz holds only ``.npy`` members."""
    files = [n for n in names if not n.endswith("/")]
    return bool(files) and all(n.endswith(".npy") for n in files)


def scan(source: Source, ctx: ScanContext) -> None:
    if source.read(0, len(MAGIC)) == MAGIC:
        _scan_npy(source, ctx)
    else:
        _scan_npz(source, ctx)


def parse_header(head: bytes) -> tuple[dict[str, Any], int]:
    """(header dict, offset of the data). Raises ValueError with the reason."""
    if not head.startswith(MAGIC) or len(head) < 10:
        raise ValueError("missing magic")
    major = head[6]
    if major == 1:
        (hlen,), start = struct.unpack("<H", head[8:10]), 10
    elif major in (2, 3):
        if len(head) < 12:
            raise ValueError("truncated header length")
        (hlen,), start = struct.unpack("<I", head[8:12]), 12
    else:
        raise ValueError(f"unsupported .npy version {major}.{head[7]}")
    if hlen > MAX_HEADER:
        raise ValueError(f"header length {hlen} exceeds {MAX_HEADER}")
    raw = head[start:start + hlen]
    if len(raw) < hlen:
        raise ValueError("truncated header")
    try:
        text = raw.decode("utf-8" if major == 3 else "latin-1")
        header = ast.literal_eval(text)  # literals only: never evaluates code
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"header is not a Python literal: {type(exc).__name__}") from None
    if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
        raise ValueError("header lacks descr/fortran_order/shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ValueError(f"bad shape {shape!r}"[:200])
    return header, start + hlen


def has_object(descr: Any) -> bool:
    """Whether a dtype description contains Python objects (``'|O'`` or a structured field of them)."""
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, (list, tuple)):
        return any(has_object(f[1]) for f in descr if isinstance(f, (list, tuple)) and len(f) >= 2)
    return False


def _scan_npy(source: Source, ctx: ScanContext, base_display: str | None = None) -> None:
    head = source.read(0, 12 + MAX_HEADER)
    try:
        header, data_offset = parse_header(head)
    except ValueError as exc:
        ctx.report(R_MALFORMED, source, f"Invalid .npy header: {exc}.", offset=0, evidence=str(exc))
        return
    if not has_object(header["descr"]):
        return
    ctx.report(R_OBJECT, source, f"Object array (descr {header['descr']!r}, shape {header['shape']}) stored as a "
               f"pickle at byte {data_offset}.", offset=data_offset, evidence=repr(header)[:300])
    buf = pickles._buffer(source)
    try:
        pickles.scan_stream(buf, source, ctx, start=data_offset)
    finally:
        pickles._close(buf)


def _scan_npz(source: Source, ctx: ScanContext) -> None:
    lst = zipread.listing(source)
    for m in lst.members:
        ctx.check_budget()
        if m.name.endswith("/"):
            continue
        display = f"{source.display}!{m.name}"
        if m.flags & zipread.REFUSED_FLAGS:
            from opentrust.scan import archive

            try:
                raw, _ = zipread.read_member(source, m, 1 << 30)
            except ValueError:
                raw = b""
            archive.report_flagged_member(m, raw, source, ctx, display)
        try:
            head, _ = zipread.read_member(source, m, 12 + 4096)
        except ValueError as exc:
            ctx.report(R_MALFORMED, source, str(exc), key=m.name, evidence=str(exc))
            continue
        if not head.startswith(MAGIC):
            if ctx.scan_nested is not None:  # not an array after all: inspect by content
                data, _ = zipread.read_member(source, m, 256 << 20)
                ctx.scan_nested(Source(display=display, data=data), ctx)
            continue
        try:
            header, _ = parse_header(head)
        except ValueError:
            header = None
        if header is not None and not has_object(header["descr"]):
            ctx.formats[display] = "npy"
            continue
        data, _ = zipread.read_member(source, m, 1 << 30)
        ctx.bytes_examined += len(data)
        _scan_npy(Source(display=display, data=data), ctx)
        ctx.formats[display] = "npy"
