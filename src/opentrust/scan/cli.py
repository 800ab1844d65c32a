"""What ``opentrust scan`` does, and a fast path to it that skips typer.

Pre-commit hooks and CI steps call the scanner once per file, so its start-up is paid on every call. typer
(with click and its adapters), pluggy and pydantic take longer to import than scanning a small file, so
``opentrust.cli.main`` hands ``opentrust scan ...`` to ``fast_main`` first: it understands exactly the
command's documented options (``--format/-f``, ``--out/-o``, ``--fail-on``, ``--timeout``, as ``--opt value``
or ``--opt=value``) and returns None for anything else (``--help``, an unknown or malformed option, no path),
so typer parses and reports those exactly as before. Both paths run ``run_scan``.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

FORMATS = ("table", "json", "sarif")
_OPTIONS = {"--format": "fmt", "-f": "fmt", "--out": "out", "-o": "out", "--fail-on": "fail_on",
            "--timeout": "timeout"}


def run_scan(paths: list[str], fmt: str = "table", out: Path | None = None, fail_on: str = "high",
             timeout: float = 60.0) -> int:
    """Scan ``paths`` and write the output; return the exit code (1 when a finding is at or above ``fail_on``).
    Raises UserError on bad input."""
    resolved, threshold = prepare_scan(paths, fmt, fail_on, timeout)

    from opentrust.scan.dispatch import scan_paths

    from rich.console import Console

    console = Console(stderr=True)
    with _progress(console) as progress:
        result = scan_paths(resolved, seconds=timeout, progress=progress)
    return emit_scan(result, fmt, out, threshold, console)


def prepare_scan(paths: list[str], fmt: str, fail_on: str, timeout: float) -> tuple[list[Path], Any]:
    """The checked arguments of a scan: (the paths to scan, the --fail-on threshold). UserError on bad input."""
    from opentrust.errors import UserError
    from opentrust.scan.base import Severity

    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}", "use --format table, json or sarif")
    if timeout <= 0:
        raise UserError("--timeout must be positive", "pass a number of seconds, e.g. --timeout 60")
    threshold = Severity.parse(fail_on)
    return [resolve_path(p) for p in paths], threshold


def emit_scan(result: Any, fmt: str, out: Path | None, threshold: Any, console: Any) -> int:
    """Write a scan's output (``--format``, ``--out``); return the exit code."""
    from opentrust.errors import UserError
    from opentrust.scan.report import exceeds, print_table, render_json, render_sarif

    from rich.console import Console

    if fmt == "table":
        if out is not None:
            with open(out, "w", encoding="utf-8") as fh:
                print_table(result, Console(file=fh, width=160, force_terminal=False))
        else:
            print_table(result, Console())
    else:
        # the scan reporters (opentrust.reporters registers the same functions through the hook)
        text = render_json(result, threshold) if fmt == "json" else render_sarif(result)
        if out is not None:
            try:
                out.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UserError(f"cannot write {out}: {exc}", "pass a writable path with --out") from exc
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    if out is not None:
        console.print(f"{fmt}: {out}")
    return 1 if exceeds(result.records, threshold) else 0


def resolve_path(spec: str) -> Path:
    """A path to scan: an existing file or folder, or a built-in target alias (``smollm2``)."""
    from opentrust.errors import UserError

    path = Path(spec).expanduser()
    if path.exists() or path.is_symlink():
        return path
    from opentrust.target import ALIASES, resolve_target

    if spec in ALIASES:
        target = resolve_target(spec)
        assert target.path is not None
        return target.path
    if spec.startswith("openai:"):
        raise UserError(f"{spec} is an endpoint: there are no files to scan", "scan a file, folder or smollm2")
    raise UserError(f"{spec}: no such file or folder",
                    f"check the path, or use a built-in target ({', '.join(ALIASES)})")


@contextmanager
def _progress(console: Any) -> Iterator[Callable[[str, int, int], None]]:
    """A transient progress bar on stderr, started only once there are several files (a single file is
    scanned before a bar could draw, and rich.progress costs part of the start-up budget)."""
    state: dict[str, Any] = {}

    def update(description: str, completed: int, total: int) -> None:
        if "bar" not in state:
            if total < 2 or (not console.is_terminal and "CI" in os.environ):
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), console=console, transient=True)
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(description, total=total)
        state["bar"].update(state["task"], description=description, completed=completed, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()


def parse_fast(argv: list[str]) -> dict[str, Any] | None:
    """The arguments of ``opentrust scan`` when they are plain (see the module docstring), else None."""
    values: dict[str, Any] = {}
    paths: list[str] = []
    only_paths = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if only_paths or not arg.startswith("-") or arg == "-":
            paths.append(arg)
        elif arg == "--":
            only_paths = True
        else:
            name, eq, value = arg.partition("=")
            if name not in _OPTIONS or (not eq and i + 1 >= len(argv)):
                return None
            if not eq:
                i += 1
                value = argv[i]
            values[_OPTIONS[name]] = value
        i += 1
    if not paths:
        return None
    try:
        values["timeout"] = float(values.get("timeout", 60.0))
    except ValueError:
        return None  # typer says why
    if "out" in values:
        values["out"] = Path(values["out"])
    return {"paths": paths, **values}


def fast_main(argv: list[str]) -> int | None:
    """Run ``opentrust scan`` without typer; None when typer must handle the arguments. Errors follow the
    CLI's contract: one line on stderr, exit 2 for bad input, 3 for a bug (``OPENTRUST_DEBUG``: traceback)."""
    args = parse_fast(argv)
    if args is None:
        return None
    debug = bool(os.environ.get("OPENTRUST_DEBUG"))
    from opentrust.errors import EXIT_INTERNAL, EXIT_USAGE, UserError

    try:
        return run_scan(**args)
    except UserError as exc:
        if debug:
            raise
        sys.stderr.write(f"opentrust: error: {exc.one_line()}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("opentrust: interrupted\n")
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:  # a bug in opentrust: one line unless asked for the traceback
        if debug:
            raise
        sys.stderr.write(f"opentrust: error: internal error: {type(exc).__name__}: {exc} "
                         "(re-run with --debug for the traceback)\n")
        return EXIT_INTERNAL
