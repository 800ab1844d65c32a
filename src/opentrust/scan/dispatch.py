"""Route every file to the scanner of its format, identified by content (never by file name).

``scan_paths`` walks files and folders (every file, whatever its name), gives each top-level file its own
time and size budget, runs folder-level checks (auto_map code, ONNX external data), and returns a
``ScanResult``; nested content (archive members, embedded pickles) comes back through
``ScanContext.scan_nested`` and is dispatched the same way, up to a depth limit.
"""

from __future__ import annotations

import importlib
import os
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, Iterator

from opentrust.scan.base import BudgetExceeded, Rule, ScanContext, ScanFinding, Severity, Source
from opentrust.scan.result import FileResult, ScanResult

__all__ = ["FileResult", "ScanResult", "all_rules", "identify", "plugin_scanners", "scan_bytes", "scan_paths",
           "scan_source", "scanner"]

HEAD_BYTES = 8192
DEFAULT_FILE_SECONDS = 60.0
DEFAULT_MAX_BYTES = 2 * 1024**3

R_BUDGET = Rule("SCAN-BUDGET", "ScanBudgetExceeded", Severity.high, "Scan budget exceeded",
                "The file could not be inspected completely within the time or size budget. Hostile files are "
                "built to exhaust scanners before their payload, so treat it as unsafe until a scan with a larger "
                "budget (--timeout) completes.")
R_ERROR = Rule("SCAN-ERROR", "ScanError", Severity.high, "Scanner failed on this file",
               "The file made a scanner fail, so it was not fully inspected; treat it as unsafe and report the "
               "message to the opentrust maintainers.")
R_DEPTH = Rule("SCAN-DEPTH", "ScanNestingTooDeep", Severity.high, "Nesting too deep",
               "Archives or pickles nested deeper than the limit were not inspected: a loader that unpacks them "
               "would still run what they contain. Treat the file as unsafe.")
R_UNREADABLE = Rule("SCAN-UNREADABLE", "ScanUnreadable", Severity.medium, "File could not be read",
                    "The file could not be opened (permissions, broken link). Fix access and scan again.")
R_SKIPPED = Rule("SCAN-SKIPPED", "ScanSkippedSpecialFile", Severity.info, "Not a regular file: skipped unread",
                 "FIFOs, devices, sockets, links to them, broken links and links to folders are never opened: "
                 "reading one can block forever or touch hardware, and a link can point anywhere on the machine. "
                 "A model repository has no reason to hold them, and a loader that opens one by name (a FIFO "
                 "called pytorch_model.bin) hangs or reads whatever another process writes. Check why it is "
                 "there; scan what it points to separately if you trust that.")
DISPATCH_RULES = [R_BUDGET, R_ERROR, R_DEPTH, R_UNREADABLE, R_SKIPPED]

# Scanner modules in sniffing order: strong magic numbers first, weak structural guesses last.
# Zip files are classified by their member names (torch / npz / keras / generic archive) in ``_scan_zip``.
SNIFF_ORDER = (
    "gguf", "numpy", "keras", "safetensors", "torch", "pickles", "joblib", "archive", "remote_code",
    "python_source", "savedmodel", "onnx",
)
#: format names shown to users where they differ from the scanner module's name
FORMAT_NAMES = {"remote_code": "hf-config", "python_source": "python"}
ZIP_ROUTES = ("torch", "numpy", "keras", "archive")
ALL_MODULES = ("pickles", "torch", "numpy", "joblib", "gguf", "keras", "safetensors", "archive", "savedmodel",
               "onnx", "remote_code", "python_source", "templates")

def scanner(name: str) -> ModuleType | None:
    """The scanner module ``opentrust.scan.<name>``, or None when it is not installed (yet). Python's module
    cache is the only cache: no table of ours to go stale in a long-running process."""
    try:
        return importlib.import_module(f"opentrust.scan.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"opentrust.scan.{name}":
            raise
        return None


def _collect_plugin_scanners() -> list[Any]:
    from opentrust.plugins import collect

    return [s for s in collect("register_scanners") if hasattr(s, "sniff") and hasattr(s, "scan")]


class _ScanPlugins:
    """The plugin scanners of one scan, collected on first use (most files never need them, so most scans
    never import pluggy)."""

    def __init__(self) -> None:
        self._scanners: list[Any] | None = None

    def get(self) -> list[Any]:
        if self._scanners is None:
            self._scanners = _collect_plugin_scanners()
        return self._scanners


#: the scan in progress's plugins: each scan_paths / scan_bytes call sees the plugins registered when it
#: started, and concurrent scans (threads, tasks) each their own; no process-wide table goes stale
_SCAN_PLUGINS: ContextVar[_ScanPlugins | None] = ContextVar("opentrust_scan_plugins", default=None)


def plugin_scanners() -> list[Any]:
    """Scanners registered by plugins (``register_scanners`` hook): objects or modules with ``sniff``,
    ``scan`` and ``RULES`` like the built-ins. They are tried after the built-in formats."""
    current = _SCAN_PLUGINS.get()
    return current.get() if current is not None else _collect_plugin_scanners()


@contextmanager
def _one_scan() -> Iterator[None]:
    if _SCAN_PLUGINS.get() is not None:  # nested inside a scan: keep the outer scan's plugins
        yield
        return
    token = _SCAN_PLUGINS.set(_ScanPlugins())
    try:
        yield
    finally:
        _SCAN_PLUGINS.reset(token)


def all_rules() -> list[Rule]:
    """Every rule any scanner can report (SARIF lists them)."""
    from opentrust.scan import pickles

    rules: dict[str, Rule] = {r.id: r for r in DISPATCH_RULES + pickles.RULES}
    for mod in [scanner(name) for name in ALL_MODULES] + plugin_scanners():
        for r in getattr(mod, "RULES", []) if mod else []:
            rules.setdefault(r.id, r)
    return list(rules.values())


# -- dispatch ---------------------------------------------------------------------------------------


def identify(head: bytes, size: int) -> str | None:
    """The format name of content starting with ``head`` (``None``: not a format we scan)."""
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    for name in SNIFF_ORDER:
        mod = scanner(name)
        if mod is None or not hasattr(mod, "sniff"):
            continue
        try:
            if mod.sniff(head, size):
                return name
        except Exception:  # noqa: BLE001 - a sniffer must never stop dispatch; the scan reports damage
            continue
    for i, plug in enumerate(plugin_scanners()):
        try:
            if plug.sniff(head, size):
                return f"plugin:{i}"
        except Exception:  # noqa: BLE001
            continue
    return None


def dispatch(source: Source, ctx: ScanContext) -> str:
    """Scan ``source`` with the scanner of its format; return the format name."""
    try:
        head = source.read(0, HEAD_BYTES)
        size = source.size
    except OSError as exc:
        ctx.report(R_UNREADABLE, source, f"Cannot read the file: {exc}.", evidence=str(exc))
        ctx.formats[source.display] = "unreadable"
        return "unreadable"
    fmt = identify(head, size) or "other"
    if fmt == "zip":
        fmt = _scan_zip(source, ctx)
    elif fmt.startswith("plugin:"):
        plug = plugin_scanners()[int(fmt.split(":")[1])]
        plug.scan(source, ctx)
        fmt = getattr(plug, "FORMAT", None) or getattr(plug, "__name__", "plugin")
    elif fmt != "other":
        mod = scanner(fmt)
        assert mod is not None
        mod.scan(source, ctx)
        fmt = FORMAT_NAMES.get(fmt, fmt)
    ctx.formats[source.display] = fmt
    return fmt


def _scan_zip(source: Source, ctx: ScanContext) -> str:
    """Route a zip by its member layout: torch (data.pkl/version/data/…), npz (.npy members), Keras
    (config.json + metadata.json / weights), anything else is a generic archive."""
    from opentrust.scan import zipread

    names = zipread.member_names(source)
    for route in ZIP_ROUTES:
        mod = scanner(route)
        if mod is None:
            continue
        claims = getattr(mod, "claims_zip", None) or getattr(mod, "is_keras_zip", None)
        if route == "archive" or (claims is not None and claims(names)):
            mod.scan(source, ctx)
            return {"numpy": "npz", "archive": "zip"}.get(route, route)
    from opentrust.scan import torch

    if torch.claims_zip(names):  # archive scanner not available: at least inspect pickles
        torch.scan(source, ctx)
        return "torch"
    return "zip"


def make_nested(max_depth: int) -> Callable[[Source, ScanContext], None]:
    def scan_nested(source: Source, ctx: ScanContext) -> None:
        if ctx.depth >= max_depth:
            ctx.report(R_DEPTH, source, f"Content nested {ctx.depth + 1} levels deep was not inspected.",
                       evidence=f"depth {ctx.depth + 1} > {max_depth}")
            return
        ctx.depth += 1
        try:
            ctx.bytes_examined += source.size
            ctx.check_budget()
            dispatch(source, ctx)
        finally:
            ctx.depth -= 1

    return scan_nested


def scan_source(source: Source, *, seconds: float = DEFAULT_FILE_SECONDS, max_bytes: int = DEFAULT_MAX_BYTES,
                max_depth: int = 4, walked: bool = False) -> tuple[str, ScanContext]:
    """Scan one top-level file or blob with its own budget. Never raises on hostile input."""
    ctx = ScanContext(deadline=time.monotonic() + seconds, max_depth=max_depth, max_total_bytes=max_bytes,
                      walked=walked)
    ctx.scan_nested = make_nested(max_depth)
    fmt = "other"
    try:
        fmt = dispatch(source, ctx)
    except BudgetExceeded as exc:
        fmt = ctx.formats.get(source.display, "partial")
        ctx.report(R_BUDGET, source, f"Scan stopped: {exc} (limit {seconds:g} s, {max_bytes} bytes).",
                   evidence=str(exc))
    except RecursionError:
        ctx.report(R_ERROR, source, "Structure nested too deeply for the scanner.", evidence="RecursionError")
    except MemoryError:
        ctx.report(R_BUDGET, source, "Scan stopped: out of memory.", evidence="MemoryError")
    except Exception as exc:  # noqa: BLE001 - hostile input must produce a finding, never a crash
        if os.environ.get("OPENTRUST_DEBUG"):
            raise
        ctx.report(R_ERROR, source, f"{type(exc).__name__}: {exc}", evidence=f"{type(exc).__name__}: {exc}"[:500])
    return fmt, ctx


def scan_bytes(data: bytes, display: str = "<bytes>", **budget: Any) -> ScanResult:
    """Scan an in-memory blob (fuzzing, tests)."""
    start = time.perf_counter()
    with _one_scan():
        fmt, ctx = scan_source(Source(display=display, data=data), **budget)
    return _result([(display, fmt, len(data), ctx, time.perf_counter() - start)], start)


@dataclass
class Entry:
    """One path to scan: a regular file, or a path that is skipped unread (``skip`` says why)."""

    path: Path
    display: str
    walked: bool  # found by walking a folder argument
    skip: str | None = None


def _skip_reason(path: Path) -> str | None:
    """Why a path is not read: it is (or links to) a FIFO, device, socket or folder, or is a broken link.
    ``os.stat`` never blocks, not even on a FIFO."""
    from opentrust.scan.base import special_kind

    try:
        kind = special_kind(os.stat(path).st_mode)
    except OSError as exc:
        return f"broken link or unreadable ({exc.strerror or exc})" if path.is_symlink() else None
    if kind is None:
        return None
    return f"a link to a {kind}" if path.is_symlink() else f"a {kind}"


def iter_files(paths: Iterable[Path]) -> Iterable[Entry]:
    """Every file under ``paths`` (folders recursively, sorted, directory symlinks not followed); FIFOs,
    devices, sockets, links to them, broken links and links to folders come back with ``skip`` set."""
    for root in paths:
        if root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
                dirnames.sort()
                links = sorted(d for d in dirnames if (Path(dirpath) / d).is_symlink())
                for fn in sorted(filenames + links):
                    p = Path(dirpath) / fn
                    yield Entry(p, str(p), True, _skip_reason(p))
        else:
            yield Entry(root, str(root), False, _skip_reason(root))


def scan_paths(paths: list[Path], *, seconds: float = DEFAULT_FILE_SECONDS, max_bytes: int = DEFAULT_MAX_BYTES,
               progress: Callable[[str, int, int], None] | None = None, executor: Any = None) -> ScanResult:
    """Scan files and folders. Folder-level scanners (``scan_folder``) run once per folder argument.

    ``executor`` (an ``opentrust.executor.Executor``): scan in chunks through its ``map`` (on Ray: tasks on
    the cluster's nodes, which must see the paths at the same place); the result is the same as without it,
    file for file and finding for finding, in the same order. None: this process, file after file."""
    if executor is not None:
        return _scan_paths_mapped(paths, executor, seconds=seconds, max_bytes=max_bytes, progress=progress)
    with _one_scan():
        return _scan_paths(paths, seconds=seconds, max_bytes=max_bytes, progress=progress)


def _scan_paths(paths: list[Path], *, seconds: float, max_bytes: int,
                progress: Callable[[str, int, int], None] | None) -> ScanResult:
    start = time.perf_counter()
    files = list(iter_files(paths))
    per_file: list[tuple[str, str, int, ScanContext, float]] = []
    for i, entry in enumerate(files):
        if progress:
            progress(f"scan: {entry.path.name}", i, len(files))
        per_file.append(_scan_entry(entry, seconds, max_bytes))
    for root in paths:
        if root.is_dir():
            per_file.extend(_scan_folder(root, seconds))
    if progress:
        progress("scan: done", len(files), len(files))
    res = _result(per_file, start)
    res.roots = [str(p) for p in paths]
    return res


def _scan_entry(entry: Entry, seconds: float, max_bytes: int) -> tuple[str, str, int, ScanContext, float]:
    """One walked or named path: (display, format, size, its context, seconds)."""
    path, display = entry.path, entry.display
    t0 = time.perf_counter()
    if entry.skip is not None:
        ctx = ScanContext()
        ctx.report(R_SKIPPED, Source(display=display, path=path), f"Not read: {entry.skip}.", evidence=entry.skip)
        return display, "skipped", 0, ctx, time.perf_counter() - t0
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    fmt, ctx = scan_source(Source(display=display, path=path), seconds=seconds, max_bytes=max_bytes,
                           walked=entry.walked)
    return display, fmt, size, ctx, time.perf_counter() - t0


def _scan_folder(root: Path, seconds: float) -> list[tuple[str, str, int, ScanContext, float]]:
    out = []
    for name in ALL_MODULES:
        mod = scanner(name)
        fn = getattr(mod, "scan_folder", None) if mod else None
        if fn is None:
            continue
        t0 = time.perf_counter()
        ctx = ScanContext(deadline=time.monotonic() + seconds)
        ctx.scan_nested = make_nested(ctx.max_depth)
        src = Source(display=str(root), path=root)
        try:
            fn(root, ctx)
        except BudgetExceeded as exc:
            ctx.report(R_BUDGET, src, f"Folder check {name} stopped: {exc}.", evidence=str(exc))
        except Exception as exc:  # noqa: BLE001
            if os.environ.get("OPENTRUST_DEBUG"):
                raise
            ctx.report(R_ERROR, src, f"Folder check {name} failed: {type(exc).__name__}: {exc}",
                       evidence=f"{type(exc).__name__}: {exc}"[:500])
        if ctx.findings:
            out.append((f"{root}{os.sep}", f"folder:{name}", 0, ctx, time.perf_counter() - t0))
    return out


def _result(per_file: list[tuple[str, str, int, ScanContext, float]], start: float) -> ScanResult:
    res = ScanResult()
    for display, fmt, size, ctx, secs in per_file:
        worst = max((f.severity for f in ctx.findings), key=lambda s: s.rank, default=None)
        nested = {k: v for k, v in ctx.formats.items() if k != display}
        res.files.append(FileResult(path=display, format=fmt, size=size, findings=len(ctx.findings),
                                    seconds=round(secs, 4), max_severity=worst.value if worst else None,
                                    nested=nested))
        res.records.extend(ctx.findings)
        res.bytes_read += ctx.bytes_examined
    res.seconds = round(time.perf_counter() - start, 4)
    return res


# -- scanning through an executor (opentrust.executor; Ray) ------------------------------------------------
#
# The driver walks the paths (the same walk as above), packs the files into chunks of plain data and maps
# ``scan_chunk`` over them; each chunk comes back as plain data (findings, formats, sizes: never a
# ScanContext, whose ``scan_nested`` is a closure), and the driver puts every file back at its place in the
# walk, so the merged result lists the same files and findings in the same order as a scan in this process.

#: a chunk holds at most this many files and, beyond its first file, this many bytes: small files share a
#: task (a Ray task costs about a millisecond, scanning a small config far less), a large one goes alone
CHUNK_FILES = 64
CHUNK_BYTES = 64 * 1024**2

#: one scanned path as it travels back: (display, format, size, findings, formats, bytes examined, seconds)
Scanned = tuple[str, str, int, list[ScanFinding], dict[str, str], int, float]


@dataclass
class ScanChunk:
    """The unit of work shipped to a worker: paths as strings and the budgets, nothing else."""

    roots: list[str]  # every path the scan was asked for: the worker checks it sees them
    files: list[tuple[int, str, str, bool]] = field(default_factory=list)  # (place in the walk, path, display, walked)
    folder: tuple[int, str] | None = None  # (place among the folder arguments, folder): its folder-level checks
    seconds: float = DEFAULT_FILE_SECONDS
    max_bytes: int = DEFAULT_MAX_BYTES
    #: the driver's working folder: relative paths resolve there on every node (a shared file system), and the
    #: report shows them as the user typed them, as a local scan does
    cwd: str = ""


@dataclass
class ChunkResult:
    host: str
    missing: str | None = None  # a root this worker's machine does not have (nothing was scanned)
    files: list[tuple[int, Scanned]] = field(default_factory=list)
    folder: tuple[int, list[Scanned]] | None = None


def _plain(display: str, fmt: str, size: int, ctx: ScanContext, secs: float) -> Scanned:
    return display, fmt, size, ctx.findings, ctx.formats, ctx.bytes_examined, secs


def _unplain(item: Scanned) -> tuple[str, str, int, ScanContext, float]:
    display, fmt, size, findings, formats, examined, secs = item
    return display, fmt, size, ScanContext(findings=findings, formats=formats, bytes_examined=examined), secs


def scan_chunk(chunk: ScanChunk) -> ChunkResult:
    """Scan one chunk where it lands (a module-level function: executors pickle it by name)."""
    import socket

    host = socket.gethostname()
    before = os.getcwd()
    try:
        if chunk.cwd:
            os.chdir(chunk.cwd)  # a task runs alone in its worker process; restored below
        return _scan_chunk_here(chunk, host)
    except OSError:
        return ChunkResult(host=host, missing=chunk.cwd)
    finally:
        os.chdir(before)


def _scan_chunk_here(chunk: ScanChunk, host: str) -> ChunkResult:
    for root in chunk.roots:
        if not os.path.lexists(root):
            return ChunkResult(host=host, missing=root)
    out = ChunkResult(host=host)
    with _one_scan():
        for index, path, display, walked in chunk.files:
            entry = Entry(Path(path), display, walked, _skip_reason(Path(path)))
            out.files.append((index, _plain(*_scan_entry(entry, chunk.seconds, chunk.max_bytes))))
        if chunk.folder is not None:
            index, root = chunk.folder
            out.folder = (index, [_plain(*r) for r in _scan_folder(Path(root), chunk.seconds)])
    return out


def _chunks(files: list[Entry], paths: list[Path], seconds: float, max_bytes: int) -> Iterator[ScanChunk]:
    roots = [str(p) for p in paths]
    cwd = os.getcwd()
    for i, root in enumerate(paths):  # first: a folder check walks its whole folder
        if root.is_dir():
            yield ScanChunk(roots, folder=(i, str(root)), seconds=seconds, max_bytes=max_bytes, cwd=cwd)
    chunk, size = ScanChunk(roots, seconds=seconds, max_bytes=max_bytes, cwd=cwd), 0
    for index, entry in enumerate(files):
        if entry.skip is not None:
            continue  # never read: the driver records it
        try:
            n = entry.path.stat().st_size
        except OSError:
            n = 0
        if chunk.files and (len(chunk.files) >= CHUNK_FILES or size + n > CHUNK_BYTES):
            yield chunk
            chunk, size = ScanChunk(roots, seconds=seconds, max_bytes=max_bytes, cwd=cwd), 0
        chunk.files.append((index, str(entry.path), entry.display, entry.walked))
        size += n
    if chunk.files:
        yield chunk


def _chunk_files(chunk: ScanChunk) -> int:
    return len(chunk.files)


def _scan_paths_mapped(paths: list[Path], executor: Any, *, seconds: float, max_bytes: int,
                       progress: Callable[[str, int, int], None] | None) -> ScanResult:
    from opentrust.errors import UserError

    start = time.perf_counter()
    files = list(iter_files(paths))
    per_file: list[tuple[str, str, int, ScanContext, float] | None] = [None] * len(files)
    folders: dict[int, list[tuple[str, str, int, ScanContext, float]]] = {}
    for index, entry in enumerate(files):
        if entry.skip is not None:
            per_file[index] = _scan_entry(entry, seconds, max_bytes)
    done = sum(1 for r in per_file if r is not None)
    if progress:
        progress(f"scan on {executor.name}", done, len(files))
    # per-node counts in files (a folder check counts none)
    for chunk in executor.map(scan_chunk, _chunks(files, paths, seconds, max_bytes), units=_chunk_files):
        if chunk.missing is not None:
            raise UserError(f"{chunk.missing} is not on node {chunk.host}",
                            "scan --executor ray reads the files where the tasks run: put the folder at the same "
                            "path on every node (a shared file system), or scan with --executor local")
        for index, item in chunk.files:
            per_file[index] = _unplain(item)
        if chunk.folder is not None:
            folders[chunk.folder[0]] = [_unplain(item) for item in chunk.folder[1]]
        done += len(chunk.files)
        if progress:
            progress(f"scan on {executor.name}", done, len(files))
    missing = [files[i].display for i, r in enumerate(per_file) if r is None]
    if missing:  # an executor that dropped work: never report a partial scan as complete
        raise RuntimeError(f"{len(missing)} files came back unscanned, e.g. {missing[0]}")
    merged = [r for r in per_file if r is not None]
    for i in sorted(folders):
        merged.extend(folders[i])
    res = _result(merged, start)
    res.roots = [str(p) for p in paths]
    return res
