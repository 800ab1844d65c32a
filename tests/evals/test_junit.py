"""JUnit XML: the structure GitLab and Jenkins read, counts that add up, inconclusive as skipped or failure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from opentrust.evals.junit import build, write
from opentrust.evals.runner import CaseResult, RunStats
from opentrust.evals.testrun import TestRun

REQ = {"pass_rate": 0.8, "indifference": 0.1, "alpha": 0.05, "beta": 0.1, "max_samples": 24}


def _case(cid: str, suite: str, verdict: str, k: int, n: int, errors: int = 0) -> CaseResult:
    from opentrust.stats import clopper_pearson_interval

    fails = [{"index": 1, "output": "bad \x00\x1b output <&>", "reason": "regex: no match"}] if k < n else []
    errs = [{"index": 2, "output": "", "reason": "judge error: timeout"}] if errors else []
    return CaseResult(id=cid, suite=suite, verdict=verdict, pass_rate=k / n if n else None,
                      ci=clopper_pearson_interval(k, n), confidence=0.95, samples=n, successes=k,
                      draws=n + errors, errors=errors, llr=0.0, require=REQ, failures=fails, error_details=errs)


def _run() -> TestRun:
    results = [_case("a", "qa", "pass", 12, 12), _case("b", "qa", "fail", 1, 4),
               _case("c", "json", "inconclusive", 18, 24), _case("d", "json", "error", 3, 4, errors=13),
               _case("e", "json", "pass", 15, 16)]
    return TestRun(model={"spec": "smollm2", "name": "smollm2", "fingerprint": "ab"}, results=results,
                   stats=RunStats(wall_s=1.5), run_id="r1")


def _counts(el: ET.Element) -> dict[str, int]:
    return {k: int(el.get(k, "-1")) for k in ("tests", "failures", "errors", "skipped")}


def test_structure_and_counts_add_up(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write(_run(), path)
    root = ET.parse(path).getroot()  # well-formed despite control characters in model output
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["qa", "json"]
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for s in suites:
        cases = s.findall("testcase")
        counted = {"tests": len(cases), "failures": sum(c.find("failure") is not None for c in cases),
                   "errors": sum(c.find("error") is not None for c in cases),
                   "skipped": sum(c.find("skipped") is not None for c in cases)}
        assert _counts(s) == counted
        for k in total:
            total[k] += counted[k]
        assert all(c.get("classname") == f"opentrust.{s.get('name')}" and c.get("name") for c in cases)
    assert _counts(root) == total == {"tests": 5, "failures": 1, "errors": 1, "skipped": 1}
    failure = root.find(".//testcase[@name='b']/failure")
    assert failure is not None and "1/4" in failure.get("message", "") and "regex: no match" in (failure.text or "")


def test_inconclusive_as_failure_with_the_flag() -> None:
    root = build(_run(), fail_on_inconclusive=True)
    assert _counts(root) == {"tests": 5, "failures": 2, "errors": 1, "skipped": 0}
    assert root.find(".//testcase[@name='c']/failure").get("type") == "inconclusive"  # type: ignore[union-attr]
