"""End to end on the real SmolLM2: CLI → engine → JSON/JUnit/report; cache reuse, --no-cache, determinism,
resume after SIGKILL. Suites are tiny (few tokens, few samples) to keep the time down."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import count_samples, run_cli, sigkill_after

pytestmark = pytest.mark.slow

# p_fail = 0.1, p_pass = 0.9: two agreeing samples decide a case.
SMALL = """
defaults:
  sampling: {max_tokens: 6}
  require: {pass_rate: 0.5, indifference: 0.4, alpha: 0.05, beta: 0.1, max_samples: 6}
cases:
  - id: answers
    tags: [ok]
    prompt: Say hello.
    assert: [{type: length, min: 1}]
  - id: impossible
    prompt: Say goodbye.
    assert: [{type: contains, value: zzqxv-never-said}]
"""


def test_cli_json_junit_cache_and_no_cache(tmp_path: Path) -> None:
    suite = tmp_path / "small.yaml"
    suite.write_text(SMALL)
    db = tmp_path / "s.db"
    junit = tmp_path / "junit.xml"
    args = ["test", str(suite), "--model", "smollm2", "--format", "json", "--db", str(db)]
    first = run_cli(*args, "--junit", str(junit))
    assert first.returncode == 1, first.stderr  # a case fails
    data = json.loads(first.stdout)
    assert set(data) >= {"schema_version", "model", "cases", "suite"}
    cases = {c["id"]: c for c in data["cases"]}
    assert cases["answers"]["verdict"] == "pass" and cases["answers"]["samples"] == 2
    assert cases["answers"]["pass_rate"] == 1.0 and cases["answers"]["ci"][1] == 1.0
    assert cases["impossible"]["verdict"] == "fail" and cases["impossible"]["samples"] == 2
    assert len(cases["impossible"]["failures"]) == 2 and "missing" in cases["impossible"]["failures"][0]["reason"]
    assert data["suite"]["pass"] == 1 and data["suite"]["fail"] == 1 and data["suite"]["generated"] == 4
    assert count_samples(db) == 4
    root = ET.parse(junit).getroot()
    assert root.get("tests") == "2" and root.get("failures") == "1"
    assert "FAIL" in first.stderr and "1 passed, 1 failed" in first.stderr

    again = json.loads(run_cli(*args).stdout)  # warm: everything from the cache, identical verdicts
    assert again["suite"]["generated"] == 0 and again["suite"]["reused"] == 4
    assert [(c["id"], c["verdict"], c["failures"]) for c in again["cases"]] == \
        [(c["id"], c["verdict"], c["failures"]) for c in data["cases"]]

    fresh = run_cli(*args, "--no-cache")
    fresh_data = json.loads(fresh.stdout)
    assert fresh_data["suite"]["generated"] == 4 and fresh_data["suite"]["reused"] == 0
    # fixed seeds: regenerated samples are the same draws
    assert [c["failures"] for c in fresh_data["cases"]] == [c["failures"] for c in data["cases"]]
    assert count_samples(db) == 4

    # two cases with the same request share samples (one generation per index, never a race)
    twin = tmp_path / "twin.yaml"
    twin.write_text(SMALL.replace("Say goodbye.", "Say hello."))
    shared = json.loads(run_cli("test", str(twin), "--model", "smollm2", "--format", "json",
                                "--db", str(tmp_path / "twin.db")).stdout)
    assert shared["suite"]["generated"] == 2 and shared["suite"]["reused"] == 2
    assert count_samples(tmp_path / "twin.db") == 2

    only_ok = run_cli("test", str(suite), "--model", "smollm2", "-k", "ok", "--db", str(db))
    assert only_ok.returncode == 0, only_ok.stderr
    assert "answers" in only_ok.stdout and "impossible" not in only_ok.stdout


def test_report_section_renders_table_and_interval_bars(tmp_path: Path) -> None:
    from opentrust.evals.report import section
    from opentrust.evals.suite import load_suite
    from opentrust.evals.testrun import run_cases
    from opentrust.report.html import render

    suite = tmp_path / "small.yaml"
    suite.write_text(SMALL)
    run = run_cases(load_suite(suite).cases, "smollm2", db=tmp_path / "s.db")
    sec = section(run, "behaviour", "Behaviour")
    assert sec.status == "findings" and [f.properties["case"] for f in sec.findings] == ["impossible"]
    # one suite of two cases: its figure decides nothing, so no suite bar, and the measurement says so
    assert sec.charts[0].bars == [] and "insufficient evidence, not shown" in sec.charts[0].title
    assert sec.measurements[0].evidence == "insufficient" and sec.measurements[0].value is not None
    assert "insufficient evidence (2 cases)" in sec.summary
    assert [b.label for b in sec.charts[1].bars] == ["answers", "impossible"]
    assert sec.charts[1].bars[0].interval is not None
    failed = sec.findings[0].title
    assert "pass rate below the pass bound 0.9" in failed and "interval [0.00, " in failed
    from opentrust.report.model import Report, TargetInfo, ToolInfo

    report = Report(tool=ToolInfo(version="t"), command="audit", run_id="r", created_at="now",
                    target=TargetInfo(name="m", kind="gguf", location="x", fingerprint="f"), sections=[sec])
    html = render(report) if callable(render) else ""
    assert "impossible" in html and "<svg" in html and "insufficient evidence" in html


def test_resume_after_sigkill_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    suite = tmp_path / "long.yaml"
    # Each case needs 12 straight passes (pass_rate 0.8 ± 0.1): 36 samples in all, deterministic.
    suite.write_text("""
defaults:
  sampling: {max_tokens: 3}
  require: {pass_rate: 0.8, indifference: 0.1, max_samples: 12}
  assert: [{type: length, min: 0}]
cases:
  - {id: a, prompt: Say hi.}
  - {id: b, prompt: Say yes.}
  - {id: c, prompt: Say no.}
""")
    db = tmp_path / "s.db"
    out = tmp_path / "result.json"
    args = [sys.executable, "-m", "opentrust", "test", str(suite), "--model", "smollm2", "--db", str(db),
            "--out", str(out)]
    killed_at = sigkill_after(args, db, 4)
    assert 4 <= killed_at < 36, f"kill landed at {killed_at} samples, expected mid-run"
    assert not out.exists()

    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "resumed an interrupted run" in done.stderr
    data = json.loads(out.read_text())
    assert [c["verdict"] for c in data["cases"]] == ["pass"] * 3
    assert [c["samples"] for c in data["cases"]] == [12] * 3
    assert data["suite"]["reused"] == killed_at and data["suite"]["generated"] == 36 - killed_at
    assert count_samples(db) == 36
    with sqlite3.connect(db) as con:
        indices = con.execute("SELECT request_hash, group_concat(sample_index) FROM samples GROUP BY 1").fetchall()
        runs = con.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall()
    assert sorted(sorted(map(int, ix.split(","))) for _, ix in indices) == [list(range(12))] * 3
    assert runs == [("done", 1)]


def test_rubric_with_a_real_judge_model_records_verdicts_or_judge_errors(tmp_path: Path) -> None:
    from opentrust.evals.suite import load_suite
    from opentrust.evals.testrun import run_cases

    suite = tmp_path / "judge.yaml"
    suite.write_text("""
cases:
  - id: judged
    prompt: What is the capital of France?
    sampling: {max_tokens: 12}
    require: {pass_rate: 0.5, indifference: 0.4, max_samples: 3}
    assert: [{type: rubric, rubric: The answer names Paris., judge: smollm2}]
""")
    run = run_cases(load_suite(suite).cases, "smollm2", db=tmp_path / "s.db")
    r = run.results[0]
    assert r.draws == r.samples + r.errors and r.draws >= 2
    for f in r.failures:
        assert f["reason"].startswith("rubric: judge:")
    for e in r.error_details:
        assert e["reason"].startswith("judge error:")
    # judge answers are cached too: a second run generates nothing
    again = run_cases(load_suite(suite).cases, "smollm2", db=tmp_path / "s.db")
    assert again.stats.generated == 0 and again.results[0].verdict == r.verdict
