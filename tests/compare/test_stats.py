"""Paired statistics: McNemar, clustered intervals, Holm, verdicts, power and samples_needed, and their error
rates under the null on simulated pairs of models."""

from __future__ import annotations

import random

import pytest

from opentrust.compare import stats as s


def _cases(rates: list[float], k: int, rng: random.Random) -> list[list[bool]]:
    return [[rng.random() < p for _ in range(k)] for p in rates]


def test_exact_mcnemar_is_the_binomial_test_of_the_discordant_pairs() -> None:
    assert s.mcnemar_exact(10, 0) == pytest.approx(2 * 0.5 ** 10)
    assert s.mcnemar_exact(0, 0) == 1.0
    assert s.mcnemar_exact(5, 5) == 1.0


def test_one_sample_per_case_uses_mcnemar_more_uses_the_clustered_t() -> None:
    a = [[True], [True], [False]] * 10
    b = [[False], [True], [False]] * 10
    one = s.compare_outcomes(a, b)
    assert one.test == "mcnemar-exact" and one.a_only == 10 and one.b_only == 0
    assert one.p_value == pytest.approx(s.mcnemar_exact(10, 0))
    many = s.compare_outcomes([x * 3 for x in a], [x * 3 for x in b])
    assert many.test == "clustered-t" and many.pairs == 90 and many.cases == 30


def test_clustering_widens_the_interval_when_samples_of_a_case_agree() -> None:
    """30 discordant pairs in 10 cases of 3 identical answers are 10 units of evidence, not 30."""
    a = [[True] * 3 if i < 10 else [False] * 3 for i in range(40)]
    b = [[False] * 3 for _ in range(40)]
    clustered = s.compare_outcomes(a, b)
    spread = [[v] for case in a for v in case], [[v] for case in b for v in case]  # the same answers, unclustered
    naive = s.compare_outcomes(*spread)
    assert clustered.diff == naive.diff == pytest.approx(0.25)
    assert clustered.se > 1.5 * naive.se


def test_identical_answers_are_tied_with_enough_pairs_and_inconclusive_with_few() -> None:
    same = [[True, False, True]] * 37
    big = s.compare_outcomes(same, same, confidence=1 - 0.05 / 3)
    s.decide([big], 0.05 / 3, 0.05)
    assert big.diff == 0 and big.verdict == "tied" and big.samples_needed is None
    small = s.compare_outcomes([[True]] * 3, [[True]] * 3)
    s.decide([small], 0.05, 0.05)
    assert small.verdict == "inconclusive"  # three agreeing answers are not evidence of a tie
    assert small.power < 0.8 and small.samples_needed and small.samples_needed > 3
    assert "would decide" in small.reason


def test_holm_step_down() -> None:
    assert s.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert s.holm([None, 0.02]) == [None, 0.02]


@pytest.mark.parametrize(("ci", "p", "expected"), [
    ((0.1, 0.3), 0.001, "better"), ((-0.3, -0.1), 0.001, "worse"), ((-0.03, 0.04), 0.5, "tied"),
    ((-0.04, 0.2), 0.2, "non_inferior"), ((-0.2, 0.2), 0.9, "inconclusive"),
    ((0.01, 0.3), 0.2, "non_inferior"),  # significant before Holm but not after: no "better"
])
def test_verdicts(ci: tuple[float, float], p: float, expected: str) -> None:
    assert s.verdict((ci[0] + ci[1]) / 2, ci, p, 0.05, 0.05) == expected


def test_flip_and_reverse_verdicts_agree() -> None:
    a = [[True], [True], [False], [True]] * 10
    b = [[False], [True], [False], [True]] * 10
    st = s.compare_outcomes(a, b)
    s.decide([st], 0.05, 0.05)
    back = s.flip(st)
    assert st.verdict == "better" and s.verdict(back.diff, back.ci, back.p_adjusted, 0.05, 0.05) == "worse"


def test_samples_needed_shrinks_as_evidence_grows() -> None:
    rng = random.Random(1)
    rates = [rng.random() for _ in range(200)]
    a = _cases([min(1, r + 0.03) for r in rates], 1, rng)
    b = _cases(rates, 1, rng)
    few = s.compare_outcomes(a[:20], b[:20])
    s.decide([few], 0.05, 0.05)
    assert few.verdict == "inconclusive" and few.samples_needed and few.samples_needed > 20
    more = s.compare_outcomes(a[:80], b[:80])
    s.decide([more], 0.05, 0.05)
    assert more.se < few.se
    assert s.samples_needed(few, 0.05, power=0.95) > s.samples_needed(few, 0.05, power=0.8)


def test_log_ratio_of_paired_timings() -> None:
    out = s.log_ratio([2.0, 4.0, 2.2, 3.9], [1.0, 2.0, 1.1, 2.0])
    assert out is not None and out["ratio"] == pytest.approx(2.0, rel=0.05) and out["ci"][0] < 2 < out["ci"][1]
    assert s.log_ratio([1.0], [2.0]) is None


def test_false_better_or_worse_rate_under_the_null_stays_below_alpha() -> None:
    """Two models with the same per-case rates (strongly case-dependent): how often is one called better?"""
    rng = random.Random(7)
    runs, wrong = 300, 0
    for _ in range(runs):
        rates = [rng.betavariate(0.6, 0.6) for _ in range(30)]
        a, b = _cases(rates, 3, rng), _cases(rates, 3, rng)
        st = s.compare_outcomes(a, b, seed=rng.randrange(1000))
        s.decide([st], 0.05, 0.05)
        wrong += st.verdict in ("better", "worse")
    assert wrong / runs <= 0.05 + 2 * (0.05 * 0.95 / runs) ** 0.5  # alpha within Monte Carlo error


def test_lm_eval_unpaired_z() -> None:
    diff, p = s.unpaired_z([[True], [True], [False], [False]], [[True], [False], [False], [False]])
    assert diff == pytest.approx(0.25) and 0 < p < 1
