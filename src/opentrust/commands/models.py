"""`opentrust models`: every model the store has evidence for."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from opentrust.clikit import DbOption, guarded


def register(app: typer.Typer) -> None:
    app.command(name="models")(models)


@guarded
def models(
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Most recently seen models.")] = 100,
) -> None:
    """List the models in the store: fingerprint, names seen, last audit, MOF class, scan verdict, red-team attack
    success with its interval, and the latest verdict of each policy gated.

    Example: opentrust models --format json
    """
    import json

    from opentrust.errors import UserError
    from opentrust.governance.inventory import inventory

    if fmt not in ("table", "json"):
        raise UserError(f"unknown format {fmt!r}", "use --format table or --format json")
    data = inventory(db, limit=limit)
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console

    from opentrust.governance.inventory import print_inventory

    print_inventory(data, Console())
