"""The attack-success estimate of a group of probes: unbiased under sequential stopping, clustered by probe,
corrected for detector error — and its interval's coverage by simulation (a few points of
benchmarks/redteam_intervals.py, fixed seeds)."""

from __future__ import annotations

import itertools
import math

import pytest

from benchmarks.redteam_intervals import Point, simulate
from opentrust.evals.sequential import SPRT, unbiased_rate
from opentrust.redteam.campaign import REQUIRE
from opentrust.redteam.correction import ErrorRates, lang_reiczigel, z_value
from opentrust.redteam.estimate import Stratum, Unit, effective, group_estimate, precision

PERFECT = ErrorRates("perfect", tp=10**9, fp=0, tn=10**9, fn=0)
HARMFUL_LIKE = ErrorRates("harmful", tp=1769, fp=452, tn=4831, fn=945)
CANARY_LIKE = ErrorRates("canary", tp=40, fp=0, tn=40, fn=0)


def units(rates: list[float], clusters: list[str] | None = None, samples: int = 1) -> tuple[Unit, ...]:
    clusters = clusters or [str(i) for i in range(len(rates))]
    return tuple(Unit(r, samples, c) for r, c in zip(rates, clusters))


# -- step 1: unbiased per-probe rates under the campaign's stopping rule ----------------------------------
@pytest.mark.parametrize("max_samples", [3, 5])
def test_per_probe_rate_is_unbiased_where_the_old_figures_are_not(max_samples: int) -> None:
    """Exact expectations over every answer sequence. The per-probe rate the estimate uses has mean p for every
    p; a probe's own k/n does not; and pooling samples over probes with different rates weights each probe by
    how many samples its test drew, which depends on its rate (vulnerable probes stop after 2, safe ones after 3)."""
    test = SPRT(REQUIRE["pass_rate"], REQUIRE["indifference"], REQUIRE["alpha"], REQUIRE["beta"], max_samples)

    def expectations(p: float) -> tuple[float, float, float, float]:
        rb = ratio = successes = samples = 0.0
        for seq in itertools.product((0, 1), repeat=max_samples):  # 1 = safe answer
            prob = math.prod((1 - p) if s else p for s in seq)
            r = test.run(bool(s) for s in seq)
            rb += prob * (1 - unbiased_rate(test, r.successes, r.samples))
            ratio += prob * (r.samples - r.successes) / r.samples
            successes += prob * (r.samples - r.successes)
            samples += prob * r.samples
        return rb, ratio, successes, samples

    for p in (0.1, 0.3, 0.5, 0.7):
        rb, ratio, _, _ = expectations(p)
        assert rb == pytest.approx(p, abs=1e-12)
        if p == 0.5:
            assert ratio - p > 0.04  # k/n of a sequentially stopped probe is biased (0.54 and 0.56 here)
    # half the probes vulnerable (0.9), half safe (0.1): the group's rate is 0.5
    (_, _, k_hi, n_hi), (_, _, k_lo, n_lo) = expectations(0.9), expectations(0.1)
    assert (k_hi + k_lo) / (n_hi + n_lo) < 0.45  # pooled: the safe probes' extra samples pull it down


# -- step 2: effective sample size ----------------------------------------------------------------------------
def test_one_sample_per_probe_is_a_plain_binomial() -> None:
    e = effective(units([1.0] * 6 + [0.0] * 14))
    assert e.rate == pytest.approx(0.3) and e.n_eff == pytest.approx(20) and e.clusters == 20


def test_correlated_variants_count_as_their_clusters() -> None:
    # 10 base probes, each with 3 variants that behave identically: 10 independent units, not 30
    rates = [1.0] * 12 + [0.0] * 18
    clusters = [str(i // 3) for i in range(30)]
    e = effective(units(rates, clusters))
    assert e.clusters == 10 and e.n_eff == pytest.approx(10, rel=0.01)
    # the same rates with unrelated variants: 30 units
    assert effective(units(rates)).n_eff == pytest.approx(30)


def test_repeated_samples_add_information_only_as_far_as_probes_differ_within() -> None:
    # 20 probes × 4 samples, per-probe rates spread like binomial noise around 0.5: near-independent samples
    spread = [0.25, 0.5, 0.75, 0.5] * 5
    e = effective(units(spread, samples=4))
    assert 20 < e.n_eff <= 80
    # the same probes all-or-nothing: the 4 samples of a probe say what one says
    e1 = effective(units([0.0, 1.0] * 10, samples=4))
    assert e1.n_eff == pytest.approx(20)
    # never more than the samples drawn, never less than the clusters allow
    assert effective(units([0.5] * 20, samples=2)).n_eff == pytest.approx(20)  # no spread: the floor


# -- step 3: the corrected interval -----------------------------------------------------------------------------
def test_one_stratum_is_the_lang_reiczigel_interval() -> None:
    g = group_estimate([Stratum("harmful", HARMFUL_LIKE, units([1.0] * 20 + [0.0] * 28))])
    a = lang_reiczigel(20, 48, HARMFUL_LIKE)
    z = z_value(0.95)
    assert g.estimate == pytest.approx(a.estimate)
    assert g.low == pytest.approx(max(0.0, a.centre - z * math.sqrt(a.variance)))
    assert g.high == pytest.approx(min(1.0, a.centre + z * math.sqrt(a.variance)))
    assert g.observed == pytest.approx(20 / 48) and g.units == 48


def test_detector_error_widens_the_interval_and_moves_the_estimate() -> None:
    same = units([1.0] * 20 + [0.0] * 28)
    perfect = group_estimate([Stratum("perfect", PERFECT, same)])
    harmful = group_estimate([Stratum("harmful", HARMFUL_LIKE, same)])
    assert perfect.estimate == pytest.approx(20 / 48)
    assert harmful.estimate > perfect.estimate  # sensitivity 0.65: the detector misses harmful answers
    factor = harmful.half_width / perfect.half_width
    assert 1.5 < factor < 2.1  # about 1 / (Se + Sp − 1) = 1.77
    assert harmful.half_width_perfect == pytest.approx(perfect.half_width, rel=0.02)


def test_strata_combine_by_probes() -> None:
    a = units([1.0] * 10 + [0.0] * 30)
    b = units([1.0] * 8 + [0.0] * 12)
    ga = group_estimate([Stratum("harmful", HARMFUL_LIKE, a)])
    gb = group_estimate([Stratum("canary", CANARY_LIKE, b)])
    both = group_estimate([Stratum("harmful", HARMFUL_LIKE, a), Stratum("canary", CANARY_LIKE, b)])
    assert both.units == 60
    assert both.estimate == pytest.approx((40 * ga.estimate + 20 * gb.estimate) / 60)
    # variances add with squared weights: narrower than either part, wider than nothing
    assert both.half_width < min(ga.half_width, gb.half_width)
    assert set(both.detectors) == {"harmful", "canary"}


def test_a_safe_looking_group_never_claims_exactly_zero() -> None:
    g = group_estimate([Stratum("canary", CANARY_LIKE, units([0.0] * 48))])
    assert g.estimate == 0.0 and g.low == 0.0 and 0.01 < g.high < 0.15


def test_answers_the_detector_cannot_explain_are_left_uncorrected() -> None:
    # every answer flagged, though the detector finds only 65% of harmful answers: its error does not fit
    g = group_estimate([Stratum("harmful", HARMFUL_LIKE, units([1.0] * 48))])
    assert g.mismatched == ["harmful"]
    assert g.estimate == 1.0 and 0.85 < g.low < 1.0 and g.high == 1.0  # the plain interval of the flags
    fits = group_estimate([Stratum("harmful", HARMFUL_LIKE, units([1.0] * 24 + [0.0] * 24))])
    assert fits.mismatched == []


def test_precision_says_by_how_much_and_why() -> None:
    g = group_estimate([Stratum("harmful", HARMFUL_LIKE, units([1.0] * 8 + [0.0] * 12))])
    p = precision(g, 0.15)
    assert not p["met"] and p["half_width"] > 0.3 and p["detector_factor"] > 1.5
    needed = p["probes_needed"]
    assert needed > 100
    # about that many probes with the same mix do reach the target
    more = group_estimate([Stratum("harmful", HARMFUL_LIKE,
                                   units([1.0] * round(needed * 0.4) + [0.0] * round(needed * 0.6)))])
    assert more.half_width == pytest.approx(0.15, abs=0.015)
    # a small validation set caps what more probes can do
    tiny = ErrorRates("x", tp=8, fp=1, tn=9, fn=2)
    capped = precision(group_estimate([Stratum("x", tiny, units([1.0] * 8 + [0.0] * 12))]), 0.1)
    assert capped["probes_needed"] is None and "more probes cannot" in capped["reason"]
    assert precision(g, 0.5)["met"]


# -- coverage by simulation ---------------------------------------------------------------------------------
REPS = 400
SE = math.sqrt(0.95 * 0.05 / REPS)


@pytest.mark.parametrize("point", [
    Point(0.5, "harmful-like", 44, 0.0, 1),  # the quick profile's harmful category, worst-case rate
    Point(0.05, "canary-like", 16, 0.0, 1),  # small validation set, rare leaks
    Point(0.2, "refusal-like", 44, 0.9, 3),  # strongly clustered, sequential sampling
    Point(0.8, "small-set", 44, 0.5, 3),
], ids=str)
def test_coverage_holds(point: Point) -> None:
    o = simulate(point, REPS, seed=7)
    assert o.cover_new >= 0.95 - 4 * SE, o


def test_the_old_method_fails_under_clustering_where_the_new_one_holds() -> None:
    point = Point(0.5, "refusal-like", 124, 0.9, 3)
    o = simulate(point, REPS, seed=11)
    assert o.cover_old < 0.95 - 4 * SE  # pooled samples, probes as if independent: far too narrow
    assert o.cover_new >= 0.95 - 4 * SE


def test_the_new_interval_is_narrower_for_one_sample_per_probe() -> None:
    o = simulate(Point(0.5, "harmful-like", 44, 0.0, 1), 200, seed=3)
    assert o.half_new < 0.8 * o.half_old and o.half_new <= 0.25


def test_a_detector_no_better_than_chance_leaves_its_share_open() -> None:
    coin = ErrorRates("coin", tp=50, fp=50, tn=50, fn=50)
    alone = group_estimate([Stratum("coin", coin, units([1.0] * 10 + [0.0] * 10))])
    assert not alone.informative and (alone.low, alone.high) == (0.0, 1.0)
    half = group_estimate([Stratum("canary", CANARY_LIKE, units([0.0] * 20)),
                           Stratum("coin", coin, units([1.0] * 10 + [0.0] * 10))])
    assert half.low == 0.0 and half.high >= 0.5  # the coin's half of the probes may all have succeeded
    assert precision(half, 0.25)["reason"].startswith("the detector is not informative")
