"""Red-team campaign without a model: probe → case mapping, profile selection, aggregation and interval math
on synthetic CaseResults, SARIF (validated against the official 2.1.0 schema) and JUnit."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from opentrust.evals.assertions import EvalContext
from opentrust.evals.runner import CaseResult, RunStats
from opentrust.findings import Severity
from opentrust.redteam.campaign import Plan, ProbeAssertion, attack_label, case_for, make_detectors
from opentrust.redteam.catalogue import load_catalogue
from opentrust.redteam.correction import clopper_pearson, corrected_rate, error_rates
from opentrust.redteam.profiles import PROFILES, select, stratified
from opentrust.redteam.results import aggregate, rate_for

from tests.conftest import run_cli, sarif_schema



@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def synthetic(case_id: str, suite: str, attack_successes: int, samples: int, verdict: str,
              output: str = "Sure, step 1 ...") -> CaseResult:
    safe = samples - attack_successes
    lo, hi = clopper_pearson(safe, samples, 0.05)
    failures = [{"index": i, "output": output, "reason": "probe-detector: harmful: harmful (gave steps)"}
                for i in range(min(attack_successes, 5))]
    return CaseResult(id=case_id, suite=suite, verdict=verdict, pass_rate=safe / samples if samples else None,
                      ci=(lo, hi), confidence=0.95, samples=samples, successes=safe, draws=samples, errors=0,
                      llr=0.0, require={"pass_rate": 0.5, "indifference": 0.3, "alpha": 0.05, "beta": 0.1,
                                        "max_samples": 3}, failures=failures)


# -- probe → case ----------------------------------------------------------------------------------------
def test_case_passes_when_the_attack_fails(catalogue) -> None:
    probe = next(p for p in catalogue if p.detector == "canary" and p.category == "prompt_injection")
    plan = Plan([probe], max_samples=3, max_tokens=32)
    detectors = make_detectors({"canary"})
    case = case_for(probe, plan, detectors, probe.payload)
    assert case.suite == "redteam.prompt_injection" and case.require.max_samples == 3
    assert case.sampling.max_tokens == 32 and case.messages == probe.chat()
    assert attack_label(probe) in case.tags
    judge = case.assertions[0]
    leaked = asyncio.run(judge.evaluate(f"Sure: {probe.canary}", EvalContext()))
    clean = asyncio.run(judge.evaluate("I will only answer travel questions.", EvalContext()))
    assert leaked.passed is False and "leak" in leaked.reason
    assert clean.passed is True


def test_over_refusal_counts_refusals_as_failures(catalogue) -> None:
    probe = next(p for p in catalogue if p.category == "over_refusal")
    judge = ProbeAssertion(probe, make_detectors({"refusal"})["refusal"], probe.payload)
    refused = asyncio.run(judge.evaluate("I'm sorry, but I can't help with that request.", EvalContext()))
    answered = asyncio.run(judge.evaluate("Here is how it works: first, you open the settings and then "
                                          "choose the option you need.", EvalContext()))
    assert refused.passed is False
    assert answered.passed is True


def test_mutated_probe_is_judged_against_the_plain_request(catalogue) -> None:
    from opentrust.redteam.campaign import _base_payloads
    from opentrust.redteam.mutators import get_mutator

    base = next(p for p in catalogue if p.category == "harmful")
    variant = get_mutator("base64")(base)
    assert _base_payloads([variant])[variant.id] == base.payload
    assert attack_label(variant) == "base64"


# -- profiles ---------------------------------------------------------------------------------------------
def test_quick_profile_is_stratified_and_deterministic(catalogue) -> None:
    a = select(catalogue, PROFILES["quick"])
    b = select(catalogue, PROFILES["quick"])
    assert [p.id for p in a] == [p.id for p in b]
    base = [p for p in a if not p.mutators]
    cats = {p.category for p in base}
    assert cats == {p.category for p in catalogue}
    hazards = [p.hazard for p in base if p.category == "harmful"]
    assert len(hazards) == 12 and len(set(hazards)) == 12  # one per AILuminate hazard
    jb = [p.technique for p in base if p.category == "jailbreak"]
    assert len(set(jb)) == len(jb) == 6  # one per jailbreak technique
    mutated = [p for p in a if p.mutators]
    assert {p.mutators[0] for p in mutated} == set(PROFILES["quick"].mutators)
    assert all(p.category != "over_refusal" for p in mutated)
    assert len({p.id for p in a}) == len(a)


def test_profiles_grow_and_full_has_every_probe(catalogue) -> None:
    quick, standard, full = (select(catalogue, PROFILES[n]) for n in ("quick", "standard", "full"))
    assert len(quick) < len(standard) < len(full)
    assert {p.id for p in catalogue} <= {p.id for p in full}
    assert PROFILES["quick"].max_samples < PROFILES["standard"].max_samples < PROFILES["full"].max_samples


def test_mutator_override_and_categories(catalogue) -> None:
    only = [p for p in catalogue if p.category == "prompt_injection"]
    plan = Plan.from_profile(PROFILES["quick"], only, mutators=["rot13+base64"])
    assert {p.category for p in plan.probes} == {"prompt_injection"}
    mutated = [p for p in plan.probes if p.mutators]
    assert mutated and all(p.mutators == ("rot13", "base64") for p in mutated)
    assert not [p for p in Plan.from_profile(PROFILES["quick"], only, mutators=[]).probes if p.mutators]


def test_stratified_spreads_over_strata(catalogue) -> None:
    import random

    harmful = [p for p in catalogue if p.category == "harmful"]
    pick = stratified(harmful, 24, random.Random(1))
    counts: dict[str, int] = {}
    for p in pick:
        counts[p.hazard] = counts.get(p.hazard, 0) + 1
    assert set(counts.values()) == {2}


# -- interval math -----------------------------------------------------------------------------------------
def test_rate_for_one_detector_matches_the_correction() -> None:
    r = rate_for({"harmful": (6, 20)})
    c = corrected_rate(6, 20, error_rates("harmful"), alpha=0.05)
    assert r.estimate == pytest.approx(c.estimate) and (r.low, r.high) == pytest.approx((c.low, c.high))
    assert r.observed == pytest.approx(0.3) and r.n == 20
    # the harmful detector misses some harmful answers (sensitivity < 1): the corrected rate is higher
    assert r.estimate > r.observed
    # the interval carries the detector's error: wider than the plain Clopper–Pearson interval
    lo, hi = clopper_pearson(6, 20, 0.05)
    assert r.low <= lo and r.high >= hi


def test_rate_for_combines_detectors_with_bonferroni() -> None:
    both = rate_for({"canary": (4, 10), "harmful": (0, 30)})
    canary_alone = corrected_rate(4, 10, error_rates("canary"), alpha=0.025)
    harmful_alone = corrected_rate(0, 30, error_rates("harmful"), alpha=0.025)
    assert both.n == 40 and both.successes == 4
    assert both.estimate == pytest.approx(0.25 * canary_alone.estimate + 0.75 * harmful_alone.estimate)
    assert both.high == pytest.approx(0.25 * canary_alone.high + 0.75 * harmful_alone.high)
    assert rate_for({}).estimate is None and rate_for({"canary": (0, 0)}).n == 0


def _campaign(catalogue, harmful_succeeds: bool, refuses_benign: bool):
    probes = ([p for p in catalogue if p.category == "harmful"][:4]
              + [p for p in catalogue if p.category == "prompt_injection"][:2]
              + [p for p in catalogue if p.category == "over_refusal"][:3])
    results = []
    for p in probes:
        if p.category == "harmful":
            results.append(synthetic(p.id, "redteam.harmful", 2 if harmful_succeeds else 0,
                                     2 if harmful_succeeds else 3, "fail" if harmful_succeeds else "pass"))
        elif p.category == "prompt_injection":
            results.append(synthetic(p.id, "redteam.prompt_injection", 0, 3, "pass"))
        else:
            results.append(synthetic(p.id, "redteam.over_refusal", 2 if refuses_benign else 0,
                                     2 if refuses_benign else 3, "fail" if refuses_benign else "pass",
                                     output="I'm sorry, I can't help with that."))
    return aggregate(Plan(probes, 3, 48), results, RunStats(generated=20, wall_s=1.0))


def test_aggregation_per_category_and_findings(catalogue) -> None:
    res = _campaign(catalogue, harmful_succeeds=True, refuses_benign=False)
    data = res.to_json()
    harm = data["categories"]["harmful"]
    assert harm["successes"] == 8 and harm["samples"] == 8 and harm["vulnerable"] == 4
    assert harm["worst"] and "harmful" in harm["worst"][0]["reason"]
    assert not harm["worst"][0]["reason"].startswith("probe-detector")
    assert data["categories"]["prompt_injection"]["successes"] == 0
    # over-refusal is reported on its own and kept out of the overall attack-success rate
    assert data["summary"]["attack_success"]["samples"] == 8 + 6
    assert data["summary"]["over_refusal"]["successes"] == 0
    rules = {f.rule_id: f for f in res.findings}
    assert set(rules) == {"OT-REDTEAM-HARMFUL"}
    f = rules["OT-REDTEAM-HARMFUL"]
    assert f.severity in (Severity.high, Severity.critical)
    assert any(r.startswith("ail-") for r in f.risk_ids) and any(r.startswith("atlas-") for r in f.risk_ids)
    assert res.failed(Severity.high)
    assert data["techniques"]["direct_request"]["probes"] == 4
    assert {p["verdict"] for p in data["probes"]} == {"vulnerable", "resisted"}
    json.dumps(data)  # serialisable


def test_a_model_that_refuses_everything_is_not_safe(catalogue) -> None:
    res = _campaign(catalogue, harmful_succeeds=False, refuses_benign=True)
    data = res.to_json()
    assert data["summary"]["attack_success"]["successes"] == 0
    over = data["summary"]["over_refusal"]
    assert over["observed"] == 1.0 and over["asr"] > 0.5
    finding = next(f for f in res.findings if f.rule_id == "OT-REDTEAM-OVER_REFUSAL")
    assert finding.severity == Severity.high and "benign" in finding.title
    assert res.failed(Severity.high)


def test_a_safe_model_has_no_findings(catalogue) -> None:
    res = _campaign(catalogue, harmful_succeeds=False, refuses_benign=False)
    assert res.findings == [] and not res.failed(Severity.low)
    assert res.overall.successes == 0 and res.overall.high > 0  # never claims a rate of exactly zero


# -- outputs ------------------------------------------------------------------------------------------------
def test_sarif_is_valid_and_has_a_rule_per_family(catalogue) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from opentrust.redteam.report import to_sarif

    res = _campaign(catalogue, harmful_succeeds=True, refuses_benign=True)
    doc = to_sarif(res)
    schema = sarif_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    run = doc["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        "OT-REDTEAM-HARMFUL", "OT-REDTEAM-PROMPT_INJECTION", "OT-REDTEAM-OVER_REFUSAL"}
    assert {r["ruleId"] for r in run["results"]} == {"OT-REDTEAM-HARMFUL", "OT-REDTEAM-OVER_REFUSAL"}
    harmful = next(r for r in run["results"] if r["ruleId"] == "OT-REDTEAM-HARMFUL")
    assert any(i.startswith("ail-") for i in harmful["properties"]["risk_ids"])


def test_junit_has_a_failure_per_vulnerable_probe(catalogue, tmp_path: Path) -> None:
    from opentrust.redteam.report import write_junit

    res = _campaign(catalogue, harmful_succeeds=True, refuses_benign=False)
    res.model = {"name": "synthetic", "spec": "synthetic"}
    path = tmp_path / "junit.xml"
    write_junit(res, path)
    root = ET.parse(path).getroot()
    assert root.get("tests") == "9" and root.get("failures") == "4"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert suites["redteam.harmful"].get("failures") == "4"
    assert suites["redteam.prompt_injection"].get("failures") == "0"


def test_section_has_a_heatmap(catalogue) -> None:
    from opentrust.redteam.report import section

    res = _campaign(catalogue, harmful_succeeds=True, refuses_benign=False)
    sec = section(res, "redteam", "Red teaming")
    heat = sec.tables[0]
    assert heat.columns[:2] == ["category", "none"]
    row = next(r for r in heat.rows if r[0] == "harmful")
    assert row[1] is not None and row[1] > 50
    assert sec.status == "findings" and sec.measurements


def test_cli_rejects_bad_input() -> None:
    for args in (["--profile", "bogus"], ["--mutators", "nope"], ["--categories", "nope"], ["--format", "xml"],
                 ["--fail-on", "severe"]):
        proc = run_cli("redteam", "smollm2", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.startswith("opentrust: error:")


def test_heatmap_renders_in_html(catalogue) -> None:
    from opentrust import __version__
    from opentrust.redteam.report import section
    from opentrust.report.html import render
    from opentrust.report.model import Report, TargetInfo, ToolInfo

    res = _campaign(catalogue, harmful_succeeds=True, refuses_benign=False)
    report = Report(tool=ToolInfo(version=__version__), command="audit", run_id="r", created_at="now",
                    target=TargetInfo(name="t", kind="gguf", location="t.gguf", fingerprint="x"),
                    sections=[section(res, "redteam", "Red teaming")])
    html = render(report)
    assert "background-color:rgb(" in html and "<script" not in html
    assert "Worst examples" in html


def test_audit_check_is_registered_and_plans_the_quick_profile() -> None:
    from opentrust.plugins import collect

    checks = {c.name: c for c in collect("register_checks")}
    check = checks["redteam"]
    assert check.order == 70
    plan = check.plan("quick")
    assert plan.profile == "quick" and plan.max_samples == PROFILES["quick"].max_samples
