"""The pytest plugin (entry point pytest11): a user's test asserts a model satisfies a case statistically."""

from __future__ import annotations

import importlib.metadata

import pytest

pytest_plugins = ["pytester"]


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    eps = [e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "opentrust"]
    assert eps and eps[0].value == "opentrust.evals.pytest_plugin"


@pytest.mark.slow
def test_user_test_passes_and_fails_with_the_verdict_in_the_output(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_model="""
        FAST = dict(pass_rate=0.5, indifference=0.4, max_samples=6, max_tokens=6)

        def test_answers(opentrust):
            result = opentrust.assert_case("Say hello.", [{"type": "length", "min": 1}], **FAST)
            assert result.verdict == "pass" and result.samples == 2

        def test_never(opentrust):
            opentrust.assert_case("Say goodbye.", [{"type": "contains", "value": "zzqxv-never-said"}], **FAST)

        def test_inconclusive_allowed(opentrust):
            r = opentrust.assert_case("Say hello.", [{"type": "length", "min": 1}], allow_inconclusive=True,
                                      pass_rate=0.8, indifference=0.1, max_samples=2, max_tokens=6)
            assert r.verdict == "inconclusive"
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--opentrust-model", "smollm2")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*opentrust: case test_never: FAIL — pass rate below the pass bound 0.9 (false-fail risk ≤ 10%); observed "
        "0.00 (0/2), 85% interval ?0.00, 0.68?; required 0.5 ± 0.4: between 0.1 and 0.9 either verdict may happen*",
        "*opentrust statistical verdicts*",
        "*test_answers: case test_answers: PASS — pass rate above the fail bound 0.1 (false-pass risk ≤ 5%); "
        "observed 1.00 (2/2), 85% interval ?0.22, 1.00?*",
        "*test_inconclusive_allowed: case test_inconclusive_allowed: INCONCLUSIVE — no decision within 2 samples; "
        "observed 1.00 (2/2)*either verdict may happen",
    ])
