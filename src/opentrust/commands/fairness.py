"""`opentrust fairness TARGET`: counterfactual pairs and BBQ-format QA, with paired statistics."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import (ApiKeyEnvOption, DbOption, ModelIdOption, emit_result, guarded, progress_display,
                              split_list, stderr_console)


def register(app: typer.Typer) -> None:
    app.command(name="fairness")(fairness)


@guarded
def fairness(
    target: Annotated[str, typer.Argument(help="smollm2, a .gguf file, a model folder, or openai:<base_url>#<model> "
                                               "(completion:TARGET for a base model).")],
    suites: Annotated[Optional[List[Path]], typer.Argument(help="Counterfactual suite YAML files.")] = None,
    builtin: Annotated[bool, typer.Option("--builtin", help="Also run the built-in counterfactual suite and the "
                                                            "built-in BBQ-format items.")] = False,
    bbq: Annotated[Optional[List[Path]], typer.Option("--bbq", help="BBQ-format JSONL file (repeatable), e.g. the "
                                                                    "published BBQ files.")] = None,
    attributes: Annotated[Optional[List[str]], typer.Option(
        "--attributes", help="Only these attributes / BBQ categories (comma-separated or repeated; a prefix matches: "
        "gender matches Gender_identity).")] = None,
    profile: Annotated[str, typer.Option("--profile", "-p", help="quick (templates tagged quick, 4 seeds, 2 BBQ "
                                                                 "templates per category) or standard.")] = "standard",
    extraction: Annotated[str, typer.Option("--extraction", help="How BBQ answers are read: auto (log-probabilities "
                                                                 "where the backend gives them, else parsed text), "
                                                                 "logprob or parsed.")] = "auto",
    fmt: Annotated[str, typer.Option("--format", help="Output on stdout: table, json or html.")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the output (in --format; JSON for "
                                                              "table) to this file.")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Also write JUnit XML here (a test case per "
                                                                  "comparison; failure = unfair).")] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Exit 1 when an unfair verdict's severity is at or above "
                                                           "this: critical|high|medium|low|info|none.")] = "medium",
    db: DbOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Base seed; sample i of every variant uses a seed derived "
                                                     "from it (the same for every group).")] = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Generate fresh samples instead of reusing cached ones.")] = False,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", min=1, max=256,
                                                       help="Requests in flight (default: the backend's).")] = None,
    api_key_env: ApiKeyEnvOption = None,
    model_id: ModelIdOption = None,
) -> None:
    """Does the model treat people differently by who they are? Counterfactual templates asked once per group with
    the same seeds, judged with paired tests against the suite's tolerance (fair / unfair / inconclusive), and
    BBQ-format ambiguous-context QA with BBQ's bias scores and bootstrap intervals.

    Exit 1 when an unfair verdict (or another finding) is at or above --fail-on, 0 otherwise, 2 on bad input.

    Example: opentrust fairness smollm2 --builtin --profile quick --format json --out fairness.json
    """
    from opentrust.errors import UserError
    from opentrust.fairness.run import FairnessPlan, run_fairness
    from opentrust.findings import Severity
    from opentrust.plugins import reporters

    formats = reporters("fairness")
    if fmt != "table" and fmt not in formats:
        raise UserError(f"unknown format {fmt!r}", f"use --format {', '.join(['table', *formats])}")
    threshold = Severity.parse(fail_on)
    plan = FairnessPlan.build(suites, builtin, bbq, split_list(attributes), profile, extraction)
    if not plan.bbq and not any(s.templates for s in plan.suites):
        raise UserError("nothing left to run after --attributes", "check --attributes")

    from opentrust.fairness.report import failed, print_table

    console = stderr_console()
    with progress_display(console) as progress:
        run = run_fairness(plan, target, db=db, seed=seed, use_cache=not no_cache, concurrency=concurrency,
                           api_key_env=api_key_env, model_id=model_id, progress=progress)
    if run.resumed:
        console.print("[dim]resumed an interrupted run; cached samples were reused[/]")
    result = run.result
    emit_result(result, formats, fmt, out, junit, lambda c: print_table(result, c, threshold))
    raise typer.Exit(1 if failed(result, threshold) else 0)
