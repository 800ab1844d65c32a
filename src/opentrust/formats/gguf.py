"""A bounded GGUF reader: header, metadata and tensor table, never the tensor data.

Written by hand rather than using the ``gguf`` package because that reader memory-maps the whole file,
allocates from counts it has not checked and raises on the first oddity; a file under audit may be
hostile, so every count is checked against the bytes that remain before anything is allocated and
structural problems are collected (``GGUFFile.problems``) instead of stopping at the first.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

MAGIC = b"GGUF"
MAX_STRING = 64 * 1024 * 1024  # llama.cpp's own bound for a metadata string
ARRAY_HEAD = 16  # array elements kept in memory; the rest are counted and skipped
DEFAULT_ALIGNMENT = 32

# Metadata value types.
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = range(10)
T_UINT64, T_INT64, T_FLOAT64 = 10, 11, 12
_SCALAR = {
    T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I", T_INT32: "<i",
    T_FLOAT32: "<f", T_BOOL: "<B", T_UINT64: "<Q", T_INT64: "<q", T_FLOAT64: "<d",
}
VALUE_TYPE_NAMES = {
    T_UINT8: "uint8", T_INT8: "int8", T_UINT16: "uint16", T_INT16: "int16", T_UINT32: "uint32",
    T_INT32: "int32", T_FLOAT32: "float32", T_BOOL: "bool", T_STRING: "string", T_ARRAY: "array",
    T_UINT64: "uint64", T_INT64: "int64", T_FLOAT64: "float64",
}

# ggml tensor types: name, elements per block, bytes per block (as in gguf-py's GGML_QUANT_SIZES).
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36), 10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110), 22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8),
    28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17),
}

# llama.cpp's LLAMA_FTYPE values stored in general.file_type.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}


class GGUFError(Exception):
    """The file cannot be read as GGUF at all (bad magic, truncated, absurd counts)."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.offset = offset
        #: what was read before the error (metadata, tensors so far), for scanners that keep analysing
        self.partial: GGUFFile | None = None


@dataclass
class GGUFArray:
    """A metadata array: its element type, full length and the first ``ARRAY_HEAD`` elements."""

    item_type: int
    count: int
    head: list[Any]

    def __repr__(self) -> str:  # keeps reports short
        return f"<array {VALUE_TYPE_NAMES.get(self.item_type, self.item_type)}[{self.count}]>"


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # relative to the start of the data section
    info_offset: int  # where the tensor's entry starts in the file

    @property
    def type_name(self) -> str:
        return GGML_TYPES.get(self.ggml_type, (f"type{self.ggml_type}", 0, 0))[0]

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def n_bytes(self) -> int | None:
        spec = GGML_TYPES.get(self.ggml_type)
        if spec is None:
            return None
        _, block, size = spec
        return (self.n_elements // block) * size if block else None


@dataclass
class Problem:
    """A structural problem found while reading; the scanner turns these into findings."""

    code: str
    message: str
    offset: int | None = None
    key: str | None = None


@dataclass
class GGUFFile:
    path: str
    version: int
    file_size: int
    metadata: dict[str, Any] = field(default_factory=dict)
    metadata_types: dict[str, int] = field(default_factory=dict)
    key_offsets: dict[str, int] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0
    alignment: int = DEFAULT_ALIGNMENT
    problems: list[Problem] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    @property
    def architecture(self) -> str | None:
        arch = self.metadata.get("general.architecture")
        return arch if isinstance(arch, str) else None

    def arch_key(self, suffix: str) -> Any:
        arch = self.architecture
        return self.metadata.get(f"{arch}.{suffix}") if arch else None

    @property
    def parameter_count(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def file_type_name(self) -> str | None:
        ft = self.metadata.get("general.file_type")
        return FILE_TYPES.get(ft, f"unknown ({ft})") if isinstance(ft, int) else None

    def tensor_type_histogram(self) -> dict[str, int]:
        hist: dict[str, int] = {}
        for t in self.tensors:
            hist[t.type_name] = hist.get(t.type_name, 0) + 1
        return dict(sorted(hist.items(), key=lambda kv: -kv[1]))


class _Reader:
    """Little-endian reads that never run past the end of the file and never over-allocate."""

    def __init__(self, fh: BinaryIO, size: int, check: Callable[[], None] | None = None):
        self.fh = fh
        self.size = size
        self.pos = 0
        self.check = check
        self._reads = 0
        # Buffered reading in chunks: metadata holds tens of thousands of tiny strings.
        self._buf = b""
        self._buf_start = 0

    @property
    def remaining(self) -> int:
        return self.size - self.pos

    def read(self, n: int) -> bytes:
        if n < 0 or n > self.remaining:
            raise GGUFError(
                f"truncated: needs {n} bytes at offset {self.pos}, only {self.remaining} remain", self.pos
            )
        rel = self.pos - self._buf_start
        if rel < 0 or rel + n > len(self._buf):
            if self.check is not None:
                self.check()
            self.fh.seek(self.pos)
            self._buf = self.fh.read(max(n, 1 << 20))
            self._buf_start = self.pos
            rel = 0
        out = self._buf[rel : rel + n]
        self.pos += n
        return out

    def skip(self, n: int) -> None:
        if n < 0 or n > self.remaining:
            raise GGUFError(f"truncated: cannot skip {n} bytes at offset {self.pos}", self.pos)
        self.pos += n

    def skip_strings(self, count: int) -> None:
        """Skip ``count`` length-prefixed strings without decoding them (token and merge arrays hold
        ~10^5 strings; only their bounds matter). Lengths are checked exactly as ``string()`` does; the
        loop keeps its state in locals because it runs once per vocabulary entry."""
        unpack_from = struct.unpack_from
        pos, size, buf, start = self.pos, self.size, self._buf, self._buf_start
        end = start + len(buf)
        for _ in range(count):
            if pos + 8 > end:
                if size - pos < 8:
                    raise GGUFError(f"truncated: string length at offset {pos} runs past the end", pos)
                if self.check is not None:
                    self.check()
                self.fh.seek(pos)
                buf = self.fh.read(1 << 20)
                start, end = pos, pos + len(buf)
            n = unpack_from("<Q", buf, pos - start)[0]
            if n > MAX_STRING:
                raise GGUFError(f"string of {n} bytes at offset {pos} exceeds the 64 MiB bound", pos)
            pos += 8 + n
            if pos > size:
                raise GGUFError(f"truncated: string of {n} bytes at offset {pos - 8 - n} runs past the end",
                                pos - 8 - n)
        self.pos, self._buf, self._buf_start = pos, buf, start

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        start = self.pos
        n = self.unpack("<Q")
        if n > MAX_STRING:
            raise GGUFError(f"string of {n} bytes at offset {start} exceeds the 64 MiB bound", start)
        raw = self.read(n)
        return raw.decode("utf-8", errors="replace")


def read_gguf(path: str | os.PathLike[str]) -> GGUFFile:
    """Read a GGUF file's header, metadata and tensor table. Raises GGUFError if it is not readable."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        return _parse(fh, size, path)


def parse_gguf(fh: BinaryIO, size: int, name: str = "<bytes>",
               check: Callable[[], None] | None = None) -> GGUFFile:
    """Like ``read_gguf`` on an open binary file of ``size`` bytes; ``check`` is called periodically
    (the scanner's budget check). On GGUFError, ``error.partial`` holds what was read before it."""
    return _parse(fh, size, name, check)


def _parse(fh: BinaryIO, size: int, path: str, check: Callable[[], None] | None = None) -> GGUFFile:
    r = _Reader(fh, size, check)
    if size < 4 or r.read(4) != MAGIC:
        raise GGUFError("not a GGUF file (the first four bytes are not 'GGUF')", 0)
    version = r.unpack("<I")
    if version < 2 or version > 3:
        raise GGUFError(f"unsupported GGUF version {version} (expected 2 or 3)", 4)
    n_tensors = r.unpack("<Q")
    n_kv = r.unpack("<Q")
    out = GGUFFile(path=path, version=version, file_size=size)
    try:
        _parse_body(r, out, n_tensors, n_kv)
    except GGUFError as exc:
        exc.partial = out
        raise
    return out


def _parse_body(r: _Reader, out: GGUFFile, n_tensors: int, n_kv: int) -> None:
    # Each KV takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor at least 8 + 4 + 4 + 8.
    if n_kv * 13 > r.remaining:
        raise GGUFError(f"metadata count {n_kv} cannot fit in the {r.remaining} bytes that remain", 16)
    if n_tensors * 24 > r.remaining:
        raise GGUFError(f"tensor count {n_tensors} cannot fit in the {r.remaining} bytes that remain", 8)

    for i in range(n_kv):
        if r.check is not None and i % 1024 == 1023:
            r.check()
        key_offset = r.pos
        key = r.string()
        if not key or "\ufffd" in key:
            out.problems.append(Problem("bad-key", f"metadata key {key!r} is empty or not valid UTF-8",
                                        key_offset, key))
        vtype = r.unpack("<I")
        value = _read_value(r, vtype, key, out, top_level=True)
        if key in out.metadata:
            out.problems.append(Problem("duplicate-key", f"metadata key {key!r} appears twice", key_offset, key))
        out.metadata[key] = value
        out.metadata_types[key] = vtype
        out.key_offsets[key] = key_offset

    alignment = out.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        out.problems.append(
            Problem("bad-alignment", f"general.alignment {alignment!r} is not a power of two",
                    out.key_offsets.get("general.alignment"), "general.alignment")
        )
        alignment = DEFAULT_ALIGNMENT
    out.alignment = alignment

    names: set[str] = set()
    for i in range(n_tensors):
        if r.check is not None and i % 1024 == 1023:
            r.check()
        info_offset = r.pos
        name = r.string()
        n_dims = r.unpack("<I")
        if n_dims > 4:
            out.problems.append(Problem("too-many-dims", f"tensor {name!r} has {n_dims} dimensions (max 4)",
                                        info_offset, name))
            if n_dims * 8 > r.remaining:
                raise GGUFError(f"tensor {name!r} dimension count {n_dims} runs past the end", info_offset)
        shape = tuple(r.unpack("<Q") for _ in range(n_dims))
        ggml_type = r.unpack("<I")
        offset = r.unpack("<Q")
        if len(name.encode()) >= 64:
            out.problems.append(Problem("long-tensor-name", f"tensor name of {len(name.encode())} bytes (max 63)",
                                        info_offset, name[:80]))
        if name in names:
            out.problems.append(Problem("duplicate-tensor", f"tensor {name!r} appears twice", info_offset, name))
        names.add(name)
        if ggml_type not in GGML_TYPES:
            out.problems.append(Problem("bad-tensor-type", f"tensor {name!r} has unknown type {ggml_type}",
                                        info_offset, name))
        out.tensors.append(TensorInfo(name, shape, ggml_type, offset, info_offset))

    pad = (-r.pos) % alignment
    out.data_offset = r.pos + pad
    _check_tensor_layout(out)


def _read_value(r: _Reader, vtype: int, key: str, out: GGUFFile, top_level: bool) -> Any:
    fmt = _SCALAR.get(vtype)
    if fmt is not None:
        value = r.unpack(fmt)
        if vtype == T_BOOL:
            if value not in (0, 1):
                out.problems.append(Problem("bad-bool", f"boolean {key!r} holds {value}", r.pos - 1, key))
            return bool(value)
        return value
    if vtype == T_STRING:
        return r.string()
    if vtype == T_ARRAY:
        start = r.pos
        item_type = r.unpack("<I")
        count = r.unpack("<Q")
        if item_type == T_ARRAY:
            out.problems.append(Problem("nested-array", f"metadata {key!r} is an array of arrays", start, key))
        min_size = struct.calcsize(_SCALAR[item_type]) if item_type in _SCALAR else 8
        if count * min_size > r.remaining:
            raise GGUFError(f"array {key!r} claims {count} elements, more than the file can hold", start)
        if item_type == T_BOOL:
            bad, head_b = 0, []
            left = count
            while left:  # every element is checked, a chunk at a time
                chunk = r.read(min(left, 1 << 20))
                head_b = head_b or list(chunk[:ARRAY_HEAD])
                bad += len(chunk) - chunk.count(0) - chunk.count(1)
                left -= len(chunk)
            if bad:
                out.problems.append(Problem("bad-bool", f"boolean array {key!r} holds {bad} values other "
                                            "than 0 and 1", start, key))
            return GGUFArray(item_type, count, [bool(b) for b in head_b])
        if item_type in _SCALAR:
            width = struct.calcsize(_SCALAR[item_type])
            head_n = min(count, ARRAY_HEAD)
            head = [r.unpack(_SCALAR[item_type]) for _ in range(head_n)]
            r.skip((count - head_n) * width)
            return GGUFArray(item_type, count, head)
        if item_type == T_STRING:
            head = [r.string() for _ in range(min(count, ARRAY_HEAD))]
            r.skip_strings(count - len(head))
            return GGUFArray(item_type, count, head)
        if item_type == T_ARRAY and top_level:
            head = [_read_value(r, T_ARRAY, key, out, top_level=False) for _ in range(count)]
            return GGUFArray(item_type, count, head[:ARRAY_HEAD])
        raise GGUFError(f"array {key!r} has invalid element type {item_type}", start)
    raise GGUFError(f"metadata {key!r} has invalid value type {vtype}", r.pos - 4)


def _check_tensor_layout(out: GGUFFile) -> None:
    data_size = out.file_size - out.data_offset
    if data_size < 0:
        out.problems.append(Problem("truncated", "the file ends before its tensor data section", out.data_offset))
        return
    expected = 0  # next offset if tensors are laid out contiguously (each aligned)
    for t in sorted(out.tensors, key=lambda t: t.offset):
        if t.offset % out.alignment:
            out.problems.append(Problem("misaligned-tensor", f"tensor {t.name!r} offset {t.offset} is not "
                                        f"a multiple of {out.alignment}", t.info_offset, t.name))
        spec = GGML_TYPES.get(t.ggml_type)
        if spec is not None and spec[1] > 1 and t.shape and t.shape[0] % spec[1]:
            out.problems.append(Problem("bad-shape", f"tensor {t.name!r}: first dimension {t.shape[0]} is not "
                                        f"a multiple of the {spec[0]} block size {spec[1]}", t.info_offset, t.name))
        if t.offset < expected:
            out.problems.append(Problem("tensor-overlap", f"tensor {t.name!r} at data offset {t.offset} overlaps "
                                        f"the previous tensor (which ends at {expected})", t.info_offset, t.name))
        elif t.offset > expected:
            out.problems.append(Problem("tensor-gap", f"{t.offset - expected} unreferenced bytes before tensor "
                                        f"{t.name!r}", t.info_offset, t.name))
        nbytes = t.n_bytes
        if nbytes is not None and t.offset + nbytes > data_size:
            out.problems.append(Problem("tensor-out-of-bounds", f"tensor {t.name!r} ({nbytes} bytes at data "
                                        f"offset {t.offset}) runs past the end of the file", t.info_offset, t.name))
        if nbytes is not None:
            end = t.offset + nbytes
            expected = max(expected, end + (-end) % out.alignment)
