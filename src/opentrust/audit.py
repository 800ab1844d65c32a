"""`opentrust audit`: run every registered check that applies to a target and write one report.

Audit knows nothing about individual checks: they register through the ``register_checks`` hook, so new
capabilities (scanning, openness, suites, red teaming) join by registering, not by editing this file.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from opentrust._version import __version__
from opentrust.checks.base import Check, CheckContext, Profile
from opentrust.errors import UserError
from opentrust.findings import Finding, Severity
from opentrust.plugins import collect, reporters
from opentrust.report.model import Report, Section, TargetInfo, ToolInfo, utc_now
from opentrust.session import RunSession
from opentrust.target import Target, resolve_target


@dataclass
class AuditResult:
    report: Report
    files: dict[str, Path]
    resumed: bool


def registered_checks() -> list[Check]:
    return sorted(collect("register_checks"), key=lambda c: (c.order, c.name))


def validate_target(target: Target) -> None:
    """Refuse input no check could use (truncated GGUF, unreachable endpoint) before anything runs."""
    gguf = target.gguf_path
    if gguf is not None:
        from opentrust.formats.gguf import GGUFError, read_gguf

        try:
            g = read_gguf(gguf)
        except GGUFError as exc:
            raise UserError(f"{gguf} is not a readable GGUF file: {exc}",
                            "the file is damaged or truncated; download it again (`opentrust scan` shows details)") from exc
        fatal = [p for p in g.problems if p.code in ("truncated", "tensor-out-of-bounds")]
        if fatal:
            raise UserError(f"{gguf} is truncated: {fatal[0].message}",
                            "download the file again (`opentrust scan` shows details)")
    # an endpoint is checked when the session fingerprints it: nothing listening is a one-line error there


def run_audit(spec: str, out_dir: Path, profile: Profile = "quick", fail_on: Severity | None = Severity.high,
              db: Path | None = None, api_key_env: str | None = None, seed: int = 0, use_cache: bool = True,
              only: list[str] | None = None, debug: bool = False, model_id: str | None = None,
              progress: Callable[[str, int, int], None] = lambda d, c, t: None,
              before_write: Callable[[Report], None] | None = None, executor: Any = None) -> AuditResult:
    """``before_write(report)``: called on the finished report before it is written and stored (``audit --policy``
    adds its gate section there)."""
    target = resolve_target(spec, api_key_env=api_key_env, model_id=model_id)
    validate_target(target)
    checks = registered_checks()
    if only:
        unknown = sorted(set(only) - {c.name for c in checks})
        if unknown:
            raise UserError(f"unknown check(s): {', '.join(unknown)}",
                            f"choose from: {', '.join(c.name for c in checks)}")
        checks = [c for c in checks if c.name in only]
    parameters: dict[str, Any] = {"profile": profile, "seed": seed, "checks": [c.name for c in checks]}
    with RunSession(target, "audit", parameters, db=db, use_cache=use_cache, generate=False,
                    executor=executor) as session:
        report = Report(
            tool=ToolInfo(version=__version__), command="audit", run_id=session.run_id, created_at=utc_now(),
            target=TargetInfo(name=target.name, kind=target.kind, location=target.location, model=target.model,
                              fingerprint=session.fingerprint, size_bytes=target.size_bytes),
            parameters={**parameters, "use_cache": use_cache, "fail_on": fail_on.value if fail_on else "none"},
        )
        ctx = CheckContext(session=session, profile=profile, seed=seed, progress=progress)
        report.sections = session.run(lambda: _run_checks(checks, ctx, debug))
        report.finalize(fail_on)
        if before_write is not None:
            before_write(report)
        files = write_report(report, out_dir / target.name)
        session.finish(report)
    return AuditResult(report=report, files=files, resumed=session.resumed)


async def _run_checks(checks: list[Check], ctx: CheckContext, debug: bool) -> list[Section]:
    sections = []
    for check in checks:
        sections.append(await _run_one(check, ctx, debug))
    for check, section in zip(checks, sections):
        if section.status in ("ok", "findings"):
            try:
                check.finalize(section, sections)
            except Exception as exc:  # a broken finalize must not lose the report
                if debug:
                    raise
                section.summary += f" (finalize failed: {type(exc).__name__}: {exc})"
    return sections


async def _run_one(check: Check, ctx: CheckContext, debug: bool) -> Section:
    reason = check.skip_reason(ctx.target)
    if reason:
        return Section(check=check.name, title=check.title, status="skipped", summary=reason)
    start = time.perf_counter()
    try:
        section = await check.run(ctx)
    except UserError:
        raise  # bad input or a model that cannot run at all: the whole audit stops with exit 2
    except Exception as exc:  # one broken check must not lose the others' results
        if debug:
            raise
        section = Section(
            check=check.name, title=check.title, status="error", summary=f"The check failed: {exc}",
            findings=[Finding(rule_id="OT-CHECK-ERROR", severity=Severity.high, check=check.name,
                              title=f"Check {check.name} could not complete",
                              message=f"{type(exc).__name__}: {exc}",
                              remedy="Re-run with --debug and report the traceback to the opentrust maintainers.")])
    section.duration_s = round(time.perf_counter() - start, 3)
    if not section.parameters:
        section.parameters = check.parameters(ctx)
    ctx.store.save_results(ctx.run_id, check.name, section.findings, section.measurements)
    return section


def write_report(report: Report, folder: Path) -> dict[str, Path]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the report folder {folder}: {exc}", "pass a writable folder with --out") from exc
    from opentrust.report.jsonout import atomic_write

    # every reporter of audit results writes report.<format>: json and html built in, more from plugins
    files = {}
    for fmt, render in reporters("audit").items():
        path = folder / f"report.{_safe_suffix(fmt)}"
        atomic_write(path, render(report))
        files[fmt] = path

    for section in report.sections:
        for name, document in section.artifacts.items():
            path = folder / Path(name).name  # a bare file name: a check cannot write outside the folder
            atomic_write(path, json.dumps(document, indent=2) + "\n")
            files[path.stem.split(".")[0]] = path
    return files


def _safe_suffix(fmt: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_-]+", "-", fmt).strip("-") or "out"
