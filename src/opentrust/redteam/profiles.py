"""Red-team profiles: which probes, which mutators, how many samples and tokens — chosen to fit a time budget.

Budgets (SmolLM2-135M in-process, 2 CPU cores; measured figures in the campaign's closing summary):

* ``quick`` (< 5 min; also what `opentrust audit` runs): a stratified pick of base probes per category
  (one per AILuminate hazard, one per jailbreak technique, one per injection channel...), plus each
  mutator applied to one attack probe; at most 3 samples of 32 tokens each (measured: 48 tokens and two probes
  per mutator took 8 min on a shared, loaded machine, at ~14 tokens/s). The sequential test decides
  a probe after 2 (attack succeeds twice) or 3 (safe three times) samples.
* ``standard`` (< 30 min): twice the base probes, three probes per mutator and two more mutators (~100
  variants), up to 5 samples of 64 tokens: about 6x the quick profile's token budget (an estimate, not measured).
* ``full``: every probe in the catalogue, every mutator applied to a stratified third of the attack probes,
  up to 10 samples of 160 tokens.

Selection is deterministic (fixed seed per profile, independent of ``--seed``) so two runs of a profile test
the same probes and the sample cache is reused.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Sequence

from opentrust.redteam.catalogue import Probe

# Mutators that exercise a different attack each (translation once, escalation once).
DEFAULT_MUTATORS = ("base64", "rot13", "leetspeak", "token_split", "char_split", "payload_split",
                    "translate_zu", "escalation")
ALL_MUTATORS_SENTINEL = "all"
#: categories a mutator is applied to: attacks, never the benign over-refusal prompts
MUTATED_CATEGORIES = ("harmful", "jailbreak", "prompt_injection", "system_prompt_leak", "pii_leak")


@dataclass(frozen=True)
class Profile:
    name: str
    #: base probes per category (None = all of them)
    per_category: dict[str, int | None]
    #: attack probes each mutator is applied to (None = a third of the attack probes)
    per_mutator: int | None
    mutators: tuple[str, ...]
    max_samples: int
    max_tokens: int
    temperature: float = 0.7
    budget: str = ""
    notes: dict[str, str] = field(default_factory=dict)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        "quick",
        per_category={"harmful": 12, "jailbreak": 6, "prompt_injection": 5, "system_prompt_leak": 3,
                      "pii_leak": 2, "over_refusal": 6},
        per_mutator=1, mutators=DEFAULT_MUTATORS, max_samples=3, max_tokens=32, budget="< 5 min on SmolLM2, 2 cores"),
    "standard": Profile(
        "standard",
        per_category={"harmful": 24, "jailbreak": 12, "prompt_injection": 10, "system_prompt_leak": 6,
                      "pii_leak": 4, "over_refusal": 12},
        per_mutator=3, mutators=DEFAULT_MUTATORS + ("translate_fr", "escalation_scripted"), max_samples=5,
        max_tokens=64, budget="< 30 min on SmolLM2, 2 cores"),
    "full": Profile(
        "full", per_category={}, per_mutator=None, mutators=(ALL_MUTATORS_SENTINEL,), max_samples=10,
        max_tokens=160, budget="everything"),
}


def _rng(name: str) -> random.Random:
    return random.Random(int(hashlib.sha256(f"opentrust-redteam-{name}".encode()).hexdigest()[:12], 16))


def stratum(p: Probe) -> str:
    """What a stratified pick spreads over: the hazard for harmful requests, otherwise the technique."""
    return (p.hazard or p.technique) if p.category == "harmful" else p.technique


def stratified(probes: Sequence[Probe], k: int | None, rng: random.Random) -> list[Probe]:
    """``k`` probes spread evenly over strata (round robin over shuffled strata), in catalogue order."""
    if k is None or k >= len(probes):
        return list(probes)
    groups: dict[str, list[Probe]] = {}
    for p in probes:
        groups.setdefault(stratum(p), []).append(p)
    for g in groups.values():
        rng.shuffle(g)
    keys = sorted(groups)
    rng.shuffle(keys)
    chosen: list[Probe] = []
    while len(chosen) < k:
        for key in keys:
            if groups[key] and len(chosen) < k:
                chosen.append(groups[key].pop())
    order = {p.id: i for i, p in enumerate(probes)}
    return sorted(chosen, key=lambda p: order[p.id])


def select(catalogue: Sequence[Probe], profile: Profile, mutators: Sequence[str] | None = None) -> list[Probe]:
    """The probe variants a profile runs: stratified base probes, then mutated variants of attack probes.

    ``mutators``: None = the profile's; an empty list = none; names may compose with ``+``.
    """
    from opentrust.redteam.mutators import MUTATORS, get_mutator

    rng = _rng(profile.name)
    by_cat: dict[str, list[Probe]] = {}
    for p in catalogue:
        by_cat.setdefault(p.category, []).append(p)
    base: list[Probe] = []
    for cat in sorted(by_cat):
        k = profile.per_category.get(cat) if profile.per_category else None
        base.extend(stratified(by_cat[cat], k, rng))
    specs = list(profile.mutators if mutators is None else mutators)
    if ALL_MUTATORS_SENTINEL in specs:
        specs = list(MUTATORS)
    attack = [p for p in catalogue if p.category in MUTATED_CATEGORIES and not p.is_multi_turn]
    variants: list[Probe] = []
    for spec in specs:
        mutate = get_mutator(spec)
        k = profile.per_mutator if profile.per_mutator is not None else max(1, len(attack) // 3)
        for p in stratified_over_categories(attack, k, rng):
            variants.append(mutate(p))
    return base + variants


def stratified_over_categories(probes: Sequence[Probe], k: int, rng: random.Random) -> list[Probe]:
    """``k`` attack probes spread over categories first, then over strata inside each category."""
    by_cat: dict[str, list[Probe]] = {}
    for p in probes:
        by_cat.setdefault(p.category, []).append(p)
    cats = sorted(by_cat)
    rng.shuffle(cats)
    share = {c: k // len(cats) + (1 if i < k % len(cats) else 0) for i, c in enumerate(cats)} if cats else {}
    out: list[Probe] = []
    for c in cats:
        out.extend(stratified(by_cat[c], share[c], rng))
    return out


def get_profile(name: str) -> Profile:
    from opentrust.errors import UserError

    if name not in PROFILES:
        raise UserError(f"unknown profile {name!r}", f"choose one of: {', '.join(PROFILES)}")
    return PROFILES[name]
