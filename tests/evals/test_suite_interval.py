"""A suite's pass rate: mean of per-case unbiased rates with a binomial interval over cases, and the
'insufficient evidence' rule that keeps figures that decide nothing out of the results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from opentrust.evals.runner import CaseResult, summarize
from opentrust.evals.sequential import SPRT, interval_confidence, sequential_interval
from opentrust.stats import clopper_pearson_interval, evidence, mean_rate_interval


def test_reduces_to_clopper_pearson_when_cases_pass_all_or_nothing() -> None:
    for cases, passing in ((20, 0), (20, 7), (12, 12), (3, 1)):
        mean, ci = mean_rate_interval([1.0] * passing + [0.0] * (cases - passing))
        assert mean == pytest.approx(passing / cases)
        assert ci == pytest.approx(clopper_pearson_interval(passing, cases))


def test_never_collapses_to_a_point() -> None:
    """All cases at 0: a t interval says [0, 0]; this one says how high the suite rate could still be."""
    _, ci = mean_rate_interval([0.0] * 20)
    assert ci is not None and ci[0] == 0.0 and 0.1 < ci[1] < 0.2
    _, ci = mean_rate_interval([1.0] * 3)
    assert ci is not None and ci[1] == 1.0 and ci[0] < 0.3


@pytest.mark.parametrize("cases", [5, 12, 20])
def test_exact_coverage_over_two_point_populations(cases: int) -> None:
    """Case rates drawn from {a, b}: coverage computed exactly over the binomial count of b's, never below 95%."""
    worst = 1.0
    count = np.arange(cases + 1)
    grid = np.linspace(0, 1, 11)
    for a in grid:
        for b in grid[grid > a]:
            for w in (0.05, 0.2, 0.5, 0.8, 0.95):
                mu = a + (b - a) * w
                covered = 0.0
                for j in count:
                    _, (lo, hi) = mean_rate_interval([float(b)] * int(j) + [float(a)] * (cases - int(j)))  # type: ignore[misc]
                    covered += binom.pmf(j, cases, w) * (lo - 1e-12 <= mu <= hi + 1e-12)
                worst = min(worst, covered)
    assert worst >= 0.95 - 1e-9


def test_simulated_coverage_with_a_few_samples_per_case() -> None:
    """Cases with rates from a U-shaped beta population, 3 samples each (the audit's quick profile)."""
    rng = np.random.default_rng(99)
    runs, cases = 3000, 20
    for mu in (0.05, 0.3, 0.6, 0.9):
        rates = rng.beta(mu * 0.6, (1 - mu) * 0.6, size=(runs, cases))
        observed = rng.binomial(3, rates) / 3
        hits = 0
        for row in observed:
            _, (lo, hi) = mean_rate_interval(row.tolist())  # type: ignore[misc]
            hits += lo <= mu <= hi
        assert hits / runs >= 0.95 - 4 * math.sqrt(0.95 * 0.05 / runs), (mu, hits / runs)


def test_evidence_rule() -> None:
    assert evidence(0.5, (0.3, 0.7), 20) == "sufficient"
    assert evidence(0.5, (0.2, 0.8), 20) == "insufficient"  # half-width 0.3
    assert evidence(0.0, (0.0, 0.0), 1) == "insufficient"  # one unit decides nothing, however narrow
    assert evidence(0.5, None, 10) == "insufficient"
    assert evidence(10.0, (6.0, 14.0), 20, unit="s") == "sufficient"  # ±40% of the value
    assert evidence(10.0, (4.0, 16.0), 20, unit="s") == "insufficient"  # ends a factor of 4 apart


def _case(cid: str, k: int, n: int, test: SPRT) -> CaseResult:
    verdict = test.state(k, n) or "inconclusive"
    req = {"pass_rate": test.pass_rate, "indifference": test.indifference, "alpha": test.alpha, "beta": test.beta,
           "max_samples": test.max_samples}
    return CaseResult(id=cid, suite="s", verdict=verdict, pass_rate=k / n, ci=sequential_interval(test, k, n),
                      confidence=interval_confidence(test), samples=n, successes=k, draws=n, errors=0, llr=0.0,
                      require=req)


def test_summary_flags_three_cases_and_trusts_twenty() -> None:
    quick = SPRT(0.8, 0.1, 0.05, 0.1, 3)
    three = summarize([_case("a", 3, 3, quick), _case("b", 0, 3, quick), _case("c", 2, 3, quick)])
    assert three["evidence"] == "insufficient" and three["units"] == 3
    assert three["pass_rate"] == pytest.approx(5 / 9, abs=1e-4) and three["ci"] is not None  # numbers kept
    twenty = summarize([_case(str(i), k, 3, quick) for i, k in enumerate([3, 0, 2, 3, 3, 1, 0, 3, 3, 2] * 2)])
    assert twenty["evidence"] == "sufficient" and (twenty["ci"][1] - twenty["ci"][0]) / 2 <= 0.25


def test_summary_averages_unbiased_rates_not_observed_ones() -> None:
    test = SPRT(0.8, 0.1, 0.05, 0.1, 24)
    # a late fail: observed 15/21 = 0.714, but the unbiased estimate is higher (the stop came right after failures)
    s = summarize([_case("late-fail", 15, 21, test), _case("early-pass", 12, 12, test)])
    assert s["pass_rate"] > (15 / 21 + 1) / 2
