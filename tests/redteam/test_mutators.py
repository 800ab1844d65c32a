"""Mutators: pure, composable, named; decoding the attack gives back the payload."""

from __future__ import annotations

import base64
import codecs
import re

import pytest

from opentrust.errors import UserError
from opentrust.redteam.catalogue import load_catalogue
from opentrust.redteam.mutators import (
    LEET,
    MUTATORS,
    TRANSLATION_TEMPLATES,
    compose,
    escalation,
    get_mutator,
    sample_mutated,
)


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    return {p.id: p for p in load_catalogue()}


@pytest.fixture
def plain(catalogue):  # type: ignore[no-untyped-def]
    return catalogue["harm.nonviolent-crimes.01"]


@pytest.fixture
def templated(catalogue):  # type: ignore[no-untyped-def]
    return catalogue["jb.role-play.01.a"]


def test_base64_decodes_to_the_payload(plain, templated) -> None:  # type: ignore[no-untyped-def]
    m = MUTATORS["base64"](plain)
    encoded = m.last_user().splitlines()[-1]
    assert base64.b64decode(encoded).decode() == plain.last_user()
    j = MUTATORS["base64"](templated)
    assert base64.b64decode(j.payload).decode() == templated.payload
    assert j.last_user().count("DAN") == 2  # the template stays readable; only the payload is encoded


def test_rot13_and_leetspeak(plain) -> None:  # type: ignore[no-untyped-def]
    r = MUTATORS["rot13"](plain)
    assert codecs.decode(r.last_user().splitlines()[-1], "rot13") == plain.last_user()
    leet = MUTATORS["leetspeak"](plain)
    assert leet.last_user() == plain.last_user().translate(LEET) != plain.last_user()


def test_character_and_token_splitting_rejoin(plain) -> None:  # type: ignore[no-untyped-def]
    c = MUTATORS["char_split"](plain).last_user().splitlines()[-1]
    assert (
        " / ".join(w.replace(" ", "") for w in c.split(" / "))
        and " ".join(w.replace(" ", "") for w in c.split(" / ")) == plain.last_user()
    )
    t = MUTATORS["token_split"](plain).last_user().splitlines()[-1]
    assert " ".join(w.replace("-", "") for w in t.split(" ")) == plain.last_user().replace("-", "")
    assert all(len(part) <= 3 for w in t.split(" ") if len(w) > 3 for part in w.split("-"))


def test_payload_split_reassembles(plain) -> None:  # type: ignore[no-untyped-def]
    text = MUTATORS["payload_split"](plain).last_user()
    parts = dict(re.findall(r'^([a-z]) = "(.*)"$', text, flags=re.M))
    assert list(parts) == ["a", "b"]
    assert parts["a"] + " " + parts["b"] == plain.last_user()
    assert plain.last_user() not in text


@pytest.mark.parametrize("lang", sorted(TRANSLATION_TEMPLATES))
def test_translation_templates(plain, lang: str) -> None:  # type: ignore[no-untyped-def]
    m = MUTATORS[f"translate_{lang}"](plain)
    assert m.last_user() == TRANSLATION_TEMPLATES[lang].replace("{payload}", plain.last_user())
    assert m.mutators == (f"translate_{lang}",)


def test_escalation_is_multi_turn(catalogue) -> None:  # type: ignore[no-untyped-def]
    leak = catalogue["leak.system.01"]
    m = MUTATORS["escalation"](leak)
    roles = [x.role for x in m.messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user", "assistant", "user"]
    assert all(x.content is None for x in m.messages if x.role == "assistant")  # generated at run time
    assert m.last_user() == leak.last_user() and m.is_multi_turn and m.canary == leak.canary
    s = escalation(["turn one"], scripted_replies=["Sure!"])(leak)
    assert [x.content for x in s.messages[1:3]] == ["turn one", "Sure!"]
    with pytest.raises(UserError):
        escalation([])


def test_mutation_is_pure_and_recorded(plain) -> None:  # type: ignore[no-untyped-def]
    before = plain.model_dump()
    m = MUTATORS["rot13"](plain)
    assert plain.model_dump() == before
    assert m.id == f"{plain.id}~rot13" and m.base_id == plain.id and m.mutators == ("rot13",)
    assert (m.detector, m.success_label, m.hazard, m.risk_atlas) == (
        plain.detector,
        plain.success_label,
        plain.hazard,
        plain.risk_atlas,
    )


def test_composition_nests_and_records_order(templated) -> None:  # type: ignore[no-untyped-def]
    both = get_mutator("rot13+base64")(templated)
    assert both.mutators == ("rot13", "base64") and both.base_id == templated.id
    inner = base64.b64decode(both.payload).decode()
    assert "ROT13" in inner  # base64 wraps the whole rot13 attack
    assert codecs.decode(inner.splitlines()[-1], "rot13").endswith(templated.payload)
    assert compose(MUTATORS["rot13"], MUTATORS["base64"])(templated) == both


def test_unknown_mutator_and_sampling(catalogue) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UserError):
        get_mutator("rot13+nope")
    probes = list(catalogue.values())[:10]
    a = sample_mutated(probes, ["base64", "leetspeak"], k=5, seed=1)
    assert [p.id for p in a] == [p.id for p in sample_mutated(probes, ["base64", "leetspeak"], k=5, seed=1)]
    assert len(a) == 5 and len({p.id for p in a}) == 5
