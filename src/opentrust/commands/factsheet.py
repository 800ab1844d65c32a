"""`opentrust factsheet TARGET`: a model factsheet from all stored evidence (EU AI Act Annex XI/XII items)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import ApiKeyEnvOption, DbOption, guarded


def register(app: typer.Typer) -> None:
    app.command(name="factsheet")(factsheet)


@guarded
def factsheet(
    target: Annotated[str, typer.Argument(help="smollm2, gemma3-270m, a .gguf file, a model folder, or "
                                               "openai:<base_url>#<model>.")],
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the factsheet here instead of stdout.")] = None,
    db: DbOption = None,
    api_key_env: ApiKeyEnvOption = None,
) -> None:
    """Write a model factsheet assembled from all stored evidence: identity, files and hashes, licences and openness,
    scan, behaviour, red team, fairness, comparisons and gate results, then the items of EU AI Act Annex XI and XII.
    Every statement names the run that produced it; every missing item is listed as missing.

    Example: opentrust factsheet smollm2 --format html --out smollm2-factsheet.html
    """
    from opentrust.errors import UserError
    from opentrust.governance.factsheet import build_factsheet, to_html, to_markdown

    renderers = {"md": to_markdown, "html": to_html,
                 "json": lambda sheet: sheet.model_dump_json(indent=2, by_alias=True) + "\n"}
    if fmt not in renderers:
        raise UserError(f"unknown format {fmt!r}", "use --format md, html or json")
    text = renderers[fmt](build_factsheet(target, db=db, api_key_env=api_key_env))
    if out is None:
        typer.echo(text, nl=False)
        return
    from opentrust.report.jsonout import atomic_write

    try:
        atomic_write(out, text)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc}", "pass a writable path with --out") from None
    typer.echo(f"{fmt}: {out}")
