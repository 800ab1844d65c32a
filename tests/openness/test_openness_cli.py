"""`opentrust openness` end to end (real subprocess), the CycloneDX 1.6 AI BOM and the audit check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.openness.helpers import MOT, build_folder


def _valid_cyclonedx_16(doc: dict) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(doc))
    assert error is None, str(error)


def test_json_output(tmp_path: Path) -> None:
    folder = build_folder(tmp_path / "m", 2)
    proc = run_cli("openness", str(folder), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["schema_version"] == "1.1" and d["kind"] == "openness"
    assert d["mof"]["class"] == 2 and d["mof"]["label"] == "Class II - Open Tooling Model"
    assert set(d) >= {"mof", "osaid", "licenses", "next_steps"}
    assert set(d["mof"]["progress"]) == {"1", "2", "3"}


@pytest.mark.slow
def test_cyclonedx_is_valid_16_with_hashes_licences_and_model_card(tmp_path: Path) -> None:
    from opentrust.target import file_sha256

    folder = build_folder(tmp_path / "m", 3)
    out = tmp_path / "bom.cdx.json"
    proc = run_cli("openness", str(folder), "--format", "cyclonedx", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    _valid_cyclonedx_16(doc)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    model = doc["metadata"]["component"]
    assert model["type"] == "machine-learning-model"
    assert model["hashes"] == [{"alg": "SHA-256", "content": file_sha256(folder / "model.safetensors")}]
    assert model["licenses"] == [{"license": {"id": "MIT"}}]
    card = model["modelCard"]
    assert card["modelParameters"]["datasets"] == [{"type": "dataset", "name": "example/corpus"}]
    assert {"type": "accuracy", "value": "0.91", "slice": "example-eval"} in card["quantitativeAnalysis"]["performanceMetrics"]
    assert "Classifying short support tickets" in card["considerations"]["useCases"][0]


@pytest.mark.slow
def test_cyclonedx_for_smollm2_alias(tmp_path: Path, smollm2_path: Path) -> None:
    from opentrust.target import file_sha256

    proc = run_cli("openness", "smollm2", "-f", "cyclonedx")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    _valid_cyclonedx_16(doc)
    assert doc["metadata"]["component"]["hashes"][0]["content"] == file_sha256(smollm2_path)


def test_restricted_licence_in_the_bom(tmp_path: Path) -> None:
    from opentrust.openness import assess_spec
    from opentrust.openness.aibom import build_aibom

    root = build_folder(tmp_path / "g", 3, license="gemma")
    (root / "LICENSE").unlink()
    doc = build_aibom(assess_spec(str(root)))
    _valid_cyclonedx_16(doc)
    assert doc["metadata"]["component"]["licenses"] == [{"license": {"name": "Gemma Terms of Use"}}]
    ethical = doc["metadata"]["component"]["modelCard"]["considerations"]["ethicalConsiderations"]
    assert any("Prohibited Use Policy" in e["mitigationStrategy"] for e in ethical)


@pytest.mark.skipif(not MOT.is_dir(), reason=f"MOT data not found at {MOT}")
@pytest.mark.slow
def test_mot_record_target_and_table() -> None:
    record = MOT / "models" / "Amber.yml"
    proc = run_cli("openness", str(record))
    assert proc.returncode == 0, proc.stderr
    assert "Class I - Open Science Model" in proc.stdout and "OSI Open Source AI Definition 1.0" in proc.stdout
    proc = run_cli("openness", str(record), "--format", "cyclonedx")
    _valid_cyclonedx_16(json.loads(proc.stdout))


@pytest.mark.parametrize("args,needle", [
    (["/no/such/model"], "no such file or folder"),
    (["smollm2", "--format", "xml"], "unknown format"),
    (["openai:http://127.0.0.1:9/v1#m"], "endpoint has none"),
])
def test_bad_input_exits_2_with_one_line(args: list[str], needle: str) -> None:
    proc = run_cli("openness", *args)
    assert proc.returncode == 2
    assert needle in proc.stderr and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_yaml_that_is_not_a_record_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "x.yml"
    bad.write_text("just: a mapping\n")
    proc = run_cli("openness", str(bad))
    assert proc.returncode == 2 and "not a Model Openness Tool record" in proc.stderr


def test_audit_includes_the_openness_section(tmp_path: Path) -> None:
    from opentrust.audit import run_audit
    from opentrust.findings import Severity

    folder = build_folder(tmp_path / "tiny", 0)
    result = run_audit(str(folder), tmp_path / "reports", only=["openness"])
    section = next(s for s in result.report.sections if s.check == "openness")
    assert section.status == "findings"
    assert section.data["mof"]["class"] == 0
    _valid_cyclonedx_16(section.data["aibom"])
    assert section.charts[0].max_value == 100 and len(section.charts[0].bars) == 3
    assert [t.title for t in section.tables][:2] == ["MOF components", "Licences"]
    assert all(f.severity in (Severity.info, Severity.low, Severity.medium) for f in section.findings)
    assert {f.rule_id for f in section.findings} >= {"OT-OPEN-UNLICENSED", "OT-OPEN-CLASS3-MISSING"}
    saved = json.loads(result.files["json"].read_text())
    assert any(s["check"] == "openness" for s in saved["sections"])
    assert result.report.summary.exit_code == 0  # closed or incomplete is never "high"


def test_type_warning_for_an_open_licence_of_the_wrong_type(tmp_path: Path) -> None:
    from opentrust.openness import assess_spec

    root = build_folder(tmp_path / "w", 3)
    (root / "DATA_CARD.md").write_text("---\nlicense: cdla-permissive-2.0\n---\n# Data card\n")  # a data licence on a document
    d = assess_spec(str(root)).to_dict()
    assert d["mof"]["class"] == 3  # counted, as the MOT counts it
    warnings = {w["component"]: w["license"] for w in d["mof"]["type_warnings"]}
    assert warnings["Data card"] == "CDLA-Permissive-2.0"
    assert warnings["Model parameters (Final)"] == "MIT"  # a code licence on weights (data)
    assert warnings["Model card"] == "MIT"  # nor a document licence
    assert "Model architecture" not in warnings  # MIT is a code licence


def test_measurements_from_other_checks_join_the_model_card(tmp_path: Path) -> None:
    from opentrust.findings import Measurement
    from opentrust.openness import assess_spec
    from opentrust.openness.aibom import add_measurements, build_aibom

    doc = build_aibom(assess_spec(str(build_folder(tmp_path / "m", 3))))
    add_measurements(doc, [Measurement(name="behaviour.pass_rate", value=0.8, n=50, interval=(0.67, 0.89)),
                           Measurement(name="smoke.tokens_per_second", value=None)])
    _valid_cyclonedx_16(doc)
    metrics = doc["metadata"]["component"]["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    assert {"type": "behaviour.pass_rate", "value": "0.8", "slice": "n=50",
            "confidenceInterval": {"lowerBound": "0.67", "upperBound": "0.89"}} in metrics
    assert all(m["type"] != "smoke.tokens_per_second" for m in metrics)


def test_audit_reports_a_restricted_weights_licence_as_medium(tmp_path: Path) -> None:
    from opentrust.audit import run_audit
    from opentrust.findings import Severity

    root = build_folder(tmp_path / "llama", 3, license="llama3.2")
    (root / "LICENSE").write_text("LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\nLlama 3.2 Version Release Date: September 25, 2024\n")
    result = run_audit(str(root), tmp_path / "reports", only=["openness"])
    section = result.report.sections[0]
    weights = next(f for f in section.findings if f.rule_id == "OT-OPEN-WEIGHTS-LICENSE")
    assert weights.severity == Severity.medium
    assert "700 million" in weights.message and weights.location.path == "model.safetensors"
    assert "Llama 3.2 Community License Agreement" in section.summary
    assert result.report.summary.exit_code == 0
