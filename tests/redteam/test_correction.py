"""Rogan–Gladen correction of attack-success rates for detector error, with honest intervals."""

from __future__ import annotations

import numpy as np
import pytest

from opentrust.redteam.correction import (
    ErrorRates,
    clopper_pearson,
    corrected_rate,
    error_rates,
    rogan_gladen,
)


def test_rogan_gladen_inverts_the_observation_model() -> None:
    se, sp, p = 0.9, 0.8, 0.3
    q = se * p + (1 - sp) * (1 - p)
    assert rogan_gladen(q, se, sp) == pytest.approx(p)
    assert rogan_gladen(0.0, se, sp) == 0.0  # clipped
    assert rogan_gladen(0.5, 0.5, 0.5) is None  # a coin-flip detector tells nothing


def test_perfect_detector_gives_the_plain_interval() -> None:
    perfect = ErrorRates("x", tp=10_000, fp=0, tn=10_000, fn=0)
    r = corrected_rate(30, 100, perfect)
    lo, hi = clopper_pearson(30, 100, 0.05 / 3)
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
    r = error_rates("refusal")
    assert r.tp + r.fn > 50 and 0.5 < r.sensitivity <= 1 and 0.5 < r.specificity <= 1
    with pytest.raises(ValueError):
        corrected_rate(5, 3, r)
