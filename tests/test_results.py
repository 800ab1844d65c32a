"""Every JSON output reads back through opentrust.read_result: old versions (files written by earlier releases,
tests/data/results/) upgrade, current outputs validate with nothing undeclared, and the published schemas match
the models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from opentrust import read_result
from opentrust.errors import UserError
from opentrust.results import MODELS, current_version, json_schema, parse_result, schema_text
from opentrust.results.base import undeclared
from tests.conftest import REPO, run_cli

OLD = REPO / "tests" / "data" / "results"


def _roundtrip(doc: dict[str, Any], kind: str) -> Any:
    """Read ``doc`` back, check it declares everything it holds and validates against the published schema."""
    result = parse_result(doc)
    assert result.kind == kind and result.schema_version == current_version(kind)
    assert undeclared(result) == [], f"fields the {kind} model does not declare: {undeclared(result)[:10]}"
    assert json.loads(result.model_dump_json(by_alias=True)) == json.loads(json.dumps(doc))
    jsonschema.validate(doc, json_schema(kind))
    return result


# -- files written by earlier versions -----------------------------------------------------------------
@pytest.mark.parametrize(("name", "kind", "old"), [
    ("audit-1.0.json", "audit", "1.0"), ("test-1.0.json", "test", "1.0"), ("openness-1.0.json", "openness", "1.0"),
    ("scan-1.json", "scan", "1"), ("redteam-1.0.json", "redteam", "1.0"), ("redteam-2.0.json", "redteam", "2.0"),
])
def test_files_from_earlier_versions_read_back_upgraded(name: str, kind: str, old: str) -> None:
    original = json.loads((OLD / name).read_text())
    assert original["schema_version"] == old and "kind" not in original
    result = read_result(OLD / name)
    assert result.kind == kind and result.schema_version == current_version(kind) and result.upgraded_from == old
    assert type(result).__name__ == MODELS[kind][1]


def test_redteam_1_figures_gain_what_2_x_reports() -> None:
    old = json.loads((OLD / "redteam-1.0.json").read_text())
    r = read_result(OLD / "redteam-1.0.json")
    for name, g in r.categories.items():
        ci = old["categories"][name]["ci"]
        assert g.half_width == pytest.approx((ci[1] - ci[0]) / 2, abs=1e-4)
        assert g.evidence in ("sufficient", "insufficient") and g.units is None and g.precision is None
    # a 1.0 file's figures rest on few samples: each one that decides nothing is listed as such
    assert set(r.summary.insufficient_evidence) == {
        k for k, g in [*((f"categories.{n}", g) for n, g in r.categories.items()),
                       ("summary.attack_success", r.summary.attack_success)] if g.evidence == "insufficient"}


def test_old_audit_sections_are_typed() -> None:
    from opentrust.results.sections import OpennessData, SmokeData

    r = read_result(OLD / "audit-1.0.json")
    by_check = {s.check: s for s in r.sections}
    assert isinstance(by_check["smoke"].data, SmokeData)
    assert isinstance(by_check["openness"].data, OpennessData)
    assert by_check["openness"].data["mof"]["class"] == by_check["openness"].data.mof.class_  # dict-style reads


# -- what the current code writes ------------------------------------------------------------------------
def test_test_output_reads_back(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("cases:\n  - id: c\n    prompt: hi\n    require: {max_samples: 3}\n"
                     "    assert: [{type: contains, value: hi}]\n")
    out = tmp_path / "out.json"
    r = run_cli("test", str(suite), "-m", "fake:echo", "--out", str(out), "--db", str(tmp_path / "db"))
    assert r.returncode in (0, 1), r.stderr
    result = _roundtrip(json.loads(out.read_text()), "test")
    assert result.cases[0].draws == 3 and result.suite.generated == 3


def test_redteam_output_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "rt.json"
    r = run_cli("redteam", "fake:refuse", "--categories", "over_refusal", "--mutators", "none", "--format", "json",
                "--out", str(out), "--db", str(tmp_path / "db"))
    assert r.returncode in (0, 1), r.stderr
    result = _roundtrip(json.loads(out.read_text()), "redteam")
    assert result.summary.over_refusal.asr is not None and result.probes


def test_openness_and_scan_outputs_read_back(tmp_path: Path, smollm2_path: Path) -> None:
    r = run_cli("openness", "smollm2", "--format", "json")
    assert r.returncode == 0, r.stderr
    _roundtrip(json.loads(r.stdout), "openness")
    pickle_file = tmp_path / "model.pkl"
    import pickle

    pickle_file.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    r = run_cli("scan", str(pickle_file), str(REPO / "pyproject.toml"), "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    _roundtrip(json.loads(r.stdout), "scan")


def test_audit_report_reads_back_with_typed_sections(tmp_path: Path) -> None:
    from opentrust.results.sections import ModelFactsData, OpennessData, ScanData

    r = run_cli("audit", "smollm2", "--check", "model_facts", "--check", "scan", "--check", "openness",
                "--out", str(tmp_path), "--db", str(tmp_path / "db"))
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads((tmp_path / "smollm2" / "report.json").read_text())
    report = _roundtrip(doc, "audit")
    types = {s.check: type(s.data) for s in report.sections}
    assert types == {"model_facts": ModelFactsData, "scan": ScanData, "openness": OpennessData}
    r = run_cli("audit", "fake:echo", "--check", "smoke", "--check", "behaviour", "--out", str(tmp_path),
                "--db", str(tmp_path / "db"))
    assert r.returncode in (0, 1), r.stderr
    _roundtrip(json.loads((tmp_path / "fake-echo" / "report.json").read_text()), "audit")


def test_the_scan_writer_and_its_model_agree_on_the_version() -> None:
    from opentrust.results.scan import SCHEMA_VERSION as MODEL
    from opentrust.scan.report import SCHEMA_VERSION as WRITER

    assert WRITER == MODEL


# -- schemas and bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(MODELS))
def test_published_schemas_are_generated_from_the_models(kind: str) -> None:
    published = (REPO / "docs" / "schemas" / f"{kind}.schema.json").read_text()
    assert published == schema_text(kind), "regenerate: python scripts/gen_report_schema.py"


def test_a_newer_major_version_is_refused_in_one_line(tmp_path: Path) -> None:
    doc = json.loads((OLD / "test-1.0.json").read_text())
    doc["schema_version"] = "2.0"
    path = tmp_path / "future.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError, match="newer than this opentrust reads"):
        read_result(path)


def test_a_newer_minor_version_keeps_fields_it_does_not_know() -> None:
    doc = json.loads((OLD / "test-1.0.json").read_text())
    doc.update(schema_version="1.7", kind="test", added_later={"x": 1})
    result = parse_result(doc)
    assert result.model_extra == {"added_later": {"x": 1}} and undeclared(result) == ["added_later"]


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "is not JSON"), ("[1, 2]", "not a JSON object"), ('{"a": 1}', "not an opentrust result"),
    ('{"kind": "nonsense", "schema_version": "1.0"}', "unknown result kind"),
    ('{"kind": "test", "schema_version": "1.1", "cases": "x"}', "not a valid test result"),
])
def test_bad_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(UserError, match=message) as err:
        read_result(path)
    assert "\n" not in err.value.one_line()
