"""`opentrust improve TARGET --from REPORT.json|--from-store`: measured failures -> checked training data -> a
LoRA adapter -> a paired before/after re-test (``--plan``: the data only)."""

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
    target: Annotated[str, typer.Argument(help="The GGUF model to improve: smollm2, gemma3-270m or a .gguf file "
                                               "(--plan: any target).")],
    plan: Annotated[bool, typer.Option("--plan", help="Build and show the training data without training.")] = False,
    from_: Annotated[Optional[List[Path]], typer.Option(
        "--from", help="A result JSON of `opentrust redteam --format json` or `opentrust test --format json` "
                       "(repeatable).")] = None,
    from_store: Annotated[bool, typer.Option("--from-store", help="Use the latest redteam and test runs of TARGET "
                                                                  "in the store (--db).")] = False,
    categories: Annotated[Optional[List[str]], typer.Option(
        "--categories", "-c", help="Only these categories (comma-separated or repeated): harmful, jailbreak, "
                                   "prompt_injection, system_prompt_leak, pii_leak, over_refusal, behaviour.")] = None,
    method: Annotated[str, typer.Option("--method", help="Tuning method (lora).")] = "lora",
    epochs: Annotated[int, typer.Option("--epochs", help="Passes over the training examples.")] = 1,
    rank: Annotated[int, typer.Option("--rank", help="LoRA rank.")] = 8,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate of the LoRA weights.")] = 2e-4,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Stop training after this many optimiser "
                                                                         "steps (default: the epochs' worth).")] = None,
    samples: Annotated[int, typer.Option("--samples", help="Answers per re-tested item and model (1: exact "
                                                           "McNemar on paired items).")] = 1,
    controls: Annotated[Optional[str], typer.Option(
        "--controls", help="Control suites re-tested for regressions, comma-separated, or 'none' "
                           "(default: over-refusal,factual-qa,instruction-following).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for the plan, the adapter and the before/after "
                                                              "report (default: improve/<target name>/); a rerun "
                                                              "with the same folder resumes.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for templates, the split, training and sampling.")] = 0,
    heldout: Annotated[float, typer.Option("--heldout", help="Share of probe families held out for evaluation "
                                                             "(0 < share < 1).")] = 0.25,
    templates: Annotated[Optional[Path], typer.Option(
        "--templates", help="A folder with your own refusal.yaml / helpful.yaml / behaviour.yaml answer templates "
                            "(each replaces the built-in one of its kind).")] = None,
    teacher: Annotated[Optional[str], typer.Option(
        "--teacher", help="A target (e.g. a larger model behind openai:URL#MODEL) whose answers are tried before "
                          "the templates; each is kept only when the detectors agree with it.")] = None,
    retain: Annotated[bool, typer.Option("--retain", help="Also train on helpful answers to the benign probes the "
                                                          "model did answer, so it does not learn to refuse "
                                                          "everything (training side only).")] = False,
    db: DbOption = None,
) -> None:
    """Turn measured failures into a LoRA adapter, and show with paired tests whether the model got better.

    Writes train.jsonl, heldout.jsonl, plan.json, the adapter (tune/) and before_after.json / before_after.html
    in --out; --plan stops after the data.

    Example: opentrust improve smollm2 --from-store --categories harmful,jailbreak --max-steps 60
    Example: opentrust improve smollm2 --plan --from redteam.json --from test.json
    """
    from opentrust.errors import UserError

    if bool(from_) == from_store:
        raise UserError("give --from REPORT.json or --from-store (one of them)",
                        "e.g. opentrust improve smollm2 --plan --from redteam.json")
    if not 0.0 < heldout < 1.0:
        raise UserError(f"--heldout must be between 0 and 1, got {heldout}", "e.g. --heldout 0.25")
    from opentrust.target import resolve_target

    cats = [c.strip() for item in categories or [] for c in item.split(",") if c.strip()] or None
    spec = resolve_target(target)
    if from_:
        _same_model(spec, from_, db)
    folder = out or Path("improve") / spec.name
    console = stderr_console()
    from rich.console import Console

    if plan:
        from opentrust.improve.plan import make_plan, show

        with progress_display(console) as update:
            result = make_plan(spec, reports=list(from_ or []), use_store=from_store, db=db, categories=cats,
                               out=folder, seed=seed, heldout=heldout, templates_dir=templates, progress=update,
                               teacher=teacher, retain=retain)
        show(result, Console())
        return
    from opentrust.improve.evaluate import CONTROLS
    from opentrust.improve.loop import run_improve
    from opentrust.improve.report import print_table

    names = list(CONTROLS) if controls is None else \
        [] if controls.strip() == "none" else [c.strip() for c in controls.split(",") if c.strip()]
    unknown = sorted(set(names) - set(CONTROLS))
    if unknown:
        raise UserError(f"unknown control suites: {', '.join(unknown)}", f"choose from: {', '.join(CONTROLS)}, or none")
    with progress_display(console) as update:
        doc = run_improve(target, reports=list(from_ or []), use_store=from_store, db=db, categories=cats,
                          out=folder, seed=seed, heldout=heldout, templates_dir=templates, method=method,
                          epochs=epochs, rank=rank, lr=lr, max_steps=max_steps, samples=samples, controls=names,
                          teacher=teacher, retain=retain,
                          progress=update, say=lambda m: console.print(m, markup=False))
    import sys

    stdout = Console() if sys.stdout.isatty() else Console(width=160)  # a log keeps the whole table
    print_table(doc, stdout)
    stdout.print(f"wrote {folder / 'before_after.json'} and {folder / 'before_after.html'}; the tuned model is "
                 f"{doc['tuned']['spec']}", markup=False, soft_wrap=True)


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
