"""`opentrust compare` on real models: SmolLM2 against itself through the llama.cpp server (the same weights,
two backends), and SmolLM2 against Gemma 3 270M (a base model) in chat and completion prompting, with the HTML
report in a real headless browser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from opentrust.compare.run import CompareOptions, run_compare
from opentrust.evals.suite import load_suite
from opentrust.results.compare import CompareResult

# about a minute each on 2 idle cores; the timeout leaves room for a machine shared with other model runs
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

QUESTIONS = [("capital-france", "What is the capital of France?", r"\bparis\b"),
             ("red-planet", "Which planet is known as the Red Planet?", r"\bmars\b"),
             ("spider-legs", "How many legs does a spider have?", r"\b(8|eight)\b"),
             ("water", "What is the chemical formula of water?", r"H2O"),
             ("sum", "What is 2 + 3? Reply with the number only.", r"\b5\b|\bfive\b"),
             ("colour-sky", "What colour is a clear daytime sky?", r"\bblue\b"),
             ("days-week", "How many days are in a week?", r"\b(7|seven)\b"),
             ("capital-japan", "What is the capital of Japan?", r"\btokyo\b"),
             ("ice", "What is frozen water called?", r"\bice\b"),
             ("sun-star", "Is the Sun a star or a planet?", r"\bstar\b"),
             ("opposite-hot", "What is the opposite of hot?", r"\bcold\b"),
             ("legs-dog", "How many legs does a dog have?", r"\b(4|four)\b")]


def _suite(tmp_path: Path, n: int, temperature: float, max_tokens: int = 24, system: bool = True) -> list:
    rows = "\n".join(f"      - {{id: {i}, q: \"{q}\", p: '{p}'}}" for i, q, p in QUESTIONS[:n])
    path = tmp_path / "facts.yaml"
    path.write_text("defaults:\n" + ("  system: Answer the question briefly.\n" if system else "") +
                    f"  sampling: {{temperature: {temperature}, max_tokens: {max_tokens}}}\n"
                    f"cases:\n  - id: fact\n    prompt: \"{{{{ q }}}}\"\n    vars:\n{rows}\n"
                    f"    assert: [{{type: regex, pattern: \"{{{{ p }}}}\", ignore_case: true}}]\n")
    return load_suite(path).cases


def test_the_same_weights_in_process_and_over_http(tmp_path: Path, llama_server: str) -> None:
    """Two latency rows, one quality: greedy answers, so the only difference is the backend (and the server's
    default repeat penalty). A 'better' either way would be a false discovery."""
    endpoint = f"openai:{llama_server}#smollm2"
    options = CompareOptions(delta=0.2, rounds=1, latency_prompts=3, repeats=2, idle_seconds=0.1, cpu_watts=30)
    doc = run_compare(["smollm2", endpoint], _suite(tmp_path, 12, 0.0, max_tokens=16), options, db=tmp_path / "db")
    result = CompareResult.model_validate(doc)
    (pair,) = result.pairs
    assert pair.verdict in ("tied", "non_inferior"), pair.reason
    local, http = result.models
    assert (local.backend, http.backend) == ("llama.cpp", "openai-http")
    assert local.fingerprint != http.fingerprint  # the endpoint is identified by what its server reports
    # two latency rows, each measured
    for m in (local, http):
        assert m.latency.timed == m.latency.answers == 6 and m.latency.ttft_p50 and m.latency.decode_tok_s
    assert local.latency.ttft_p50 != http.latency.ttft_p50
    assert pair.latency_ratio["ttft"] is not None and pair.latency_ratio["ttft"].pairs == 6
    # memory: the worker process is ours to measure, the server's process is not
    assert local.memory.peak_rss_mb and local.memory.peak_rss_mb > local.file_bytes / 1e6
    assert http.memory.peak_rss_mb is None and "endpoint" in http.memory.source
    # energy: estimated from the worker's CPU time; the server's CPU time is unknown, so unavailable
    assert local.energy.source == "estimated:cpu-watts" and local.energy.wh_per_1k and local.energy.wh_per_1k > 0
    assert http.energy.source == "unavailable" and http.energy.wh_per_1k is None
    assert local.params and local.params > 100_000_000 and local.quantization


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (.ci/run installs it)")
def test_smollm2_against_gemma_in_chat_and_completion_prompting_and_the_report_in_a_browser(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from opentrust.compare.report import render_html

    options = CompareOptions(rounds=2, latency_prompts=2, repeats=2, idle_seconds=0.1, cpu_watts=30,
                             grid_intensity=400)
    specs = ["smollm2", "gemma3-270m", "completion:gemma3-270m"]
    # no system prompt: through the guessed chat format Gemma then stops before its first token (with one, it
    # continues the format's [INST] <<SYS>> markup instead). Greedy answers, so that the 'better' below does not
    # hang on sampling luck: at temperature 0.7 SmolLM2 answers only about 40% of these right and 'better'
    # against Gemma's empty answers needs about 6 of the 12 cases (the verdict came out non_inferior in CI).
    # Greedy, SmolLM2 answers 9 of 12 right here, 3 to spare; both rounds give the same answers, which the
    # case-clustered test counts as one case each, not two.
    doc = run_compare(specs, _suite(tmp_path, 12, 0.0, system=False), options, db=tmp_path / "db")
    result = CompareResult.model_validate(doc)
    smol, gemma, plain = result.models
    # what Gemma really produced through the chat format: nothing, and the report says so
    assert gemma.quality.empty_answers == gemma.quality.samples and gemma.quality.mean == 0
    assert gemma.latency.no_token == gemma.latency.answers
    assert plain.quality.empty_answers < plain.quality.samples and plain.prompt_mode == "completion"
    assert gemma.fingerprint == plain.fingerprint and gemma.params == plain.params > smol.params
    assert len(set(result.run_ids.values())) == 3  # one run each, also for the two with the same fingerprint
    assert gemma.chat_template is False and smol.chat_template is True
    from opentrust.compare.report import warnings

    assert any(w.startswith("gemma3-270m:") and "completion:gemma3-270m" in w for w in warnings(result))
    assert smol.quantization == "Q4_1" and gemma.quantization == "Q4_K_M"
    for m in result.models:
        assert m.memory.peak_rss_mb and m.energy.source == "estimated:cpu-watts"
        assert m.co2.intensity_g_per_kwh == 400 and m.co2.g_per_1k == pytest.approx(m.energy.wh_per_1k * 0.4, rel=1e-3)
    verdicts = {(p.a, p.b): p for p in result.pairs}
    smol_vs_gemma = verdicts[("smollm2", "gemma3-270m")]
    assert smol.quality.mean >= 0.5, [c.answers["smollm2"] for c in result.cases]  # the premise: see above
    assert smol_vs_gemma.verdict == "better", smol_vs_gemma.reason
    assert smol_vs_gemma.b_only == 0 and smol_vs_gemma.a_only >= 6
    assert result.recommendation.target in specs and result.recommendation.reason
    page_path = tmp_path / "compare.html"
    page_path.write_text(render_html(result))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(java_script_enabled=False)  # must work with JavaScript off
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda req: requests.append(req.url))
        page.goto(page_path.as_uri())
        assert page.title().startswith("opentrust compare")
        assert "Recommendation:" in page.locator("#recommendation").inner_text()
        # the scatter: the energy plot shows (estimated points are hollow), the x axis switches without script
        energy_plot = page.locator("#plot-energy")
        assert energy_plot.is_visible() and not page.locator("#plot-memory").is_visible()
        assert energy_plot.locator("circle.point.estimated").count() == 3
        assert energy_plot.locator("circle.point.measured").count() == 0
        page.locator("label[for=x-memory]").click()
        assert page.locator("#plot-memory").is_visible() and not energy_plot.is_visible()
        assert page.locator("#plot-memory circle.point.measured").count() == 3
        assert page.locator("#plot-memory line.ci").count() >= 1  # quality intervals
        # the verdict matrix: every off-diagonal cell holds a verdict word
        cells = page.locator("table.matrix td:not(.v-self)").all_inner_texts()
        assert len(cells) == 6 and set(cells) <= {"better", "worse", "tied", "non_inferior", "inconclusive"}
        assert page.locator("table.disagreements tbody tr").count() >= 1  # where the models disagree
        assert "(empty)" in page.locator("table.disagreements").inner_text()  # Gemma's chat answers
        page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
        browser.close()
    assert [u for u in requests if not u.startswith("file://")] == []
    assert (tmp_path / "compare.png").stat().st_size > 10_000
