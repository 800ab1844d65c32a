"""`opentrust scan FILE` starts fast: it skips typer, pluggy and pydantic, and behaves exactly like the typer
command (timings are measured by benchmarks/scan_startup.py, never asserted here)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

from payloads import pickle_payloads
from tests.conftest import run_cli

HEAVY = ["typer", "click", "pluggy", "pydantic", "pydantic_core", "rich.progress", "opentrust.findings",
         "opentrust.plugins", "numpy", "jinja2", "httpx", "sqlite3"]


def _modules_after_scan(*args: str) -> list[str]:
    code = ("import sys\nfrom opentrust import cli\nsys.argv = ['opentrust', 'scan', *sys.argv[1:]]\n"
            "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
            f"print('MODULES', [m for m in {HEAVY!r} if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("MODULES"))
    return eval(line.split(" ", 1)[1])  # noqa: S307 - our own printed list literal


def test_scan_of_one_file_imports_no_heavy_module(tmp_path: Path) -> None:
    benign = tmp_path / "small.pkl"
    benign.write_bytes(pickle.dumps({"a": [1, 2, 3]}))
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle_payloads(tmp_path / "marker")["timeit"])
    assert _modules_after_scan(str(benign)) == []
    assert _modules_after_scan(str(evil), "--format", "json") == []


def _stable(doc: dict) -> dict:
    for f in doc["files"]:
        f.pop("seconds")
    doc["summary"].pop("seconds")
    return doc


def test_fast_path_and_typer_path_agree(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "evil.pkl").write_bytes(pickle_payloads(tmp_path / "marker")["timeit"])
    (d / "ok.pkl").write_bytes(pickle.dumps([1, 2]))
    fast = run_cli("scan", str(d), "--format=json", "--fail-on", "critical")
    slow = run_cli("--debug", "scan", str(d), "--format", "json", "--fail-on=critical")  # global option: typer
    assert fast.returncode == slow.returncode == 1
    assert _stable(json.loads(fast.stdout)) == _stable(json.loads(slow.stdout))


def test_what_the_fast_path_does_not_parse_goes_to_typer(tmp_path: Path) -> None:
    r = run_cli("scan", "--help")
    assert r.returncode == 0 and "--fail-on" in r.stdout and "Scan model files" in r.stdout
    r = run_cli("scan")
    assert r.returncode == 2 and "Missing argument" in r.stderr
    r = run_cli("scan", str(tmp_path), "--no-such-option")
    assert r.returncode == 2 and "No such option" in r.stderr
    r = run_cli("scan", str(tmp_path), "--timeout", "soon")
    assert r.returncode == 2 and "Invalid value for '--timeout'" in r.stderr


def test_fast_path_errors_are_one_line(tmp_path: Path) -> None:
    for args, needle in ((("--fail-on", "severe"), "unknown severity"), (("--format", "xml"), "unknown format"),
                         (("--timeout", "0"), "--timeout must be positive")):
        r = run_cli("scan", str(tmp_path), *args)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("opentrust: error:"), r.stderr
        assert needle in lines[0]
