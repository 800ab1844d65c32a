"""Report JSON schema, and the HTML report as a person sees it in a real headless browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from opentrust.findings import Finding, Location, Measurement, Severity
from opentrust.report import html
from opentrust.report.model import Bar, BarChart, Report, Section, Table, TargetInfo, ToolInfo, json_schema

REPO = Path(__file__).resolve().parent.parent


def _report() -> Report:
    s1 = Section(check="model_facts", title="Model facts", facts={"architecture": "llama", "parameters": 134515008},
                 findings=[Finding(rule_id="OT-X", severity=Severity.medium, title="A <b>finding</b>",
                                   message="with <script>alert(1)</script>", location=Location(path="m.gguf", offset=12),
                                   evidence="bytes", remedy="fix it")])
    s2 = Section(check="smoke", title="Smoke", measurements=[Measurement(name="t", value=1.5, unit="s", n=3,
                                                                         interval=(1.0, 2.0), confidence=0.95)],
                 tables=[Table(title="Answers", columns=["a", "b"], rows=[["x", 1], ["y", None]])],
                 charts=[BarChart(title="Speed", unit="tokens/s", bars=[Bar(label="p1", value=40, interval=(30, 50)),
                                                                        Bar(label="p2", value=20)])])
    r = Report(tool=ToolInfo(version="0"), command="audit", run_id="r1", created_at="2026-01-01T00:00:00+00:00",
               target=TargetInfo(name="m", kind="gguf", location="/m.gguf", fingerprint="ab" * 32), sections=[s1, s2])
    return r.finalize(Severity.high)


def test_published_schema_is_up_to_date() -> None:
    published = json.loads((REPO / "docs" / "report-schema.json").read_text())
    assert published == json.loads(json.dumps(json_schema())), "run scripts/gen_report_schema.py"


def test_report_json_validates_against_the_schema() -> None:
    jsonschema.validate(json.loads(_report().model_dump_json()), json_schema())


def test_html_is_self_contained_and_escaped() -> None:
    page = html.render(_report())
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    without_svg_namespace = page.replace("xmlns='http://www.w3.org/2000/svg'", "")
    for external in ("http://", "https://", "<link", "<script", "src=", "@import"):
        assert external not in without_svg_namespace
    assert page.count("<svg") == 1 and page.count("class='ci'") == 3  # one whisker (3 lines) for p1


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (.ci/run installs it)")
def test_audit_report_in_a_real_browser(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.conftest import run_cli

    # The static checks and the smoke check: the sampling-heavy suites and red teaming have their own tests.
    r = run_cli("audit", "smollm2", "--out", str(tmp_path), "--check", "model_facts", "--check", "scan",
                "--check", "openness", "--check", "smoke")
    assert r.returncode == 0, r.stderr
    page_path = tmp_path / "smollm2" / "report.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(java_script_enabled=False)  # must read well with JavaScript off
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda req: requests.append(req.url))
        page.goto(page_path.as_uri())
        assert page.title() == "opentrust audit — smollm2"
        assert page.locator("section#check-model_facts h2").inner_text().startswith("Model facts")
        assert page.locator("section#check-smoke table.measurements").count() == 1
        assert page.locator("section#check-smoke svg rect.bar").count() >= 3
        assert "PASS" in page.locator("header .verdict").inner_text()
        assert page.locator("section#check-model_facts dl.facts").inner_text().count("llama") >= 1
        assert page.locator("section#check-scan table.findings").count() == 1  # the default system prompt (low)
        assert page.locator("section#check-openness svg rect.bar").count() == 3  # progress per MOF class
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert [u for u in requests if not u.startswith("file://")] == []  # nothing fetched from anywhere
    assert (tmp_path / "report.png").stat().st_size > 10_000
