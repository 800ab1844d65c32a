"""`opentrust scan PATH...`: static artifact scan (never loads or executes what it reads)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import (ExecutorOption, FailOnOption, RayAddressOption, executor_scope, guarded,
                              print_executor_summary, progress_display, stderr_console)


def register(app: typer.Typer) -> None:
    app.command(name="scan")(scan)


@guarded
def scan(
    paths: Annotated[List[str], typer.Argument(help="Files, folders (scanned recursively) or targets "
                                                    "(smollm2, gemma3-270m).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or sarif.")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the output to this file.")] = None,
    fail_on: FailOnOption = "high",
    timeout: Annotated[float, typer.Option("--timeout", help="Time budget per file, in seconds.")] = 60.0,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
) -> None:
    """Scan model files for code that runs on load and for malformed structure, by content, never executing it.

    Example: opentrust scan ./my-model --format sarif --out scan.sarif

    With --executor ray, files are scanned in chunks as tasks on a Ray cluster (every node must see the paths
    at the same place) and merged into one report, the same as a local scan's.
    """
    from opentrust.scan.cli import run_scan

    if executor == "local" and not ray_address:  # today's scan, file after file in this process
        raise typer.Exit(run_scan(paths, fmt, out, fail_on, timeout))
    from opentrust.scan.cli import emit_scan, prepare_scan
    from opentrust.scan.dispatch import scan_paths

    resolved, threshold = prepare_scan(paths, fmt, fail_on, timeout)
    console = stderr_console()
    with progress_display(console) as progress, executor_scope(executor, ray_address, None, progress) as ex:
        result = scan_paths(resolved, seconds=timeout, progress=progress, executor=ex)
    print_executor_summary(console, ex)
    raise typer.Exit(emit_scan(result, fmt, out, threshold, console))
