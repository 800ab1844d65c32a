"""joblib files. Uncompressed ones are pickles whose arrays follow their wrappers in the stream (the pickle
machine skips them). Compressed ones (``joblib.dump(..., compress=...)``: zlib, gzip, bz2, lzma, xz, lz4)
are decompressed here with a bound, to a temporary file, and the result is dispatched like any file. A
gzip/bz2/xz stream is claimed only when it holds a pickle; other compressed streams (.tar.gz) are archives.
When the codec is not importable (lz4) the file is reported, not guessed.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from typing import Any, Callable

from opentrust.scan.base import BudgetExceeded, Rule, ScanContext, Severity, Source

R_UNINSPECTED = Rule("JOBLIB-COMPRESSED-UNINSPECTED", "JoblibCompressedNotInspected", Severity.high,
                     "Compressed joblib file, not inspected",
                     "The file is compressed with a codec that is not installed here, so its pickle — which "
                     "joblib.load runs — could not be scanned: a model container nobody vetted is never passed "
                     "silently. Install the codec (pip install lz4) and scan again before loading it.")
R_TOO_LARGE = Rule("JOBLIB-DECOMPRESSED-TOO-LARGE", "JoblibDecompressionLimit", Severity.high,
                   "Compressed stream larger than the inspection limit",
                   "Decompression stopped at the size limit (a possible decompression bomb); only the start was "
                   "scanned. Treat the file as unsafe or scan with a larger budget.")
R_CORRUPT = Rule("JOBLIB-CORRUPT", "JoblibCorrupt", Severity.medium, "Corrupt compressed stream",
                 "The compressed data is damaged; what decompressed before the damage was scanned.")
RULES = [R_UNINSPECTED, R_TOO_LARGE, R_CORRUPT]

LZ4_MAGIC = b"\x04\x22\x4d\x18"
ZF_PREFIX = b"ZF"
MAX_DECOMPRESSED = 4 << 30
CHUNK = 1 << 20


def _codec(head: bytes) -> str | None:
    if head.startswith(LZ4_MAGIC):
        return "lz4"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(ZF_PREFIX) and head[2:4] == b"0x":
        return "zfile"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    if head.startswith(b"\x5d\x00\x00"):
        return "lzma"
    return None


def sniff(head: bytes, size: int) -> bool:
    codec = _codec(head)
    if codec in ("lz4", "zfile"):
        return True
    if codec is None:
        return False
    decompress = _decompressor(codec)
    try:  # weak or generic magic: require the first bytes to decompress
        first = decompress(head, 64) if decompress else b""
    except Exception:  # noqa: BLE001 - not this format
        return False
    if codec in ("gzip", "bz2", "xz"):
        # generic compressed streams are joblib's only when they hold a pickle (a .tar.gz is an archive)
        return len(first) >= 2 and first[0] == 0x80 and first[1] <= 5
    return True


def _decompressor(codec: str) -> Callable[[bytes, int], bytes] | None:
    if codec in ("zlib", "zfile", "gzip"):
        d = zlib.decompressobj(31 if codec == "gzip" else 15)
        return lambda data, n: d.decompress(data or d.unconsumed_tail, n)
    if codec == "bz2":
        import bz2

        bd = bz2.BZ2Decompressor()
        return lambda data, n: b"" if bd.eof or (not data and bd.needs_input) else bd.decompress(data, n)
    if codec in ("lzma", "xz"):
        import lzma

        ld = lzma.LZMADecompressor(lzma.FORMAT_ALONE if codec == "lzma" else lzma.FORMAT_XZ)
        return lambda data, n: b"" if ld.eof or (not data and ld.needs_input) else ld.decompress(data, n)
    if codec == "lz4":
        try:
            import lz4.frame  # type: ignore[import-not-found]
        except ImportError:
            return None
        fd = lz4.frame.LZ4FrameDecompressor()
        return lambda data, n: b"" if fd.eof or (not data and fd.needs_input) else fd.decompress(data, n)
    return None


def scan(source: Source, ctx: ScanContext) -> None:
    head = source.read(0, 64)
    codec = _codec(head) or "zlib"
    decompress = _decompressor(codec)
    if decompress is None:
        ctx.report(R_UNINSPECTED, source, f"{codec}-compressed data; the {codec} codec is not installed.",
                   offset=0, evidence=head[:8].hex())
        return
    start = 0
    if codec == "zfile":  # joblib < 0.10: "ZF" + hex length padded to 19 bytes, then zlib data
        start = 2 + 19
    limit = max(0, min(MAX_DECOMPRESSED, ctx.max_total_bytes - ctx.bytes_examined))
    fd, tmp = tempfile.mkstemp(prefix="opentrust-scan-", suffix=".bin")
    try:
        written, cut, error = _inflate(source, start, decompress, fd, limit, ctx, codec)
        os.close(fd)
        fd = -1
        if error:
            ctx.report(R_CORRUPT, source, f"{codec} stream damaged after {written} bytes: {error}.", evidence=error)
        if cut:
            ctx.report(R_TOO_LARGE, source, f"Decompressed output exceeds {limit} bytes; the first {written} "
                       "bytes were scanned.", evidence=f"limit={limit}")
        if written and ctx.scan_nested is not None:
            ctx.scan_nested(Source(display=f"{source.display}!<{codec}>", path=_path(tmp)), ctx)
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)


def _path(p: str) -> Any:
    from pathlib import Path

    return Path(p)


def _inflate(source: Source, start: int, decompress: Callable[[bytes, int], bytes], fd: int, limit: int,
             ctx: ScanContext, codec: str) -> tuple[int, bool, str]:
    written = 0
    with source.open() as fh:
        fh.seek(start)
        while True:
            block = fh.read(CHUNK)
            try:
                out = decompress(block, CHUNK * 4) if block else b""
                while True:
                    if out:
                        if written + len(out) > limit:
                            os.write(fd, out[: limit - written])
                            return limit, True, ""
                        os.write(fd, out)
                        written += len(out)
                        ctx.check_budget()
                    out = decompress(b"", CHUNK * 4)  # drain what max_length held back
                    if not out:
                        break
            except BudgetExceeded:
                raise
            except Exception as exc:  # noqa: BLE001 - corrupt attacker data
                return written, False, f"{type(exc).__name__}: {exc}"
            if not block:
                return written, False, ""
