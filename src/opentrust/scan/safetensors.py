"""safetensors: strict header validation, reading the 8-byte length and the JSON header only.

safetensors cannot run code, but a malformed header can make loaders read out of bounds, alias tensors
(overlapping ranges), allocate absurd sizes, or hide a second payload after the last tensor (a polyglot
file that another loader reads as pickle). The rules follow the format's own validation
(safetensors/src/tensor.rs): length bound, JSON object starting with '{' (trailing spaces allowed),
``__metadata__`` string→string, known dtypes, byte length = prod(shape) × dtype size, ranges sorted,
contiguous from 0 with no holes or overlaps, and last offset + 8 + header length = file size.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from opentrust.scan.base import Rule, ScanContext, Severity, Source

MAX_HEADER = 100 * 1024 * 1024  # the bound safetensors itself enforces
#: bits per element; sub-byte types must fill whole bytes
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "I64": 64, "U64": 64, "F64": 64, "C64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}
MAX_TRAILING_NESTED = 64 * 1024 * 1024  # trailing bytes up to this size are scanned as nested content

_help = "Re-export the file with the safetensors library from a trusted copy; do not load this one."
R_TRUNCATED = Rule("SAFETENSORS-TRUNCATED", "SafetensorsTruncated", Severity.medium,
                   "safetensors file too short", "The file is shorter than its 8-byte header length. " + _help)
R_HEADER_SIZE = Rule("SAFETENSORS-HEADER-SIZE", "SafetensorsHeaderSize", Severity.high,
                     "safetensors header length out of bounds",
                     "The header length exceeds 100 MB or the file size: loaders would allocate or read "
                     "out of bounds. " + _help)
R_HEADER_JSON = Rule("SAFETENSORS-HEADER-JSON", "SafetensorsHeaderJson", Severity.medium,
                     "safetensors header is not a valid JSON object",
                     "The header must be a UTF-8 JSON object starting with '{', padded with spaces only, "
                     "without duplicate keys (parsers disagree on which duplicate wins). " + _help)
R_METADATA = Rule("SAFETENSORS-METADATA", "SafetensorsMetadata", Severity.medium,
                  "safetensors __metadata__ is not string to string",
                  "__metadata__ must map strings to strings. " + _help)
R_DTYPE = Rule("SAFETENSORS-DTYPE", "SafetensorsDtype", Severity.medium, "unknown safetensors dtype",
               "A tensor declares a dtype the format does not define. " + _help)
R_ENTRY = Rule("SAFETENSORS-TENSOR-ENTRY", "SafetensorsTensorEntry", Severity.medium,
               "malformed safetensors tensor entry",
               "Each tensor needs dtype, shape (non-negative integers) and data_offsets [begin, end]. " + _help)
R_SHAPE = Rule("SAFETENSORS-SHAPE-MISMATCH", "SafetensorsShapeMismatch", Severity.high,
               "tensor byte range does not match shape × dtype",
               "The declared byte range differs from the tensor's size: a loader trusting either one reads "
               "the wrong bytes or out of bounds. " + _help)
R_OVERLAP = Rule("SAFETENSORS-OVERLAP", "SafetensorsOverlap", Severity.high, "tensor byte ranges overlap",
                 "Two tensors share bytes (aliasing); the format forbids it. " + _help)
R_HOLE = Rule("SAFETENSORS-HOLE", "SafetensorsHole", Severity.medium, "gap between tensor byte ranges",
              "The tensors do not cover the data section contiguously from 0: unreferenced bytes can hide "
              "a payload. " + _help)
R_BOUNDS = Rule("SAFETENSORS-OUT-OF-BOUNDS", "SafetensorsOutOfBounds", Severity.high,
                "tensor data lies past the end of the file",
                "A tensor's byte range ends after the file does: loaders read out of bounds. " + _help)
R_AMBIGUOUS = Rule("SAFETENSORS-AMBIGUOUS-HEADER", "SafetensorsAmbiguousHeader", Severity.high,
                   "safetensors header that loaders read differently",
                   "The header is ambiguous: a tensor name (or __metadata__) appears twice, or a shape or offset "
                   "is negative or not an integer. Loaders resolve this differently — one keeps the first "
                   "duplicate, another the last; one rejects a negative dimension, another wraps it to a huge "
                   "unsigned size or casts a float — so the weights a reviewer inspects with one tool need not "
                   "be the weights another loads. That parser differential is how tampered weights are "
                   "smuggled past review. " + _help)
R_TRAILING = Rule("SAFETENSORS-TRAILING-DATA", "SafetensorsTrailingData", Severity.medium,
                  "bytes after the last tensor",
                  "The file continues after the last tensor; the extra bytes may be a second payload "
                  "(polyglot file) and are scanned as such. " + _help)

RULES = [R_TRUNCATED, R_HEADER_SIZE, R_HEADER_JSON, R_METADATA, R_DTYPE, R_ENTRY, R_AMBIGUOUS, R_SHAPE,
         R_OVERLAP, R_HOLE, R_BOUNDS, R_TRAILING]


def sniff(head: bytes, size: int) -> bool:
    """8-byte little-endian length, then a JSON object: ``{"`` (or an empty ``{}``, or padding)."""
    if len(head) < 10 or head[8:9] != b"{":
        return False
    n = struct.unpack("<Q", head[:8])[0]
    return n >= 2 and head[9:10] in (b'"', b"}", b" ", b"\n")


def _recording_duplicates(found: list[str]) -> Any:
    """A json object hook that keeps the last of duplicate keys (as Python's json does) and records every
    duplicate, at any depth: a tensor entry with two data_offsets is as ambiguous as two tensors."""

    def hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
        out: dict[str, object] = {}
        for k, v in pairs:
            if k in out:
                found.append(k)
            out[k] = v
        return out

    return hook


def _ambiguous_number(v: object) -> bool:
    """A shape or offset that is negative or not a plain integer (bool, float, huge)."""
    return type(v) is not int or v < 0 or v >= 1 << 64


def scan(source: Source, ctx: ScanContext) -> None:
    size = source.size
    if size < 8:
        ctx.report(R_TRUNCATED, source, f"the file has {size} bytes; a safetensors file needs at least 8",
                   offset=0)
        return
    n = struct.unpack("<Q", source.read(0, 8))[0]
    if n > MAX_HEADER or n > size - 8:
        ctx.report(R_HEADER_SIZE, source, f"header length {n} (file {size} bytes, bound {MAX_HEADER})",
                   offset=0, evidence=f"header_length={n}")
        return
    raw = source.read(8, n)
    ctx.bytes_examined += n
    try:
        text = raw.decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("the header does not start with '{'")
        stripped = text.rstrip(" ")
        dups: list[str] = []
        header = json.loads(stripped, object_pairs_hook=_recording_duplicates(dups))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        ctx.report(R_HEADER_JSON, source, f"invalid header: {exc}", offset=8, evidence=raw[:200].decode(
            "utf-8", errors="replace"))
        return
    if dups:
        ctx.report(R_AMBIGUOUS, source, f"the header names {', '.join(repr(d) for d in dict.fromkeys(dups))} more "
                   "than once; loaders disagree on which entry they use", offset=8, key=dups[0],
                   evidence=", ".join(dups)[:500])

    meta = header.pop("__metadata__", None)
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        ctx.report(R_METADATA, source, "__metadata__ holds non-string values", offset=8, key="__metadata__",
                   evidence=json.dumps(meta)[:500])

    ranges: list[tuple[int, int, str]] = []
    for i, (name, info) in enumerate(header.items()):
        if i % 1024 == 0:
            ctx.check_budget()
        if not isinstance(info, dict):
            ctx.report(R_ENTRY, source, f"tensor {name!r} is not an object", offset=8, key=name)
            continue
        dtype, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        numbers = [*(shape if isinstance(shape, list) else []), *(offs if isinstance(offs, list) else [])]
        if any(_ambiguous_number(v) for v in numbers if isinstance(v, (int, float))):
            ctx.report(R_AMBIGUOUS, source, f"tensor {name!r} has a negative or non-integer dimension or offset "
                       f"(shape {json.dumps(shape)[:80]}, data_offsets {json.dumps(offs)[:80]})", offset=8,
                       key=name, evidence=json.dumps(info)[:300])
            continue
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)) or not (
                isinstance(offs, list) and len(offs) == 2 and all(type(o) is int and o >= 0 for o in offs)
                and offs[0] <= offs[1]):
            ctx.report(R_ENTRY, source, f"tensor {name!r} has an invalid shape or data_offsets", offset=8,
                       key=name, evidence=json.dumps(info)[:300])
            continue
        begin, end = offs
        ranges.append((begin, end, name))
        if dtype not in DTYPE_BITS:
            ctx.report(R_DTYPE, source, f"tensor {name!r} has dtype {dtype!r}", offset=8, key=name,
                       evidence=str(dtype)[:100])
            continue
        count = 1
        for d in shape:
            count *= d
        bits = count * DTYPE_BITS[dtype]
        if bits % 8 or bits // 8 != end - begin:
            ctx.report(R_SHAPE, source, f"tensor {name!r}: {dtype}{shape} needs {bits / 8:g} bytes but its "
                       f"range [{begin}, {end}) holds {end - begin}", offset=8, key=name,
                       evidence=json.dumps(info)[:300])

    data_start = 8 + n
    data_size = size - data_start
    expected = 0
    for begin, end, name in sorted(ranges):
        if begin < expected:
            ctx.report(R_OVERLAP, source, f"tensor {name!r} starts at {begin}, inside the previous tensor "
                       f"(which ends at {expected})", offset=data_start + begin, key=name)
        elif begin > expected:
            ctx.report(R_HOLE, source, f"{begin - expected} unreferenced bytes before tensor {name!r}",
                       offset=data_start + expected, key=name)
        if end > data_size:
            ctx.report(R_BOUNDS, source, f"tensor {name!r} ends at data offset {end}, past the "
                       f"{data_size} data bytes", offset=data_start + begin, key=name)
        expected = max(expected, end)
    if expected < data_size:
        extra = data_size - expected
        ctx.report(R_TRAILING, source, f"{extra} bytes follow the last tensor", offset=data_start + expected,
                   evidence=source.read(data_start + expected, 64).hex())
        if ctx.scan_nested is not None and extra <= MAX_TRAILING_NESTED:
            from opentrust.scan.archive import scan_nested

            scan_nested(ctx, source, f"{source.display}!trailing@{data_start + expected}",
                        source.read(data_start + expected, extra))
