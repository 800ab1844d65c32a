"""Every dataset format as a stream of rows, in flat memory.

A file is identified by content (magic bytes), then by name: gzip, zstd, bz2 and xz are decompressed as a
stream; Parquet is read with pyarrow in record batches; Arrow IPC (file or stream, as Hugging Face ``datasets``
writes its shards) in batches; JSONL, CSV/TSV and plain text line by line; a JSON array element by element
with an incremental decoder (a top-level object is read whole only up to ``MAX_JSON_OBJECT`` bytes). Nothing
here loads a whole file, executes anything or follows a link out of the scanned folder.

Each row is a ``Row``: its index and its text fields as ``(path, text)`` pairs, where the path names the field
(``text``, ``messages[1].content``). Strings are text fields unless ``fields`` names the ones to read. A read
that fails part-way (a truncated gzip, a damaged Parquet page) raises ``DataReadError`` after the rows read
before it, so the caller keeps them and reports the damage as a finding.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import json
import lzma
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

BATCH_ROWS = 2048  # rows per pyarrow batch
MAX_JSON_OBJECT = 256 * 1024 * 1024  # a JSON file that is one object (not an array) is read whole up to this
MAX_LINE = 64 * 1024 * 1024  # a JSONL/CSV line longer than this is a damaged file, not a row
MAX_DEPTH = 20  # nested JSON deeper than this is not walked further
MAX_FILES = 100_000
SNIFF = 8192

COMPRESSION_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}
COMPRESSION_SUFFIX = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2", ".xz": "xz"}
FORMAT_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
                 ".parquet": "parquet", ".pq": "parquet", ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow",
                 ".txt": "text", ".text": "text", ".md": "text", ".rst": "text"}
#: files in a dataset folder that are not data (the card is read by ``card``, licences by the licence check)
NOT_DATA = {"dataset_info.json", "state.json", "dataset_dict.json", "dataset_infos.json", ".gitattributes"}


class DataReadError(Exception):
    """The file is damaged or not what its name says; ``rows`` rows were read before the damage."""

    def __init__(self, message: str, rows: int = 0):
        super().__init__(message)
        self.rows = rows

    def __reduce__(self) -> tuple[object, ...]:  # keeps ``rows`` when a Ray task returns it
        return (type(self), (str(self), self.rows))


@dataclass
class Row:
    index: int  # 0-based row number in the file (JSON array element, CSV record after the header, line)
    fields: list[tuple[str, str]]  # (field path, text)


@dataclass
class DataFile:
    path: Path
    rel: str  # path as shown in findings (relative to the scanned root)
    format: str  # jsonl, json, csv, tsv, parquet, arrow, text; "binary" or "unknown" when skipped
    compression: str | None
    size: int
    note: str = ""  # why a file is skipped

    @property
    def skipped(self) -> bool:
        return self.format in ("binary", "unknown", "card", "license")


# --- finding the files ------------------------------------------------------------------------------------


def _strip(name: str) -> tuple[str, str | None]:
    lower = name.lower()
    for suffix, comp in COMPRESSION_SUFFIX.items():
        if lower.endswith(suffix):
            return lower[: -len(suffix)], comp
    return lower, None


def identify(path: Path, rel: str | None = None) -> DataFile:
    """The format of ``path`` by its first bytes, then by its name."""
    size = path.stat().st_size
    rel = rel or path.name
    with open(path, "rb") as fh:
        head = fh.read(SNIFF)
    compression = next((c for magic, c in COMPRESSION_MAGIC.items() if head.startswith(magic)), None)
    stem, by_name = _strip(path.name)
    if compression is None and by_name is not None and size:
        compression = None  # the name says compressed but the bytes do not: read as what they are
    inner_head = _decompressed_head(path, compression) if compression else head
    fmt = _format_of(stem, inner_head)
    note = ""
    if fmt == "binary":
        note = "binary file, not a data format we read: skipped"
    elif fmt == "unknown":
        note = "not a data format we read: skipped"
    if compression and fmt in ("parquet", "arrow"):
        note = f"{fmt} inside {compression}: decompress it first (columnar files need random access)"
        fmt = "unknown"
    return DataFile(path, rel, fmt, compression, size, note)


def _decompressed_head(path: Path, compression: str) -> bytes:
    try:
        with open_binary(path, compression) as fh:
            return fh.read(SNIFF)
    except Exception:  # noqa: BLE001 - a damaged stream: the reader reports it with its row count
        return b""


def _format_of(stem: str, head: bytes) -> str:
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1") or head.startswith(b"\xff\xff\xff\xff"):
        return "arrow"
    ext = os.path.splitext(stem)[1]
    by_name = FORMAT_SUFFIX.get(ext)
    if by_name in ("parquet", "arrow") and head:
        by_name = None  # named parquet/arrow without the magic: fall through to sniffing
    if b"\x00" in head[:SNIFF] and not _utf16(head):
        return "binary" if by_name is None else by_name if by_name in ("parquet", "arrow") else "binary"
    if by_name is not None:
        return by_name
    if ext in (".parquet", ".pq", ".arrow", ".feather"):
        return "binary"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0].strip()
        return "jsonl" if first.endswith(b"}") and b"\n" in text else "json"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sniffed bytes
            return "unknown"
    return "text" if head else "text"


def _utf16(head: bytes) -> bool:
    return head.startswith((b"\xff\xfe", b"\xfe\xff"))


def discover(paths: Iterable[Path]) -> list[DataFile]:
    """Every file under ``paths`` (folders walked in name order, symlinks not followed, hidden files skipped)."""
    out: list[DataFile] = []
    for root in paths:
        if root.is_file():
            out.append(identify(root, root.name))
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith(".") or name in NOT_DATA:
                    continue
                p = Path(dirpath) / name
                if p.is_symlink() or not p.is_file():
                    continue
                rel = str(p.relative_to(root))
                if _is_card(rel):
                    out.append(DataFile(p, rel, "card", None, p.stat().st_size, "dataset card: read by the card check"))
                elif _is_licence(name):
                    out.append(DataFile(p, rel, "license", None, p.stat().st_size, "licence file: read by the licence check"))
                else:
                    out.append(identify(p, rel))
                if len(out) >= MAX_FILES:
                    return out
    return out


def _is_card(rel: str) -> bool:
    from opentrust.openness.evidence import CARD_FILE, DATA_CARD_FILE

    name = rel.rsplit("/", 1)[-1]
    return "/" not in rel and bool(CARD_FILE.match(name) or DATA_CARD_FILE.match(name))


def _is_licence(name: str) -> bool:
    from opentrust.openness.evidence import LICENSE_FILE

    data_suffix = tuple(k for k, v in FORMAT_SUFFIX.items() if v != "text") + tuple(COMPRESSION_SUFFIX)
    return bool(LICENSE_FILE.match(name)) and not name.lower().endswith(data_suffix)


# --- decompression ----------------------------------------------------------------------------------------


def open_binary(path: Path, compression: str | None) -> IO[bytes]:
    if compression is None:
        return open(path, "rb")
    if compression == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == "bz2":
        return bz2.open(path, "rb")  # type: ignore[return-value]
    if compression == "xz":
        return lzma.open(path, "rb")  # type: ignore[return-value]
    if compression == "zstd":
        try:
            import zstandard
        except ImportError:
            raise DataReadError("zstd-compressed: install the 'data' extra (pip install 'opentrust[data]')") from None
        raw = open(path, "rb")
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True, read_across_frames=True)
        return io.BufferedReader(reader, 1 << 20)  # type: ignore[arg-type]
    raise DataReadError(f"unknown compression {compression}")


_DAMAGE = (EOFError, OSError, lzma.LZMAError, zlib.error, ValueError)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _damage(exc: BaseException, rows: int, what: str = "the file") -> DataReadError:
    text = one_line(exc)
    if isinstance(exc, EOFError) or "end-of-stream" in text or "truncated" in text.lower():
        return DataReadError(f"{what} ends early (truncated) after {rows} rows: {text}", rows)
    return DataReadError(f"{what} is damaged after {rows} rows: {text}", rows)


# --- rows -------------------------------------------------------------------------------------------------


def iter_rows(f: DataFile, fields: list[str] | None = None, bad_rows: list[tuple[int, str]] | None = None,
              ) -> Iterator[Row]:
    """The rows of ``f``. Rows that are not valid JSON/CSV are appended to ``bad_rows`` (index, reason) and
    skipped; damage that ends the file raises DataReadError after the rows before it."""
    bad = bad_rows if bad_rows is not None else []
    if f.format == "parquet":
        yield from _parquet(f, fields)
    elif f.format == "arrow":
        yield from _arrow(f, fields)
    elif f.format in ("jsonl", "json", "csv", "tsv", "text"):
        reader = {"jsonl": _jsonl, "json": _json, "csv": _csv, "tsv": _csv, "text": _text}[f.format]
        n = 0
        try:
            with open_binary(f.path, f.compression) as raw:
                for row in reader(raw, f, fields, bad):
                    n = row.index + 1
                    yield row
        except DataReadError:
            raise
        except _DAMAGE as exc:
            raise _damage(exc, n) from None
        except Exception as exc:  # noqa: BLE001 - e.g. zstandard.ZstdError: still damage, never a traceback
            raise _damage(exc, n) from None


def _text_stream(raw: IO[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(raw if isinstance(raw, io.BufferedIOBase) else io.BufferedReader(raw),  # type: ignore[arg-type]
                            encoding="utf-8", errors="replace", newline="")


def flatten(value: Any, prefix: str, out: list[tuple[str, str]], fields: set[str] | None, depth: int = 0) -> None:
    """The strings inside a JSON value as (path, text): ``a.b``, ``messages[2].content``. Integers of 9 or
    more digits are kept as text too (phone and card numbers stored as numbers)."""
    if isinstance(value, str):
        if value and (fields is None or _wanted(prefix, fields)):
            out.append((prefix, value))
    elif isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return
        for k, v in value.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), out, fields, depth + 1)
    elif isinstance(value, list):
        if depth >= MAX_DEPTH:
            return
        for i, v in enumerate(value):
            flatten(v, f"{prefix}[{i}]", out, fields, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**8:
        if fields is None or _wanted(prefix, fields):
            out.append((prefix, str(value)))


def _wanted(path: str, fields: set[str]) -> bool:
    if path in fields:
        return True
    top = path.split(".", 1)[0].split("[", 1)[0]
    if top in fields:
        return True
    generic = "".join(ch for ch in _strip_indexes(path))
    return generic in fields


def _strip_indexes(path: str) -> str:
    import re

    return re.sub(r"\[\d+\]", "[]", path)


def _fast_loads() -> Any:
    """``json.loads`` for one JSONL line, by msgspec when installed (the ``data`` extra; about 3x faster). What
    msgspec refuses (NaN, a lone surrogate escape, a damaged line) goes to ``json.loads``, so the values read and
    the errors reported are json's."""
    try:
        import msgspec
    except ImportError:
        return json.loads
    decode = msgspec.json.Decoder().decode
    refused = msgspec.DecodeError

    def loads(line: bytes) -> Any:
        try:
            return decode(line)
        except refused:
            return json.loads(line)
    return loads


def _jsonl(raw: IO[bytes], f: DataFile, fields: list[str] | None, bad: list[tuple[int, str]]) -> Iterator[Row]:
    wanted = set(fields) if fields else None
    loads = _fast_loads()
    i = -1
    for i, line in enumerate(raw):
        if len(line) > MAX_LINE:
            bad.append((i, f"line longer than {MAX_LINE} bytes"))
            continue
        s = line.strip()
        if not s:
            continue
        try:
            value = loads(s)
        except ValueError as exc:
            bad.append((i, f"not JSON: {exc}"))
            continue
        out: list[tuple[str, str]] = []
        if value.__class__ is dict and wanted is None:  # the common row, one level of strings: flatten inlined
            for k, v in value.items():
                if v.__class__ is str:
                    if v:
                        out.append((k, v))
                else:
                    flatten(v, k, out, None, 1)
        else:
            flatten(value, "", out, wanted)
            if out and out[0][0] == "" and isinstance(value, str):
                out = [("text", value)]
        yield Row(i, out)


def _json(raw: IO[bytes], f: DataFile, fields: list[str] | None, bad: list[tuple[int, str]]) -> Iterator[Row]:
    wanted = set(fields) if fields else None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buf = ""
    pos = 0
    eof = False

    def more() -> bool:
        nonlocal buf, pos, eof
        chunk = raw.read(1 << 20)
        if not chunk:
            eof = True
            buf = buf[pos:] + decoder.decode(b"", final=True)
            pos = 0
            return False
        buf = buf[pos:] + decoder.decode(chunk)
        pos = 0
        return True

    more()
    while pos < len(buf) and buf[pos] in " \t\r\n\ufeff":
        pos += 1
        if pos >= len(buf) and not eof:
            more()
    if pos < len(buf) and buf[pos] != "[":
        # one object: read whole (bounded), rows are the first list of objects inside it
        while not eof:
            more()
            if len(buf) > MAX_JSON_OBJECT:
                raise DataReadError(f"a JSON object larger than {MAX_JSON_OBJECT >> 20} MB: convert it to JSONL "
                                    "(one record per line) so it can be streamed")
        try:
            doc = json.loads(buf[pos:])
        except ValueError as exc:
            raise DataReadError(f"not valid JSON: {exc}") from None
        rows = _rows_of(doc)
        for i, value in enumerate(rows):
            out: list[tuple[str, str]] = []
            flatten(value, "", out, wanted)
            yield Row(i, out)
        return
    pos += 1  # past "["
    decode = json.JSONDecoder().raw_decode
    index = 0
    while True:
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            if pos < len(buf) or eof:
                break
            more()
        if pos >= len(buf):
            raise DataReadError(f"the JSON array ends early (truncated) after {index} rows", index)
        if buf[pos] == "]":
            return
        while True:
            try:
                value, end = decode(buf, pos)
                if end >= len(buf) and not eof:  # a number may continue in the next chunk
                    raise ValueError("need more")
                break
            except ValueError as exc:
                if eof:
                    raise DataReadError(f"not valid JSON at element {index}: {exc}", index) from None
                if len(buf) - pos > MAX_LINE:
                    raise DataReadError(f"a JSON array element larger than {MAX_LINE >> 20} MB", index) from None
                more()
        pos = end
        out = []
        flatten(value, "", out, wanted)
        yield Row(index, out)
        index += 1
        if pos > (1 << 20):
            buf, pos = buf[pos:], 0


def _rows_of(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("data", "rows", "examples", "instances", "records", "train"):
            if isinstance(doc.get(key), list):
                return doc[key]  # type: ignore[no-any-return]
        for value in doc.values():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value[:10]):
                return value
    return [doc]


def _csv(raw: IO[bytes], f: DataFile, fields: list[str] | None, bad: list[tuple[int, str]]) -> Iterator[Row]:
    csv.field_size_limit(MAX_LINE)
    text = _text_stream(raw)
    reader = csv.reader(text, delimiter="\t" if f.format == "tsv" else ",")
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise DataReadError(f"not CSV: {exc}") from None
    names = [h.strip() or f"column{i}" for i, h in enumerate(header)]
    keep = [i for i, n in enumerate(names) if not fields or n in fields]
    index = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            bad.append((index, f"not CSV: {exc}"))
            index += 1
            continue
        out = [(names[i] if i < len(names) else f"column{i}", record[i]) for i in keep if i < len(record) and record[i]]
        yield Row(index, out)
        index += 1


def _text(raw: IO[bytes], f: DataFile, fields: list[str] | None, bad: list[tuple[int, str]]) -> Iterator[Row]:
    for i, line in enumerate(_text_stream(raw)):
        s = line.rstrip("\r\n")
        yield Row(i, [("text", s)] if s else [])


# --- columnar ---------------------------------------------------------------------------------------------


def _pyarrow() -> Any:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataReadError("Parquet and Arrow need pyarrow: install the 'data' extra "
                            "(pip install 'opentrust[data]')") from None
    return pyarrow


def _text_columns(schema: Any, fields: list[str] | None) -> list[str]:
    import pyarrow.types as t

    cols = []
    for field in schema:
        if fields and field.name not in fields:
            continue
        ty = field.type
        if t.is_string(ty) or t.is_large_string(ty) or (hasattr(t, "is_string_view") and t.is_string_view(ty)) \
                or t.is_nested(ty) or t.is_dictionary(ty):
            cols.append(field.name)
    return cols


def _batch_rows(batch: Any, start: int, fields: list[str] | None) -> Iterator[Row]:
    import pyarrow.types as t

    wanted = set(fields) if fields else None
    columns: list[tuple[str, list[Any], bool]] = []
    for name in batch.schema.names:
        col = batch.column(name)
        nested = t.is_nested(col.type)
        columns.append((name, col.to_pylist(), nested))
    if columns and not any(nested for _, _, nested in columns):  # flat string columns: one comprehension per row
        names = [name for name, _, _ in columns]
        for j, vals in enumerate(zip(*(values for _, values, _ in columns))):
            yield Row(start + j, [(n, v) for n, v in zip(names, vals) if v.__class__ is str and v])
        return
    for j in range(batch.num_rows):
        out: list[tuple[str, str]] = []
        for name, values, nested in columns:
            v = values[j]
            if v is None:
                continue
            if nested:
                flatten(v, name, out, wanted)
            elif isinstance(v, str) and v:
                out.append((name, v))
        yield Row(start + j, out)


def _parquet(f: DataFile, fields: list[str] | None) -> Iterator[Row]:
    pa = _pyarrow()
    import pyarrow.parquet as pq

    n = 0
    try:
        pf = pq.ParquetFile(f.path, memory_map=False, pre_buffer=False, buffer_size=1 << 20)  # one page at a time
        cols = _text_columns(pf.schema_arrow, fields)
        if not cols:
            return
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=cols):
            rows = list(_batch_rows(batch, n, fields))
            n += batch.num_rows
            yield from rows
    except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
        raise DataReadError(f"damaged Parquet after {n} rows: {one_line(exc)}", n) from None


def _arrow(f: DataFile, fields: list[str] | None) -> Iterator[Row]:
    pa = _pyarrow()
    import pyarrow.ipc as ipc

    n = 0
    try:
        source = pa.memory_map(str(f.path), "r")
        try:
            reader: Any = ipc.open_file(source)
            batches: Iterable[Any] = (reader.get_batch(i) for i in range(reader.num_record_batches))
            schema = reader.schema
        except pa.ArrowInvalid:
            source.seek(0)
            reader = ipc.open_stream(source)
            batches, schema = reader, reader.schema
        cols = _text_columns(schema, fields)
        if not cols:
            return
        for batch in batches:
            sub = batch.select(cols)
            rows = list(_batch_rows(sub, n, fields))
            n += batch.num_rows
            yield from rows
    except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
        raise DataReadError(f"damaged Arrow file after {n} rows: {one_line(exc)}", n) from None
