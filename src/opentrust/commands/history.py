"""`opentrust history TARGET`: the runs recorded for a model, from the store's read API."""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import ApiKeyEnvOption, DbOption, guarded


def register(app: typer.Typer) -> None:
    app.command(name="history")(history)


@guarded
def history(
    target: Annotated[str, typer.Argument(help="smollm2, gemma3-270m, a .gguf file, a model folder, or "
                                               "openai:<base_url>#<model>.")],
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    command: Annotated[Optional[str], typer.Option("--command", help="Only runs of this command "
                                                                     "(audit, test, redteam...).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Most recent runs per model.")] = 20,
    api_key_env: ApiKeyEnvOption = None,
) -> None:
    """List the runs recorded for a model, newest first: command, status, findings, samples generated/reused, the
    evidence each run gave (MOF class, scan verdict, attack success, pass rate) and the gates run on it.

    Files are matched by the sha256 of their weights, whatever name they were run under. An endpoint is matched
    by its URL and model name, and each set of weights seen behind it is listed apart (the server is not asked).

    Example: opentrust history smollm2
    """
    import json

    from opentrust.errors import UserError
    from opentrust.history import model_history

    if fmt not in ("table", "json"):
        raise UserError(f"unknown format {fmt!r}", "use --format table or --format json")
    from opentrust.governance.inventory import annotate_history, evidence_text, gates_text

    data = annotate_history(model_history(target, db=db, command=command, limit=limit, api_key_env=api_key_env), db)
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console

    from opentrust.history import print_history

    print_history(data, Console(), extra=("evidence · gates", lambda r: " · ".join(
        x for x in (evidence_text(r.get("evidence")), gates_text(r["gates"]) if r.get("gates") else "") if x)))
