"""`opentrust audit --policy` (the gate inside the audit report) and `opentrust factsheet` (every statement with the
run behind it, every missing item listed) on a small real GGUF audited by the file checks."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from opentrust.results import json_schema, read_result
from tests.conftest import run_cli
from tests.gguf_writer import write_gguf

FILE_CHECKS = ["--check", "model_facts", "--check", "scan", "--check", "openness"]


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "tiny.gguf", {"general.architecture": "llama", "general.license": "mit",
                                               "llama.context_length": 512}, [("token_embd.weight", (8, 4))])


def test_audit_policy_puts_the_gate_in_the_report_and_decides_the_exit_code(tmp_path: Path, tiny: Path) -> None:
    db, out = tmp_path / "db", tmp_path / "out"
    r = run_cli("audit", str(tiny), *FILE_CHECKS, "--out", str(out), "--db", str(db), "--policy", "minimal")
    assert r.returncode == 0, r.stderr
    assert "PASS: policy minimal" in r.stderr
    report = read_result(out / "tiny" / "report.json")
    gate = next(s for s in report.sections if s.check == "gate")
    assert gate.status == "ok" and gate.facts["verdict"] == "PASS" and gate.tables[0].columns[0] == "outcome"
    assert read_result(out / "tiny" / "gate.json").verdict == "pass"
    html = (out / "tiny" / "report.html").read_text()
    assert 'id="check-gate"' in html and "Policy gate: minimal" in html and "scan.no-critical" in html

    r = run_cli("audit", str(tiny), *FILE_CHECKS, "--out", str(out), "--db", str(db), "--policy", "high-risk")
    assert r.returncode == 1, r.stderr  # MOF class, red team, fairness... the gate's verdict, not --fail-on's
    gate = read_result(out / "tiny" / "gate.json")
    assert gate.verdict == "fail" and {x.id for x in gate.rules if x.outcome == "unknown"} >= {
        "redteam.attack-success", "fairness.no-unfair"}
    models = json.loads(run_cli("models", "--db", str(db), "--format", "json").stdout)["models"]
    assert {g["policy"]: g["verdict"] for g in models[0]["gates"]} == {"minimal": "pass", "high-risk": "fail"}

    bad = tmp_path / "bad.yml"
    bad.write_text("policy: x\nrules:\n  - id: a\n    require: {path: scan.x, op: nope}\n    message: m\n")
    r = run_cli("audit", str(tiny), *FILE_CHECKS, "--out", str(out), "--db", str(db), "--policy", str(bad))
    assert r.returncode == 2 and f"{bad}:4:" in r.stderr and r.stderr.count("\n") == 1
    runs = json.loads(run_cli("history", str(tiny), "--db", str(db), "--format", "json").stdout)["models"][0]["runs"]
    assert len(runs) == 2  # the malformed policy stopped the audit before it ran


def test_factsheet_names_the_run_behind_every_statement_and_lists_what_is_missing(tmp_path: Path,
                                                                                  tiny: Path) -> None:
    db, out = tmp_path / "db", tmp_path / "out"
    assert run_cli("audit", str(tiny), *FILE_CHECKS, "--out", str(out), "--db", str(db)).returncode == 0
    run_id = read_result(out / "tiny" / "report.json").run_id
    assert run_cli("gate", "--policy", "gpai", str(out / "tiny" / "report.json"), "--db", str(db)).returncode == 1
    r = run_cli("factsheet", str(tiny), "--db", str(db), "--format", "json", )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, json_schema("factsheet"))
    sections = {s["id"]: s for s in doc["sections"]}
    assert list(sections) == ["identity", "files", "licences", "scan", "behaviour", "redteam", "fairness",
                              "comparisons", "gates", "annex-xi", "annex-xii"]
    for s in doc["sections"]:
        for item in s["items"]:
            if item["status"] == "present":
                assert item["source"] is not None, item  # every statement linked to what produced it
            else:
                assert item["note"], item  # every missing item says what would provide it
    facts = {i["label"]: i for i in sections["identity"]["items"]}
    assert facts["Architecture"]["value"] == "llama" and facts["Architecture"]["source"]["run_id"] == run_id
    assert facts["Fingerprint (sha256 of the weights)"]["value"] == doc["model"]["fingerprint"]
    xii = {i["label"]: i for i in sections["annex-xii"]["items"]}
    assert xii["Maximum input size: context length (XII 2(b))"]["value"] == 512
    assert xii["Licence (XII 1(h))"]["value"] == "MIT"
    assert "Red team: Red-team results" in doc["missing"] and "Comparisons: Comparison with other models" in doc["missing"]
    assert sections["gates"]["items"][0]["value"].startswith("fail") and "docs.model-card" in \
        sections["gates"]["items"][0]["value"]

    md = run_cli("factsheet", str(tiny), "--db", str(db))
    assert md.returncode == 0 and md.stdout.startswith("# Model factsheet") and f"audit run {run_id}" in md.stdout
    assert "**MISSING** — run `opentrust compare TARGET OTHER`" in md.stdout and "## Missing items" in md.stdout
    html_path = tmp_path / "f.html"
    r = run_cli("factsheet", str(tiny), "--db", str(db), "--format", "html", "--out", str(html_path))
    html = html_path.read_text()
    assert r.returncode == 0 and html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert 'id="annex-xi"' in html and "MISSING" in html and run_id in html

    for args, words in ((["fake:never", "--db", str(tmp_path / "empty.db")], "no evidence about"),
                        ([str(tiny), "--db", str(db), "--format", "pdf"], "unknown format")):
        bad = run_cli("factsheet", *args)
        assert bad.returncode == 2 and words in bad.stderr and bad.stderr.count("\n") == 1, bad.stderr
