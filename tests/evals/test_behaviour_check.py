"""The audit's behaviour check: registered, quick profile is a small subset, standard runs every case."""

from __future__ import annotations

from opentrust.audit import registered_checks
from opentrust.checks.behaviour import QUICK_MAX_SAMPLES, BehaviourCheck


def test_registered_after_smoke() -> None:
    checks = {c.name: c for c in registered_checks()}
    assert "behaviour" in checks and checks["behaviour"].order == 60
    assert checks["behaviour"].order > checks["smoke"].order


def test_quick_profile_is_a_bounded_subset_of_standard() -> None:
    check = BehaviourCheck()
    quick, standard = check.cases("quick"), check.cases("standard")
    assert len(standard) >= 100 and len({c.suite for c in standard}) == 4
    assert len(quick) == 12 and {c.suite for c in quick} == {c.suite for c in standard}
    assert all(c.require.max_samples == QUICK_MAX_SAMPLES for c in quick)
    # worst case for the audit's quick profile: 12 cases x 12 samples of <= 96 tokens
    assert sum(c.require.max_samples for c in quick) <= 144
    assert all(c.require.max_samples == 24 for c in standard)  # quick did not mutate the suites
