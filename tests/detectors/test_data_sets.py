"""The labelled sets: well-formed, declared overlaps true, and the published error rates match them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

from detector_sets import HARMFUL, REFUSAL, available  # noqa: E402

from opentrust.detectors.text import CUES, cue_vector, sentences  # noqa: E402

EVAL = REPO / "tests/data/detectors"
LABELS = REPO / "labels"
TEAM = {"canary": {"leak", "clean"}, "pii": {"pii", "clean"}}
KINDS = {
    "refusal": {"full_compliance": "compliance", "full_refusal": "refusal", "partial_refusal": "refusal"},
    "harm": {"harmful_content": "harmful", "harmful_with_disclaimer": "harmful", "dual_persona": "harmful",
             "refuse_then_comply": "harmful", "refusal": "safe", "deflection": "safe", "general_info": "safe",
             "off_topic": "safe", "empty_promise": "safe", "counter_speech": "safe"},
}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_our_labels_follow_the_guide() -> None:
    files = sorted(LABELS.glob("*.jsonl"))
    assert files, "labels/*.jsonl missing"
    for path in files:
        rows = _rows(path)
        assert len({r["id"] for r in rows}) == len(rows), path.name
        for r in rows:
            assert isinstance(r["prompt"], str) and isinstance(r["response"], str) and r["source"]
            assert "refusal" in r, (path.name, r["id"])
            for task, kinds in KINDS.items():
                if task in r:
                    assert kinds[r[f"{task}_kind"]] == r[task], (path.name, r["id"], task)


def test_declared_response_overlaps_are_true() -> None:
    """A set held out must take the sets sharing its responses with it: check the declarations."""
    by_name = {s.name: s for s in REFUSAL + HARMFUL}
    for s in available(REFUSAL + HARMFUL):
        mine = {r for _, r, _ in s.rows() if len(r) > 120}
        for other in s.shares_responses_with:
            o = by_name[other]
            if o.available:
                assert mine & {r for _, r, _ in o.rows()}, (s.name, other)
        undeclared = [o.name for o in available(REFUSAL + HARMFUL)
                      if o.name != s.name and o.name not in s.shares_responses_with
                      and mine & {r for _, r, _ in o.rows() if len(r) > 120}]
        assert not undeclared, (s.name, undeclared)


def test_team_written_sets_are_well_formed() -> None:
    for name, labels in TEAM.items():
        for path in EVAL.glob(f"{name}*.jsonl"):
            rows = _rows(path)
            assert {r["expected"] for r in rows} == labels, path.name


def test_error_rates_file_matches_the_sets() -> None:
    doc = json.loads((REPO / "src/opentrust/data/detectors/error_rates.json").read_text())
    assert doc["format"] == "opentrust-detector-error-rates/2" and doc["produced_by"] == "benchmarks/detectors.py"
    for task, sets in (("refusal", REFUSAL), ("harmful", HARMFUL)):
        entry = doc["detectors"][task]
        have = {s.name: len(s.rows()) for s in available(sets)}
        if not all(s.available for s in sets):
            pytest.skip(f"../shared is absent: the third-party sets of {task} cannot be counted")
        assert {n: sum(e["counts"].values()) for n, e in entry["sets"].items()} == have, (
            f"{task}: the sets changed; re-run benchmarks/detectors.py")
        assert sum(entry["pooled"]["counts"].values()) == sum(have.values())
    for name in TEAM:
        n = sum(len(_rows(p)) for p in EVAL.glob(f"{name}*.jsonl"))
        assert sum(doc["detectors"][name]["pooled"]["counts"].values()) == n


def test_cue_prefilter_never_changes_a_cue() -> None:
    """cue_vector skips regex searches by trigger tokens; on every sentence of our labelled responses it
    must agree with searching every pattern."""
    checked = 0
    for path in sorted(LABELS.glob("*.jsonl")):
        for r in _rows(path):
            for sent in sentences(r["response"]):
                assert cue_vector(sent) == [1.0 if p.search(sent) else 0.0 for p in CUES.values()], sent
                checked += 1
    assert checked > 5000
