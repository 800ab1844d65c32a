"""`opentrust scan PATH...`: static artifact scan (never loads or executes what it reads)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import FailOnOption, guarded, progress_display, stderr_console


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
    import json

    from opentrust.errors import UserError
    from opentrust.findings import Severity, exceeds

    if fmt not in ("table", "json", "sarif"):
        raise UserError(f"unknown format {fmt!r}", "use --format table, json or sarif")
    if timeout <= 0:
        raise UserError("--timeout must be positive", "pass a number of seconds, e.g. --timeout 60")
    threshold = Severity.parse(fail_on)
    resolved = [_resolve(p) for p in paths]

    from opentrust.scan.dispatch import all_rules, scan_paths
    from opentrust.scan.report import print_table, to_json_dict

    console = stderr_console()
    with progress_display(console) as progress:
        result = scan_paths(resolved, seconds=timeout, progress=progress)
    if fmt == "table":
        from rich.console import Console

        if out is not None:
            with open(out, "w", encoding="utf-8") as fh:
                print_table(result, Console(file=fh, width=160, force_terminal=False))
        else:
            print_table(result, Console())
    else:
        if fmt == "json":
            doc = to_json_dict(result, threshold)
        else:
            from opentrust.report.sarif import to_sarif
            from opentrust.scan.report import sorted_findings

            doc = to_sarif(sorted_findings(result.findings), all_rules())
        text = json.dumps(doc, indent=2) + "\n"
        if out is not None:
            try:
                out.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UserError(f"cannot write {out}: {exc}", "pass a writable path with --out") from exc
        else:
            typer.echo(text, nl=False)
    if out is not None:
        console.print(f"{fmt}: {out}")
    raise typer.Exit(1 if exceeds(result.findings, threshold) else 0)


def _resolve(spec: str) -> Path:
    from opentrust.errors import UserError
    from opentrust.target import ALIASES, resolve_target

    path = Path(spec).expanduser()
    if path.exists():
        return path
    if spec in ALIASES:
        target = resolve_target(spec)
        assert target.path is not None
        return target.path
    if spec.startswith("openai:"):
        raise UserError(f"{spec} is an endpoint: there are no files to scan", "scan a file, folder or smollm2")
    raise UserError(f"{spec}: no such file or folder",
                    f"check the path, or use a built-in target ({', '.join(ALIASES)})")
