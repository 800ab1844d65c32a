"""A run killed with SIGKILL resumes on the next invocation without losing or duplicating a sample."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from opentrust.checks.smoke import PROFILES, PROMPTS
from tests.conftest import count_samples, sigkill_after

pytestmark = pytest.mark.slow


def test_sigkill_then_resume(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    out = tmp_path / "reports"
    expected = PROFILES["standard"]["samples"] * len(PROMPTS)
    args = [sys.executable, "-m", "opentrust", "audit", "smollm2", "--profile", "standard", "--check", "smoke",
            "--out", str(out), "--db", str(db)]
    killed_at = sigkill_after(args, db, 3)
    assert 3 <= killed_at < expected, f"kill landed at {killed_at} samples, expected mid-run"
    assert not (out / "smollm2" / "report.json").exists()

    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "resumed an interrupted run" in done.stderr
    assert count_samples(db) == expected
    with sqlite3.connect(db) as con:
        dupes = con.execute("SELECT count(*) FROM (SELECT fingerprint, request_hash, sample_index FROM samples "
                            "GROUP BY 1, 2, 3 HAVING count(*) > 1)").fetchone()[0]
        runs = con.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall()
    assert dupes == 0
    assert runs == [("done", 1)]  # the killed run was resumed, not abandoned
    report = json.loads((out / "smollm2" / "report.json").read_text())
    reused = {m["name"]: m["value"] for m in report["sections"][0]["measurements"]}["smoke.samples_reused"]
    assert reused == killed_at

    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and count_samples(db) == expected  # a warm re-run generates nothing new
