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

from opentrust.scan import zipread
from opentrust.scan.base import Rule, ScanContext, Severity, Source

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
R_FLAGS = Rule("ARCHIVE-FLAG-MISMATCH", "ArchiveFlagMismatch", Severity.high,
               "zip member claims encryption or patch data but is plain",
               "The member's general-purpose flag bits say it is encrypted (0x1), patch data (0x20) or strongly "
               "encrypted (0x40), yet its bytes decompress to data whose CRC matches: it is not encrypted at all. "
               "Python's zipfile and PyTorch 2.13's reader refuse such members, but readers that ignore the bits "
               "(repair and recovery tools, relaxed unzip code, other loaders) read them, and a scanner that "
               "trusts the bits skips what they would run. The member was scanned anyway (see its findings). "
               "No legitimate writer produces such members: treat the file as crafted.")
R_SEALED_MODEL = Rule("ARCHIVE-ENCRYPTED-MODEL", "ArchiveEncryptedModel", Severity.high,
                      "model container member cannot be inspected",
                      "A member of a model container (a PyTorch, NumPy or Keras archive) is encrypted or uses a "
                      "compression the scanner cannot read, so what a loader would run from it is unknown. Model "
                      "files are never legitimately encrypted inside their container: get an unencrypted copy.")
R_UNSUPPORTED = Rule("ARCHIVE-UNSUPPORTED-FORMAT", "ArchiveUnsupportedFormat", Severity.high,
                     "archive format the scanner cannot open",
                     "The file is an archive or compressed stream (7z, RAR, zstd, lz4, cab, ar, cpio ...) that the "
                     "scanner cannot open, so none of its members were inspected; a user or a download helper that "
                     "unpacks it gets files nobody vetted. Unpack it in a sandbox and scan the folder, or ask for "
                     "the model in a format that needs no unpacking.")

RULES = [R_SLIP, R_LINK, R_BOMB, R_NOT_INSPECTED, R_MALFORMED, R_DUPLICATE, R_SPECIAL, R_FLAGS, R_SEALED_MODEL,
         R_UNSUPPORTED]

#: magic numbers of archive and compression formats we cannot open (checked after the ones we can)
UNSUPPORTED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!\x1a\x07", "RAR"), (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x04\x22\x4d\x18", "lz4"), (b"LZIP", "lzip"), (b"MSCF\x00\x00\x00\x00", "cab"), (b"!<arch>\n", "ar"),
    (b"070701", "cpio"), (b"070702", "cpio"), (b"070707", "cpio"), (b"\xc7\x71", "cpio"), (b"\x71\xc7", "cpio"),
    (b"\x1f\x9d", "compress (.Z)"), (b"\x1f\xa0", "compress (.Z)"), (b"\x60\xea", "ARJ"), (b"xar!", "xar"),
    (b"hsqs", "squashfs"), (b"\xfd\x2f\xb5\x28", "zstd (dictionary)"), (b"ZPAQ", "zpaq"), (b"zPQ", "zpaq"),
)

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


def unsupported_format(head: bytes) -> str | None:
    for magic, name in UNSUPPORTED_MAGIC:
        if head.startswith(magic):
            return name
    return None


def sniff(head: bytes, size: int) -> bool:
    return (head.startswith((b"PK\x03\x04", b"PK\x05\x06", _GZIP, _XZ)) or _is_tar(head)
            or (head.startswith(_BZ2) and head[3:4].isdigit() and head[4:10] == b"1AY&SY")
            or unsupported_format(head) is not None)


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
        elif (kind := unsupported_format(head)) is not None:
            ctx.report(R_UNSUPPORTED, source, f"a {kind} archive or compressed stream: the scanner cannot open it, "
                       "so its content was not inspected", offset=0, evidence=head[:16].hex())
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
                if info.file_size > MAX_MEMBER or declared > budget.limit:
                    ctx.report(R_NOT_INSPECTED, source, f"member {name!r} ({info.file_size} bytes) exceeds the "
                               "scan size limit", key=name)
                    continue
                if info.flag_bits & zipread.REFUSED_FLAGS:
                    _zip_flagged_member(fh, info, source, ctx, budget, model_container(infos))
                    continue
                _zip_member(zf, info, source, ctx, budget, model_container(infos))


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
                budget: _Budget, container: bool = False) -> None:
    name = info.filename
    try:
        with zf.open(info) as member:
            data, more = _read_bounded(member, max(info.file_size, 0) + 1, budget)
    except NotImplementedError as exc:  # a compression method zipfile cannot decode (AES, deflate64, zstd ...)
        ctx.report(R_SEALED_MODEL if container else R_NOT_INSPECTED, source, f"member {name!r}: {exc}", key=name,
                   offset=info.header_offset, evidence=f"compress_type={info.compress_type}")
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


def model_container(infos: list[zipfile.ZipInfo]) -> bool:
    """Whether a loader reads this zip as a model: PyTorch (data.pkl), NumPy (.npy members), Keras."""
    names = [i.filename for i in infos]
    return any(n.rsplit("/", 1)[-1] in ("data.pkl", "constants.pkl", "config.json", "metadata.json",
                                        "model.weights.h5") or n.endswith((".npy", ".pkl", ".pt", ".pth"))
               for n in names)


def _zip_flagged_member(fh: Any, info: zipfile.ZipInfo, source: Source, ctx: ScanContext, budget: _Budget,
                        container: bool) -> None:
    """A member whose flag bits make Python's zipfile (and PyTorch 2.13's reader) refuse it. Read the bytes as
    a reader that ignores the bits would: if they decompress and their CRC matches, the bits lie — scan the
    content and report the mismatch; otherwise the member really is sealed."""
    name = info.filename
    bits = zipread.flag_names(info.flag_bits)
    data = read_raw_member(fh, info, min(info.file_size, MAX_MEMBER), budget)
    if data is not None:
        ctx.report(R_FLAGS, source, f"member {name!r} sets flag bits {bits} but its data is plain "
                   f"({len(data)} bytes, CRC matches); it was scanned as a loader that ignores the bits reads it",
                   offset=info.header_offset, key=name, evidence=f"flag_bits=0x{info.flag_bits:04x}")
        _nested(data, f"{source.display}!{name}", ctx, source)
        return
    rule = R_SEALED_MODEL if container else R_NOT_INSPECTED
    ctx.report(rule, source, f"member {name!r} is sealed ({bits}): its content could not be inspected",
               offset=info.header_offset, key=name, evidence=f"flag_bits=0x{info.flag_bits:04x}")


def read_raw_member(fh: Any, info: zipfile.ZipInfo, limit: int, budget: _Budget) -> bytes | None:
    """The member's content read from its local header regardless of flag bits, or None when it does not
    decompress to data with the declared CRC (really encrypted, or damaged).

    Hand-written because zipfile offers no way to read a member while ignoring its flags; it reads only the
    local header fields needed to find the data, and decompresses with the same bounded decoders as above.
    """
    try:
        fh.seek(info.header_offset)
        raw = fh.read(30)
        if len(raw) < 30 or raw[:4] != b"PK\x03\x04":
            return None
        nlen, xlen = struct.unpack("<HH", raw[26:30])
        fh.seek(info.header_offset + 30 + nlen + xlen)
        packed = fh.read(min(info.compress_size, limit * 2 + 1024))
        budget.take(len(packed))
        if info.compress_type == zipfile.ZIP_STORED:
            data = packed[:limit]
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            data = zlib.decompressobj(-15).decompress(packed, limit)
        elif info.compress_type == zipfile.ZIP_BZIP2:
            data = bz2.BZ2Decompressor().decompress(packed, limit)
        elif info.compress_type == zipfile.ZIP_LZMA:
            return None  # zip's LZMA framing differs from the xz stream; not seen in model files
        else:
            return None
    except (OSError, zlib.error, EOFError, ValueError, struct.error):
        return None
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        return None
    return data


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


def report_flagged_member(m: zipread.Member, data: bytes, source: Source, ctx: ScanContext, display: str) -> None:
    """For the model-container scanners (torch, npz), which read members with the flag bits ignored: a member
    whose bits claim encryption though its bytes are plain is a scanner-evasion trick; one that really is
    sealed is a model container nobody can vet."""
    if not m.flags & zipread.REFUSED_FLAGS:
        return
    plain = m.crc is not None and len(data) == m.size and zlib.crc32(data) == m.crc
    if plain:
        ctx.report(R_FLAGS, source, f"member {m.name!r} sets flag bits {zipread.flag_names(m.flags)} but its data "
                   f"is plain (CRC matches); it was scanned as {display}", offset=m.header_offset, key=m.name,
                   evidence=f"flag_bits=0x{m.flags:04x}")
    else:
        ctx.report(R_SEALED_MODEL, source, f"member {m.name!r} is sealed ({zipread.flag_names(m.flags)}): its "
                   "content could not be inspected", offset=m.header_offset, key=m.name,
                   evidence=f"flag_bits=0x{m.flags:04x}")
