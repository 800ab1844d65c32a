"""report/sarif.py: generic Finding -> SARIF 2.1.0, validated against the official OASIS schema."""

from __future__ import annotations


import jsonschema

from opentrust.findings import Finding, Location, Severity
from opentrust.report.sarif import to_sarif
from opentrust.scan.dispatch import all_rules
from tests.conftest import sarif_schema



def test_findings_from_any_check_render_valid_sarif() -> None:
    findings = [
        Finding(rule_id="PICKLE-DANGEROUS-CALL", severity=Severity.critical, title="t", message="m",
                location=Location(path="models/a b.pkl", offset=12), evidence="os.system('x')"),
        Finding(rule_id="PICKLE-UNKNOWN-IMPORT", severity=Severity.medium, title="t", message="inner",
                location=Location(path="/abs/model.zip!archive/data.pkl", offset=40)),
        Finding(rule_id="REDTEAM-JAILBREAK", severity=Severity.high, title="Jailbreak succeeded", message="asr 0.4",
                remedy="Add a guardrail."),
    ]
    doc = to_sarif(findings, all_rules())
    jsonschema.validate(doc, sarif_schema())
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert rules[run["results"][2]["ruleIndex"]]["id"] == "REDTEAM-JAILBREAK"  # derived from the finding
    r0, r1 = run["results"][0], run["results"][1]
    assert r0["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "models/a%20b.pkl"},
                                                       "region": {"byteOffset": 12}}
    assert r1["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "file:///abs/model.zip"
    assert r1["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "/abs/model.zip!archive/data.pkl"
    assert r1["properties"]["nested_offset"] == 40 and r1["level"] == "warning"
    assert all(r["help"]["text"] and r["id"] for r in rules)
