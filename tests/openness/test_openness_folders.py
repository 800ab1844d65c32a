"""Folders built for each class: evidence from the files that are really there."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.openness.helpers import build_folder, mit_text, write_safetensors

from opentrust.openness import assess_spec


def _components(result) -> dict[str, dict]:
    return {c["name"]: c for c in result.to_dict()["mof"]["components"]}


@pytest.mark.parametrize("level", [3, 2, 1])
def test_folder_reaches_its_class(tmp_path: Path, level: int) -> None:
    result = assess_spec(str(build_folder(tmp_path / f"class{level}", level)))
    d = result.to_dict()
    assert d["mof"]["class"] == level, d["mof"]["progress"]
    assert d["mof"]["progress"][str(level)] == 100.0
    assert d["mof"]["distribution_license"] == "MIT"  # identified from the LICENSE text
    comps = _components(result)
    assert comps["Model parameters (Final)"]["status"] == "included"
    assert comps["Model parameters (Final)"]["evidence"][0]["where"] == "model.safetensors"
    assert comps["Data card"]["license"] == "CC-BY-4.0"  # the data card's own front matter licence
    assert comps["Data card"]["license_source"] == "component"
    assert comps["Model architecture"]["confidence"] == "high"  # modeling_tiny.py, not just config.json
    if level <= 2:
        assert comps["Training code"]["license"] == "Apache-2.0"  # SPDX header in train.py
        assert comps["Evaluation data"]["evidence"][0]["where"] == "eval/test.jsonl"
    if level == 1:
        assert comps["Model parameters (Intermediate)"]["evidence"][0]["where"] == "checkpoint-100/model.safetensors"
        assert d["next_steps"] == []
    else:
        nxt = d["next_steps"][0]
        assert nxt["for_class"] == level - 1 and nxt["rank"] == 1


def test_weights_only_folder_is_unclassified_with_ranked_next_steps(tmp_path: Path) -> None:
    result = assess_spec(str(build_folder(tmp_path / "bare", 0)))
    d = result.to_dict()
    assert d["mof"]["class"] == 0
    comps = _components(result)
    assert comps["Model parameters (Final)"]["status"] == "unlicensed"
    assert comps["Model card"]["status"] == "missing"
    steps = d["next_steps"]
    assert steps[0]["effort"] == "add a licence"  # cheapest fix first
    assert all(s["for_class"] == 3 for s in steps[:6])
    assert [s["rank"] for s in steps] == list(range(1, len(steps) + 1))
    assert d["osaid"]["verdict"] == "not-open-source-ai"
    params = next(r for r in d["osaid"]["requirements"] if r["name"] == "parameters")
    assert not params["met"] and "without a licence" in params["reasons"][0]


def test_restricted_card_licence_blocks_every_class(tmp_path: Path) -> None:
    root = build_folder(tmp_path / "llama", 1, license="llama3.1")
    (root / "LICENSE").write_text("LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024\n")
    d = assess_spec(str(root)).to_dict()
    assert d["mof"]["class"] == 0
    weights = _components_d(d)["Model parameters (Final)"]
    assert weights["status"] == "licence not open"
    entry = next(e for e in d["licenses"] if e["id"] == weights["license"])
    assert entry["category"] == "restricted" and any(r["kind"] == "user-cap" for r in entry["restrictions"])


def _components_d(d: dict) -> dict[str, dict]:
    return {c["name"]: c for c in d["mof"]["components"]}


def test_licence_text_outranks_a_conflicting_card(tmp_path: Path) -> None:
    root = build_folder(tmp_path / "conflict", 3, license="cc-by-nc-4.0")
    d = assess_spec(str(root)).to_dict()
    assert d["mof"]["distribution_license"] == "MIT"
    assert d["conflicts"] and set(d["conflicts"][0]["licenses"]) == {"MIT", "CC-BY-NC-4.0"}


def test_osaid_verdict_for_a_fully_open_release(tmp_path: Path) -> None:
    d = assess_spec(str(build_folder(tmp_path / "open", 1))).to_dict()
    assert d["osaid"]["verdict"] == "open-source-ai", d["osaid"]


def test_unidentifiable_licence_file_is_reported_not_guessed(tmp_path: Path) -> None:
    root = tmp_path / "odd"
    write_safetensors(root / "model.safetensors")
    (root / "LICENSE").write_text("You may look at these weights on Tuesdays.\n")
    d = assess_spec(str(root)).to_dict()
    assert d["mof"]["distribution_license"] is None
    assert any(e["id"] is None and e["evidence"][0]["where"] == "LICENSE" for e in d["licenses"])


def test_hostile_card_front_matter_does_not_crash(tmp_path: Path) -> None:
    root = tmp_path / "hostile"
    write_safetensors(root / "model.safetensors")
    (root / "README.md").write_text("---\nlicense: !!python/object/apply:os.system ['echo pwned']\n---\n# x\n")
    (root / "LICENSE").write_text(mit_text())
    d = assess_spec(str(root)).to_dict()  # yaml.safe_load refuses the tag; the card counts without metadata
    assert d["mof"]["distribution_license"] == "MIT"
    assert any("not valid YAML" in n for n in d["notes"])


def test_third_party_notices_do_not_set_the_release_licence(tmp_path: Path) -> None:
    root = build_folder(tmp_path / "tp", 3, license="apache-2.0")
    (root / "LICENSE").unlink()
    (root / "THIRD_PARTY_LICENSES").write_text(mit_text())
    d = assess_spec(str(root)).to_dict()
    assert d["mof"]["distribution_license"] == "Apache-2.0"  # from the card; MIT covers bundled third-party code
    mit = next(e for e in d["licenses"] if e["id"] == "MIT")
    assert mit["evidence"][0]["where"].startswith("THIRD_PARTY_LICENSES")
    assert d["conflicts"] == []


@pytest.mark.parametrize("rel,component", [
    ("run_eval.py", 18), ("train_model.py", 7), ("modeling_llama.py", 9), ("scripts/preprocess_corpus.py", 16),
    ("inference.py", 8), ("training/utils.py", 7), ("notebooks/demo.ipynb", 8), ("utils.py", None),
])
def test_code_roles_from_names(rel: str, component: int | None) -> None:
    from opentrust.openness.evidence import code_role

    assert code_role(rel) == component


def test_gguf_metadata_keys_are_evidence(tmp_path: Path) -> None:
    from tests.gguf_writer import write_gguf

    folder = tmp_path / "dl"
    folder.mkdir()
    model = write_gguf(folder / "tiny.gguf", {
        "general.architecture": "llama", "general.name": "Tiny", "general.license": "cc-by-nc-4.0",
        "general.datasets": ["example/corpus-a", "example/corpus-b"],
        "general.base_model.count": 1, "general.base_model.0.name": "Base-1B",
        "general.source.huggingface.repository": "example/tiny"}, [("token_embd.weight", (8, 4))])
    result = assess_spec(str(model))
    d = result.to_dict()
    comps = _components_d(d)
    weights = comps["Model parameters (Final)"]
    assert (weights["status"], weights["license"]) == ("licence not open", "CC-BY-NC-4.0")
    assert any(e["where"] == "tiny.gguf#general.license" for e in weights["evidence"])
    assert comps["Datasets"]["status"] == "unknown" and "example/corpus-a" in comps["Datasets"]["evidence"][0]["detail"]
    assert result.evidence.card["base_model"] == ["Base-1B"]
    assert result.evidence.card["huggingface"] == "https://huggingface.co/example/tiny"
    # a card beside the GGUF is read too, and its licence tag agrees or conflicts
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# Tiny\n")
    d2 = assess_spec(str(model)).to_dict()
    assert d2["mof"]["distribution_license"] == "MIT" and d2["conflicts"]
