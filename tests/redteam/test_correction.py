"""Rogan–Gladen correction of attack-success rates for detector error: the error-rates file (format 2, format 1
still read), the Lang–Reiczigel interval, and the old Clopper–Pearson box kept for comparison."""

from __future__ import annotations

import numpy as np
import pytest

from opentrust.redteam.correction import (
    ErrorRates,
    corrected_rate,
    error_rates,
    rogan_gladen,
)
from opentrust.stats import clopper_pearson_interval


def test_rogan_gladen_inverts_the_observation_model() -> None:
    se, sp, p = 0.9, 0.8, 0.3
    q = se * p + (1 - sp) * (1 - p)
    assert rogan_gladen(q, se, sp) == pytest.approx(p)
    assert rogan_gladen(0.0, se, sp) == 0.0  # clipped
    assert rogan_gladen(0.5, 0.5, 0.5) is None  # a coin-flip detector tells nothing


def test_perfect_detector_gives_the_plain_interval() -> None:
    perfect = ErrorRates("x", tp=10_000, fp=0, tn=10_000, fn=0)
    r = corrected_rate(30, 100, perfect)
    lo, hi = clopper_pearson_interval(30, 100, 1 - 0.05 / 3)
    assert r.estimate == pytest.approx(0.3)
    assert r.low == pytest.approx(lo, abs=2e-3) and r.high == pytest.approx(hi, abs=2e-3)


def test_detector_error_widens_the_interval_and_moves_the_estimate() -> None:
    good = ErrorRates("x", tp=95, fp=5, tn=95, fn=5)
    noisy = ErrorRates("x", tp=70, fp=30, tn=70, fn=30)
    a, b = corrected_rate(50, 100, good), corrected_rate(50, 100, noisy)
    assert (b.high - b.low) > (a.high - a.low)
    fp_heavy = ErrorRates("x", tp=95, fp=20, tn=80, fn=5)
    c = corrected_rate(20, 100, fp_heavy)
    assert c.estimate < 0.2  # false positives inflate the observed rate; the correction removes them
    assert c.low <= c.estimate <= c.high
    useless = ErrorRates("x", tp=5, fp=5, tn=5, fn=5)
    assert (corrected_rate(20, 100, useless).low, corrected_rate(20, 100, useless).high) == (0.0, 1.0)


def test_swapping_labels() -> None:
    r = ErrorRates("refusal", tp=50, fp=2, tn=48, fn=10)
    s = r.for_label("compliance", positive_label="refusal")
    assert (s.sensitivity, s.specificity) == (r.specificity, r.sensitivity)
    assert r.for_label("refusal", positive_label="refusal") is r


def test_interval_covers_the_true_rate() -> None:
    # simulate: a true rate, a detector with known Se/Sp measured on a finite set, many campaigns
    rng = np.random.default_rng(0)
    p_true, se, sp, n, m = 0.25, 0.85, 0.9, 120, 80
    misses = 0
    trials = 300
    for _ in range(trials):
        tp = rng.binomial(m, se)
        tn = rng.binomial(m, sp)
        rates = ErrorRates("sim", tp=tp, fn=m - tp, tn=tn, fp=m - tn)
        truth = rng.random(n) < p_true
        said = np.where(truth, rng.random(n) < se, rng.random(n) < 1 - sp)
        r = corrected_rate(int(said.sum()), n, rates)
        misses += not (r.low <= p_true <= r.high)
    assert misses / trials <= 0.05


def test_shipped_error_rates_load() -> None:
    from opentrust.redteam.correction import load_error_rates

    assert load_error_rates()["format"] == "opentrust-detector-error-rates/2"
    for name in ("refusal", "harmful", "canary", "pii"):
        r = error_rates(name)
        assert r.sets, f"{name}: the validation sets must be named"
        assert r.positives > 30 and r.negatives > 30 and 0.5 < r.sensitivity <= 1 and 0.5 < r.specificity <= 1
        info = r.to_json()
        assert info["n"] == r.positives + r.negatives
        assert info["sensitivity_ci"][0] <= info["sensitivity"] <= info["sensitivity_ci"][1]
    with pytest.raises(ValueError):
        corrected_rate(5, 3, error_rates("refusal"))


def test_reads_format_2_and_still_format_1() -> None:
    from opentrust.errors import UserError
    from opentrust.redteam.correction import parse_error_rates

    v2 = {"format": "opentrust-detector-error-rates/2", "detectors": {"refusal": {
        "positive_label": "refusal",
        "pooled": {"counts": {"tp": 90, "fp": 5, "tn": 95, "fn": 10}, "sets": ["a", "b"]},
        "sets": {"a": {"counts": {"tp": 45, "fp": 1, "tn": 49, "fn": 5}, "labelled_by": "people"},
                 "b": {"counts": {"tp": 45, "fp": 4, "tn": 46, "fn": 5}, "labelled_by": "people"}}}}}
    r = parse_error_rates(v2, "refusal")
    assert (r.tp, r.fp, r.tn, r.fn) == (90, 5, 95, 10) and r.sets == ("a", "b")
    assert r.positive_label == "refusal" and r.labelled_by == "people" and dict(r.per_set)["b"] == (45, 4, 46, 5)
    v1 = {"format": "opentrust-detector-error-rates/1", "detectors": {"canary": {
        "positive_label": "leak", "sets": {"dev": {}}, "all": {"counts": {"tp": 20, "fp": 0, "tn": 19, "fn": 1}}}}}
    c = parse_error_rates(v1, "canary")
    assert (c.tp, c.fp, c.tn, c.fn) == (20, 0, 19, 1)
    with pytest.raises(UserError):
        parse_error_rates(v1, "harmful")
    with pytest.raises(UserError):
        parse_error_rates({"detectors": {"pii": {"sets": {}}}}, "pii")


def test_sets_that_disagree_are_flagged() -> None:
    same = ErrorRates("x", 180, 10, 190, 20, sets=("a", "b"),
                      per_set=(("a", (90, 5, 95, 10)), ("b", (90, 5, 95, 10))))
    assert same.set_spread()["sets_disagree"] is False
    apart = ErrorRates("x", 180, 110, 90, 20, sets=("a", "b"),
                       per_set=(("a", (90, 5, 95, 10)), ("b", (90, 105, 5, 10))))  # specificity 0.95 vs 0.05
    spread = apart.set_spread()
    assert spread["sets_disagree"] is True and spread["sets"]["b"]["specificity"] == pytest.approx(0.0455, abs=1e-3)
    assert "per_set" in apart.to_json() and "per_set" not in ErrorRates("x", 1, 1, 1, 1).to_json()


def test_lang_reiczigel_reduces_to_agresti_coull_for_a_perfect_detector() -> None:
    from opentrust.redteam.correction import lang_reiczigel, z_value

    perfect = ErrorRates("x", tp=10**9, fp=0, tn=10**9, fn=0)
    a = lang_reiczigel(30, 100, perfect)
    z = z_value(0.95)
    q = (30 + z * z / 2) / (100 + z * z)
    assert a.informative and a.estimate == pytest.approx(0.3)
    assert a.centre == pytest.approx(q, abs=1e-6)
    assert a.sampling_var == pytest.approx(q * (1 - q) / (100 + z * z), rel=1e-6)
    assert a.detector_var == pytest.approx(0.0, abs=1e-9)


def test_lang_reiczigel_carries_the_validation_set_size() -> None:
    from opentrust.redteam.correction import lang_reiczigel

    big = lang_reiczigel(40, 100, ErrorRates("x", tp=8500, fp=500, tn=9500, fn=1500))
    small = lang_reiczigel(40, 100, ErrorRates("x", tp=85, fp=5, tn=95, fn=15))
    assert big.estimate == pytest.approx(small.estimate)  # same Se and Sp
    assert small.detector_var > 50 * big.detector_var  # 100× fewer validation answers
    assert small.sampling_var == pytest.approx(big.sampling_var, rel=0.05)
    useless = lang_reiczigel(40, 100, ErrorRates("x", tp=5, fp=5, tn=5, fn=5))
    assert not useless.informative
    with pytest.raises(ValueError):
        lang_reiczigel(0, 0, ErrorRates("x", 1, 1, 1, 1))
