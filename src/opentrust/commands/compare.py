"""`opentrust compare TARGET TARGET [TARGET ...] [SUITE.yaml ...]`: the smallest model that is good enough."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import (ApiKeyEnvOption, DbOption, ExecutorOption, RayAddressOption, RayWorkersOption,
                              executor_scope, guarded, print_executor_summary, progress_display, stderr_console)


def register(app: typer.Typer) -> None:
    app.command(name="compare")(compare)


@guarded
def compare(
    items: Annotated[List[str], typer.Argument(help="Two or more targets (smollm2, gemma3-270m, a .gguf file, "
                                                    "openai:<url>#<model>, completion:TARGET), then optional suite "
                                                    "YAML files.")],
    builtin: Annotated[bool, typer.Option("--builtin", help="Compare on every built-in suite case.")] = False,
    profile: Annotated[str, typer.Option("--profile", "-p", help="quick (the 37 quick cases, up to 3 samples each, "
                                         "6 latency prompts × 3 rounds) or standard (up to 5 samples, 10 × 5).")] = "quick",
    delta: Annotated[float, typer.Option("--delta", help="Non-inferiority margin on the pass rate.")] = 0.05,
    alpha: Annotated[float, typer.Option("--alpha", help="Error rate of the verdicts (family-wise over pairs and "
                                                         "looks).")] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Power the power check asks for at --delta.")] = 0.8,
    reference: Annotated[Optional[str], typer.Option("--reference", help="Compare every model with this target "
                                                     "(default: the best-quality model).")] = None,
    grid_intensity: Annotated[Optional[float], typer.Option("--grid-intensity", help="Grid carbon intensity, "
                                                            "g CO2e per kWh.")] = None,
    country: Annotated[Optional[str], typer.Option("--country", help="ISO 3166 alpha-3 country for the grid "
                                                   "intensity (offline table from codecarbon's data).")] = None,
    cpu_watts: Annotated[Optional[float], typer.Option("--cpu-watts", help="Estimate energy as W × CPU time / CPUs "
                                                       "where no energy sensor is readable.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Output on stdout: table, json or html.")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write compare.json and compare.html into this "
                                                "folder.")] = None,
    fail_if_not_recommended: Annotated[Optional[str], typer.Option(
        "--fail-if-not-recommended", help="Exit 1 when this target is not the recommendation.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Base seed; sample i of a case uses a seed derived from it, "
                                                     "the same for every model.")] = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Generate fresh samples instead of reusing cached "
                                                              "ones.")] = False,
    db: DbOption = None,
    api_key_env: ApiKeyEnvOption = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    ray_workers: RayWorkersOption = None,
) -> None:
    """Run the same cases with the same seeds on every target; paired verdicts, latency, memory, energy, CO2.

    Exit 0 on success, 1 with --fail-if-not-recommended when that target is not recommended, 2 on bad input.

    Example: opentrust compare smollm2 completion:gemma3-270m --country DEU --cpu-watts 15 --out cmp/
    """
    from opentrust.errors import UserError
    from opentrust.plugins import reporters

    formats = reporters("compare")
    if fmt != "table" and fmt not in formats:
        raise UserError(f"unknown format {fmt!r}", f"use --format {' or '.join(['table', *formats])}")
    suites = [i for i in items if i.lower().endswith((".yaml", ".yml")) and Path(i).is_file()]
    specs = [i for i in items if i not in suites]
    if fail_if_not_recommended is not None and fail_if_not_recommended not in specs:
        raise UserError(f"--fail-if-not-recommended {fail_if_not_recommended} is not one of the targets",
                        "pass one of: " + ", ".join(specs))

    from opentrust.compare.cases import select_cases
    from opentrust.compare.run import CompareOptions, run_compare

    cases = select_cases(suites, builtin, profile)
    options = CompareOptions(profile=profile, delta=delta, alpha=alpha, power=power, reference=reference,
                             seed=seed, grid_intensity=grid_intensity, country=country, cpu_watts=cpu_watts,
                             use_cache=not no_cache, api_key_env=api_key_env)
    console = stderr_console()
    with progress_display(console) as progress, executor_scope(executor, ray_address, ray_workers, progress) as ex:
        doc = run_compare(specs, cases, options, db=db, progress=progress, executor=ex)
    print_executor_summary(console, ex)
    from opentrust.compare.report import print_table
    from opentrust.report.jsonout import atomic_write
    from opentrust.results.compare import CompareResult

    result = CompareResult.model_validate(doc)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "compare.json", formats["json"](result))
        atomic_write(out / "compare.html", formats["html"](result))
    if fmt == "table":
        from rich.console import Console

        print_table(result, Console())
    else:
        typer.echo(formats[fmt](result), nl=False)
        print_table(result, console)
    raise typer.Exit(1 if fail_if_not_recommended and result.recommendation.target != fail_if_not_recommended else 0)
