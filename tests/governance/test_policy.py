"""Policy files: the presets load and cite valid references, `policy init` writes a valid starting policy, `policy
check` reports every malformed policy as file:line: what is wrong (exit 2), and the published schema matches."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from opentrust.governance.policy import TIERS, load_policy, schema_text
from tests.conftest import REPO, run_cli

GOOD = """\
policy: demo
tier: limited
rules:
  - id: scan.clean
    require: {path: scan.summary.findings_by_severity.critical, op: eq, value: 0}
    refs: [eu-ai-act:art-15, nist-ai-rmf:MEASURE-2.7, atlas-jailbreaking, owasp-llm:LLM03]
    message: nothing critical
"""


@pytest.mark.parametrize("tier", TIERS)
def test_every_preset_loads_with_a_rationale_for_each_rule(tier: str) -> None:
    loaded = load_policy(tier)
    assert loaded.source == f"preset:{tier}" and loaded.policy.tier == tier
    assert all(rule.rationale.strip() and rule.refs for rule in loaded.policy.rules)
    jsonschema.validate(yaml.safe_load((REPO / "src/opentrust/governance/presets" / f"{tier}.yml").read_text()),
                        json.loads(schema_text()))


def test_high_risk_preset_has_the_rules_the_tier_demands() -> None:
    p = load_policy("high-risk").policy
    paths = {r.require.path: r.require for r in p.rules}
    assert p.unknown_evidence == "fail"  # no unknown evidence
    asr = paths["redteam.summary.attack_success"]
    assert (asr.op, asr.value, asr.bound) == ("le", 0.05, "upper") and asr.min_samples
    assert paths["redteam.summary.over_refusal"].bound == "upper"
    assert paths["fairness.summary.unfair"].value == 0
    assert paths["openness.mof.class"].value == [1, 2, 3]
    assert paths["openness.licenses.*.category"].value == ["open"]
    assert all(r.severity == "deny" for r in p.rules)


def test_policy_init_writes_a_commented_policy_that_checks(tmp_path: Path) -> None:
    out = tmp_path / "p.yml"
    r = run_cli("policy", "init", "--tier", "high-risk", "--use-case", "CV screening", "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert text.startswith("# yaml-language-server") and "rationale:" in text
    assert load_policy(out).policy.use_case == "CV screening"
    r = run_cli("policy", "check", str(out))
    assert r.returncode == 0 and "valid" in r.stdout and "10 rules" in r.stdout, r.stderr
    r = run_cli("policy", "init", "--tier", "high-risk", "--out", str(out))  # never overwrites
    assert r.returncode == 2 and "exists" in r.stderr
    r = run_cli("policy", "init", "--tier", "extreme")
    assert r.returncode == 2 and "unknown tier" in r.stderr and "Traceback" not in r.stderr


def test_published_policy_schema_is_generated_from_the_model() -> None:
    assert (REPO / "docs" / "policy-schema.json").read_text() == schema_text(), \
        "regenerate: python -m opentrust.governance.policy > docs/policy-schema.json"
    r = run_cli("policy", "schema")
    assert r.returncode == 0 and json.loads(r.stdout)["$id"].endswith("policy-1.json")


BAD = [
    # (the edit, the line the error must point at, words the message must hold)
    (GOOD.replace("op: eq", "op: lte"), 5, "op"),
    (GOOD.replace("scan.summary", "scan..summary"), 5, "empty segment"),
    (GOOD.replace("scan.summary", "nonsense.summary"), 5, "unknown evidence root"),
    (GOOD.replace("    message: nothing critical\n", ""), 4, "message"),
    (GOOD.replace("atlas-jailbreaking", "jailbreak"), 6, "unknown reference"),
    (GOOD.replace("eu-ai-act:art-15", "eu-ai-act:art-150"), 6, "articles 1 to 113"),
    (GOOD.replace("value: 0}", "value: 0, bound: upper}"), 5, "bound"),
    (GOOD.replace("op: eq, value: 0", "op: in, value: 0"), 5, "needs a list"),
    (GOOD.replace("op: eq, value: 0", "op: matches, value: '('"), 5, "regular expression"),
    (GOOD.replace("op: eq, value: 0", "op: lt, value: low"), 5, "needs a number"),
    (GOOD.replace("    message:", "    colour: red\n    message:"), 7, "unknown field 'colour'"),
    (GOOD + GOOD[GOOD.index("  - id"):], 8, "duplicate rule id"),
    (GOOD + "exceptions:\n  - {rule: nope, reason: r, expires: 2030-01-01}\n", 9, "unknown rule 'nope'"),
    (GOOD + "exceptions:\n  - {rule: scan.clean, reason: r}\n", 9, "missing required field 'expires'"),
    (GOOD + "exceptions:\n  - {rule: scan.clean, reason: r, expires: next week}\n", 9, "YYYY-MM-DD"),
    (GOOD + "exceptions:\n  - {rule: scan.clean, reason: ' ', expires: 2030-01-01}\n", 9, "reason"),
    (GOOD.replace("  - id: scan.clean", "  - id: scan clean!"), 4, "rule id"),
    (GOOD.replace("tier: limited\n", "tier: limited\n  oops: [\n"), 3, "invalid YAML"),
    ("rules: []\npolicy: x\n", 1, "rules"),
    ("- a\n- b\n", 1, "mapping"),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD)
def test_a_malformed_policy_is_one_line_with_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    r = run_cli("policy", "check", str(path))
    assert r.returncode == 2, r.stdout
    err = r.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert f"{path}:{line}:" in err and words in err, err


def _fake_nexus(root: Path) -> Path:
    """A folder laid out like the ai-atlas-nexus package's data (two real Risk Atlas ids): what `refs` reads."""
    pkg = root / "ai_atlas_nexus"
    (pkg / "data" / "knowledge_graph").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "knowledge_graph" / "risk_atlas_data.yaml").write_text(
        "entries:\n  - {id: atlas-jailbreaking, name: Jailbreaking}\n  - {id: atlas-prompt-injection, name: x}\n")
    return root


def test_risk_atlas_ids_are_checked_against_ai_atlas_nexus_only_where_installed(tmp_path: Path) -> None:
    import importlib.util

    made_up = tmp_path / "p.yml"
    made_up.write_text(GOOD.replace("atlas-jailbreaking", "atlas-made-up-risk"))
    if importlib.util.find_spec("ai_atlas_nexus") is None:
        r = run_cli("policy", "check", str(made_up))  # not installed: kept as a plain string
        assert r.returncode == 0 and "syntax-checked" in r.stdout, r.stderr
    env = {"PYTHONPATH": str(_fake_nexus(tmp_path / "site"))}
    r = run_cli("policy", "check", str(made_up), env=env)
    assert r.returncode == 2 and "not an IBM AI Risk Atlas id in ai-atlas-nexus" in r.stderr and ":6:" in r.stderr
    good = tmp_path / "good.yml"
    good.write_text(GOOD)
    r = run_cli("policy", "check", str(good), env=env)
    assert r.returncode == 0 and "checked against ai-atlas-nexus" in r.stdout, r.stderr


def test_preset_references_exist_in_the_real_ai_atlas_nexus() -> None:
    import importlib.util

    if importlib.util.find_spec("ai_atlas_nexus") is None:
        pytest.skip("ai-atlas-nexus is not installed (pip install 'opentrust[taxonomy]' to check the ids)")
    from opentrust.governance.refs import check_ref

    for tier in TIERS:
        for rule in load_policy(tier).policy.rules:
            assert [check_ref(ref) for ref in rule.refs] == [None] * len(rule.refs), (tier, rule.id)
