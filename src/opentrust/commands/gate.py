"""`opentrust gate --policy POLICY.yml REPORT.json [REPORT.json ...]`: a policy's verdict on the evidence."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import DbOption, guarded, write_output


def register(app: typer.Typer) -> None:
    app.command(name="gate")(gate)


@guarded
def gate(
    reports: Annotated[Optional[List[Path]], typer.Argument(
        help="Result files: an audit report.json and/or the JSON of scan, openness, test, redteam, fairness or "
             "compare.", show_default=False)] = None,
    policy: Annotated[str, typer.Option("--policy", help="A policy YAML file, or a preset: high-risk, limited, "
                                                         "minimal, gpai, gpai-systemic.")] = "",
    fmt: Annotated[str, typer.Option("--format", help="table, json, sarif or junit.")] = "table",
    explain: Annotated[bool, typer.Option("--explain", help="Table: show every rule's message, rationale, "
                                                            "references and evidence path.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the output (JSON for table) here.")] = None,
    db: DbOption = None,
    no_record: Annotated[bool, typer.Option("--no-record", help="Do not keep the verdict in the store.")] = False,
) -> None:
    """Evaluate a policy on result files: each rule pass, fail, warn, unknown or excepted, and the verdict.

    Exit 0 when the gate passes, 1 when it fails (a deny rule failed or its evidence is unknown), 2 on bad input
    (a malformed policy is reported as file:line: what is wrong).

    Example: opentrust gate --policy high-risk reports/smollm2/report.json --explain
    """
    from opentrust.errors import UserError
    from opentrust.plugins import reporters

    formats = reporters("gate")
    if fmt != "table" and fmt not in formats:
        raise UserError(f"unknown format {fmt!r}", f"use --format {' or '.join(['table', *formats])}")
    if not policy:
        raise UserError("no policy given", "pass --policy POLICY.yml or a preset (--policy minimal)")
    from opentrust.governance.gate import gate_files

    result = gate_files(policy, list(reports or []), db=db, record=not no_record)
    text = formats["json" if fmt == "table" else fmt](result)
    if out is not None:
        write_output(out, text)
    if fmt == "table":
        from rich.console import Console

        from opentrust.governance.render import print_table

        print_table(result, Console(), explain=explain)
    else:
        typer.echo(text, nl=False)
    raise typer.Exit(result.exit_code)
