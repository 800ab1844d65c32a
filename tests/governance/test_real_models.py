"""Governance end to end on real audits of SmolLM2 and Gemma 3 270M (slow: the real models answer the behaviour
suites; one audit of each per test session, shared by the tests; the file checks are cheap, the red team and the
fairness suite are left out to keep this to a few minutes, so the rules on them must come out *unknown*).

* every preset on both models, with the verdicts the rules imply and the reasons;
* high-risk fails smollm2 for the right reasons, minimal passes it; exceptions make the failing rules `excepted`
  and, once expired, they fail again;
* diff finds no regression between two audits of smollm2 with different seeds, and finds one (paired over the same
  cases) against gemma3-270m, a base model that answers most chat prompts with nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from opentrust.governance.policy import TIERS
from opentrust.results import read_result
from tests.conftest import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the shared audits run in the first test

CHECKS = ["--check", "model_facts", "--check", "scan", "--check", "openness", "--check", "behaviour"]


def _audit(root: Path, target: str, *extra: str) -> Path:
    out = root / "out"
    r = subprocess.run([sys.executable, "-m", "opentrust", "audit", target, *CHECKS, "--out", str(out), "--db",
                        str(root / "db"), *extra], capture_output=True, text=True, timeout=1800)
    assert r.returncode in (0, 1), r.stderr[-2000:]
    return out / target / "report.json"


@pytest.fixture(scope="session")
def audits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("governance-real")
    smollm2 = _audit(root, "smollm2", "--policy", "minimal")  # audit --policy on the real model
    gemma = _audit(root, "gemma3-270m")
    return {"root": root, "db": root / "db", "smollm2": smollm2, "gemma3-270m": gemma}


def _gate(audits: dict[str, Any], policy: str, target: str) -> dict[str, Any]:
    r = run_cli("gate", "--policy", policy, str(audits[target]), "--db", str(audits["db"]), "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    assert r.returncode == doc["exit_code"] == (1 if doc["verdict"] == "fail" else 0)
    return doc


def _failing(doc: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["outcome"] for r in doc["rules"] if r["fails_gate"]}


def test_every_preset_on_both_real_models(audits: dict[str, Any]) -> None:
    verdicts = {(t, m): _gate(audits, t, m)["verdict"] for t in TIERS for m in ("smollm2", "gemma3-270m")}
    for model in ("smollm2", "gemma3-270m"):
        # minimal and limited deny only what the file checks settle: clean scans, identified licences
        assert verdicts[("minimal", model)] == "pass" and verdicts[("limited", model)] == "pass"
        # high-risk needs red-team and fairness evidence this audit has not got; gpai needs documents neither ships
        assert verdicts[("high-risk", model)] == verdicts[("gpai", model)] == "fail"
        assert verdicts[("gpai-systemic", model)] == "fail"
    smol, gemma = _gate(audits, "high-risk", "smollm2"), _gate(audits, "high-risk", "gemma3-270m")
    assert "licence.allows-use" not in _failing(smol)  # Apache-2.0
    assert _failing(gemma)["licence.allows-use"] == "fail"  # the Gemma Terms of Use restrict use
    gpai = _failing(_gate(audits, "gpai", "gemma3-270m"))
    assert gpai["docs.technical-report"] == "fail" and "docs.model-card" not in gpai  # Gemma ships a model card


def test_high_risk_fails_smollm2_for_the_right_reasons_and_minimal_passes(audits: dict[str, Any]) -> None:
    doc = _gate(audits, "high-risk", "smollm2")
    assert doc["verdict"] == "fail"
    assert _failing(doc) == {
        "redteam.attack-success": "unknown", "redteam.over-refusal": "unknown",  # no red-team evidence
        "fairness.no-unfair": "unknown", "fairness.tested": "unknown",  # no fairness evidence
        "openness.mof-class-iii": "fail",  # SmolLM2's GGUF ships weights and architecture only: unclassified
        "behaviour.quality": "fail",  # a 135M model: the lower bound of its pass rate is far below 0.6
    }
    rules = {r["id"]: r for r in doc["rules"]}
    assert rules["openness.mof-class-iii"]["evidence"]["value"] == 0
    quality = rules["behaviour.quality"]["evidence"]
    assert quality["n"] == 37 and quality["value"] == quality["interval"][0] < 0.6
    assert all(rules[r]["outcome"] == "pass" for r in ("licence.identified", "licence.allows-use", "scan.no-critical",
                                                       "scan.no-high"))
    minimal = _gate(audits, "minimal", "smollm2")
    assert minimal["verdict"] == "pass" and minimal["counts"]["fail"] == 0
    report = read_result(audits["smollm2"])  # the audit --policy minimal of the fixture
    assert next(s for s in report.sections if s.check == "gate").facts["verdict"] == "PASS"


def test_exceptions_except_the_failing_rules_until_they_expire(audits: dict[str, Any], tmp_path: Path) -> None:
    import datetime as dt

    failing = _failing(_gate(audits, "high-risk", "smollm2"))
    policy = tmp_path / "high-risk.yml"
    assert run_cli("policy", "init", "--tier", "high-risk", "--use-case", "triage", "--out", str(policy)).returncode == 0
    base = policy.read_text()
    today = dt.datetime.now(dt.timezone.utc).date()

    def with_expiry(day: dt.date) -> dict[str, Any]:
        policy.write_text(base + "exceptions:\n" + "".join(
            f"  - {{rule: {rule}, reason: accepted for the pilot, expires: {day.isoformat()}}}\n" for rule in failing))
        r = run_cli("gate", "--policy", str(policy), str(audits["smollm2"]), "--format", "json", "--no-record")
        assert r.returncode in (0, 1), r.stderr
        return json.loads(r.stdout)

    active = with_expiry(today + dt.timedelta(days=1))
    assert active["verdict"] == "pass" and active["counts"]["excepted"] == len(failing) and active["counts"]["fail"] == 0
    assert {r["id"] for r in active["rules"] if r["outcome"] == "excepted"} == set(failing)
    expired = with_expiry(today - dt.timedelta(days=1))
    assert expired["verdict"] == "fail" and expired["counts"]["expired_exceptions"] == len(failing)
    assert _failing(expired) == failing  # the same rules fail again


def test_diff_no_regression_across_seeds_and_a_real_one_against_gemma(audits: dict[str, Any]) -> None:
    seed1 = audits["root"] / "seed1"
    seed1.mkdir(exist_ok=True)
    other = _audit(seed1, "smollm2", "--seed", "1")
    same = run_cli("diff", str(audits["smollm2"]), str(other), "--format", "json")
    doc = json.loads(same.stdout)
    assert same.returncode == 0 and doc["regressions"] == [], doc["regressions"]
    paired = next(m for m in doc["metrics"] if m["name"] == "behaviour.pass_rate")
    assert paired["method"].startswith("paired over 37 cases") and paired["ci"][0] < 0 < paired["ci"][1]
    assert {p["seed"] for p in (doc["old"], doc["new"])} == {0, 1}

    worse = run_cli("diff", str(audits["smollm2"]), str(audits["gemma3-270m"]), "--format", "json")
    doc = json.loads(worse.stdout)
    assert worse.returncode == 1, worse.stderr
    metric = next(m for m in doc["metrics"] if m["name"] == "behaviour.pass_rate")
    assert metric["regression"] and metric["ci_familywise"][1] < 0 and metric["new"] < metric["old"]
    assert any(r.startswith("behaviour.pass_rate") for r in doc["regressions"])
    # targets instead of files: each one's latest audit in the store
    by_target = run_cli("diff", "smollm2", "gemma3-270m", "--db", str(audits["db"]))
    assert by_target.returncode == 1 and "REGRESSION" in by_target.stdout
