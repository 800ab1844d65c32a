"""The audit's behaviour check: registered; the quick profile is a subset with enough cases per suite for an\ninformative suite figure; standard runs every case."""

from __future__ import annotations

from opentrust.audit import registered_checks
from opentrust.checks.behaviour import QUICK_SAMPLES, BehaviourCheck


def test_registered_after_smoke() -> None:
    checks = {c.name: c for c in registered_checks()}
    assert "behaviour" in checks and checks["behaviour"].order == 60
    assert checks["behaviour"].order > checks["smoke"].order


def test_quick_profile_is_a_bounded_subset_of_standard() -> None:
    check = BehaviourCheck()
    quick, standard = check.cases("quick"), check.cases("standard")
    assert len(standard) >= 100 and len({c.suite for c in standard}) == 4
    assert {c.id for c in quick} <= {c.id for c in standard}
    assert all(c.require.max_samples == QUICK_SAMPLES for c in quick)
    # worst case for the audit's quick profile: 37 cases x 3 samples of <= 64 tokens
    assert sum(c.require.max_samples for c in quick) <= 120
    assert max(c.sampling.max_tokens or 128 for c in quick) <= 64
    assert all(c.require.max_samples == 24 for c in standard)  # quick did not mutate the suites


def test_quick_profile_has_enough_cases_per_suite_for_a_headline_figure() -> None:
    """A suite's pass rate is an average over cases: its interval half-width must be <= 0.25 whatever the results.

    The widest binomial interval over c cases is at half of them passing; fewer suites with more cases each.
    """
    from collections import Counter

    from opentrust.stats import evidence, mean_rate_interval

    per_suite = Counter(c.suite for c in BehaviourCheck().cases("quick"))
    assert 2 <= len(per_suite) < 4
    for suite, cases in per_suite.items():
        for passing in range(cases + 1):
            mean, ci = mean_rate_interval([1.0] * passing + [0.0] * (cases - passing))
            assert evidence(mean, ci, cases) == "sufficient", (suite, cases, passing, ci)
    # with three cases, as before, no result is informative
    mean, ci = mean_rate_interval([1.0, 0.0, 1.0])
    assert evidence(mean, ci, 3) == "insufficient"


def test_a_quick_case_can_fail_on_its_own() -> None:
    from opentrust.evals.runner import Runner

    case = BehaviourCheck().cases("quick")[0]
    test = Runner.test_for(case)
    assert test.state(0, QUICK_SAMPLES) == "fail" and test.state(QUICK_SAMPLES, QUICK_SAMPLES) == "inconclusive"
