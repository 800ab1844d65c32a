"""`opentrust improve` end to end through the CLI on a tiny randomly initialised llama GGUF (SmolLM2's tokenizer):
a real behaviour test of the tiny model -> plan -> LoRA training -> adapter GGUF -> llama.cpp re-test of base and
base+adapter -> before_after.json / .html; a rerun resumes without generating anything; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytest.importorskip("peft", reason="the tune extra (pip install 'opentrust[tune]')")
pytest.importorskip("gguf", reason="the tune extra (pip install 'opentrust[tune]')")

SUITE = """\
name: facts
defaults:
  sampling: {temperature: 0.7, max_tokens: 8}
  require: {pass_rate: 0.5, indifference: 0.3, max_samples: 6}
cases:
  - {id: capital-japan, prompt: "What is the capital of Japan?", assert: [{type: equals, value: Tokyo}]}
  - {id: capital-france, prompt: "What is the capital of France?", assert: [{type: equals, value: Paris}]}
  - {id: capital-italy, prompt: "What is the capital of Italy?", assert: [{type: equals, value: Rome}]}
  - {id: capital-spain, prompt: "What is the capital of Spain?", assert: [{type: equals, value: Madrid}]}
  - {id: red-planet, prompt: "Which planet is called the red planet?", assert: [{type: equals, value: Mars}]}
"""


@pytest.fixture(scope="module")
def tested(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Path:
    """The tiny model's real test run: it answers noise, so every case fails and each becomes an example."""
    from opentrust.improve.tiny import build_tiny_llama

    d = tmp_path_factory.mktemp("loop")
    build_tiny_llama(d / "tiny.gguf", smollm2_path)
    (d / "facts.yaml").write_text(SUITE, encoding="utf-8")
    r = run_cli("test", "facts.yaml", "-m", "tiny.gguf", "--format", "json", "--out", "t.json", "--db", "ot.db", cwd=d)
    assert r.returncode == 1, r.stderr  # the cases fail
    return d


@pytest.mark.slow
def test_the_whole_loop_then_a_rerun_resumes(tested: Path) -> None:
    args = ("improve", "tiny.gguf", "--from", "t.json", "--db", "ot.db", "--out", "imp", "--epochs", "2",
            "--max-steps", "2", "--controls", "factual-qa", "--seed", "3")
    r = run_cli(*args, cwd=tested)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tested / "imp" / "before_after.json").read_text())
    from opentrust.results import read_result

    assert read_result(tested / "imp" / "before_after.json").kind == "improve"
    assert doc["training"]["steps"] == 2 and doc["training"]["examples"] == doc["plan"]["examples"]["train"] > 0
    adapter = Path(doc["training"]["adapter_gguf"])
    assert adapter.is_file() and doc["tuned"]["spec"] == f"tiny.gguf+{adapter}"
    assert doc["tuned"]["fingerprint"] != doc["base"]["fingerprint"]
    rows = {r["category"]: r for r in doc["categories"]}
    assert set(rows) == {"behaviour", "factual-qa"}
    assert rows["behaviour"]["kind"] == "target" and rows["behaviour"]["n"] == doc["plan"]["examples"]["heldout"]
    assert rows["factual-qa"]["kind"] == "control" and rows["factual-qa"]["n"] == 30
    assert all(r["verdict"] in ("improved", "no change", "regressed") and r["test"] == "mcnemar-exact"
               for r in doc["categories"])
    assert doc["base"]["generated"] > 0 and doc["tuned"]["generated"] > 0
    out = " ".join(r.stdout.split())
    assert "before/after" in out and "factual-qa" in out and "before_after.html" in out
    assert "Before / after tuning" in (tested / "imp" / "before_after.html").read_text()
    # rerun: the plan is reused, training resumes at its last checkpoint, every answer comes from the cache
    again = run_cli(*args, cwd=tested)
    assert again.returncode == 0, again.stderr
    assert "reusing the plan" in again.stderr
    doc2 = json.loads((tested / "imp" / "before_after.json").read_text())
    assert doc2["base"]["generated"] == 0 and doc2["tuned"]["generated"] == 0
    assert doc2["training"]["resumed_from"] == 2
    assert [r["verdict"] for r in doc2["categories"]] == [r["verdict"] for r in doc["categories"]]


@pytest.mark.parametrize("args, words", [
    (("--method", "qlora"), "unknown --method"),
    (("--controls", "nonsense"), "unknown control suites"),
    (("--samples", "0"), "at least 1"),
    (("--epochs", "0"), "at least 1"),
])
def test_bad_input_is_one_line_exit_2(tested: Path, args: tuple[str, ...], words: str) -> None:
    r = run_cli("improve", "tiny.gguf", "--from", "t.json", "--db", "ot.db", "--out", "bad", *args, cwd=tested)
    assert r.returncode == 2, r.stderr
    assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
