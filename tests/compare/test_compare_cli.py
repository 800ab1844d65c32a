"""`opentrust compare` through the CLI with the fake backend: verdicts, sequential stopping, the cache (nothing
generated twice), exit codes, the JSON read back and the HTML. The real models are in test_compare_real.py."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from opentrust import read_result
from opentrust.results import current_version, json_schema
from opentrust.results.base import undeclared
from tests.conftest import count_samples, run_cli

CASES = 30


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text("cases:\n  - id: q\n    prompt: \"Question {{ i }}?\"\n"
                    f"    vars: {{i: {list(range(CASES))}}}\n"
                    "    assert: [{type: contains, value: \"yes\"}]\n")
    return path


def _compare(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    out = tmp_path / "out"
    r = run_cli("compare", *args, "--db", str(tmp_path / "db"), "--out", str(out))
    doc = json.loads((out / "compare.json").read_text()) if (out / "compare.json").exists() else {}
    return r.returncode, doc, r.stderr + r.stdout


def test_a_clearly_better_model_settles_after_one_round(tmp_path: Path, suite: Path) -> None:
    code, doc, text = _compare(tmp_path, "fake:coin=0.9", "fake:coin=0.2", str(suite))
    assert code == 0, text
    (pair,) = doc["pairs"]
    assert (pair["a"], pair["b"], pair["verdict"], pair["reverse_verdict"]) == (
        "fake:coin=0.9", "fake:coin=0.2", "better", "worse")
    assert pair["ci"][0] > 0 and pair["p_adjusted"] < 0.05 / 3 and pair["test"] == "mcnemar-exact"
    # sequential: settled at the first look, so each model answered each case once, not three times
    assert pair["settled_at_round"] == 1 and doc["summary"]["rounds_used"] == 1
    assert doc["summary"]["generated"] == 2 * CASES
    assert doc["recommendation"]["target"] == "fake:coin=0.9" and doc["recommendation"]["samples_needed"] is None
    assert "Recommendation:" in text


def test_models_that_answer_alike_are_never_called_better(tmp_path: Path, suite: Path) -> None:
    # coin=0.6 and coin=0.60 are two targets (two fingerprints) whose answers are the same draws
    code, doc, text = _compare(tmp_path, "fake:coin=0.6", "fake:coin=0.60", str(suite))
    assert code == 0, text
    (pair,) = doc["pairs"]
    assert pair["diff"] == 0 and pair["a_only"] == pair["b_only"] == 0
    assert pair["verdict"] in ("tied", "non_inferior") and pair["test"] == "clustered-t"
    fps = {m["fingerprint"] for m in doc["models"]}
    assert len(fps) == 2


def test_nothing_is_generated_twice(tmp_path: Path, suite: Path) -> None:
    """The same fingerprint, request and seed: a test run's samples, then a comparison, then the comparison
    again — each sample is generated once and reused after."""
    db = tmp_path / "db"
    r = run_cli("test", str(suite), "-m", "fake:coin=0.6", "--db", str(db), "--format", "json")
    test_doc = json.loads(r.stdout)
    drawn_by_test = test_doc["suite"]["generated"]
    stored = count_samples(db)
    assert stored == drawn_by_test > 0
    code, doc, text = _compare(tmp_path, "fake:coin=0.6", "fake:coin=0.55", str(suite))
    assert code == 0, text
    first = {m["target"]: m["quality"] for m in doc["models"]}
    # everything the test run drew for coin=0.6 at indices the comparison uses is reused, never generated
    assert first["fake:coin=0.6"]["reused"] == min(drawn_by_test, first["fake:coin=0.6"]["samples"])
    assert first["fake:coin=0.6"]["generated"] == first["fake:coin=0.6"]["samples"] - first["fake:coin=0.6"]["reused"]
    assert count_samples(db) == stored + doc["summary"]["generated"]
    code, again, text = _compare(tmp_path, "fake:coin=0.6", "fake:coin=0.55", str(suite))
    assert code == 0, text
    assert again["summary"]["generated"] == 0 and again["summary"]["reused"] == doc["summary"]["generated"] + \
        doc["summary"]["reused"]
    assert count_samples(db) == stored + doc["summary"]["generated"]
    assert again["pairs"][0]["verdict"] == doc["pairs"][0]["verdict"]  # same samples, same verdict


def test_the_result_reads_back_and_matches_its_schema(tmp_path: Path, suite: Path) -> None:
    code, doc, text = _compare(tmp_path, "fake:coin=0.9", "fake:coin=0.5", "fake:coin=0.2", str(suite),
                               "--grid-intensity", "300")
    assert code == 0, text
    result = read_result(tmp_path / "out" / "compare.json")
    assert result.kind == "compare" and result.schema_version == current_version("compare")
    assert undeclared(result) == []
    jsonschema.validate(doc, json_schema("compare"))
    assert len(result.pairs) == 3  # every pair once, Holm across them
    assert all(p.p_adjusted >= p.p_value for p in result.pairs)
    # a pair settled at an early look keeps that verdict while the others go on sampling
    early = [p for p in result.pairs if p.settled_at_round == 1]
    assert early and all(p.verdict in ("better", "worse", "tied", "non_inferior") for p in early)
    assert result.summary.settled_at_round[f"{early[0].a} vs {early[0].b}"] == 1
    # no sensor and no --cpu-watts: energy and CO2 are unavailable, never invented
    for m in result.models:
        assert m.energy.source == "unavailable" and m.energy.wh_per_1k is None and m.co2.g_per_1k is None
    html = (tmp_path / "out" / "compare.html").read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "Pairwise verdicts" in html and "class=\"matrix\"" in html


def test_reference_and_fail_if_not_recommended(tmp_path: Path, suite: Path) -> None:
    code, doc, _ = _compare(tmp_path, "fake:coin=0.9", "fake:coin=0.2", str(suite), "--reference", "fake:coin=0.2",
                            "--fail-if-not-recommended", "fake:coin=0.2")
    (pair,) = doc["pairs"]
    assert (pair["a"], pair["b"]) == ("fake:coin=0.9", "fake:coin=0.2")  # candidate against the reference
    assert doc["recommendation"]["reference"] == "fake:coin=0.2"
    assert code == (0 if doc["recommendation"]["target"] == "fake:coin=0.2" else 1)
    assert doc["recommendation"]["target"] == "fake:coin=0.9" and code == 1


@pytest.mark.parametrize(("args", "message"), [
    (["fake:coin=0.9"], "at least two targets"),
    (["fake:coin=0.9", "fake:coin=0.9"], "given twice"),
    (["fake:coin=0.9", "fake:coin=0.2", "--profile", "huge"], "unknown profile"),
    (["fake:coin=0.9", "fake:coin=0.2", "--delta", "2"], "--delta"),
    (["fake:coin=0.9", "fake:coin=0.2", "--country", "XXX"], "--country XXX"),
    (["fake:coin=0.9", "fake:coin=0.2", "--grid-intensity", "100", "--country", "DEU"], "both given"),
    (["fake:coin=0.9", "fake:coin=0.2", "--reference", "smollm2"], "--reference"),
    (["fake:coin=0.9", "fake:coin=0.2", "--fail-if-not-recommended", "x"], "--fail-if-not-recommended"),
    (["fake:coin=0.9", "no-such-model.gguf"], "no such file"),
    (["fake:coin=0.9", "fake:coin=0.2", "--format", "pdf"], "unknown format"),
    (["fake:coin=0.9", "fake:coin=0.2", "--cpu-watts", "-3"], "--cpu-watts"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    r = run_cli("compare", *args, "--db", str(tmp_path / "db"))
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_html_on_stdout(tmp_path: Path, suite: Path) -> None:
    r = run_cli("compare", "fake:coin=0.9", "fake:coin=0.2", str(suite), "--format", "html", "--db", str(tmp_path / "db"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("<!DOCTYPE html>") and "Recommendation: fake:coin=0.9" in r.stdout


@pytest.mark.parametrize("command", ["compare", "test"])
def test_one_case_id_in_two_suites_is_one_line_and_exit_2(tmp_path: Path, suite: Path, command: str) -> None:
    """Cases are cached and paired by id: a second suite reusing an id is refused, by compare and test alike."""
    other = tmp_path / "other.yaml"
    other.write_text(suite.read_text())
    args = ["fake:coin=0.9", "fake:coin=0.2"] if command == "compare" else ["--model", "fake:coin=0.9"]
    r = run_cli(command, *args, str(suite), str(other), "--db", str(tmp_path / "db"))
    assert r.returncode == 2, r.stderr
    assert "appears in more than one suite" in r.stderr and len(r.stderr.strip().splitlines()) == 1
