"""`opentrust test SUITE.yaml ... --model TARGET`: statistical behaviour tests."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import (AdapterOption, ApiKeyEnvOption, DbOption, ExecutorOption, ModelIdOption,
                              RayAddressOption, RayWorkersOption, executor_scope, guarded,
                              print_executor_summary, progress_display, stderr_console, with_adapter)


def register(app: typer.Typer) -> None:
    app.command(name="test")(test)


@guarded
def test(
    suites: Annotated[Optional[List[Path]], typer.Argument(help="Suite YAML files.")] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="smollm2, a .gguf file, a model folder, or "
                                                             "openai:<base_url>#<model>.")] = "",
    builtin: Annotated[bool, typer.Option("--builtin", help="Also run the built-in suites (factual QA, "
                                                            "instructions, JSON output, over-refusal).")] = False,
    tags: Annotated[Optional[List[str]], typer.Option("-k", "--tag", help="Run only cases with this tag or id "
                                                                          "(repeatable).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Output on stdout: table, json, junit (or a plugin's "
                                                      "format).")] = "table",
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Also write JUnit XML here.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the JSON result here.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Generate fresh samples instead of reusing cached ones.")] = False,
    fail_on_inconclusive: Annotated[bool, typer.Option("--fail-on-inconclusive",
                                                       help="Treat inconclusive cases as failures (exit 1).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Base seed; sample i uses a seed derived from it.")] = 0,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", min=1, max=256,
                                                       help="Requests in flight (default: the backend's).")] = None,
    judge: Annotated[Optional[str], typer.Option("--judge", help="Judge target for rubric assertions "
                                                                 "(default: the model under test).")] = None,
    db: DbOption = None,
    api_key_env: ApiKeyEnvOption = None,
    model_id: ModelIdOption = None,
    adapter: AdapterOption = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    ray_workers: RayWorkersOption = None,
) -> None:
    """Sample each case until a sequential test decides pass or fail (or max_samples: inconclusive).

    Exit 1 when a case fails (or is inconclusive with --fail-on-inconclusive), 0 otherwise, 2 on bad input.

    Example: opentrust test --builtin --model smollm2 -k geography --junit junit.xml
    """

    from opentrust.errors import UserError
    from opentrust.evals.suite import builtin_suite_paths, load_suite, require_unique_ids

    from opentrust.plugins import reporters

    formats = reporters("test")
    if fmt != "table" and fmt not in formats:
        raise UserError(f"unknown format {fmt!r}", f"use --format {' or '.join(['table', *formats])}")
    model = with_adapter(model, adapter)
    if not model:
        raise UserError("no model given", "pass --model smollm2, a .gguf file or openai:<url>#<model>")
    paths = list(suites or []) + (builtin_suite_paths() if builtin else [])
    if not paths:
        raise UserError("no suite given", "pass suite YAML files or --builtin")
    cases = []
    for p in paths:
        cases.extend(load_suite(p).select(tags).cases)
    require_unique_ids(cases)
    if not cases:
        raise UserError("no case matches the selection", "check the -k tags")

    from opentrust.evals.report import print_table
    from opentrust.evals.testrun import run_cases

    console = stderr_console()
    with progress_display(console) as progress, executor_scope(executor, ray_address, ray_workers, progress) as ex:
        run = run_cases(cases, model, db=db, seed=seed, use_cache=not no_cache, concurrency=concurrency,
                        judge=judge, api_key_env=api_key_env, model_id=model_id,
                        parameters={"suites": [str(p) for p in paths], "tags": tags or []}, progress=progress,
                        executor=ex)
    print_executor_summary(console, ex)
    if run.resumed:
        console.print("[dim]resumed an interrupted run; cached samples were reused[/]")
    from opentrust.report.jsonout import atomic_write

    if out:
        atomic_write(out, formats["json"](run))
    if junit:
        atomic_write(junit, formats["junit"](run, fail_on_inconclusive=fail_on_inconclusive))
    if fmt != "table":
        typer.echo(formats[fmt](run, fail_on_inconclusive=fail_on_inconclusive), nl=False)
        print_table(run, console, fail_on_inconclusive)
    else:
        from rich.console import Console

        print_table(run, Console(), fail_on_inconclusive)
    raise typer.Exit(1 if run.failed(fail_on_inconclusive) else 0)
