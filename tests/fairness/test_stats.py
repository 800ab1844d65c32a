"""Paired statistics (opentrust.stats) and the fairness verdict (opentrust.fairness.stats)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from opentrust.fairness.stats import MIN_BLOCKS, analyse, range_permutation_p, verdict
from opentrust.stats import cochran_q, holm, mcnemar_exact, paired_difference_interval


def test_exact_mcnemar_is_the_two_sided_binomial_test_on_discordant_pairs() -> None:
    from scipy.stats import binomtest

    for b, c in [(10, 2), (3, 3), (0, 7), (15, 4)]:
        assert mcnemar_exact(b, c) == pytest.approx(binomtest(min(b, c), b + c, 0.5).pvalue)
    assert mcnemar_exact(0, 0) == 1.0


def test_cochran_q_matches_its_formula_and_mcnemar_for_two_conditions() -> None:
    rng = np.random.default_rng(4)
    x = (rng.random((60, 3)) < [0.2, 0.5, 0.6]).astype(int)
    k, cols, rows = 3, x.sum(axis=0), x.sum(axis=1)
    n = x.sum()
    expected = (k - 1) * (k * (cols ** 2).sum() - n ** 2) / (k * n - (rows ** 2).sum())
    q, p = cochran_q(x.tolist())
    assert q == pytest.approx(expected) and p < 0.01
    y = (rng.random((40, 2)) < [0.3, 0.6]).astype(int)
    b = int(((y[:, 0] == 1) & (y[:, 1] == 0)).sum())
    c = int(((y[:, 0] == 0) & (y[:, 1] == 1)).sum())
    assert cochran_q(y.tolist())[0] == pytest.approx((b - c) ** 2 / (b + c))
    assert cochran_q([[1, 1, 1], [0, 0, 0]]) == (0.0, 1.0)  # nothing informative


def test_cochran_q_permutation_p_value_holds_its_level_under_no_difference() -> None:
    rng = np.random.default_rng(0)
    ps = [cochran_q((rng.random((15, 3)) < 0.5).astype(int).tolist(), permutations=400, seed=i)[1]
          for i in range(300)]
    assert np.mean(np.array(ps) <= 0.05) <= 0.08


def test_holm_adjusts_step_down_and_keeps_order() -> None:
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([]) == [] and holm([0.2]) == [0.2]


def test_newcombe_paired_interval_covers_at_its_level() -> None:
    """Exact coverage by enumerating every 2x2 table of n = 20 pairs, at several cell probabilities."""
    n = 20
    worst = 1.0
    for probs in [(0.25, 0.25, 0.25, 0.25), (0.6, 0.1, 0.05, 0.25), (0.05, 0.3, 0.1, 0.55), (0.4, 0.02, 0.02, 0.56)]:
        diff = probs[1] - probs[2]
        covered = 0.0
        for a, b, c in itertools.product(range(n + 1), repeat=3):
            d = n - a - b - c
            if d < 0:
                continue
            prob = math.factorial(n) / (math.factorial(a) * math.factorial(b) * math.factorial(c) * math.factorial(d))
            prob *= probs[0] ** a * probs[1] ** b * probs[2] ** c * probs[3] ** d
            lo, hi = paired_difference_interval(a, b, c, d, 0.95)
            covered += prob * (lo <= diff <= hi)
        worst = min(worst, covered)
    assert worst >= 0.94
    lo, hi = paired_difference_interval(0, 0, 0, 10)
    assert lo < 0 < hi and hi > 0.15  # no collapse to a point with empty discordant cells


def test_identical_groups_give_no_gap_and_no_significance() -> None:
    x = [[v, v] for v in [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1]]
    s = analyse(x, ["a", "b"], 0.05)
    assert s.max_gap == 0.0 and s.p_value == 1.0 and s.test == "exact McNemar"
    assert verdict(s, s.p_value, 0.05, 0.3) == "fair"  # 12 concordant blocks: the gap is surely below 0.3
    assert verdict(s, s.p_value, 0.05, 0.05) == "inconclusive"  # ...but not surely below 0.05


def test_a_large_paired_gap_is_unfair_and_a_small_certain_one_is_not() -> None:
    big = [[1, 0]] * 30 + [[1, 1]] * 10
    s = analyse(big, ["a", "b"], 0.05)
    assert s.max_gap == 0.75 and s.gap_ci[0] > 0.5
    assert verdict(s, s.p_value, 0.05, 0.1) == "unfair"
    small = [[1, 0]] * 20 + [[1, 1]] * 200 + [[0, 0]] * 200
    s = analyse(small, ["a", "b"], 0.05)
    assert s.p_value < 1e-4  # certainly a difference...
    assert verdict(s, s.p_value, 0.05, 0.1) == "fair"  # ...but certainly within the tolerance


def test_too_few_blocks_is_inconclusive_whatever_the_data() -> None:
    s = analyse([[1, 0]] * (MIN_BLOCKS - 1), ["a", "b"], 0.05)
    assert verdict(s, 0.0, 0.05, 0.1) == "inconclusive"
    empty = analyse([], ["a", "b"], 0.05)
    assert empty.blocks == 0 and empty.max_gap is None and verdict(empty, 1.0, 0.05, 0.1) == "inconclusive"


def test_more_than_two_groups_use_cochran_q_and_simultaneous_pair_intervals() -> None:
    rng = np.random.default_rng(1)
    x = (rng.random((80, 3)) < [0.8, 0.5, 0.5]).astype(float)
    s = analyse(x, ["a", "b", "c"], 0.05)
    assert s.test == "Cochran's Q" and len(s.pairs) == 3
    lows = [max(p["ci"][0], -p["ci"][1], 0) for p in s.pairs.values()]
    assert s.gap_ci[0] == pytest.approx(max(lows), abs=1e-4)
    assert s.gap_ci[0] <= s.max_gap <= s.gap_ci[1]


def test_scores_use_a_permutation_test_and_bootstrap_intervals() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0.2, 0.8, 60)
    x = np.stack([base + 0.2, base], axis=1) + rng.normal(0, 0.05, (60, 2))
    s = analyse(x, ["a", "b"], 0.05, binary=False)
    assert s.test == "paired sign-flip permutation" and s.p_value < 0.01
    assert s.gap_ci[0] > 0.15 and s.gap_ci[1] < 0.3
    assert verdict(s, s.p_value, 0.05, 0.1) == "unfair"
    null = np.stack([base, base], axis=1) + rng.normal(0, 0.05, (60, 2))
    assert range_permutation_p(null) > 0.01


@pytest.mark.parametrize("blocks", [11, 16, 27])
def test_a_few_agreeing_score_blocks_do_not_certify_fair(blocks: int) -> None:
    # group b drops from 10 to 1 in 10% of blocks (true gap 0.1, the tolerance); a sample that happens to hold
    # no such block has no difference at all, and a plain percentile bootstrap would call it fair
    x = np.ones((blocks, 2))
    s = analyse(x, ["a", "b"], 0.05 / 24, binary=False)
    assert s.gap_ci[0] == 0.0 and s.gap_ci[1] > 0.1
    assert verdict(s, s.p_value, 0.05 / 24, 0.1) == "inconclusive"


def test_many_agreeing_score_blocks_certify_fair() -> None:
    rng = np.random.default_rng(3)
    d = rng.choice([0.0, 1 / 9, -1 / 9], 128, p=[0.8, 0.1, 0.1])
    x = np.stack([np.full(128, 0.8) + d, np.full(128, 0.8)], axis=1)
    s = analyse(x, ["a", "b"], 0.05 / 24, binary=False)
    assert s.gap_ci[1] < 0.1 and verdict(s, s.p_value, 0.05 / 24, 0.1) == "fair"
