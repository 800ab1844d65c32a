"""The statistics: error rates verified by Monte Carlo (vectorised numpy), exact operating characteristics,
batch planning, fixed-n design, pass@k / pass^k and intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from opentrust.evals.sequential import SPRT, fixed_n_design
from opentrust.stats import clopper_pearson_interval, pass_at_k, pass_hat_k, wilson_interval

RUNS = 20_000
DESIGNS = [SPRT(0.8, 0.1, 0.05, 0.1, 32), SPRT(0.9, 0.05, 0.05, 0.1, 120), SPRT(0.5, 0.1, 0.01, 0.05, 200)]


def _tolerance(rate: float) -> float:
    # 4 standard errors of a Monte Carlo proportion at the bound: a correct test fails this ~1 in 30,000 times.
    return 4 * math.sqrt(rate * (1 - rate) / RUNS)


@pytest.mark.parametrize("test", DESIGNS, ids=lambda t: f"p0={t.pass_rate},d={t.indifference},N={t.max_samples}")
def test_simulated_error_rates_stay_within_alpha_and_beta(test: SPRT) -> None:
    rng = np.random.default_rng(12345)
    d = test.indifference
    # Grid around the threshold: at and beyond the indifference zone on both sides.
    below = [test.p_fail - x for x in (0.0, d / 2, d, 2 * d) if test.p_fail - x > 0]
    above = [test.p_pass + x for x in (0.0, d / 2, d) if test.p_pass + x < 1]
    for p in below:
        verdict, _ = test.simulate(p, RUNS, rng)
        false_pass = float(np.mean(verdict == 1))
        assert false_pass <= test.alpha + _tolerance(test.alpha), (p, false_pass)
    for p in above:
        verdict, _ = test.simulate(p, RUNS, rng)
        false_fail = float(np.mean(verdict == -1))
        assert false_fail <= test.beta + _tolerance(test.beta), (p, false_fail)


def test_the_test_is_not_trivially_safe() -> None:
    """Power: far from the threshold it does decide correctly (a test that never decides would pass above)."""
    test = DESIGNS[0]
    rng = np.random.default_rng(7)
    good, _ = test.simulate(0.99, RUNS, rng)
    bad, _ = test.simulate(0.4, RUNS, rng)
    assert np.mean(good == 1) > 0.95
    assert np.mean(bad == -1) > 0.99


@pytest.mark.parametrize("p", [0.55, 0.7, 0.75, 0.8, 0.85, 0.9, 0.97])
def test_exact_operating_characteristics_match_simulation(p: float) -> None:
    test = DESIGNS[0]
    oc = test.operating_characteristics(p)
    assert oc.p_pass + oc.p_fail + oc.p_inconclusive == pytest.approx(1.0, abs=1e-9)
    verdict, used = test.simulate(p, RUNS, np.random.default_rng(int(p * 1000)))
    for observed, exact in ((np.mean(verdict == 1), oc.p_pass), (np.mean(verdict == -1), oc.p_fail),
                            (np.mean(verdict == 0), oc.p_inconclusive)):
        assert abs(observed - exact) <= 4 * math.sqrt(max(exact * (1 - exact), 1e-4) / RUNS) + 1e-3
    assert abs(used.mean() - oc.expected_samples) < 0.05 * oc.expected_samples + 0.2


def test_exact_error_rates_hold_on_a_fine_grid() -> None:
    for test in DESIGNS:
        for p in np.linspace(0.01, test.p_fail, 25):
            assert test.operating_characteristics(float(p)).p_pass <= test.alpha + 1e-12
        for p in np.linspace(test.p_pass, 0.999, 25):
            assert test.operating_characteristics(float(p)).p_fail <= test.beta + 1e-12


def test_scalar_run_agrees_with_vectorised_simulation() -> None:
    test = DESIGNS[0]
    rng = np.random.default_rng(3)
    for _ in range(300):
        p = rng.uniform(0.5, 1.0)
        draws = rng.random(test.max_samples) < p
        verdict, used = test.simulate(p, 1, np.random.default_rng(0))  # API shape check
        assert used.shape == (1,) and verdict.shape == (1,)
        # replay the same draws through both implementations
        result = test.run(draws.tolist())
        values = np.cumsum(np.where(draws, test.step_success, test.step_failure))
        crossed = np.flatnonzero((values >= test.upper - 1e-9) | (values <= test.lower + 1e-9))
        if result.verdict == "inconclusive":
            assert result.samples == test.max_samples
        else:
            assert crossed.size and result.samples == crossed[0] + 1


def test_truncation_is_conservative() -> None:
    """At max_samples without a crossing the verdict is inconclusive, even with a high observed rate."""
    test = SPRT(0.8, 0.1, 0.05, 0.1, max_samples=5)
    assert test.run([True] * 5).verdict == "inconclusive"
    assert SPRT(0.8, 0.1, 0.05, 0.1, 100).run([True] * 20).verdict == "pass"


def test_next_batch_never_skips_a_possible_stop() -> None:
    test = DESIGNS[0]
    rng = np.random.default_rng(11)
    for _ in range(200):
        draws = (rng.random(test.max_samples) < rng.uniform(0.5, 1)).tolist()
        k = n = 0
        while test.state(k, n) is None:
            batch = test.next_batch(k, n)
            assert batch >= 1
            # no verdict is reachable strictly inside the batch, whatever the outcomes
            for j in range(1, batch):
                for s in range(j + 1):
                    assert test.state(k + s, n + j) is None
            k += sum(draws[n:n + batch])
            n += batch
        assert test.run(draws).samples == n


def test_fixed_design_meets_its_guarantees_and_is_minimal() -> None:
    from scipy.stats import binom

    test = SPRT(0.8, 0.1, 0.05, 0.1, 1000)
    fx = fixed_n_design(test)
    assert binom.sf(fx.critical - 1, fx.n, test.p_fail) <= test.alpha
    assert binom.cdf(fx.critical - 1, fx.n, test.p_pass) <= test.beta
    smaller = fixed_n_design(SPRT(0.8, 0.1, 0.05, 0.1, 1000), n_max=fx.n)
    assert smaller.n == fx.n


def test_pass_at_k_and_pass_hat_k_unbiased_formulas() -> None:
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(5, 2, 4) == 1.0  # fewer failures than k: some draw must pass
    assert pass_at_k(10, 3, 2) == pytest.approx(1 - math.comb(7, 2) / math.comb(10, 2))
    assert pass_hat_k(10, 10, 5) == 1.0
    assert pass_hat_k(10, 3, 2) == pytest.approx(math.comb(3, 2) / math.comb(10, 2))
    assert pass_at_k(3, 1, 5) is None and pass_hat_k(3, 1, 5) is None
    # Unbiasedness, checked exactly: E[pass^k estimate] over Binomial(n, p) equals p^k.
    from scipy.stats import binom

    n, k, p = 8, 3, 0.7
    expected = sum(binom.pmf(c, n, p) * pass_hat_k(n, c, k) for c in range(n + 1))  # type: ignore[operator]
    assert expected == pytest.approx(p ** k)
    expected_at = sum(binom.pmf(c, n, p) * pass_at_k(n, c, k) for c in range(n + 1))  # type: ignore[operator]
    assert expected_at == pytest.approx(1 - (1 - p) ** k)


def test_intervals() -> None:
    lo, hi = clopper_pearson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.3084971, abs=1e-6)  # (1 - 0.025)^(1/10) complement
    lo, hi = clopper_pearson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(1 - 0.3084971, abs=1e-6)
    wl, wh = wilson_interval(5, 10)
    cl, ch = clopper_pearson_interval(5, 10)
    assert cl < wl < 0.5 < wh < ch  # the exact interval is the wider one

