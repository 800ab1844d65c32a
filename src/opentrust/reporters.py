"""The built-in reporters: renderers of each kind of result, registered through ``register_reporters``.

A reporter is ``render(result, **options) -> str`` for the result kinds it names; commands look reporters up
with ``opentrust.plugins.reporters(kind)`` and write what they return (``--format``, ``--out``, ``--junit``), so a
plugin can add a format to a command, or replace one, by registering it. ``result`` is the command's result
object: the audit's ``Report``, ``TestRun`` (test), ``CampaignResult`` (redteam), ``OpennessResult``
(openness), the scanner's ``ScanResult`` (scan). Each function imports its module only when it renders.

``opentrust scan`` on its fast path (no typer, pluggy or pydantic: see ``opentrust.scan.cli``) calls the scan
renderers below directly instead of looking them up; the hook serves everyone else.
"""

from __future__ import annotations

import json
from typing import Any, Callable


def audit_json(report: Any, **_: Any) -> str:
    from opentrust.report.jsonout import render

    return render(report)


def audit_html(report: Any, **_: Any) -> str:
    from opentrust.report.html import render

    return render(report)


def _json(doc: Any) -> str:
    return json.dumps(doc, indent=2) + "\n"


def test_json(run: Any, **_: Any) -> str:
    return _json(run.to_json())


def test_junit(run: Any, fail_on_inconclusive: bool = False, **_: Any) -> str:
    from opentrust.evals.junit import render

    return render(run, fail_on_inconclusive)


def redteam_json(result: Any, **_: Any) -> str:
    return _json(result.to_json())


def redteam_sarif(result: Any, **_: Any) -> str:
    from opentrust.redteam.report import to_sarif

    return _json(to_sarif(result))


def redteam_junit(result: Any, **_: Any) -> str:
    from opentrust.redteam.report import render_junit

    return render_junit(result)


def openness_json(result: Any, **_: Any) -> str:
    return _json(result.to_dict())


def openness_cyclonedx(result: Any, **_: Any) -> str:
    from opentrust.openness.aibom import build_aibom

    return _json(build_aibom(result))


def scan_json(result: Any, fail_on: Any = "high", **_: Any) -> str:
    from opentrust.scan.base import Severity
    from opentrust.scan.report import render_json

    return render_json(result, Severity.parse(fail_on) if isinstance(fail_on, str) else fail_on)


def scan_sarif(result: Any, **_: Any) -> str:
    from opentrust.scan.report import render_sarif

    return render_sarif(result)


def compare_json(result: Any, **_: Any) -> str:
    return _json(result.model_dump(mode="json", by_alias=True))


def compare_html(result: Any, **_: Any) -> str:
    from opentrust.compare.report import render_html

    return render_html(result)


def fairness_json(result: Any, **_: Any) -> str:
    return _json(result.model_dump(mode="json", by_alias=True))


def fairness_html(result: Any, **_: Any) -> str:
    from opentrust.fairness.report import render_html

    return render_html(result)


def fairness_junit(result: Any, **_: Any) -> str:
    from opentrust.fairness.report import render_junit

    return render_junit(result)


def gate_json(result: Any, **_: Any) -> str:
    return _json(result.model_dump(mode="json", by_alias=True))


def gate_sarif(result: Any, **_: Any) -> str:
    from opentrust.governance.render import to_sarif

    return _json(to_sarif(result))


def gate_junit(result: Any, **_: Any) -> str:
    from opentrust.governance.render import to_junit

    return to_junit(result)


def data_json(result: Any, **_: Any) -> str:
    from opentrust.datascan.report import render_json

    return render_json(result)


def data_sarif(result: Any, **_: Any) -> str:
    from opentrust.datascan.report import render_sarif

    return render_sarif(result)


def data_html(result: Any, **_: Any) -> str:
    from opentrust.datascan.report import render_html

    return render_html(result)


#: (format, render, kinds) of every built-in reporter
BUILTIN: list[tuple[str, Callable[..., str], tuple[str, ...]]] = [
    ("json", audit_json, ("audit",)), ("html", audit_html, ("audit",)),
    ("json", test_json, ("test",)), ("junit", test_junit, ("test",)),
    ("json", redteam_json, ("redteam",)), ("sarif", redteam_sarif, ("redteam",)), ("junit", redteam_junit, ("redteam",)),
    ("json", openness_json, ("openness",)), ("cyclonedx", openness_cyclonedx, ("openness",)),
    ("json", scan_json, ("scan",)), ("sarif", scan_sarif, ("scan",)),
    ("json", fairness_json, ("fairness",)), ("html", fairness_html, ("fairness",)),
    ("junit", fairness_junit, ("fairness",)),
    ("json", compare_json, ("compare",)), ("html", compare_html, ("compare",)),
    ("json", gate_json, ("gate",)), ("sarif", gate_sarif, ("gate",)), ("junit", gate_junit, ("gate",)),
    ("json", data_json, ("data",)), ("sarif", data_sarif, ("data",)), ("html", data_html, ("data",)),
]
