"""The example third-party plugin (docs/examples/opentrust-plugin-example) installed with pip, as a user would,
and used through every extension point from the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow  # builds and installs a package

EXAMPLE = REPO / "docs" / "examples" / "opentrust-plugin-example"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(target), str(EXAMPLE)],
                          capture_output=True, text=True, timeout=300, cwd=build)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(target.glob("opentrust_plugin_example-*.dist-info/entry_points.txt"))
    return target


def _cli(site: Path, *args: str, plugins: bool = True) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(site)}
    if not plugins:
        env["OPENTRUST_NO_PLUGINS"] = "1"
    return run_cli(*args, env=env)


def test_backend_check_and_reporter(site: Path, tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("cases:\n  - id: c\n    prompt: make noise\n    require: {max_samples: 3}\n"
                     "    assert: [{type: contains, value: MAKE NOISE, case_sensitive: true}]\n")
    r = _cli(site, "test", str(suite), "-m", "shout:x", "--format", "json", "--db", str(tmp_path / "db"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["cases"][0]["successes"] == 3

    r = _cli(site, "audit", "shout:x", "--check", "answer_length", "--out", str(tmp_path / "out"),
             "--db", str(tmp_path / "db"))
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "out" / "shout-x" / "report.md").read_text()
    assert "**Answer length** (ok): 2.0 words per answer" in md  # "SAY HELLO."
    report = json.loads((tmp_path / "out" / "shout-x" / "report.json").read_text())
    assert report["sections"][0]["measurements"][0]["value"] == 2.0

    off = _cli(site, "test", str(suite), "-m", "shout:x", plugins=False)
    assert off.returncode == 2 and "no such file" in off.stderr  # OPENTRUST_NO_PLUGINS: no shout: scheme


def test_scanner_probe_and_command(site: Path, tmp_path: Path) -> None:
    f = tmp_path / "weights.bin"
    f.write_bytes(b"EXAMPLE-MODEL v1\n")
    r = _cli(site, "scan", str(f), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["files"][0]["format"] == "example-model" and doc["findings"][0]["rule_id"] == "EXAMPLE-MODEL"

    r = _cli(site, "redteam", "shout:x", "--categories", "over_refusal", "--mutators", "none", "--format", "json",
             "--profile", "full", "--db", str(tmp_path / "db"))
    assert r.returncode in (0, 1), r.stderr
    assert "example.polite-greeting" in {p["id"] for p in json.loads(r.stdout)["probes"]}

    r = _cli(site, "example-hello")
    assert r.returncode == 0 and "hello from the opentrust example plugin" in r.stdout


def test_detector(site: Path, tmp_path: Path) -> None:
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"prompt": "p", "response": "STOP SHOUTING"}\n{"prompt": "p", "response": "fine, thanks"}\n')
    r = _cli(site, "detect", "shouting", "--input", str(lines))
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["label"] for x in r.stdout.splitlines()] == ["shouting", "calm"]
