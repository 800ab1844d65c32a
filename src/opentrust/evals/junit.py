"""JUnit XML for CI servers (GitLab, Jenkins): testsuites > testsuite > testcase with failure/error/skipped.

One <testsuite> per suite, one <testcase> per case. pass → plain testcase; fail → <failure>; error (e.g. the
judge never gave a verdict) → <error>; inconclusive → <skipped> or, with ``fail_on_inconclusive``,
<failure type="inconclusive">. Counts on every element are computed from the children, so they add up.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentrust.evals.runner import CaseResult
    from opentrust.evals.testrun import TestRun


def _detail(r: "CaseResult") -> str:
    from opentrust.evals.verdicts import interval_note, sentence

    q = r.require
    lines = [sentence(r, digits=3),
             f"design: pass_rate {q['pass_rate']} ± {q['indifference']}, alpha {q['alpha']} (false pass), "
             f"beta {q['beta']} (false fail), max_samples {q['max_samples']}",
             interval_note(q["alpha"], q["beta"]),
             f"samples drawn: {r.draws} (evaluation errors: {r.errors})"]
    for f in r.failures:
        lines.append(f"  sample {f['index']}: {f['reason']} | output: {f['output'][:200]!r}")
    for e in r.error_details:
        lines.append(f"  sample {e['index']} error: {e['reason']}")
    return "\n".join(lines)


def _summary(r: "CaseResult") -> str:
    from opentrust.evals.verdicts import decision, interval_text

    return (f"{r.verdict}: {decision(r.verdict, r.require, r.samples, r.errors)}; observed {r.successes}/{r.samples}, "
            f"{interval_text(r.ci, r.confidence, 3)}")


def _xml_safe(text: str) -> str:
    # XML 1.0 forbids most control characters; model output may contain them.
    return "".join(ch if ch in "\t\n\r" or ord(ch) >= 0x20 else f"\\x{ord(ch):02x}" for ch in text)


def build(run: "TestRun", fail_on_inconclusive: bool = False) -> ET.Element:
    root = ET.Element("testsuites", name=f"opentrust test {run.model.get('name', '')}")
    suites: dict[str, list["CaseResult"]] = {}
    for r in run.results:
        suites.setdefault(r.suite, []).append(r)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for name, results in suites.items():
        suite = ET.SubElement(root, "testsuite", name=name)
        props = ET.SubElement(suite, "properties")
        for key, value in (("model", run.model.get("spec", "")), ("fingerprint", run.model.get("fingerprint", "")),
                           ("run_id", run.run_id)):
            ET.SubElement(props, "property", name=key, value=str(value))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for r in results:
            case = ET.SubElement(suite, "testcase", name=r.id, classname=f"opentrust.{name}", time="0")
            detail = _xml_safe(_detail(r))
            summary = _summary(r)
            counts["tests"] += 1
            if r.verdict == "fail" or (r.verdict == "inconclusive" and fail_on_inconclusive):
                el = ET.SubElement(case, "failure", message=_xml_safe(summary), type=r.verdict)
                el.text = detail
                counts["failures"] += 1
            elif r.verdict == "error":
                el = ET.SubElement(case, "error", message=_xml_safe(summary), type="evaluation-error")
                el.text = detail
                counts["errors"] += 1
            elif r.verdict == "inconclusive":
                ET.SubElement(case, "skipped", message=_xml_safe(summary))
                counts["skipped"] += 1
            out = ET.SubElement(case, "system-out")
            out.text = detail
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{run.stats.wall_s:.3f}")
    return root


def render(run: "TestRun", fail_on_inconclusive: bool = False) -> str:
    """The JUnit XML document as text (the ``junit`` reporter of test results)."""
    tree = ET.ElementTree(build(run, fail_on_inconclusive))
    ET.indent(tree)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(tree.getroot(), encoding="unicode") + "\n"


def write(run: "TestRun", path: Path, fail_on_inconclusive: bool = False) -> None:
    from opentrust.report.jsonout import atomic_write

    atomic_write(Path(path), render(run, fail_on_inconclusive))
