"""`opentrust scan PATH...`: static artifact scan (never loads or executes what it reads)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import FailOnOption, guarded


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
) -> None:
    """Scan model files for code that runs on load and for malformed structure, by content, never executing it.

    Example: opentrust scan ./my-model --format sarif --out scan.sarif
    """
    from opentrust.scan.cli import run_scan

    raise typer.Exit(run_scan(paths, fmt, out, fail_on, timeout))
