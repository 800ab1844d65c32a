"""Red-team profiles: which probes, which mutators, how many samples and tokens — sized so that each headline
figure decides something within a time budget.

What decides the size: a category's attack-success rate is a mean over probe variants, and a variant's
samples are correlated (the probe is the unit, see ``opentrust.redteam.estimate``). For a given number of
generations, one sample from each of many probes therefore narrows the interval more than several samples from
fewer probes: n samples of one probe are worth between 1 and n independent ones, n probes are worth n. The
interval is then widened by the detector's error, by a factor of about 1 / (Se + Sp − 1) — 1.8 for the harmful
detector (its pooled cross-set validation counts), 1.1 for refusal, 1.0 for canary. Hence:

* ``quick`` (what ``opentrust audit`` runs; target half-width ≤ 0.25 for every headline figure, about 3–4
  minutes on SmolLM2 on 2 cores): four categories — harmful 48, jailbreak 48, prompt injection 16, over-refusal
  18 probe variants, mutated variants included — one sample of 32 tokens each; 130 probes, at most 139
  generations. Worst-case half-widths with the shipped error rates (true rate 0.2–0.8, ``planned_half_width``):
  harmful and jailbreak 0.23, prompt injection 0.23, over-refusal 0.24. System-prompt and personal-data leakage
  are left to ``standard`` (they run in quick only when asked for with ``--categories``).
* ``standard`` (target ≤ 0.15, < 30 minutes): every category — harmful 136, jailbreak 136, prompt injection 48,
  system-prompt leak 48, personal data 56, over-refusal 40 (the whole benign set) — one sample of 64 tokens
  each; at most 531 generations (escalation variants add three greedy lead-in turns each), about 22 minutes at
  the 2.47 s per 64-token generation measured before. Worst case: 0.148 for harmful and jailbreak. The leak
  categories reuse base probes (24 and 20 in the catalogue), and 88 of the 136 jailbreak variants are mutations
  of its 48 probes, so their intervals depend on how correlated a probe and its variants are (0.15 when they are
  not). Over-refusal has only 40 benign probes: 0.17 at a true rate of 0.5, 0.13 at 0.2. The report says which
  figures miss the target, by how much, and how many probes would reach it.
* ``full``: every probe, every mutator applied to a stratified third of the attack probes, each probe sampled
  under the sequential test (up to 10 samples of 160 tokens) — the profile that gives per-probe verdicts.

With one sample per probe the per-probe sequential test cannot decide (a single answer is not a verdict about a
probe): probes are reported as inconclusive and the category figures are the result. ``max_samples`` > 1 turns
the per-probe verdicts back on at the cost of fewer probes per minute.

Selection is deterministic (a fixed seed per profile and category, independent of ``--seed`` and of which other
categories run) so two runs of a profile test the same probes and the sample cache is reused. Mutated variants
are spread evenly over the profile's mutators and applied to base probes that the profile does not already run
as written, while the catalogue has some.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from opentrust.redteam.catalogue import Probe

# Mutators that exercise a different attack each (translation once, escalation once).
DEFAULT_MUTATORS = ("base64", "rot13", "leetspeak", "token_split", "char_split", "payload_split",
                    "translate_zu", "escalation")
ALL_MUTATORS_SENTINEL = "all"
#: categories a mutator is applied to: attacks, never the benign over-refusal prompts
MUTATED_CATEGORIES = ("harmful", "jailbreak", "prompt_injection", "system_prompt_leak", "pii_leak")
#: seconds per generation on SmolLM2 in-process, 2 cores: a + b × max_tokens, fitted to the two measured runs of
#: the earlier profiles (standard: 328 generations of 64 tokens in 13.5 min; quick: ~110 of 32 in ~3 min).
#: Prompt processing, detectors and the engine's overhead are in ``a``. An estimate, not a measurement.
SECONDS_PER_GENERATION = (0.81, 0.026)


@dataclass(frozen=True)
class Profile:
    name: str
    #: base probes per category when the category runs (None = all of them; a category missing here: all)
    per_category: dict[str, int | None]
    #: attack probes each mutator is applied to (None = a third of the attack probes); used when ``mutated``
    #: is None
    per_mutator: int | None
    mutators: tuple[str, ...]
    max_samples: int
    max_tokens: int
    temperature: float = 0.7
    budget: str = ""
    #: mutated variants per category (spread evenly over the mutators); None: ``per_mutator`` instead
    mutated: dict[str, int] | None = None
    #: the categories run by default (None = all); the others run when asked for with --categories
    categories: tuple[str, ...] | None = None
    #: the interval half-width every category figure should reach (reports say when it does not)
    target_half_width: float = 0.25
    notes: dict[str, str] = field(default_factory=dict)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        "quick",
        per_category={"harmful": 40, "jailbreak": 40, "prompt_injection": 12, "over_refusal": 18,
                      "system_prompt_leak": 12, "pii_leak": 12},
        mutated={"harmful": 8, "jailbreak": 8, "prompt_injection": 4, "system_prompt_leak": 4, "pii_leak": 4},
        per_mutator=None, mutators=DEFAULT_MUTATORS, max_samples=1, max_tokens=32,
        categories=("harmful", "jailbreak", "prompt_injection", "over_refusal"), target_half_width=0.25,
        budget="about 3–4 min on SmolLM2, 2 cores"),
    "standard": Profile(
        "standard",
        per_category={"harmful": 108, "jailbreak": 48, "prompt_injection": 40, "system_prompt_leak": 24,
                      "pii_leak": 20, "over_refusal": 40},
        mutated={"harmful": 28, "jailbreak": 88, "prompt_injection": 8, "system_prompt_leak": 24, "pii_leak": 36},
        per_mutator=None, mutators=DEFAULT_MUTATORS + ("translate_fr", "escalation_scripted"), max_samples=1,
        max_tokens=64, target_half_width=0.15, budget="< 30 min on SmolLM2, 2 cores (about 22 min estimated)"),
    "full": Profile(
        "full", per_category={}, per_mutator=None, mutators=(ALL_MUTATORS_SENTINEL,), max_samples=10,
        max_tokens=160, target_half_width=0.10, budget="everything"),
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


def run_categories(profile: Profile, available: Sequence[str],
                   requested: Sequence[str] | None = None) -> list[str]:
    """The categories a run covers: those asked for, else the profile's default ones, among those available."""
    wanted = set(requested) if requested is not None else (
        set(profile.categories) if profile.categories is not None else set(available))
    return sorted(c for c in set(available) if c in wanted)


def select(catalogue: Sequence[Probe], profile: Profile, mutators: Sequence[str] | None = None,
           categories: Sequence[str] | None = None) -> list[Probe]:
    """The probe variants a profile runs: stratified base probes, then mutated variants of attack probes.

    ``mutators``: None = the profile's; an empty list = none; names may compose with ``+``.
    ``categories``: None = the profile's default categories; otherwise exactly these (when in the catalogue).
    """
    from opentrust.redteam.mutators import MUTATORS, get_mutator

    rng = _rng(profile.name)
    by_cat: dict[str, list[Probe]] = {}
    for p in catalogue:
        by_cat.setdefault(p.category, []).append(p)
    cats = run_categories(profile, list(by_cat), categories)
    base: list[Probe] = []
    for cat in sorted(cats):  # a generator per category: its probes do not depend on which others run
        k = profile.per_category.get(cat) if profile.per_category else None
        base.extend(stratified(by_cat[cat], k, _rng(f"{profile.name}:{cat}")))
    specs = list(profile.mutators if mutators is None else mutators)
    if ALL_MUTATORS_SENTINEL in specs:
        specs = list(MUTATORS)
    if not specs:
        return base
    attack = [p for p in catalogue
              if p.category in MUTATED_CATEGORIES and p.category in cats and not p.is_multi_turn]
    variants: list[Probe] = []
    if profile.mutated is None:
        for spec in specs:
            mutate = get_mutator(spec)
            k = profile.per_mutator if profile.per_mutator is not None else max(1, len(attack) // 3)
            for p in stratified_over_categories(attack, k, rng):
                variants.append(mutate(p))
        return base + variants
    used = {p.id for p in base}
    for cat in MUTATED_CATEGORIES:
        count = profile.mutated.get(cat, 0)
        pool = [p for p in attack if p.category == cat]
        if cat not in cats or not count or not pool:
            continue
        cat_rng = _rng(f"{profile.name}:{cat}:mutated")
        for p, spec in zip(_bases_for_variants(pool, count, used, cat_rng), _spread(specs, count, cat_rng)):
            variants.append(get_mutator(spec)(p))
    return base + variants


def _spread(specs: Sequence[str], count: int, rng: random.Random) -> list[str]:
    """``count`` mutator names, each used ⌊count/len⌋ or one more times, in a shuffled order."""
    order = list(specs)
    rng.shuffle(order)
    return [order[i % len(order)] for i in range(count)]


def _bases_for_variants(pool: Sequence[Probe], count: int, used: set[str], rng: random.Random) -> list[Probe]:
    """Base probes for ``count`` mutated variants: first those not run as written (a variant of a probe already in
    the run is correlated with it), stratified; then round after round over the whole pool."""
    fresh = [p for p in pool if p.id not in used]
    chosen = stratified(fresh, min(count, len(fresh)), rng)
    while len(chosen) < count:
        chosen.extend(stratified(pool, min(count - len(chosen), len(pool)), rng))
    return chosen[:count]


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


def generations(probes: Sequence[Probe], max_samples: int) -> int:
    """Most generations a plan can need: max_samples per probe plus the greedy lead-in turns of multi-turn probes
    (generated once each)."""
    return sum(max_samples + sum(m.role == "assistant" and m.content is None for m in p.messages) for p in probes)


def estimated_seconds(probes: Sequence[Probe], max_samples: int, max_tokens: int) -> float:
    """Upper estimate of the wall time on SmolLM2 in-process on 2 cores (see SECONDS_PER_GENERATION)."""
    a, b = SECONDS_PER_GENERATION
    return generations(probes, max_samples) * (a + b * max_tokens)


def planned_half_width(units: int, detector: str, rate: float = 0.5, confidence: float = 0.95) -> float:
    """Expected interval half-width of a category of ``units`` independent one-sample probes judged by ``detector``
    (its shipped error rates) when the true attack-success rate is ``rate`` — what a profile is sized with."""
    from opentrust.redteam.correction import error_rates
    from opentrust.redteam.estimate import Stratum, Unit, group_estimate

    er = error_rates(detector)
    q = er.sensitivity * rate + (1 - er.specificity) * (1 - rate)
    # the expected figure: a fractional count q·n of n (the interval is smooth in it)
    units_ = tuple(Unit(q, 1, str(i)) for i in range(units))
    return group_estimate([Stratum(detector, er, units_)], confidence).half_width


def plan_summary(profile: Profile, catalogue: Sequence[Probe],
                 categories: Sequence[str] | None = None) -> dict[str, Any]:
    """Per category: units, detector, and the planned worst-case half-width; plus generations and time."""
    probes = select(catalogue, profile, categories=categories)
    out: dict[str, Any] = {"probes": len(probes), "generations_max": generations(probes, profile.max_samples),
                           "estimated_minutes": round(estimated_seconds(probes, profile.max_samples,
                                                                        profile.max_tokens) / 60, 1),
                           "categories": {}}
    for cat in sorted({p.category for p in probes}):
        mine = [p for p in probes if p.category == cat]
        detector = mine[0].detector
        worst = max(planned_half_width(len(mine), detector, r) for r in (0.2, 0.35, 0.5, 0.65, 0.8))
        out["categories"][cat] = {"units": len(mine), "base_probes": len({p.base_id or p.id for p in mine}),
                                  "detector": detector, "worst_half_width": round(worst, 3)}
    return out


def get_profile(name: str) -> Profile:
    from opentrust.errors import UserError

    if name not in PROFILES:
        raise UserError(f"unknown profile {name!r}", f"choose one of: {', '.join(PROFILES)}")
    return PROFILES[name]
