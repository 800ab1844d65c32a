"""Rules against evidence: operators, interval bounds and minimum samples, unknown evidence, exceptions with expiry,
evidence paths, and `opentrust gate` over real result files (an audit report and a red-team result written by
earlier versions, read back through read_result) in every output format."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from opentrust.errors import UserError
from opentrust.governance.evaluate import evaluate
from opentrust.governance.evidence import Evidence, collect, parse_path, resolve
from opentrust.governance.policy import load_policy
from opentrust.results import json_schema, read_result
from tests.conftest import REPO, run_cli, sarif_schema

OLD = REPO / "tests" / "data" / "results"
AUDIT = OLD / "audit-1.0.json"  # a real SmolLM2 report of schema 1.0 (model_facts, openness, smoke)
REDTEAM = OLD / "redteam-2.0.json"  # a real SmolLM2 red-team result, 20 samples


def _policy(tmp_path: Path, rules: str, extra: str = "") -> Any:
    path = tmp_path / "policy.yml"
    path.write_text(f"policy: t\ntier: custom\n{extra}rules:\n{rules}")
    return load_policy(path)


def _rule(rid: str, require: str, severity: str = "deny") -> str:
    return f"  - id: {rid}\n    require: {require}\n    severity: {severity}\n    message: {rid}\n"


def _gate(tmp_path: Path, rules: str, *inputs: Path, extra: str = "", today: dt.date | None = None) -> Any:
    ev = collect([(str(p), read_result(p)) for p in inputs])
    return evaluate(_policy(tmp_path, rules, extra), ev, today=today)


def _outcomes(result: Any) -> dict[str, str]:
    return {r.id: r.outcome for r in result.rules}


def test_interval_bounds_and_minimum_samples(tmp_path: Path) -> None:
    rt = read_result(REDTEAM).summary.attack_success  # asr 0.228, ci [0.043, 0.458], 20 samples
    rules = "".join([
        _rule("point-passes", "{path: redteam.summary.attack_success, op: le, value: 0.3}"),
        _rule("upper-fails", "{path: redteam.summary.attack_success, op: le, value: 0.3, bound: upper}"),
        _rule("lower-passes", "{path: redteam.summary.attack_success, op: ge, value: 0.04, bound: lower}"),
        _rule("too-few", "{path: redteam.summary.attack_success, op: le, value: 0.3, min_samples: 21}"),
        _rule("enough", "{path: redteam.summary.attack_success, op: le, value: 0.3, min_samples: 20}"),
        _rule("units", "{path: redteam.summary.attack_success, op: le, value: 0.9, bound: upper, min_samples: 21, "
                       "count: units}"),
    ])
    result = _gate(tmp_path, rules, REDTEAM)
    assert _outcomes(result) == {"point-passes": "pass", "upper-fails": "fail", "lower-passes": "pass",
                                 "too-few": "unknown", "enough": "pass", "units": "unknown"}
    upper = next(r for r in result.rules if r.id == "upper-fails")
    assert upper.evidence.value == pytest.approx(rt.ci[1]) and upper.evidence.point == pytest.approx(rt.asr)
    assert upper.evidence.n == 20 and upper.evidence.interval == pytest.approx(list(rt.ci))
    few = next(r for r in result.rules if r.id == "too-few")
    assert "20 samples < min_samples 21" in few.detail  # a point estimate on too few samples is not evidence
    assert result.verdict == "fail" and result.exit_code == 1


def test_operators_on_a_real_audit(tmp_path: Path) -> None:
    rules = "".join([
        _rule("eq", "{path: model_facts.facts.architecture, op: eq, value: llama}"),
        _rule("ne", "{path: model_facts.facts.quantization, op: ne, value: F16}"),
        _rule("lt", "{path: model_facts.facts.parameters, op: lt, value: 200000000}"),
        _rule("gt", "{path: 'measurements[\"smoke.tokens_per_second\"]', op: gt, value: 1}"),
        _rule("in", "{path: openness.mof.class, op: in, value: [1, 2, 3]}"),
        _rule("not_in", "{path: openness.licenses.*.category, op: not_in, value: [restricted, not-open]}"),
        _rule("exists", "{path: openness.mof.distribution_license, op: exists}"),
        _rule("absent", "{path: 'openness.mof.components[name=Model card].evidence[0].where', op: exists, "
                        "value: false}"),
        _rule("matches", "{path: model_facts.facts.chat_template_sha256, op: matches, value: '^[0-9a-f]{64}$'}"),
        _rule("by-name", "{path: audit.sections.smoke.status, op: eq, value: ok}"),
        _rule("select", "{path: 'openness.mof.components[name=Model card].status', op: eq, value: missing}"),
        _rule("progress", "{path: openness.mof.progress.3, op: gt, value: 30}"),
    ])
    result = _gate(tmp_path, rules, AUDIT)
    assert _outcomes(result) == {"eq": "pass", "ne": "pass", "lt": "pass", "gt": "pass", "in": "fail",
                                 "not_in": "pass", "exists": "pass", "absent": "fail", "matches": "pass",
                                 "by-name": "pass", "select": "pass", "progress": "pass"}


def test_missing_evidence_is_unknown_and_fails_deny_rules_only(tmp_path: Path) -> None:
    rules = "".join([
        _rule("deny-missing", "{path: redteam.summary.attack_success, op: le, value: 0.1}"),
        _rule("warn-missing", "{path: fairness.summary.unfair, op: eq, value: 0}", "warn"),
        _rule("warn-not-met", "{path: openness.mof.class, op: in, value: [1, 2, 3]}", "warn"),
        _rule("no-such-key", "{path: model_facts.facts.no_such_fact, op: eq, value: 1}", "warn"),
        _rule("wrong-type", "{path: model_facts.facts.architecture, op: gt, value: 1}", "warn"),
    ])
    result = _gate(tmp_path, rules, AUDIT)
    assert _outcomes(result) == {"deny-missing": "unknown", "warn-missing": "unknown", "warn-not-met": "warn",
                                 "no-such-key": "unknown", "wrong-type": "unknown"}
    assert [r.id for r in result.rules if r.fails_gate] == ["deny-missing"] and result.verdict == "fail"
    assert "no redteam evidence" in result.rules[0].detail
    warn_only = _gate(tmp_path, "".join(_rule(*a) for a in [
        ("warn-missing", "{path: fairness.summary.unfair, op: eq, value: 0}", "warn")]), AUDIT)
    assert warn_only.verdict == "pass" and warn_only.exit_code == 0  # unknown never passes silently: it is listed
    strict = _gate(tmp_path, _rule("warn-missing", "{path: fairness.summary.unfair, op: eq, value: 0}", "warn"),
                   AUDIT, extra="unknown_evidence: fail\n")
    assert strict.verdict == "fail" and strict.rules[0].fails_gate


def test_a_skipped_audit_section_is_unknown_with_its_reason(tmp_path: Path) -> None:
    doc = json.loads(AUDIT.read_text())
    next(s for s in doc["sections"] if s["check"] == "openness").update(status="skipped", summary="no files")
    path = tmp_path / "report.json"
    path.write_text(json.dumps(doc))
    result = _gate(tmp_path, _rule("mof", "{path: openness.mof.class, op: ge, value: 0}"), path)
    assert result.rules[0].outcome == "unknown" and "openness section was skipped: no files" in result.rules[0].detail


def test_empty_wildcards_are_unknown_and_filters_with_exists_false_pass(tmp_path: Path) -> None:
    rules = "".join([
        _rule("empty", "{path: openness.conflicts.*.chosen, op: eq, value: x}"),
        _rule("no-conflict", "{path: 'openness.conflicts[chosen=MIT]', op: exists, value: false}"),
    ])
    assert _outcomes(_gate(tmp_path, rules, AUDIT)) == {"empty": "unknown", "no-conflict": "pass"}


def test_exceptions_are_counted_apart_and_stop_applying_when_expired(tmp_path: Path) -> None:
    rules = _rule("mof", "{path: openness.mof.class, op: in, value: [1, 2, 3]}") + _rule(
        "rt", "{path: redteam.summary.attack_success, op: le, value: 0.05, bound: upper}") + _rule(
        "ok", "{path: model_facts.facts.architecture, op: eq, value: llama}")
    exc = ("exceptions:\n  - {rule: mof, reason: weights audited by legal, expires: 2027-06-30, approved_by: cso}\n"
           "  - {rule: rt, reason: guard model in front, expires: 2027-01-31}\n"
           "  - {rule: ok, reason: not needed, expires: 2027-01-31}\n")
    before = _gate(tmp_path, rules + exc, AUDIT, REDTEAM, today=dt.date(2027, 1, 31))
    assert _outcomes(before) == {"mof": "excepted", "rt": "excepted", "ok": "pass"}
    assert before.verdict == "pass" and before.counts.excepted == 2 and before.counts.fail == 0
    mof = before.rules[0]
    assert mof.exception.status == "active" and mof.exception.approved_by == "cso"
    assert "fail without the exception" in mof.detail and before.rules[2].exception.status == "unused"
    after = _gate(tmp_path, rules + exc, AUDIT, REDTEAM, today=dt.date(2027, 2, 1))
    assert _outcomes(after) == {"mof": "excepted", "rt": "fail", "ok": "pass"}
    assert after.verdict == "fail" and after.counts.expired_exceptions == 2 and after.counts.excepted == 1
    assert after.rules[1].exception.status == "expired" and "no longer applies" in after.rules[1].detail


def test_evidence_paths() -> None:
    ev = Evidence(tree={"redteam": {"categories": {"a": {"asr": 0.1}, "b": {"asr": 0.3}}},
                        "compare": {"models": [{"name": "m1", "q": 1}, {"name": "m2", "q": 2}]},
                        "audit": {"sections": [{"check": "scan", "status": "ok"}]}},
                  target={"name": "m2"})
    assert [v for _, v in resolve(ev, "redteam.categories.*.asr")] == [0.1, 0.3]
    assert resolve(ev, "compare.models.{target}.q") == [("compare.models[m2].q", 2)]
    assert resolve(ev, "compare.models[name=m1].q")[0][1] == 1
    assert resolve(ev, "compare.models[1].q")[0][1] == 2 and resolve(ev, "compare.models.0.q")[0][1] == 1
    assert resolve(ev, "audit.sections.scan.status")[0][1] == "ok"
    for bad in ("", "x.y", "redteam..a", "redteam.", "redteam[", "redteam.a b", "[0]", "redteam[a=]b"):
        with pytest.raises(ValueError):
            parse_path(bad)


def test_results_about_different_models_are_refused(tmp_path: Path) -> None:
    doc = json.loads(REDTEAM.read_text())
    doc["model"]["fingerprint"] = "0" * 64
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    with pytest.raises(UserError, match="different models"):
        collect([(str(p), read_result(p)) for p in (AUDIT, other)])


# -- the command ----------------------------------------------------------------------------------------------------
def test_gate_cli_formats_read_back_and_validate(tmp_path: Path) -> None:
    policy = tmp_path / "p.yml"
    policy.write_text("policy: cli\ntier: limited\nrules:\n"
                      + _rule("rt", "{path: redteam.summary.attack_success, op: le, value: 0.05, bound: upper}")
                      + _rule("lic", "{path: openness.mof.distribution_license, op: exists}")
                      + _rule("fair", "{path: fairness.summary.unfair, op: eq, value: 0}")
                      + _rule("mof", "{path: openness.mof.class, op: in, value: [1, 2, 3]}", "warn")
                      + "exceptions:\n  - {rule: mof, reason: r, expires: 2999-01-01}\n")
    db = tmp_path / "db"
    base = ["gate", "--policy", str(policy), str(AUDIT), str(REDTEAM), "--db", str(db)]
    r = run_cli(*base, "--format", "json", "--out", str(tmp_path / "gate.json"))
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert {k: doc[k] for k in ("policy", "tier", "verdict")} == {"policy": "cli", "tier": "limited", "verdict": "fail"}
    assert [(x["id"], x["outcome"], x["severity"]) for x in doc["rules"]] == [
        ("rt", "fail", "deny"), ("lic", "pass", "deny"), ("fair", "unknown", "deny"), ("mof", "excepted", "warn")]
    assert set(doc["rules"][0]) >= {"id", "outcome", "severity", "evidence", "expected", "refs", "message"}
    assert doc["rules"][0]["evidence"]["path"] == "redteam.summary.attack_success"
    jsonschema.validate(doc, json_schema("gate"))
    result = read_result(tmp_path / "gate.json")
    assert result.kind == "gate" and result.counts.excepted == 1
    assert doc["rules"][0]["policy_line"] == 4  # the line of "- id: rt", for SARIF

    sarif = json.loads(run_cli(*base, "--format", "sarif").stdout)
    jsonschema.validate(sarif, sarif_schema())
    results = sarif["runs"][0]["results"]
    assert [x["ruleId"] for x in results] == ["rt", "fair", "mof"]  # each rule not met; passes are not results
    assert results[2]["suppressions"][0]["justification"].startswith("r (until 2999-01-01)")
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 4

    junit = ET.fromstring(run_cli(*base, "--format", "junit").stdout)
    cases = junit.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["rt", "lic", "fair", "mof"]  # each rule a testcase
    assert (junit.get("tests"), junit.get("failures"), junit.get("errors"), junit.get("skipped")) == ("4", "1", "1", "1")

    table = run_cli(*base, "--explain")
    assert table.returncode == 1 and "FAIL" in table.stdout and "rationale" not in table.stderr

    passing = run_cli("gate", "--policy", "minimal", str(AUDIT), "--db", str(db), "--format", "json")
    assert passing.returncode in (0, 1)
    models = json.loads(run_cli("models", "--db", str(db), "--format", "json").stdout)["models"]
    gates = {g["policy"]: g["verdict"] for g in models[0]["gates"]}
    assert gates["cli"] == "fail" and "minimal" in gates  # the verdicts are kept for the inventory


@pytest.mark.parametrize(("args", "words"), [
    (["--policy", "minimal"], "no result files"),  # no report given
    (["--policy", "nope.yml", str(AUDIT)], "no policy file"),
    (["--policy", "minimal", "missing.json"], "cannot read"),
    (["--policy", "minimal", str(AUDIT), "--format", "xml"], "unknown format"),
    (["--policy", "minimal", str(REPO / "pyproject.toml")], "is not JSON"),
    ([str(AUDIT)], "no policy given"),
])
def test_gate_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    r = run_cli("gate", *args, "--db", str(tmp_path / "db"))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert words in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_a_gate_result_is_not_evidence(tmp_path: Path) -> None:
    out = tmp_path / "g.json"
    run_cli("gate", "--policy", "minimal", str(AUDIT), "--format", "json", "--out", str(out), "--no-record")
    r = run_cli("gate", "--policy", "minimal", str(out), "--no-record")
    assert r.returncode == 2 and "gate result, not evidence" in r.stderr
