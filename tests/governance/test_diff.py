"""`opentrust diff`: findings matched by rule and location, rates judged by intervals (a change inside the noise
is never a regression, a significant worsening always is), verdict changes, and bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from opentrust.governance.diff import diff_reports
from opentrust.results import json_schema, parse_result, read_result
from tests.conftest import REPO, run_cli

AUDIT = REPO / "tests" / "data" / "results" / "audit-1.0.json"  # a real SmolLM2 report (model_facts, openness, smoke)


def _doc() -> dict[str, Any]:
    return json.loads(AUDIT.read_text())


def _diff(old: dict[str, Any], new: dict[str, Any]) -> Any:
    return diff_reports(("old", parse_result(old)), ("new", parse_result(new)))


def _measurement(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for s in doc["sections"] for m in s["measurements"] if m["name"] == name)


def test_a_report_against_itself_changes_nothing() -> None:
    result = _diff(_doc(), _doc())
    assert result.findings == [] and result.verdicts == [] and result.regressions == [] and result.exit_code == 0
    assert result.metrics and all(m.diff == 0 and not m.significant for m in result.metrics if m.diff is not None)


def test_a_rate_worse_beyond_its_interval_is_a_regression_inside_it_is_not() -> None:
    old = _doc()
    rate = _measurement(old, "smoke.expected_answer_rate")  # 11/15 answers matched
    assert rate["n"] == 15 and rate["value"] == pytest.approx(0.733, abs=1e-3)
    slightly, much = copy.deepcopy(old), copy.deepcopy(old)
    _measurement(slightly, "smoke.expected_answer_rate").update(value=0.6, interval=[0.357, 0.802])  # 9/15
    _measurement(much, "smoke.expected_answer_rate").update(value=0.0, interval=[0.0, 0.204])  # 0/15
    noise = _diff(old, slightly)
    m = next(x for x in noise.metrics if x.name == "smoke.expected_answer_rate")
    assert m.diff == pytest.approx(-0.133, abs=1e-3) and m.ci[0] < 0 < m.ci[1] and not m.regression
    assert noise.exit_code == 0  # a point change inside the noise
    worse = _diff(old, much)
    m = next(x for x in worse.metrics if x.name == "smoke.expected_answer_rate")
    assert m.regression and m.ci_familywise[1] < 0 and m.method.startswith("independent")
    assert worse.exit_code == 1 and any(r.startswith("smoke.expected_answer_rate") for r in worse.regressions)
    better = _diff(much, old)  # the same change the other way is an improvement, not a regression
    assert better.exit_code == 0 and next(x for x in better.metrics if x.name == "smoke.expected_answer_rate").significant


def test_timings_are_reported_but_gate_only_when_asked() -> None:
    old, new = _doc(), _doc()
    _measurement(new, "smoke.tokens_per_second").update(value=5.0, interval=[4.0, 6.0])
    result = _diff(old, new)
    m = next(x for x in result.metrics if x.name == "smoke.tokens_per_second")
    assert m.significant and not m.regression and "machine" in m.note and result.exit_code == 0
    timed = diff_reports(("old", parse_result(old)), ("new", parse_result(new)), timings=True)
    assert timed.exit_code == 1


def test_findings_are_matched_by_rule_and_location_and_file_checks_gate() -> None:
    old, new = _doc(), _doc()
    openness_old = next(s for s in old["sections"] if s["check"] == "openness")
    openness_new = next(s for s in new["sections"] if s["check"] == "openness")
    moved = copy.deepcopy(openness_old["findings"][0])
    openness_new["findings"][0]["severity"] = "high"  # same rule and location, new severity
    openness_new["findings"].pop()  # fixed
    facts = next(s for s in new["sections"] if s["check"] == "model_facts")
    facts["findings"].append({**moved, "rule_id": "OT-FACTS-NEW", "severity": "critical", "title": "new one",
                              "check": "model_facts"})
    result = _diff(old, new)
    changes = {(f.change, f.rule_id) for f in result.findings}
    assert ("changed", openness_old["findings"][0]["rule_id"]) in changes
    assert ("fixed", openness_old["findings"][-1]["rule_id"]) in changes and ("new", "OT-FACTS-NEW") in changes
    assert any("new critical finding OT-FACTS-NEW" in r for r in result.regressions) and result.exit_code == 1


def test_a_lower_mof_class_and_a_lost_gate_are_regressions() -> None:
    old, new = _doc(), _doc()
    for doc, cls, label in ((old, 3, "Class III - Open Model"), (new, 0, "Unclassified")):
        mof = next(s for s in doc["sections"] if s["check"] == "openness")["data"]["mof"]
        mof.update({"class": cls, "label": label})
    result = _diff(old, new)
    assert [v.what for v in result.verdicts if v.regression] == ["MOF class"] and result.exit_code == 1
    assert _diff(new, old).exit_code == 0


def test_behaviour_cases_are_paired_by_id(tmp_path: Path) -> None:
    """A real behaviour section (the fake backend's answers): every case passing before and as observed after is a
    paired drop over the same cases; the same report against itself is no change."""
    r = run_cli("audit", "fake:echo", "--check", "behaviour", "--out", str(tmp_path), "--db", str(tmp_path / "db"))
    assert r.returncode in (0, 1), r.stderr
    new = json.loads((tmp_path / "fake-echo" / "report.json").read_text())
    old = copy.deepcopy(new)
    for case in old["sections"][0]["data"]["cases"]:
        case.update(successes=case["samples"], pass_rate=1.0)
    result = _diff(old, new)
    m = next(x for x in result.metrics if x.name == "behaviour.pass_rate")
    assert m.method.startswith("paired over 37 cases") and m.regression and m.old == 1.0
    assert next(x for x in _diff(new, new).metrics if x.name == "behaviour.pass_rate").significant is False


def test_diff_cli_json_reads_back_and_bad_input_is_exit_2(tmp_path: Path) -> None:
    r = run_cli("diff", str(AUDIT), str(AUDIT), "--format", "json", "--out", str(tmp_path / "d.json"))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, json_schema("diff"))
    assert read_result(tmp_path / "d.json").kind == "diff" and doc["regressions"] == []
    table = run_cli("diff", str(AUDIT), str(AUDIT))
    assert table.returncode == 0 and "no regression" in table.stdout
    for args, words in ((["missing.json", str(AUDIT)], "no such file or folder"),
                        ([str(AUDIT), str(REPO / "tests/data/results/redteam-2.0.json")], "compares audit reports"),
                        ([str(AUDIT), str(AUDIT), "--format", "xml"], "unknown format"),
                        (["fake:echo", str(AUDIT), "--db", str(tmp_path / "empty.db")], "no finished audit")):
        bad = run_cli("diff", *args)
        assert bad.returncode == 2 and words in bad.stderr and bad.stderr.count("\n") == 1, (args, bad.stderr)
