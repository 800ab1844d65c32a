"""Conformance with the Model Openness Tool: its golden results and every model record it lists."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from tests.openness.helpers import MOT

from opentrust.openness.assess import assess_evidence
from opentrust.openness.evidence import from_record, is_mot_record
from opentrust.openness.mof import classify, release_from_record

pytestmark = pytest.mark.skipif(not MOT.is_dir(), reason=f"MOT data not found at {MOT} (../shared/data/mot)")


def _expected() -> list[dict]:
    text = (MOT / "test_data" / "expected_results.json").read_text(encoding="utf-8")
    # The MOT's golden file has trailing commas (PHP output edited by hand); JSON proper does not allow them.
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))["models"]


def _matches(got, expected: dict) -> bool:
    return got.mof_class == expected["class"] and all(
        got.progress[k] == pytest.approx(float(expected["progress"][k]), abs=1e-9) for k in ("1", "2", "3"))


def test_golden_results_match_exactly() -> None:
    expected = _expected()
    assert len(expected) == 27
    misses = []
    for model in expected:
        got = classify(release_from_record(model))
        if not _matches(got, model["classification"]):
            misses.append((model["release"]["name"], got.mof_class, got.progress, model["classification"]))
    assert misses == [], f"{27 - len(misses)}/27 exact matches; misses: {misses}"


@pytest.mark.slow
def test_test_data_yaml_records_match_their_golden_result() -> None:
    by_name = {m["release"]["name"]: m["classification"] for m in _expected()}
    files = sorted(p for p in (MOT / "test_data").glob("*.yml") if is_mot_record(p))
    assert len(files) == 27
    for path in files:
        result = assess_evidence(from_record(path))
        expected = by_name[result.evidence.name]
        assert _matches(result.classification, expected), path.name
        # the public JSON carries the same numbers
        mof = result.to_dict()["mof"]
        assert mof["class"] == expected["class"]


def test_classes_are_cumulative_and_labelled() -> None:
    for model in _expected():
        got = classify(release_from_record(model))
        assert got.label == model["classification"]["label"]
        if got.mof_class:
            # a class is only earned when every less open class is complete
            assert all(got.progress[str(c)] == 100.0 for c in range(got.mof_class, 4))


def test_every_mot_model_record_classifies() -> None:
    files = sorted((MOT / "models").glob("*.yml"))
    assert len(files) >= 150
    classes = {}
    for path in files:
        result = assess_evidence(from_record(path))
        d = result.to_dict()
        assert d["mof"]["class"] in (0, 1, 2, 3)
        assert set(d["mof"]["progress"]) == {"1", "2", "3"}
        assert len(d["mof"]["components"]) == 17
        classes[path.stem] = d["mof"]["class"]
    assert len(classes) == len(files)
    # Records with a restricted model licence on the weights never reach a class.
    llama = [p for p in files if "llama" in p.stem.lower()]
    for p in llama:
        rec = yaml.safe_load(p.read_text())
        dist = ((rec["release"].get("license") or {}).get("distribution") or {}).get("name") or ""
        if "Llama" in dist:
            assert classes[p.stem] == 0, p.stem


def test_research_paper_stands_in_for_technical_report() -> None:
    base = {"release": {"name": "x", "license": {"distribution": {"name": "Apache-2.0"}}, "components": [
        {"name": n} for n in ("Model architecture", "Model parameters (Final)", "Evaluation results", "Model card",
                              "Data card")]}}
    assert classify(release_from_record(base)).mof_class == 0
    with_paper = json.loads(json.dumps(base))
    with_paper["release"]["components"].append({"name": "Research paper"})
    got = classify(release_from_record(with_paper))
    assert got.mof_class == 3 and got.progress["3"] == 100.0


def test_licence_resolution_order() -> None:
    rec = {"release": {"name": "x", "license": {"distribution": {"name": "Llama-unknown"}, "code": {"name": "MIT"}},
                       "components": [{"name": "Model architecture"}, {"name": "Model card"},
                                      {"name": "Model parameters (Final)", "license": "CDLA-Permissive-2.0"},
                                      {"name": "Data card", "license": ""}]}}
    got = {c.id: c for c in classify(release_from_record(rec)).components}
    assert (got[9].license, got[9].license_source) == ("MIT", "global:code")          # type licence
    assert (got[13].license, got[13].license_source) == ("Llama-unknown", "distribution")
    assert (got[10].license, got[10].license_source, got[10].status) == ("CDLA-Permissive-2.0", "component", "open")
    assert got[14].status == "unlicensed"                                                # explicit empty licence
    assert got[13].status == "invalid"


def test_mot_php_position_zero_quirk_is_reproduced() -> None:
    """The MOT tests "technical report included" with PHP's array_search, so a report that is the only class III
    component (list position 0) reads as absent and a research paper is counted in its place as well."""
    rec = {"release": {"name": "x", "license": {"distribution": {"name": "MIT"}},
                       "components": [{"name": "Technical report"}, {"name": "Research paper"}]}}
    got = classify(release_from_record(rec))
    assert got.progress["3"] == pytest.approx(100 * 2 / 6)
    assert got.mof_class == 0
