"""`opentrust audit TARGET`."""


from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import (AdapterOption, STATE, ApiKeyEnvOption, DbOption, ExecutorOption, FailOnOption,
                              ModelIdOption, RayAddressOption, RayWorkersOption, executor_scope, guarded,
                              print_executor_summary, progress_display, stderr_console, with_adapter)


def register(app: typer.Typer) -> None:
    app.command(name="audit")(audit)


@guarded
def audit(
    target: Annotated[str, typer.Argument(help="smollm2, gemma3-270m, a .gguf file, a model folder, or "
                                               "openai:<base_url>#<model>.")],
    out: Annotated[Path, typer.Option("--out", help="Reports go to OUT/<target-name>/report.{html,json}.")] = Path("reports"),
    profile: Annotated[str, typer.Option("--profile", help="quick or standard.")] = "quick",
    fail_on: FailOnOption = "high",
    db: DbOption = None,
    api_key_env: ApiKeyEnvOption = None,
    model_id: ModelIdOption = None,
    adapter: AdapterOption = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    ray_workers: RayWorkersOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Base seed; sample i uses a seed derived from it.")] = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Generate fresh samples instead of reusing cached ones.")] = False,
    checks: Annotated[Optional[List[str]], typer.Option("--check", help="Run only this check (repeatable).")] = None,
    policy: Annotated[Optional[str], typer.Option("--policy", help="Gate the fresh report with this policy (a YAML "
                                                  "file or a preset: high-risk, limited, minimal, gpai, "
                                                  "gpai-systemic); the exit code is then the gate's.")] = None,
) -> None:
    """Run every applicable check on one model and write report.html and report.json.

    Example: opentrust audit smollm2 --out reports --profile quick
    """
    from opentrust.audit import run_audit
    from opentrust.errors import UserError
    from opentrust.findings import Severity
    from opentrust.report.terminal import print_summary

    target = with_adapter(target, adapter)  # type: ignore[assignment]
    if profile not in ("quick", "standard"):
        raise UserError(f"unknown profile {profile!r}", "use --profile quick or --profile standard")
    threshold = Severity.parse(fail_on)
    gating = None
    if policy is not None:  # read the policy before the audit: a malformed one must not cost a whole audit
        from opentrust.governance.gate import AuditGate

        gating = AuditGate(policy)
    console = stderr_console()
    with progress_display(console) as progress, executor_scope(executor, ray_address, ray_workers, progress) as ex:
        result = run_audit(target, out, profile=profile, fail_on=threshold, db=db,  # type: ignore[arg-type]
                           api_key_env=api_key_env, seed=seed, model_id=model_id, use_cache=not no_cache, only=checks,
                           debug=STATE["debug"], progress=progress,
                           before_write=gating.attach if gating is not None else None, executor=ex)
    print_executor_summary(console, ex)
    if result.resumed:
        console.print("[dim]resumed an interrupted run; cached samples were reused[/]")
    print_summary(result.report, console)
    for fmt, path in result.files.items():
        typer.echo(f"{fmt}: {path}")
    if gating is not None and gating.result is not None:
        gating.finish(db, console)
        raise typer.Exit(gating.result.exit_code)
    raise typer.Exit(result.report.summary.exit_code if result.report.summary else 0)
