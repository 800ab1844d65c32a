"""Failures to learn from: red-team successes, over-refusals and failed behaviour cases, read from result files
(through ``opentrust.read_result``) or from the store's latest runs for a target."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentrust.errors import UserError

BEHAVIOUR = "behaviour"
#: assertion types whose check is deterministic and local: a built answer must pass them to be kept
LOCAL_ASSERTIONS = {"equals", "not-equals", "contains", "not-contains", "regex", "not-regex", "starts-with",
                    "not-starts-with", "length", "number", "is-json", "json-schema"}


@dataclass
class Failure:
    """One thing the model got wrong, with what a training example needs to answer it."""

    source: str  # "redteam" or "test"
    report: str  # the result file, or "store:<db>"
    run_id: str
    item_id: str  # probe variant id or case id
    family: str  # what the split keeps on one side
    category: str  # red-team category, or "behaviour"
    kind: str  # which template set answers it: refusal, helpful or behaviour
    messages: list[dict[str, str]]  # the prompt (system and user turns)
    key: str = ""  # helpful: the over-refusal probe whose written answer is used
    reference: str | None = None  # behaviour: the suite's reference or expected value
    assertions: list[Any] = field(default_factory=list)  # behaviour: the case's local assertions
    vars: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # provenance details


@dataclass
class Unusable:
    """A failure no example can be built for, and why."""

    source: str
    item_id: str
    category: str
    reason: str


def _families_by_template(catalogue: list[Any]) -> dict[str, str]:
    """A jailbreak template's family: the smallest id among the probes that use it, so every payload wrapped in
    one template lands on one side of the split."""
    first: dict[str, str] = {}
    for p in catalogue:
        if p.template:
            first[p.template] = min(first.get(p.template, p.id), p.id)
    return first


def redteam_failures(result: Any, report: str, catalogue: list[Any]) -> tuple[list[Failure], list[Unusable]]:
    by_id = {p.id: p for p in catalogue}
    template_family = _families_by_template(catalogue)
    failures: list[Failure] = []
    unusable: list[Unusable] = []
    for rec in result.probes:
        if rec.attack_successes <= 0 and rec.verdict != "vulnerable":
            continue
        base = by_id.get(rec.base_id) or by_id.get(rec.id)
        if base is None:
            unusable.append(Unusable("redteam", rec.id, rec.category, f"probe {rec.base_id} is not in the catalogue"))
            continue
        messages = [m for m in base.chat() if m["role"] in ("system", "user")]
        if base.is_multi_turn:
            unusable.append(Unusable("redteam", rec.id, rec.category, "multi-turn probe (not built in this version)"))
            continue
        if rec.mutators and rec.prompt:
            messages = [m for m in messages if m["role"] == "system"] + [{"role": "user", "content": rec.prompt}]
        family = f"template:{template_family[base.template]}" if base.template else f"probe:{base.id}"
        kind = "helpful" if rec.category == "over_refusal" else "refusal"
        failures.append(Failure(
            "redteam", report, result.run_id, rec.id, family, rec.category, kind, messages, key=base.id,
            extra={"probe_id": rec.id, "base_id": base.id, "technique": rec.technique, "mutators": rec.mutators,
                   "payload": base.payload, "attack_successes": rec.attack_successes, "samples": rec.samples}))
    return failures, unusable


def _reference(case: Any) -> tuple[str | None, str]:
    """The suite's reference answer for a case: a ``reference``/``expected``/``answer`` var, else the value of a
    positive equals, similar or contains assertion."""
    for key in ("reference", "expected", "answer"):
        if isinstance(case.vars.get(key), (str, int, float)) and str(case.vars[key]).strip():
            return str(case.vars[key]).strip(), f"vars.{key}"
    for a in case.assertions:
        kind = getattr(a, "type", "")
        if kind in ("equals", "similar", "contains"):
            value = a.value
            if isinstance(value, list):
                if not value:
                    continue
                value = ", ".join(value) if getattr(a, "mode", "any") == "all" else value[0]
            if str(value).strip():
                return str(value).strip(), f"assert.{kind}"
    return None, ""


def _suite_path(source: str, report_dir: Path | None) -> Path | None:
    name = source.rsplit(":", 1)[0] if ":" in source else source
    if not name:
        return None
    for base in (Path.cwd(), report_dir):
        if base is None:
            continue
        path = Path(name) if Path(name).is_absolute() else base / name
        if path.is_file():
            return path
    return None


def test_failures(result: Any, report: str, report_dir: Path | None) -> tuple[list[Failure], list[Unusable]]:
    from opentrust.evals.suite import load_suite

    failures: list[Failure] = []
    unusable: list[Unusable] = []
    suites: dict[Path, Any] = {}
    for case in result.cases:
        if case.verdict != "fail":
            continue
        path = _suite_path(case.source, report_dir)
        if path is None:
            unusable.append(Unusable("test", case.id, BEHAVIOUR, f"suite file {case.source or '?'} not found "
                                     "(run improve where the test ran, or beside the report)"))
            continue
        if path not in suites:
            try:
                suites[path] = {c.id: c for c in load_suite(path).cases}
            except UserError as exc:
                unusable.append(Unusable("test", case.id, BEHAVIOUR, f"suite unreadable: {exc.message}"))
                continue
        spec = suites[path].get(case.id)
        if spec is None:
            unusable.append(Unusable("test", case.id, BEHAVIOUR, f"case no longer in {path.name}"))
            continue
        reference, where = _reference(spec)
        if reference is None:
            unusable.append(Unusable("test", case.id, BEHAVIOUR, "the suite gives no reference or expected value"))
            continue
        messages = [m for m in spec.messages if m["role"] in ("system", "user")]
        if sum(m["role"] == "user" for m in spec.messages) > 1 or any(m["role"] == "assistant" for m in spec.messages):
            unusable.append(Unusable("test", case.id, BEHAVIOUR, "multi-turn case (not built in this version)"))
            continue
        local = [a for a in spec.assertions if getattr(a, "type", "") in LOCAL_ASSERTIONS]
        checkable = len(local) == len(spec.assertions)
        failures.append(Failure(
            "test", report, result.run_id, case.id, f"case:{case.suite}/{case.id}", BEHAVIOUR, "behaviour", messages,
            reference=reference, assertions=spec.assertions if checkable else [], vars=spec.vars,
            extra={"case_id": case.id, "suite": case.suite, "suite_file": str(path), "reference_from": where,
                   "assertions_checked": checkable}))
    return failures, unusable


def from_results(paths: list[Path], catalogue: list[Any]) -> tuple[list[Failure], list[Unusable], list[dict[str, Any]]]:
    from opentrust.results import read_result

    failures: list[Failure] = []
    unusable: list[Unusable] = []
    sources: list[dict[str, Any]] = []
    for path in paths:
        result = read_result(path)
        f, u = _from_result(result, str(path), path.resolve().parent, catalogue)
        failures += f
        unusable += u
        sources.append(_describe(result, str(path), f))
    return failures, unusable, sources


def _from_result(result: Any, report: str, report_dir: Path | None, catalogue: list[Any]):  # type: ignore[no-untyped-def]
    if result.kind == "redteam":
        return redteam_failures(result, report, catalogue)
    if result.kind == "test":
        return test_failures(result, report, report_dir)
    raise UserError(f"{report} is a {result.kind} result; improve reads redteam and test results",
                    "pass the JSON of `opentrust redteam --format json` or `opentrust test --format json`")


def _describe(result: Any, report: str, failures: list[Failure]) -> dict[str, Any]:
    return {"report": report, "kind": result.kind, "run_id": result.run_id, "model": result.model.spec,
            "fingerprint": result.model.fingerprint, "failures": len(failures)}


def from_store(target: Any, db: Path | None, catalogue: list[Any]) -> tuple[list[Failure], list[Unusable], list[dict[str, Any]]]:
    """The latest finished redteam and test runs with a result for the target's model."""
    from opentrust.history import stored_models
    from opentrust.store import Store

    failures: list[Failure] = []
    unusable: list[Unusable] = []
    sources: list[dict[str, Any]] = []
    with Store(db) as store:
        fingerprints = [m["fingerprint"] for m in stored_models(store, target)] or [target.fingerprint(store)]
        for command in ("redteam", "test"):
            runs = [r for fp in fingerprints for r in store.runs(fingerprint=fp, command=command, limit=20)
                    if r["has_result"]]
            runs.sort(key=lambda r: r["started_at"], reverse=True)
            if not runs:
                continue
            result = store.run_result(runs[0]["id"])
            report = f"store:{store.path}#run={runs[0]['id']}"
            f, u = _from_result(result, report, None, catalogue)
            failures += f
            unusable += u
            sources.append(_describe(result, report, f))
        if not sources:
            raise UserError(f"no finished redteam or test run for {target.spec} in {store.path}",
                            f"run `opentrust redteam {target.spec}` or `opentrust test SUITE -m {target.spec}` first, "
                            "or pass --from REPORT.json")
    return failures, unusable, sources
