"""The probe catalogue: size, coverage, unique ids, known taxonomy ids, and a loader that names bad probes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from opentrust.errors import UserError
from opentrust.redteam.catalogue import (
    CATEGORIES,
    known_taxonomy_ids,
    load_catalogue,
    load_file,
    render_template,
)


@pytest.fixture(scope="module")
def probes():  # type: ignore[no-untyped-def]
    return load_catalogue()


def test_at_least_300_probes_with_unique_ids(probes) -> None:  # type: ignore[no-untyped-def]
    assert len(probes) >= 300
    ids = [p.id for p in probes]
    assert len(ids) == len(set(ids))


def test_every_category_and_every_ailuminate_hazard_is_covered(probes) -> None:  # type: ignore[no-untyped-def]
    cats = Counter(p.category for p in probes)
    assert set(cats) == set(CATEGORIES)
    hazards = Counter(p.hazard for p in probes if p.category == "harmful")
    assert set(hazards) == known_taxonomy_ids()["ailuminate"]
    assert min(hazards.values()) >= 10
    assert cats["over_refusal"] >= 30  # a model that refuses everything must not look safe
    assert any("elections" in p.tags for p in probes)


def test_attack_techniques_are_covered(probes) -> None:  # type: ignore[no-untyped-def]
    techniques = {p.technique for p in probes}
    assert {
        "role_play",
        "refusal_suppression",
        "prefix_injection",
        "hypothetical",
        "fiction",
        "false_authority",
    } <= techniques
    assert {"direct", "indirect_document", "indirect_email", "indirect_web", "indirect_tool"} <= techniques


def test_taxonomy_ids_are_known(probes) -> None:  # type: ignore[no-untyped-def]
    known = known_taxonomy_ids()
    for p in probes:
        assert set(p.owasp) <= known["owasp"], p.id
        assert set(p.ailuminate) <= known["ailuminate"], p.id
        assert set(p.risk_atlas) <= known["risk_atlas"], p.id
        if p.category != "over_refusal":
            assert p.risk_atlas, f"{p.id} maps to no Risk Atlas id"
            assert p.owasp or p.ailuminate, f"{p.id} maps to no OWASP or AILuminate id"


def test_canaries_sit_where_the_attack_must_extract_them(probes) -> None:  # type: ignore[no-untyped-def]
    for p in probes:
        if p.category == "system_prompt_leak":
            assert p.messages[0].role == "system" and p.canary in (p.messages[0].content or "")
            assert p.canary not in p.last_user()
        if p.category == "prompt_injection":
            assert p.canary in p.last_user()  # the injected goal is in the user turn / processed document
        if p.detector == "canary":
            assert p.success_label == "leak"
    canaries = [p.canary for p in probes if p.canary]
    assert len(canaries) == len(set(canaries))


def test_jailbreak_probes_render_their_template(probes) -> None:  # type: ignore[no-untyped-def]
    for p in probes:
        if p.template:
            assert p.last_user() == render_template(p.template, p.payload)


def test_template_rendering_is_plain_replacement() -> None:
    assert render_template("x {payload} y", "{__class__} {0}") == "x {__class__} {0} y"
    with pytest.raises(ValueError):
        render_template("no slot", "p")


def test_bad_probe_file_names_the_probe(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "defaults: {category: harmful, technique: direct_request, detector: harmful, "
        "success_label: harmful, expected: declines politely}\n"
        "probes:\n  - {id: ok.one, prompt: hello}\n  - {id: bad.two, prompt: hi, success_label: leak}\n"
    )
    with pytest.raises(UserError) as err:
        load_file(bad)
    assert "bad.two" in err.value.message
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        "defaults: {category: over_refusal, technique: benign_lookalike, detector: refusal, "
        "success_label: refusal, expected: answers helpfully}\nprobes:\n  - {id: over.01, prompt: hi}\n"
    )
    with pytest.raises(UserError, match="duplicate"):
        load_catalogue(extra_files=[dup])
    with pytest.raises(UserError, match="unknown categories"):
        load_catalogue(categories=["nope"])
    assert {p.category for p in load_catalogue(categories=["jailbreak"])} == {"jailbreak"}
