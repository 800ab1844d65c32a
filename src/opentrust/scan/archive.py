"""Archives (zip, tar, tar.gz/.bz2/.xz, and lone gzip/bz2/xz streams): members, bombs and path escapes.

Every member is handed to the dispatcher (``ctx.scan_nested``) so a pickle in a tarball is scanned like
one on disk. Decompression goes through a bounded reader: a member (or a whole compressed stream) that
inflates past its budget stops being read, and that is a finding (ARCHIVE-BOMB), as is a compression
ratio no model file has, a member whose real size differs from its header, or zip entries that share
bytes (overlapping-member bombs). Member paths that would land outside the extraction folder
(``..``, absolute paths, drive letters, symlinks and hardlinks pointing outside) are zip-slip findings:
``tarfile.extractall`` without a filter (Python < 3.12 default) and many unzip helpers follow them.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import posixpath
import stat
import struct
import tarfile
import zipfile
import zlib
from typing import IO, Any, Callable

from opentrust.findings import Severity
from opentrust.scan.base import Rule, ScanContext, Source

MAX_MEMBER = 256 * 1024 * 1024  # largest member held in memory for nested scanning
MAX_ARCHIVE = 1024**3  # decompressed bytes read from one archive
MAX_RATIO = 200  # deflate reaches ~1000x only on degenerate data; real model files compress < 10x
RATIO_MIN_SIZE = 16 * 1024 * 1024  # small members may have any ratio
MAX_MEMBERS = 100_000
_CHUNK = 1 << 20

R_SLIP = Rule("ARCHIVE-ZIP-SLIP", "ArchiveZipSlip", Severity.high, "archive member path escapes the folder",
              "A member name uses '..', an absolute path or a drive letter: extracting the archive writes "
              "outside the target folder (zip-slip). Do not extract it with tools that do not sanitize paths.")
R_LINK = Rule("ARCHIVE-LINK-ESCAPE", "ArchiveLinkEscape", Severity.high, "archive link points outside the folder",
              "A symlink or hardlink member points outside the extraction folder; later members written "
              "through it, or a loader following it, reach arbitrary files.")
R_BOMB = Rule("ARCHIVE-BOMB", "ArchiveBomb", Severity.high, "archive decompresses far beyond its size",
              "A compression ratio, total size, lying size header or overlapping entries typical of a "
              "decompression bomb: extracting it exhausts disk or memory. Do not extract it.")
R_NOT_INSPECTED = Rule("ARCHIVE-NOT-INSPECTED", "ArchiveNotInspected", Severity.medium,
                       "archive member not inspected",
                       "A member is encrypted, uses an unsupported compression, is too large or nested too "
                       "deeply to scan; its content is unknown. Extract and scan it separately.")
R_MALFORMED = Rule("ARCHIVE-MALFORMED", "ArchiveMalformed", Severity.medium, "archive is damaged",
                   "The archive structure is broken; extractors disagree on damaged archives, which can hide "
                   "members from scanners. Re-download it.")
R_DUPLICATE = Rule("ARCHIVE-DUPLICATE-MEMBER", "ArchiveDuplicateMember", Severity.medium,
                   "archive holds two members with the same name",
                   "Extractors and loaders disagree on which copy wins, so a scanner may look at the wrong one.")
R_SPECIAL = Rule("ARCHIVE-SPECIAL-FILE", "ArchiveSpecialFile", Severity.medium, "archive holds a device or FIFO",
                 "Device files and FIFOs have no place in a model archive; extracting them can hang or touch "
                 "devices.")

RULES = [R_SLIP, R_LINK, R_BOMB, R_NOT_INSPECTED, R_MALFORMED, R_DUPLICATE, R_SPECIAL]

_GZIP, _BZ2, _XZ = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"


class _TooBig(Exception):
    pass

#: what zipfile / tarfile / the codecs raise on damaged or hostile input (all become findings)
ARCHIVE_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, NotImplementedError, OSError, EOFError,
    ValueError, IndexError, KeyError, OverflowError, struct.error, zlib.error, lzma.LZMAError, RuntimeError,
)


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def sniff(head: bytes, size: int) -> bool:
    return (head.startswith((b"PK\x03\x04", b"PK\x05\x06", _GZIP, _XZ)) or _is_tar(head)
            or (head.startswith(_BZ2) and head[3:4].isdigit() and head[4:10] == b"1AY&SY"))


def scan(source: Source, ctx: ScanContext) -> None:
    head = source.read(0, 512)
    budget = _Budget(ctx)
    try:
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            _scan_zip(source, ctx, budget)
        elif _is_tar(head):
            with source.open() as fh:
                _scan_tar(fh, source, ctx, budget)
        elif head.startswith((_GZIP, _BZ2, _XZ)):
            _scan_compressed(head, source, ctx, budget)
    except _TooBig:
        ctx.report(R_BOMB, source, f"more than {budget.limit} bytes decompressed; reading stopped",
                   evidence=f"limit={budget.limit}")


class _Budget:
    """Decompressed bytes this archive may still produce (shared by all its members)."""

    def __init__(self, ctx: ScanContext):
        self.ctx = ctx
        self.limit = max(0, min(MAX_ARCHIVE, ctx.max_total_bytes - ctx.bytes_examined))
        self.used = 0

    def take(self, n: int) -> None:
        self.used += n  # ctx.bytes_examined is counted by the dispatcher when members are dispatched
        if self.used > self.limit:
            raise _TooBig()
        self.ctx.check_budget()


class _Bounded:
    """File-like wrapper counting decompressed bytes against the archive budget."""

    def __init__(self, inner: IO[bytes], budget: _Budget):
        self.inner = inner
        self.budget = budget

    def read(self, n: int = -1) -> bytes:
        data = self.inner.read(_CHUNK if n is None or n < 0 else n)
        self.budget.take(len(data))
        return data

    def readable(self) -> bool:
        return True


def _read_bounded(fh: IO[bytes], limit: int, budget: _Budget) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes; return (data, whether more remained)."""
    parts: list[bytes] = []
    got = 0
    while got <= limit:
        chunk = fh.read(min(_CHUNK, limit + 1 - got))
        if not chunk:
            return b"".join(parts), False
        budget.take(len(chunk))
        parts.append(chunk)
        got += len(chunk)
    data = b"".join(parts)
    return data[:limit], True


def path_escape(name: str) -> str | None:
    """Why an archive member name lands outside the extraction folder, or None."""
    if "\x00" in name:
        return "NUL byte in the name"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":" and norm[0].isalpha()):
        return "absolute path"
    if ".." in norm.split("/"):
        depth = 0
        for part in norm.split("/"):
            if part == "..":
                depth -= 1
                if depth < 0:
                    return "'..' leaves the folder"
            elif part not in ("", "."):
                depth += 1
    return None


def link_escape(member_name: str, target: str) -> str | None:
    """Why a link stored at ``member_name`` pointing to ``target`` resolves outside the folder, or None."""
    norm = target.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":" and norm[0].isalpha()):
        return f"absolute target {target!r}"
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(member_name.replace("\\", "/")), norm))
    if joined == ".." or joined.startswith("../"):
        return f"target {target!r} resolves outside the folder"
    return None


def scan_nested(ctx: ScanContext, parent: Source, display: str, data: bytes) -> None:
    """Hand embedded content to the dispatcher. Its ``scan_nested`` (dispatch.make_nested) tracks
    ``ctx.depth`` itself and reports SCAN-DEPTH past the limit, so callers here neither increment the depth
    (doing both would halve the usable nesting) nor drop content silently."""
    if ctx.scan_nested is not None:
        ctx.scan_nested(Source(display=display, data=data), ctx)


def _nested(data: bytes, display: str, ctx: ScanContext, source: Source) -> None:
    scan_nested(ctx, source, display, data)


# -- zip ---------------------------------------------------------------------------------------------
def _scan_zip(source: Source, ctx: ScanContext, budget: _Budget) -> None:
    with source.open() as fh:
        try:
            zf = zipfile.ZipFile(fh)
        except ARCHIVE_ERRORS as exc:
            ctx.report(R_MALFORMED, source, f"not a readable zip: {type(exc).__name__}: {exc}")
            return
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                ctx.report(R_BOMB, source, f"{len(infos)} members (more than {MAX_MEMBERS})")
                infos = infos[:MAX_MEMBERS]
            _zip_layout(infos, source, ctx)
            seen: set[str] = set()
            declared = 0
            for info in infos:
                ctx.check_budget()
                name = info.filename
                if name in seen:
                    ctx.report(R_DUPLICATE, source, f"member {name!r} appears more than once", key=name)
                seen.add(name)
                why = path_escape(name)
                if why:
                    ctx.report(R_SLIP, source, f"member {name!r}: {why}", offset=info.header_offset, key=name,
                               evidence=name)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    _zip_symlink(zf, info, source, ctx, budget)
                    continue
                if name.endswith("/"):  # a directory (ZipInfo.is_dir fails on empty names)
                    continue
                declared += info.file_size
                if (info.file_size > RATIO_MIN_SIZE and info.compress_size
                        and info.file_size / info.compress_size > MAX_RATIO):
                    ctx.report(R_BOMB, source, f"member {name!r} inflates {info.compress_size} bytes to "
                               f"{info.file_size} (ratio {info.file_size // info.compress_size}:1)",
                               offset=info.header_offset, key=name)
                    continue
                if info.flag_bits & 0x1:
                    ctx.report(R_NOT_INSPECTED, source, f"member {name!r} is encrypted", key=name)
                    continue
                if info.file_size > MAX_MEMBER or declared > budget.limit:
                    ctx.report(R_NOT_INSPECTED, source, f"member {name!r} ({info.file_size} bytes) exceeds the "
                               "scan size limit", key=name)
                    continue
                _zip_member(zf, info, source, ctx, budget)


def _zip_layout(infos: list[zipfile.ZipInfo], source: Source, ctx: ScanContext) -> None:
    """Entries whose compressed data overlap (several names for the same bytes) form a non-recursive bomb."""
    spans = sorted((i.header_offset, i.header_offset + 30 + len(i.orig_filename.encode("utf-8", "replace"))
                    + i.compress_size, i.filename) for i in infos if not i.filename.endswith("/"))
    for (start_a, end_a, name_a), (start_b, _end_b, name_b) in zip(spans, spans[1:]):
        if start_b < end_a:
            ctx.report(R_BOMB, source, f"members {name_a!r} and {name_b!r} share compressed bytes "
                       "(overlapping entries)", offset=start_b, key=name_b)
            return


def _zip_symlink(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: Source, ctx: ScanContext,
                 budget: _Budget) -> None:
    try:
        with zf.open(info) as member:
            target, _ = _read_bounded(member, 4096, budget)
    except ARCHIVE_ERRORS as exc:
        ctx.report(R_MALFORMED, source, f"symlink member {info.filename!r} unreadable: {exc}", key=info.filename)
        return
    text = target.decode("utf-8", errors="replace")
    why = link_escape(info.filename, text)
    if why:
        ctx.report(R_LINK, source, f"symlink {info.filename!r} -> {text!r}: {why}", offset=info.header_offset,
                   key=info.filename, evidence=text)


def _zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: Source, ctx: ScanContext,
                budget: _Budget) -> None:
    name = info.filename
    try:
        with zf.open(info) as member:
            data, more = _read_bounded(member, max(info.file_size, 0) + 1, budget)
    except NotImplementedError as exc:
        ctx.report(R_NOT_INSPECTED, source, f"member {name!r}: {exc}", key=name)
        return
    except ARCHIVE_ERRORS as exc:
        ctx.report(R_MALFORMED, source, f"member {name!r} unreadable: {type(exc).__name__}: {exc}",
                   offset=info.header_offset, key=name)
        return
    if more or len(data) > info.file_size:
        ctx.report(R_BOMB, source, f"member {name!r} inflates past its declared {info.file_size} bytes",
                   offset=info.header_offset, key=name)
        return
    _nested(data, f"{source.display}!{name}", ctx, source)


# -- tar ---------------------------------------------------------------------------------------------
def _scan_tar(fh: Any, source: Source, ctx: ScanContext, budget: _Budget) -> None:
    seen: set[str] = set()
    count = 0
    try:
        with tarfile.open(fileobj=fh, mode="r|") as tf:  # stream mode: sequential, no seeking back
            for member in tf:
                count += 1
                ctx.check_budget()
                if count > MAX_MEMBERS:
                    ctx.report(R_BOMB, source, f"more than {MAX_MEMBERS} members")
                    return
                _tar_member(tf, member, source, ctx, budget, seen)
    except _TooBig:
        raise
    except ARCHIVE_ERRORS as exc:
        ctx.report(R_MALFORMED, source, f"damaged tar after {count} member(s): {exc}")


def _tar_member(tf: tarfile.TarFile, m: tarfile.TarInfo, source: Source, ctx: ScanContext, budget: _Budget,
                seen: set[str]) -> None:
    name = m.name
    if name in seen and not m.isdir():
        ctx.report(R_DUPLICATE, source, f"member {name!r} appears more than once", key=name)
    seen.add(name)
    why = path_escape(name)
    if why:
        ctx.report(R_SLIP, source, f"member {name!r}: {why}", offset=m.offset, key=name, evidence=name)
    if m.issym():
        why = link_escape(name, m.linkname)
        if why:
            ctx.report(R_LINK, source, f"symlink {name!r} -> {m.linkname!r}: {why}", offset=m.offset, key=name,
                       evidence=m.linkname)
        return
    if m.islnk():
        # hardlink targets are archive-relative paths, not relative to the link's folder
        why = path_escape(m.linkname)
        if why:
            ctx.report(R_LINK, source, f"hardlink {name!r} -> {m.linkname!r}: {why}", offset=m.offset, key=name,
                       evidence=m.linkname)
        return
    if m.ischr() or m.isblk() or m.isfifo():
        ctx.report(R_SPECIAL, source, f"member {name!r} is a device or FIFO", offset=m.offset, key=name)
        return
    if not m.isfile():
        return
    if m.size > MAX_MEMBER or budget.used + m.size > budget.limit:
        ctx.report(R_NOT_INSPECTED, source, f"member {name!r} ({m.size} bytes) exceeds the scan size limit",
                   key=name)
        return
    member = tf.extractfile(m)
    if member is None:
        return
    data, _ = _read_bounded(member, m.size, budget)
    _nested(data, f"{source.display}!{name}", ctx, source)


# -- lone compressed streams (.gz, .bz2, .xz), possibly holding a tar ---------------------------------
def _opener(head: bytes) -> tuple[str, Callable[[Any], IO[bytes]]]:
    if head.startswith(_GZIP):
        return "gzip", lambda f: gzip.GzipFile(fileobj=f, mode="rb")
    if head.startswith(_BZ2):
        return "bzip2", lambda f: bz2.BZ2File(f, mode="rb")
    return "xz", lambda f: lzma.LZMAFile(f, mode="rb")


def _scan_compressed(head: bytes, source: Source, ctx: ScanContext, budget: _Budget) -> None:
    kind, opener = _opener(head)
    with source.open() as raw:
        try:
            stream = opener(raw)
            first, _ = _read_bounded(stream, 512, budget)
        except ARCHIVE_ERRORS as exc:
            ctx.report(R_MALFORMED, source, f"damaged {kind} stream: {exc}")
            return
        if _is_tar(first):
            raw.seek(0)
            _scan_tar(_Bounded(opener(raw), budget), source, ctx, budget)
            return
        try:
            # Read again from the start: _read_bounded reads one byte past its limit to detect "more",
            # so continuing the first stream would lose byte 513.
            raw.seek(0)
            data, more = _read_bounded(opener(raw), MAX_MEMBER, budget)
        except ARCHIVE_ERRORS as exc:
            ctx.report(R_MALFORMED, source, f"damaged {kind} stream: {exc}")
            data, more = first, False
        if more:
            ctx.report(R_NOT_INSPECTED, source, f"decompressed {kind} stream exceeds {MAX_MEMBER} bytes; "
                       "only the start was scanned")
        compressed = source.size
        if len(data) > RATIO_MIN_SIZE and compressed and len(data) / compressed > MAX_RATIO:
            ctx.report(R_BOMB, source, f"{compressed} bytes inflate to at least {len(data)} "
                       f"(ratio {len(data) // compressed}:1)")
        _nested(data, f"{source.display}!<{kind}>", ctx, source)
