"""pytest plugin (entry point ``pytest11``): assert that a model satisfies a case, statistically.

    def test_capital(opentrust):
        opentrust.assert_case("What is the capital of France?",
                              [{"type": "contains", "value": "Paris"}],
                              pass_rate=0.8, alpha=0.05, beta=0.1, max_samples=32)

The case is sampled until the sequential test decides (see opentrust.evals.sequential); the test fails on a
"fail" verdict (and on "inconclusive" unless ``allow_inconclusive=True``), and every verdict is listed in
pytest's terminal summary. Options: ``--opentrust-model`` (default: ini ``opentrust_model``, else smollm2),
``--opentrust-db``, ``--opentrust-seed``, ``--opentrust-no-cache``.

This module is imported by every pytest run in an environment where opentrust is installed: keep its
module-level imports to the standard library and pytest.
"""

from __future__ import annotations

from typing import Any

import pytest

_RESULTS_KEY = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("opentrust", "statistical behaviour tests of AI models")
    group.addoption("--opentrust-model", default=None, help="Target for the opentrust fixture (smollm2, a .gguf, "
                    "openai:URL#MODEL).")
    group.addoption("--opentrust-db", default=None, help="Sample cache (SQLite) for the opentrust fixture.")
    group.addoption("--opentrust-seed", type=int, default=0, help="Base seed for sampling.")
    group.addoption("--opentrust-no-cache", action="store_true", help="Do not reuse cached samples.")
    parser.addini("opentrust_model", "Default target for the opentrust fixture", default="smollm2")


class OpenTrust:
    """What the ``opentrust`` fixture returns: run a case against the configured model and judge it."""

    def __init__(self, config: pytest.Config, nodeid: str):
        self.config = config
        self.nodeid = nodeid
        self.model: str = config.getoption("--opentrust-model") or config.getini("opentrust_model")
        self.db = config.getoption("--opentrust-db")
        self.seed: int = config.getoption("--opentrust-seed")
        self.use_cache = not config.getoption("--opentrust-no-cache")

    def check_case(self, prompt: str | list[dict[str, str]], assertions: list[dict[str, Any]], *,
                   pass_rate: float = 0.8, indifference: float = 0.1, alpha: float = 0.05, beta: float = 0.1,
                   max_samples: int = 32, system: str | None = None, case_id: str | None = None,
                   model: str | None = None, judge: str | None = None, **sampling: Any) -> Any:
        """Run one case and return its CaseResult (verdict, pass_rate, ci, samples, failures...)."""
        from opentrust.evals.suite import SuiteFile, _expand  # noqa: PLC2701 - same package
        from opentrust.evals.testrun import run_cases

        case: dict[str, Any] = {"id": case_id or _safe_id(self.nodeid), "assert": assertions,
                                "require": {"pass_rate": pass_rate, "indifference": indifference, "alpha": alpha,
                                            "beta": beta, "max_samples": max_samples}}
        if isinstance(prompt, str):
            case["prompt"] = prompt
            if system:
                case["system"] = system
        else:
            case["messages"] = prompt
        if sampling:
            case["sampling"] = sampling
        parsed = SuiteFile.model_validate({"cases": [case]})
        specs = _expand(parsed.cases[0], parsed.defaults, "pytest", self.nodeid)
        run = run_cases(specs, model or self.model, db=self.db, seed=self.seed, use_cache=self.use_cache,
                        judge=judge, command="pytest")
        result = run.results[0]
        self.config.stash.setdefault(_RESULTS_KEY, []).append((self.nodeid, result))
        return result

    def assert_case(self, prompt: str | list[dict[str, str]], assertions: list[dict[str, Any]], *,
                    allow_inconclusive: bool = False, **options: Any) -> Any:
        """Like check_case, but fail the test unless the verdict is pass (or inconclusive when allowed)."""
        result = self.check_case(prompt, assertions, **options)
        if result.verdict == "pass" or (result.verdict == "inconclusive" and allow_inconclusive):
            return result
        pytest.fail(describe(result), pytrace=False)
        return result  # pragma: no cover


def describe(result: Any) -> str:
    """The verdict in words that agree with its interval (opentrust.evals.verdicts), then a few failing samples."""
    from opentrust.evals.verdicts import sentence

    text = f"opentrust: case {result.id}: {sentence(result)}"
    for f in result.failures[:3]:
        text += f"\n  sample {f['index']}: {f['reason']} — output {f['output'][:120]!r}"
    for e in result.error_details[:3]:
        text += f"\n  sample {e['index']} error: {e['reason']}"
    return text


def _safe_id(nodeid: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.:-]+", "-", nodeid.split("::")[-1]).strip("-") or "case"


@pytest.fixture
def opentrust(request: pytest.FixtureRequest) -> OpenTrust:
    """Run statistical behaviour cases against the configured model (see opentrust.evals.pytest_plugin)."""
    return OpenTrust(request.config, request.node.nodeid)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    results = config.stash.get(_RESULTS_KEY, [])
    if not results:
        return
    terminalreporter.section("opentrust statistical verdicts")
    for nodeid, result in results:
        terminalreporter.write_line(f"{nodeid}: " + describe(result).split("\n")[0].removeprefix("opentrust: "))
