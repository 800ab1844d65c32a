"""`opentrust redteam TARGET`: probes × mutators through the behaviour-test engine, attack-success rates."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import (AdapterOption, ApiKeyEnvOption, DbOption, ExecutorOption, FailOnOption,
                              ModelIdOption, RayAddressOption, RayWorkersOption, emit_result, executor_scope,
                              guarded, print_executor_summary, progress_display, split_list, stderr_console,
                              with_adapter)


def register(app: typer.Typer) -> None:
    app.command(name="redteam")(redteam)


@guarded
def redteam(
    target: Annotated[str, typer.Argument(help="smollm2, a .gguf file, a model folder, or openai:<base_url>#<model>.")],
    categories: Annotated[Optional[List[str]], typer.Option(
        "--categories", "-c", help="Risk categories to probe (comma-separated or repeated): harmful, jailbreak, "
        "prompt_injection, system_prompt_leak, pii_leak, over_refusal. Default: all.")] = None,
    mutators: Annotated[Optional[List[str]], typer.Option(
        "--mutators", help="Mutators to apply (comma-separated or repeated; 'a+b' composes; 'none' for none). "
        "Default: the profile's.")] = None,
    profile: Annotated[str, typer.Option("--profile", "-p", help="quick (about 4 min on SmolLM2: harmful, "
        "jailbreak, prompt_injection, over_refusal; rates to ±0.25), standard (<30 min, every category, ±0.15) or "
        "full (everything, per-probe verdicts).")] = "quick",
    fmt: Annotated[str, typer.Option("--format", help="Output on stdout: table, json or sarif.")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the output (in --format; JSON for "
                                                              "table) to this file.")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Also write JUnit XML here (a test case per "
                                                                  "probe; failure = the attack succeeded).")] = None,
    fail_on: FailOnOption = "high",
    db: DbOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Base seed; sample i uses a seed derived from it.")] = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Generate fresh samples instead of reusing cached ones.")] = False,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", min=1, max=256,
                                                       help="Requests in flight (default: the backend's).")] = None,
    judge: Annotated[Optional[str], typer.Option("--judge", help="Optional judge target for the harmful-compliance "
                                                                 "detector (e.g. a guard model endpoint).")] = None,
    judge_format: Annotated[str, typer.Option("--judge-format", help="instruction (any chat model answers SAFE/UNSAFE) or "
                                              "conversation (a guard model such as Llama Guard classifies the "
                                              "exchange).")] = "instruction",
    api_key_env: ApiKeyEnvOption = None,
    model_id: ModelIdOption = None,
    adapter: AdapterOption = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    ray_workers: RayWorkersOption = None,
) -> None:
    """Attack the model with the probe catalogue and report attack-success rates with confidence intervals.

    Rates are means over probes, corrected for the detectors' measured error, with 95% intervals; a rate whose
    interval is wider than ±0.25 is reported as insufficient evidence. quick and standard sample each probe
    once; full samples each probe until a sequential test decides (attack succeeds reliably / model resists).
    Exit 1 when a finding is at or above --fail-on, 0 otherwise, 2 on bad input.

    Example: opentrust redteam smollm2 --profile quick --format json --out redteam.json --junit redteam.xml
    """

    from opentrust.errors import UserError
    from opentrust.findings import Severity
    from opentrust.redteam.campaign import Plan, run_campaign
    from opentrust.redteam.catalogue import load_catalogue
    from opentrust.redteam.mutators import get_mutator
    from opentrust.redteam.profiles import get_profile

    from opentrust.plugins import reporters

    target = with_adapter(target, adapter)  # type: ignore[assignment]
    formats = reporters("redteam")
    if fmt != "table" and fmt not in formats:
        raise UserError(f"unknown format {fmt!r}", f"use --format {', '.join(['table', *formats])}")
    threshold = Severity.parse(fail_on)
    prof = get_profile(profile)
    cats = split_list(categories)
    muts = split_list(mutators)
    if muts is not None:
        muts = [] if muts == ["none"] else muts
        for m in muts:
            get_mutator(m)  # validates the names (UserError on an unknown one)
    if cats is not None and not load_catalogue(categories=cats):  # validates the names (UserError on an unknown one)
        raise UserError("no probe matches the selection", "check --categories")
    # the whole catalogue, so that a profile picks the same probes of a category whatever else is selected
    plan = Plan.from_profile(prof, load_catalogue(), muts, cats)
    if not plan.probes:
        raise UserError("no probe matches the selection", "check --categories and --mutators")

    from opentrust.redteam.report import print_table

    console = stderr_console()
    with progress_display(console) as progress, executor_scope(executor, ray_address, ray_workers, progress) as ex:
        result = run_campaign(plan, target, db=db, seed=seed, use_cache=not no_cache, concurrency=concurrency,
                              judge=judge, api_key_env=api_key_env, model_id=model_id, progress=progress,
                              judge_format=judge_format, executor=ex)
    print_executor_summary(console, ex)
    if result.resumed:
        console.print("[dim]resumed an interrupted run; cached samples were reused[/]")
    emit_result(result, formats, fmt, out, junit, lambda c: print_table(result, c, threshold))
    raise typer.Exit(1 if result.failed(threshold) else 0)
