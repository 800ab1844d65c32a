"""`opentrust improve TARGET --plan --from REPORT.json|--from-store`: the training data a tuning run would use."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import DbOption, guarded, progress_display, stderr_console


def register(app: typer.Typer) -> None:
    app.command(name="improve")(improve)


@guarded
def improve(
    target: Annotated[str, typer.Argument(help="The model to improve: smollm2, a .gguf file, or any target.")],
    plan: Annotated[bool, typer.Option("--plan", help="Build and show the training data without training "
                                                      "(the only mode in this version).")] = False,
    from_: Annotated[Optional[List[Path]], typer.Option(
        "--from", help="A result JSON of `opentrust redteam --format json` or `opentrust test --format json` "
                       "(repeatable).")] = None,
    from_store: Annotated[bool, typer.Option("--from-store", help="Use the latest redteam and test runs of TARGET "
                                                                  "in the store (--db).")] = False,
    categories: Annotated[Optional[List[str]], typer.Option(
        "--categories", "-c", help="Only these categories (comma-separated or repeated): harmful, jailbreak, "
                                   "prompt_injection, system_prompt_leak, pii_leak, over_refusal, behaviour.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for train.jsonl, heldout.jsonl and plan.json "
                                                              "(default: improve/<target name>/).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for template choice and the split.")] = 0,
    heldout: Annotated[float, typer.Option("--heldout", help="Share of probe families held out for evaluation "
                                                             "(0 < share < 1).")] = 0.25,
    templates: Annotated[Optional[Path], typer.Option(
        "--templates", help="A folder with your own refusal.yaml / helpful.yaml / behaviour.yaml answer templates "
                            "(each replaces the built-in one of its kind).")] = None,
    db: DbOption = None,
) -> None:
    """Turn measured failures into checked chat training examples, split by probe family.

    Example: opentrust improve smollm2 --plan --from redteam.json --from test.json
    Example: opentrust improve smollm2 --plan --from-store --categories harmful,over_refusal
    """
    from opentrust.errors import UserError

    if not plan:
        raise UserError("training is not available in this version of opentrust improve",
                        "use --plan to build and inspect the training data")
    if bool(from_) == from_store:
        raise UserError("give --from REPORT.json or --from-store (one of them)",
                        "e.g. opentrust improve smollm2 --plan --from redteam.json")
    if not 0.0 < heldout < 1.0:
        raise UserError(f"--heldout must be between 0 and 1, got {heldout}", "e.g. --heldout 0.25")
    from opentrust.improve.plan import make_plan, show
    from opentrust.target import resolve_target

    cats = [c.strip() for item in categories or [] for c in item.split(",") if c.strip()] or None
    spec = resolve_target(target)
    if from_:
        _same_model(spec, from_, db)
    folder = out or Path("improve") / spec.name
    console = stderr_console()
    with progress_display(console) as update:
        result = make_plan(spec, reports=list(from_ or []), use_store=from_store, db=db, categories=cats, out=folder,
                           seed=seed, heldout=heldout, templates_dir=templates, progress=update)
    from rich.console import Console

    show(result, Console())


def _same_model(target: object, reports: List[Path], db: Optional[Path]) -> None:
    """A report about another model would teach TARGET from someone else's failures: refuse it."""
    from opentrust.errors import UserError
    from opentrust.results import read_result
    from opentrust.store import Store

    with Store(db) as store:
        fingerprint = target.fingerprint(store)  # type: ignore[attr-defined]
    for path in reports:
        model = read_result(path).model
        if model.fingerprint != fingerprint:
            raise UserError(f"{path} is a result for {model.spec} (model {model.fingerprint[:12]}), not for "
                            f"{target.spec}", "pass results of this target, or name the target they were run on")  # type: ignore[attr-defined]
