"""`opentrust ui` as a person uses it: the real command serving a store filled by real audits, driven by real
headless Debian chromium (Playwright), as the report test does.

Every page loads and shows its data with JavaScript on and off; navigation, the inventory filters, the compare
page, a review changing the detectors' error figures, a model output holding a script shown as text, the guard
log verified and refreshing itself. Screenshots of each page go to test-artifacts/ui/ (cited in the closing note).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlencode

import httpx
import pytest

from opentrust.backends.local_server import stop

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (.ci/run installs it)")]


# -- the server: the real command on a free loopback port ------------------------------------------------------------
def _start(db: Path, guard_log: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    from opentrust.backends.local_server import free_port, wait_http

    port = free_port()
    env = {**os.environ, "OPENTRUST_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "opentrust", "ui", "--db", str(db), "--guard-log", str(guard_log),
                             "--port", str(port), *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/api/models", proc, 60, "opentrust ui")
    except RuntimeError:
        proc.kill()
        raise AssertionError(proc.communicate()[0]) from None
    return proc, base


@pytest.fixture(scope="module")
def store(ui_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's store: this module writes reviews into it."""
    d = tmp_path_factory.mktemp("ui-pages")
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{ui_store}{suffix}").exists():
            shutil.copy(f"{ui_store}{suffix}", d / f"store.db{suffix}")
    return d / "store.db"


@pytest.fixture(scope="module")
def guard_log(ui_guard_log: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's guard log (this module appends to it) with its head file."""
    d = tmp_path_factory.mktemp("ui-guard")
    for suffix in ("", "-wal", "-shm", ".head"):
        if Path(f"{ui_guard_log}{suffix}").exists():
            shutil.copy(f"{ui_guard_log}{suffix}", d / f"guard.db{suffix}")
    return d / "guard.db"


@pytest.fixture(scope="module")
def base(store: Path, guard_log: Path, ui_reports: Path, comparison: subprocess.Popen[str]) -> Iterator[str]:
    proc, url = _start(store, guard_log, "--allow-review", "--reports", str(ui_reports))
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def comparison(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[str]]:
    """A real `opentrust compare smollm2 gemma3-270m` on the session's tiny suite (its samples mostly cached),
    started first and left to run beside the other tests; the compare test, last in the file, waits for it."""
    from tests.ui.conftest import SUITE

    work = tmp_path_factory.mktemp("ui-compare")
    suite = work / "tiny.yaml"
    suite.write_text(SUITE)
    env = {**os.environ, "OPENTRUST_DB": str(store), "OPENTRUST_CACHE": str(work / "cache")}
    with open(work / "compare.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "opentrust", "compare", "smollm2", "gemma3-270m", str(suite),
                                 "--db", str(store), "--cpu-watts", "15"], stdout=log, stderr=subprocess.STDOUT,
                                text=True, env=env)
    proc.log = work / "compare.log"  # type: ignore[attr-defined]
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page plus what it asked for and what the browser complained about."""

    def __init__(self, browser: Any, base: str, js: bool):
        self.context = browser.new_context(java_script_enabled=js, viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.base = base
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def go(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, f"{path}: {response.status if response else None}"
        return self.page

    def shot(self, name: str, height: int | None = None) -> Path:
        """A screenshot of the whole page (``height``: only its top, for pages that list many outputs)."""
        path = ARTIFACTS / f"{name}.png"
        clip = {"x": 0, "y": 0, "width": 1280, "height": height} if height else None
        self.page.screenshot(path=str(path), full_page=True, clip=clip)
        assert path.stat().st_size > 5_000
        return path

    def close(self) -> None:
        foreign = [u for u in self.requests if not u.startswith(self.base)]
        assert foreign == [], f"requests to elsewhere: {foreign}"
        assert self.errors == [], f"browser errors: {self.errors}"
        self.context.close()


@pytest.fixture()
def page(browser: Any, base: str) -> Iterator[Page]:
    p = Page(browser, base, js=True)
    yield p
    p.close()


@pytest.fixture()
def nojs(browser: Any, base: str) -> Iterator[Page]:
    p = Page(browser, base, js=False)
    yield p
    p.close()


# -- what is in the store (read through the JSON API) ------------------------------------------------------------------
@pytest.fixture(scope="module")
def facts(base: str, store: Path) -> dict[str, Any]:
    """Fingerprints of the two audited models, a red-team run of each kind, a cell with a reviewable output and
    the cell holding the malicious output."""
    import sqlite3

    api = httpx.Client(base_url=base, timeout=30)
    models = api.get("/api/models", params={"limit": 100}).json()["items"]
    by_name = {name: m["fingerprint"] for m in models for name in m["names"]}
    smollm2 = next(fp for name, fp in by_name.items() if "smollm2" in name.lower())
    gemma = next(fp for name, fp in by_name.items() if "gemma" in name.lower())
    db = sqlite3.connect(store)
    runs = [r[0] for r in db.execute("SELECT id FROM runs WHERE status='done' AND command IN ('redteam', 'audit') "
                                     "ORDER BY started_at")]
    script_runs = {r[0] for r in db.execute("SELECT DISTINCT rs.run_id FROM samples s JOIN run_samples rs "
                                            "ON rs.sample_id = s.id WHERE s.text LIKE '%<script%'")}
    db.close()
    out: dict[str, Any] = {"smollm2": smollm2, "gemma": gemma, "models": models}
    for run_id in runs:
        wanted = "script" if run_id in script_runs else "review"
        if wanted in out:
            continue
        r = api.get(f"/api/redteam/{run_id}")
        if r.status_code != 200:
            continue
        out.setdefault("redteam_run", run_id)
        for cell in r.json()["cells"]:
            q = {"category": cell["category"], "technique": cell["technique"]}
            probes = api.get(f"/api/redteam/{run_id}/cell", params={**q, "limit": 20}).json()["probes"]
            for p in probes:
                for o in p["outputs"]:
                    if wanted == "script" and "<script" in o["output"] and "script" not in out:
                        out["script"] = {"run_id": run_id, **q, "output": o["output"]}
                    if wanted == "review" and o["label"] is not None and "review" not in out:
                        out["review"] = {"run_id": run_id, **q, "probe": p["id"], "index": o["index"],
                                         "detector": p["detector"], "label": o["label"]}
            if wanted in out:
                break
    assert {"script", "review", "redteam_run"} <= set(out), f"the store lacks what these tests need: {sorted(out)}"
    api.close()
    return out


def _cell_url(f: dict[str, Any]) -> str:
    return f"/redteam/{f['run_id']}/cell?" + urlencode({"category": f["category"], "technique": f["technique"]})


def _pages(facts: dict[str, Any], base: str) -> dict[str, str]:
    audit = httpx.get(f"{base}/api/models/{facts['smollm2']}", timeout=30).json()["model"]["last_audit"]["run_id"]
    return {"models": "/models", "model": f"/models/{facts['smollm2']}", "audit": f"/runs/{audit}",
            "compare": f"/compare?m={facts['smollm2']}&m={facts['gemma']}", "redteam": f"/redteam/{facts['review']['run_id']}",
            "cell": _cell_url(facts["review"]), "review": "/review", "guard": "/guard"}


# -- the tests -------------------------------------------------------------------------------------------------------------
def test_each_page_loads_shows_its_data_and_is_screenshotted(page: Page, facts: dict[str, Any], base: str) -> None:
    urls = _pages(facts, base)
    p = page.go(urls["models"])
    assert p.locator("#inventory tbody tr[data-fingerprint]").count() >= 2
    assert p.locator("html[data-enhanced='1']").count() == 1  # the script ran (same origin, allowed by the CSP)
    page.shot("models")

    p = page.go(urls["model"])
    assert "smollm2" in p.locator("h1").inner_text()
    assert p.locator("#runs tbody tr").count() >= 1
    assert p.locator("figure.trend-figure").count() == 4
    assert p.locator("figure.trend-figure svg.trend").count() >= 1  # at least one figure measured over runs
    page.shot("model")

    p = page.go(urls["audit"])
    assert p.title().startswith("opentrust audit")  # report.html.j2's own title
    assert p.locator("header#summary .verdict").count() == 1
    assert p.locator("section.check").count() >= 3
    assert p.locator("nav.site a[href='/models']").count() == 1  # plus the site navigation
    page.shot("audit")

    p = page.go(urls["redteam"])
    cells = p.locator("#heatmap td.heat")
    assert cells.count() >= 1
    assert any(ch.isdigit() for ch in cells.first.inner_text())  # numbers in the cells, not colour alone
    page.shot("redteam")

    p = page.go(urls["cell"])
    assert p.locator("pre.model-output").count() >= 1
    assert p.locator("td.reviewed").count() >= 1
    page.shot("redteam-cell", height=1400)

    p = page.go(urls["review"])
    assert p.locator("#detector-error tbody tr[data-detector]").count() >= 1
    page.shot("review")

    p = page.go(urls["guard"])
    assert "intact" in p.locator("#chain").inner_text()
    assert p.locator("#decisions tbody tr[data-seq]").count() >= 3
    assert p.locator("#blocks svg rect.seg").count() >= 1
    page.shot("guard")

    p = page.go("/reports")
    files = p.locator("#report-files tbody tr th a")
    assert files.count() >= 2
    files.first.click()
    p.wait_for_url("**/reports/*")
    assert p.locator("main section.check, #decisions, pre").count() >= 1
    page.shot("report-file")
    # the JSON API behind each page
    for name, url in urls.items():
        r = httpx.get(f"{base}/api{url}", timeout=30)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", (name, r.status_code)
    assert httpx.get(f"{base}/api/models/{'0' * 64}", timeout=30).json()["error"].startswith("no model")
    r = httpx.get(f"{base}/models/{facts['smollm2']}/aibom.cdx.json", timeout=30)
    assert r.status_code == 200 and r.json()["bomFormat"] == "CycloneDX"
    r = httpx.get(f"{base}/models/{facts['smollm2']}/factsheet", timeout=30)
    assert r.status_code == 200 and "Annex" in r.text


def test_navigation_by_links_and_keyboard(page: Page, facts: dict[str, Any]) -> None:
    p = page.go("/")
    p.locator(f"#inventory tr[data-fingerprint='{facts['smollm2']}'] th a").click()
    p.wait_for_url(f"**/models/{facts['smollm2']}")
    p.locator("#runs tbody tr[data-command='audit'] th a").first.click()
    p.wait_for_url("**/runs/*")
    assert p.locator("main section.check").count() >= 1
    p.locator("nav.site a", has_text="Guard").click()
    p.wait_for_url("**/guard")
    assert p.locator("nav.site a[aria-current='page']").inner_text() == "Guard"
    # keyboard: the first Tab reaches the skip link, Enter follows it; Tab then walks the site navigation
    p.keyboard.press("Tab")
    assert p.evaluate("document.activeElement.textContent") == "Skip to content"
    p.keyboard.press("Tab")
    assert p.evaluate("document.activeElement.getAttribute('href')") == "/models"
    p.keyboard.press("Enter")
    p.wait_for_url("**/models")


def test_filters_narrow_the_inventory(nojs: Page, facts: dict[str, Any], base: str) -> None:
    p = nojs.go("/models")
    everyone = p.locator("#inventory tbody tr[data-fingerprint]").count()
    assert everyone >= 2
    p.fill("input[name=q]", "gemma")
    p.locator("form.filters button[type=submit]").click()  # a plain GET form: works without JavaScript
    p.wait_for_url("**/models?*q=gemma*")
    rows = p.locator("#inventory tbody tr[data-fingerprint]")
    assert rows.count() == 1 and rows.first.get_attribute("data-fingerprint") == facts["gemma"]
    nojs.shot("models-filtered")
    # a figure filter: each gate status picks some models, together all of them
    totals = [httpx.get(f"{base}/api/models", params={"gate": g}).json()["total"]
              for g in ("pass", "conditional", "fail", "none")]
    assert sum(totals) == everyone and max(totals) < everyone
    assert httpx.get(f"{base}/api/models", params={"sort": "bogus"}).status_code == 400


def test_a_review_marks_a_label_and_changes_the_detector_error(page: Page, facts: dict[str, Any], base: str) -> None:
    f = facts["review"]
    before = httpx.get(f"{base}/api/review", timeout=30).json()["detectors"][f["detector"]]
    p = page.go(_cell_url(f))
    row = p.locator(f"section[id='probe-{f['probe']}'] tr[data-sample='{f['index']}']")
    form = row.locator("form.review-form")
    form.locator("input[name=reviewer]").fill("Ada <b>Reviewer</b>")
    wrong = [o for o in form.locator("select[name=label_after] option").all_inner_texts()]
    assert len(wrong) >= 2
    form.locator("select[name=label_after]").select_option(index=next(
        i for i, t in enumerate(wrong) if "as the detector said" not in t))
    form.locator("button[type=submit]").click()
    p.wait_for_url("**done=*")
    row = p.locator(f"section[id='probe-{f['probe']}'] tr[data-sample='{f['index']}']")
    assert "reviewed" in row.locator("td.reviewed").inner_text()
    assert "Ada <b>Reviewer</b>" in row.locator("td.reviewed").inner_text()  # the name as text
    after = httpx.get(f"{base}/api/review", timeout=30).json()["detectors"][f["detector"]]
    assert after["reviews"] == before["reviews"] + 1 and after["detector_wrong"] == before["detector_wrong"] + 1
    assert after["after"]["n"] == before["after"]["n"] + 1
    assert (after["after"]["sensitivity"], after["after"]["specificity"]) != (
        before["after"]["sensitivity"], before["after"]["specificity"])
    p = page.go("/review")
    shown = p.locator(f"#detector-error tr[data-detector='{f['detector']}'] td.reviews").inner_text()
    assert int(shown) == after["reviews"]
    assert p.locator("#reviews tbody tr").first.inner_text().count("Ada <b>Reviewer</b>") == 1
    page.shot("review-after")


def test_reviews_need_the_token_and_the_flag(base: str, facts: dict[str, Any], store: Path, guard_log: Path) -> None:
    f = facts["review"]
    form = {"run_id": f["run_id"], "probe_id": f["probe"], "sample_index": str(f["index"]), "reviewer": "x",
            "label_after": f["label"]}
    forged = httpx.post(f"{base}/review", data={**form, "csrf": "1.deadbeef"}, timeout=30)
    assert forged.status_code == 403
    assert httpx.post(f"{base}/review", data=form, timeout=30).status_code == 403
    proc, read_only = _start(store, guard_log)  # the same store without --allow-review: no write route at all
    try:
        assert httpx.post(f"{read_only}/review", data=form, timeout=30).status_code == 405
        page = httpx.get(f"{read_only}{_cell_url(f)}", timeout=30).text
        assert '<form method="post"' not in page and "read-only" in page
        assert httpx.get(f"{read_only}/models", headers={"host": "evil.example"}, timeout=30).status_code == 400
    finally:
        stop(proc)


def test_a_malicious_model_output_appears_as_text(page: Page, facts: dict[str, Any], base: str) -> None:
    f = facts["script"]
    dialogs: list[str] = []
    page.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    p = page.go(_cell_url(f))
    shown = p.locator("pre.model-output").all_inner_texts()
    assert f["output"] in shown  # the exact text, markup and all
    assert p.locator("main script").count() == 0 and p.locator("pre.model-output *").count() == 0
    page.shot("malicious-output", height=1000)
    p = page.go(f"/redteam/{f['run_id']}")  # that run's whole heat map: every cell prints its figure
    cells = p.locator("#heatmap td.heat a")
    assert cells.count() >= 5
    assert all(any(ch.isdigit() for ch in t) for t in cells.all_inner_texts())
    page.shot("redteam-heatmap")
    p = page.go("/models")  # the target's name holds the script too
    assert any("<script>" in t for t in p.locator("#inventory tbody th").all_inner_texts())
    assert p.locator("main script").count() == 0
    assert dialogs == []  # alert() never ran
    html = httpx.get(base + _cell_url(f), timeout=30)
    assert "<script>document" not in html.text and "&lt;script&gt;" in html.text
    assert "script-src 'self'" in html.headers["content-security-policy"]  # and inline script could not run anyway
    api = httpx.get(f"{base}/api/redteam/{f['run_id']}/cell", params={k: f[k] for k in ("category", "technique")})
    assert f["output"] in [o["output"] for p_ in api.json()["probes"] for o in p_["outputs"]]  # JSON keeps it as data


def test_every_page_shows_its_data_with_javascript_off(nojs: Page, facts: dict[str, Any], base: str) -> None:
    urls = _pages(facts, base)
    checks = {"models": "#inventory tbody tr[data-fingerprint]", "model": "#runs tbody tr",
              "audit": "section.check", "compare": "#side-by-side tbody tr", "redteam": "#heatmap td.heat",
              "cell": "pre.model-output", "review": "#detector-error tbody tr", "guard": "#decisions tbody tr[data-seq]"}
    for name, url in urls.items():
        p = nojs.go(url)
        assert p.locator(checks[name]).count() >= 1, name
        assert p.locator("html[data-enhanced]").count() == 0  # nothing ran
        if name in ("model", "guard", "redteam"):
            assert p.locator("svg, table").count() >= 1
        nojs.shot(f"nojs-{name}")


def test_the_guard_page_refreshes_itself(page: Page, guard_log: Path) -> None:
    from opentrust.clock import utc_now
    from opentrust.guard.log import GuardLog

    p = page.go("/guard")
    rows = p.locator("#decisions tbody tr[data-seq]")
    first = rows.count()
    log = GuardLog(guard_log)
    try:
        seq = log.append_sync([{"ts": utc_now(), "request_id": "live-1", "direction": "output",
                                "endpoint": "/v1/chat/completions", "decision": "block",
                                "rules": [{"id": "test.live", "action": "block", "score": 1.0}],
                                "content_sha256": "0" * 64, "guard_ms": 0.5}])[0]
    finally:
        log.close()
    p.locator(f"#decisions tbody tr[data-seq='{seq}']").wait_for(timeout=15_000)  # polled from /api/guard
    assert rows.count() == first + 1
    assert "test.live" in p.locator(f"#decisions tbody tr[data-seq='{seq}']").inner_text()


def test_compare_shows_both_models(page: Page, facts: dict[str, Any], comparison: subprocess.Popen[str]) -> None:
    """Last in the file: the comparison started with the module has had the other tests' time to finish."""
    p = page.go("/models")
    for fp in (facts["smollm2"], facts["gemma"]):
        p.locator(f"#inventory tr[data-fingerprint='{fp}'] input[name=m]").check()
    p.locator("#compare-form > button[type=submit]").click()
    p.wait_for_url("**/compare?*")
    side = p.locator("#side-by-side tbody tr[data-fingerprint]")
    assert sorted(side.nth(i).get_attribute("data-fingerprint") for i in range(side.count())) == sorted(
        [facts["smollm2"], facts["gemma"]])
    assert p.locator("#no-comparison").count() in (0, 1)
    assert comparison.wait(timeout=600) == 0, comparison.log.read_text()[-3000:]  # type: ignore[attr-defined]
    p.reload()
    # the stored comparison, rendered by compare.html.j2: both models, the scatter with its Pareto front,
    # the pairwise verdicts and the per-case differences
    assert p.locator("#no-comparison").count() == 0
    assert sorted(p.locator("#models tr[data-target]").evaluate_all("rs => rs.map(r => r.dataset.target)")) == [
        "gemma3-270m", "smollm2"]
    assert p.locator("#scatter svg.scatter circle.point").count() >= 2
    assert "Pareto front" in p.locator("#scatter").inner_text()
    assert p.locator("#verdicts table.matrix td").count() >= 2 and p.locator("#verdicts table.pairs tbody tr").count() == 1
    assert p.locator("#cases table.disagreements").count() == 1
    assert p.locator("#recommendation").inner_text().startswith("Recommendation:")
    page.shot("compare")
