"""`opentrust openness TARGET`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import guarded, stderr_console

FORMATS = ("table", "json", "cyclonedx")  # the built-in ones; plugins may add formats (register_reporters)


def register(app: typer.Typer) -> None:
    app.command(name="openness")(openness)


@guarded
def openness(
    target: Annotated[str, typer.Argument(help="A model folder, a .gguf file, a Model Openness Tool YAML record, "
                                               "or an alias (smollm2, gemma3-270m).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or cyclonedx (CycloneDX 1.6 AI BOM).")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the output to FILE (with --format table: the JSON).")] = None,
) -> None:
    """What was really released: MOF class, OSI Open Source AI verdict, licences and next steps.

    Example: opentrust openness smollm2 --format json
    """

    from opentrust.errors import UserError

    from opentrust.plugins import reporters

    formats = reporters("openness")
    if fmt != "table" and fmt not in formats:
        raise UserError(f"unknown format {fmt!r}", f"use --format {' | '.join(['table', *formats])}")
    from opentrust.openness import assess_spec

    console = stderr_console()
    with console.status("reading the release…"):
        result = assess_spec(target)
    if fmt == "table":
        from rich.console import Console

        from opentrust.openness.render import print_table

        plain = Console()
        # Pipes and CI logs get a readable width instead of rich's 80-column fallback.
        print_table(result, plain if plain.is_terminal else Console(width=140))
        if out is not None:
            _write(out, formats["json"](result))
        return
    text = formats[fmt](result)
    if out is None:
        typer.echo(text, nl=False)
    else:
        _write(out, text)
        c = result.classification
        console.print(f"{result.evidence.name}: {c.label} "
                      f"(III {c.progress['3']:.0f}%, II {c.progress['2']:.0f}%, I {c.progress['1']:.0f}%); "
                      f"OSAID: {result.osaid['verdict']}")
        typer.echo(f"{fmt}: {out}")


def _write(path: Path, text: str) -> None:
    from opentrust.errors import UserError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc}", "pass a writable path with --out") from exc
