"""`opentrust diff OLD NEW`: findings, metrics and verdicts that changed between two audits; exit 1 on a regression."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import ApiKeyEnvOption, DbOption, guarded, write_output


def register(app: typer.Typer) -> None:
    app.command(name="diff")(diff)


@guarded
def diff(
    old: Annotated[str, typer.Argument(help="The earlier audit: a report.json, or a target (its latest audit in "
                                            "the store).")],
    new: Annotated[str, typer.Argument(help="The later audit: a report.json, or a target.")],
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the JSON here.")] = None,
    timings: Annotated[bool, typer.Option("--timings", help="Count slower latency or throughput as a regression "
                                                            "(off: timings depend on the machine's load).")] = False,
    all_metrics: Annotated[bool, typer.Option("--all", help="Table: list metrics without a direction too.")] = False,
    db: DbOption = None,
    api_key_env: ApiKeyEnvOption = None,
) -> None:
    """Compare two audits: new, fixed and changed findings; each metric's change with its interval; changed verdicts.

    Exit 1 on a regression — a statistically significant worsening (the family-wise 95% interval of a rate's change
    excludes zero on the worse side), a new high or critical finding from a file check, a lower MOF class or a gate
    that stops passing — never for a point change inside the noise; 0 otherwise; 2 on bad input.

    Example: opentrust diff reports-v1/smollm2/report.json reports-v2/smollm2/report.json
    """
    from opentrust.errors import UserError
    from opentrust.governance.diff import diff_reports, load_side

    if fmt not in ("table", "json"):
        raise UserError(f"unknown format {fmt!r}", "use --format table or --format json")
    result = diff_reports(load_side(old, db, api_key_env), load_side(new, db, api_key_env), timings=timings)
    text = result.model_dump_json(indent=2) + "\n"
    if out is not None:
        write_output(out, text)
    if fmt == "json":
        typer.echo(text, nl=False)
    else:
        from rich.console import Console

        from opentrust.governance.diff import print_diff

        print_diff(result, Console(), all_metrics=all_metrics)
    raise typer.Exit(result.exit_code)
