"""`opentrust policy init|check|schema`: start, validate and describe policy files."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import guarded

policy_app = typer.Typer(name="policy", help="Write, check and describe policy files (opentrust gate --policy).",
                         no_args_is_help=True, add_completion=False, rich_markup_mode=None)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")


@policy_app.command(name="init")
@guarded
def init(
    tier: Annotated[str, typer.Option("--tier", help="high-risk, limited, minimal, gpai or gpai-systemic.")] = "",
    use_case: Annotated[Optional[str], typer.Option("--use-case", help="What the model is used for.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the policy here instead of stdout "
                                                              "(an existing file is not overwritten).")] = None,
) -> None:
    """Write a commented starting policy for a risk tier (the preset, with each rule's rationale).

    Example: opentrust policy init --tier high-risk --use-case "CV screening" --out policy.yml
    """
    from opentrust.errors import UserError
    from opentrust.governance.policy import TIERS, starting_policy

    if not tier:
        raise UserError("no tier given", f"pass --tier with one of: {', '.join(TIERS)}")
    text = starting_policy(tier, use_case)
    if out is None:
        typer.echo(text, nl=False)
        return
    if out.exists():
        raise UserError(f"{out} exists", "choose another --out path or delete the file first")
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc}", "pass a writable path with --out") from None
    typer.echo(f"policy: {out}")


@policy_app.command(name="check")
@guarded
def check(
    policy: Annotated[Path, typer.Argument(help="The policy YAML file.")],
) -> None:
    """Validate a policy: fields, operators, evidence paths, exceptions and framework references.

    Exit 0 when valid, 2 with file:line: what is wrong otherwise.

    Example: opentrust policy check policy.yml
    """
    from opentrust.errors import UserError
    from opentrust.governance.policy import load_policy
    from opentrust.governance.refs import nexus_installed

    if not policy.is_file():
        raise UserError(f"no policy file {policy}", "pass the path of a policy YAML file")
    loaded = load_policy(policy)
    p = loaded.policy
    deny = sum(1 for r in p.rules if r.severity == "deny")
    refs = ("references checked against ai-atlas-nexus" if nexus_installed() else
            "references syntax-checked (install opentrust[taxonomy] to check ids against ai-atlas-nexus)")
    typer.echo(f"{policy}: valid — policy {p.policy}" + (f" ({p.tier})" if p.tier else "") +
               f", {len(p.rules)} rules ({deny} deny, {len(p.rules) - deny} warn), {len(p.exceptions)} exception(s); "
               f"{refs}")


@policy_app.command(name="schema")
@guarded
def schema() -> None:
    """Print the JSON Schema of policy files (also docs/policy-schema.json), for editors.

    Example: opentrust policy schema > policy-schema.json
    """
    from opentrust.governance.policy import schema_text

    typer.echo(schema_text(), nl=False)
