"""The labelled sets: training and evaluation never overlap; the published error rates match the sets."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TRAIN = REPO / "src/opentrust/data/refusal/train.jsonl"
EVAL = REPO / "tests/data/detectors"
LABELS = {
    "refusal": {"refusal", "compliance"},
    "canary": {"leak", "clean"},
    "harmful": {"harmful", "safe"},
    "pii": {"pii", "clean"},
}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def test_training_and_evaluation_sets_do_not_overlap() -> None:
    train = {_norm(r["response"]) for r in _rows(TRAIN) if r["response"].strip()}
    for path in EVAL.glob("refusal*.jsonl"):
        overlap = [
            r["response"] for r in _rows(path) if r["response"].strip() and _norm(r["response"]) in train
        ]
        assert not overlap, f"{path.name} repeats training responses: {overlap[:3]}"


def test_sets_are_well_formed_and_balanced() -> None:
    for name, labels in LABELS.items():
        for path in EVAL.glob(f"{name}*.jsonl"):
            rows = _rows(path)
            assert {r["expected"] for r in rows} == labels, path.name
            assert all(isinstance(r["prompt"], str) and isinstance(r["response"], str) for r in rows)
            share = sum(r["expected"] in (("refusal", "leak", "harmful", "pii")) for r in rows) / len(rows)
            assert 0.3 <= share <= 0.7, (path.name, share)
    train = _rows(TRAIN)
    assert {r["label"] for r in train} == {"refusal", "compliance"} and len(train) >= 200


def test_error_rates_file_matches_the_sets() -> None:
    doc = json.loads((REPO / "src/opentrust/data/detectors/error_rates.json").read_text())
    assert doc["date"] and doc["produced_by"] == "benchmarks/detectors.py"
    for name in LABELS:
        entry = doc["detectors"][name]
        n = sum(len(_rows(p)) for p in EVAL.glob(f"{name}*.jsonl"))
        assert entry["all"]["n"] == n, f"{name}: re-run benchmarks/detectors.py (sets changed)"
        assert sum(entry["all"]["counts"].values()) == n
