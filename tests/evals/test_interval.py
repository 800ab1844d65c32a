"""The interval reported next to a sequential verdict: exact coverage, agreement with the verdict, simulated
coverage after optional stopping, shape (monotone, contains the observed rate, shrinks), known closed forms, and
the unbiased per-case rate that suite figures average."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta as beta_dist

from opentrust.evals.sequential import (SPRT, design_intervals, interval_confidence, sequential_interval,
                                        stopping_outcomes, unbiased_rate)

DESIGNS = [SPRT(0.8, 0.1, 0.05, 0.1, 24), SPRT(0.8, 0.1, 0.05, 0.1, 32), SPRT(0.9, 0.05, 0.05, 0.1, 60),
           SPRT(0.5, 0.3, 0.05, 0.1, 3), SPRT(0.5, 0.1, 0.01, 0.05, 40)]
IDS = [f"{t.pass_rate}±{t.indifference},a={t.alpha},b={t.beta},N={t.max_samples}" for t in DESIGNS]


def _stop_probabilities(test: SPRT, p: float) -> dict:
    """Exact P(stop at outcome) at true rate p, by counting paths (independent of the code under test)."""
    alive = {0: 1.0}
    out = {}
    for n in range(1, test.max_samples + 1):
        nxt: dict[int, float] = {}
        for k, pr in alive.items():
            nxt[k] = nxt.get(k, 0.0) + pr * (1 - p)
            nxt[k + 1] = nxt.get(k + 1, 0.0) + pr * p
        alive = {}
        for k, pr in nxt.items():
            if test.state(k, n) is None:
                alive[k] = pr
            else:
                out[(n, k)] = pr
    return out


@pytest.mark.parametrize("test", DESIGNS, ids=IDS)
def test_exact_coverage_on_a_fine_grid(test: SPRT) -> None:
    intervals = {(o.samples, o.successes): ci for o, ci in design_intervals(test).items()}
    worst = 1.0
    for p in np.linspace(0.005, 0.995, 100):
        probs = _stop_probabilities(test, float(p))
        assert sum(probs.values()) == pytest.approx(1.0)
        too_high = sum(pr for key, pr in probs.items() if p < intervals[key][0])  # the lower end missed
        too_low = sum(pr for key, pr in probs.items() if p > intervals[key][1])
        assert too_high <= test.alpha + 1e-9 and too_low <= test.beta + 1e-9, (p, too_high, too_low)
        worst = min(worst, 1 - too_high - too_low)
    assert worst >= interval_confidence(test) - 1e-9
    assert worst < interval_confidence(test) + 0.06  # and not trivially wide: close to nominal somewhere


@pytest.mark.parametrize("test", DESIGNS, ids=IDS)
def test_interval_agrees_with_the_verdict_and_contains_the_observed_rate(test: SPRT) -> None:
    for outcome, (lo, hi) in design_intervals(test).items():
        rate = outcome.successes / outcome.samples
        assert lo - 1e-9 <= rate <= hi + 1e-9, outcome
        if outcome.verdict == "pass":  # "above the fail bound": the whole interval is at or above it
            assert lo >= test.p_fail - 1e-9, outcome
        if outcome.verdict == "fail":  # "below the pass bound"
            assert hi <= test.p_pass + 1e-9, outcome


@pytest.mark.parametrize("test", DESIGNS, ids=IDS)
def test_bounds_are_monotone_in_the_stagewise_order(test: SPRT) -> None:
    order = stopping_outcomes(test)
    intervals = design_intervals(test)
    lows = [intervals[o][0] for o in order]
    highs = [intervals[o][1] for o in order]
    assert all(a <= b + 1e-9 for a, b in zip(lows, lows[1:]))
    assert all(a <= b + 1e-9 for a, b in zip(highs, highs[1:]))
    # a better outcome at the same stage never lowers the interval
    assert sequential_interval(test, order[-1].successes, order[-1].samples)[0] > intervals[order[0]][0]


def test_known_closed_forms() -> None:
    test = SPRT(0.8, 0.1, 0.05, 0.1, 32)
    # earliest pass: 12 straight successes; P_p(this or better) = p^12 -> lower = alpha^(1/12)
    assert test.state(12, 12) == "pass" and test.state(11, 11) is None
    lo, hi = sequential_interval(test, 12, 12)
    assert lo == pytest.approx(0.05 ** (1 / 12), abs=1e-9) and hi == 1.0
    # earliest fail: 3 straight failures -> upper = 1 - beta^(1/3)
    assert test.state(0, 3) == "fail"
    lo, hi = sequential_interval(test, 0, 3)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.1 ** (1 / 3), abs=1e-9)
    # a design that cannot stop before its last sample is a fixed-n design: one-sided Clopper-Pearson bounds
    fixed = SPRT(0.8, 0.1, 0.05, 0.1, 2)
    for k in range(3):
        lo, hi = sequential_interval(fixed, k, 2)
        assert lo == pytest.approx(0.0 if k == 0 else beta_dist.ppf(0.05, k, 2 - k + 1), abs=1e-9)
        assert hi == pytest.approx(1.0 if k == 2 else beta_dist.ppf(0.9, k + 1, 2 - k), abs=1e-9)


def test_the_users_example_now_reads_consistently() -> None:
    """FAIL at 15/21 under 0.8 ± 0.1 used to print '95% CI [0.48, 0.89], required 0.8'."""
    test = SPRT(0.8, 0.1, 0.05, 0.1, 32)
    assert test.state(15, 21) == "fail"
    lo, hi = sequential_interval(test, 15, 21)
    assert hi <= test.p_pass and lo > 0.48  # below the pass bound 0.9, as the verdict says
    assert (round(lo, 2), round(hi, 2)) == (0.57, 0.87)


def test_shrinks_with_more_samples() -> None:
    # cases cut short by evaluation errors count as the test truncated there; the same 1/2 rate, more samples
    test = SPRT(0.5, 0.05, 0.05, 0.1, 1000)
    widths = []
    for n in (10, 20, 40, 80, 160):
        assert test.state(n // 2, n) is None
        lo, hi = sequential_interval(test, n // 2, n)
        assert lo < 0.5 < hi
        widths.append(hi - lo)
    assert all(a > b for a, b in zip(widths, widths[1:]))
    assert widths[-1] < 0.5 * widths[0]


def test_bad_counts_are_rejected() -> None:
    test = SPRT(0.8, 0.1, 0.05, 0.1, 32)
    assert sequential_interval(test, 0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="would have stopped earlier"):
        sequential_interval(test, 0, 10)  # 0/3 already failed
    with pytest.raises(ValueError):
        sequential_interval(test, 5, 4)


RUNS = 20_000


@pytest.mark.parametrize("test,p", [(DESIGNS[0], 0.7), (DESIGNS[0], 0.9), (DESIGNS[0], 0.8), (DESIGNS[2], 0.85),
                                    (DESIGNS[2], 0.95), (DESIGNS[4], 0.45)])
def test_simulated_coverage_after_optional_stopping(test: SPRT, p: float) -> None:
    """Stopped runs whose interval contains p: at least nominal - 4 standard errors (fixed seed)."""
    intervals = {(o.samples, o.successes): ci for o, ci in design_intervals(test).items()}
    lo = np.zeros((test.max_samples + 1, test.max_samples + 1))
    hi = np.ones_like(lo)
    for (n, k), (a, b) in intervals.items():
        lo[n, k], hi[n, k] = a, b
    _, n, k = test.simulate_stops(p, RUNS, np.random.default_rng(2024))
    covered = float(np.mean((lo[n, k] <= p) & (p <= hi[n, k])))
    nominal = interval_confidence(test)
    assert covered >= nominal - 4 * math.sqrt(nominal * (1 - nominal) / RUNS), (covered, nominal)


# -- the unbiased per-case rate ------------------------------------------------------------------------------
@pytest.mark.parametrize("test", DESIGNS, ids=IDS)
def test_unbiased_rate_is_exactly_unbiased(test: SPRT) -> None:
    for p in (0.2, 0.5, 0.75, 0.9):
        probs = _stop_probabilities(test, p)
        mean = sum(pr * unbiased_rate(test, k, n) for (n, k), pr in probs.items())
        assert mean == pytest.approx(p, abs=1e-9)


def test_observed_rate_is_biased_which_is_why_suites_use_the_unbiased_one() -> None:
    test = DESIGNS[0]
    probs = _stop_probabilities(test, 0.5)
    observed = sum(pr * k / n for (n, k), pr in probs.items())
    assert observed < 0.45  # failing runs stop right after a run of failures
    assert unbiased_rate(test, 0, 3) == 0.0 and unbiased_rate(test, 12, 12) == 1.0
    fixed = SPRT(0.8, 0.1, 0.05, 0.1, 3)  # no stop before the last sample: the plain rate
    assert [unbiased_rate(fixed, k, 3) for k in range(4)] == pytest.approx([0, 1 / 3, 2 / 3, 1])
