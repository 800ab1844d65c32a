"""The CLI as users and CI scripts see it: exit codes, one-line errors, fast start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port, run_cli
from tests.gguf_writer import write_gguf

HEAVY = ["llama_cpp", "numpy", "scipy", "httpx", "jinja2", "pydantic", "rich.progress", "sqlite3", "yaml"]


def test_version() -> None:
    from opentrust import __version__

    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"opentrust {__version__}"


def test_help_lists_commands_without_importing_heavy_libraries() -> None:
    code = ("import sys; from opentrust import cli; cli._load_commands(); "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"heavy modules imported at start-up: {out}"
    r = run_cli("--help")
    assert r.returncode == 0 and "audit" in r.stdout


def _assert_one_line_error(r: subprocess.CompletedProcess[str], needle: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("opentrust: error:") and needle in lines[0], lines[0]


def test_missing_file(tmp_path: Path) -> None:
    _assert_one_line_error(run_cli("audit", str(tmp_path / "nope.gguf")), "no such file")


def test_folder_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    _assert_one_line_error(run_cli("audit", str(tmp_path)), "holds no model files")


def test_file_that_is_not_gguf(tmp_path: Path) -> None:
    p = tmp_path / "weights.gguf"
    p.write_text("just text")
    _assert_one_line_error(run_cli("audit", str(p)), "not a GGUF")


def test_truncated_gguf(tmp_path: Path) -> None:
    full = write_gguf(tmp_path / "m.gguf", {"general.architecture": "llama"}, [("w", (4096,))]).read_bytes()
    p = tmp_path / "truncated.gguf"
    p.write_bytes(full[: len(full) // 2])
    _assert_one_line_error(run_cli("audit", str(p), "--out", str(tmp_path / "r")), "truncated")


def test_truncated_gguf_header(tmp_path: Path) -> None:
    full = write_gguf(tmp_path / "m.gguf", {"general.architecture": "llama", "general.name": "x" * 40}).read_bytes()
    p = tmp_path / "truncated.gguf"
    p.write_bytes(full[:30])
    _assert_one_line_error(run_cli("audit", str(p), "--out", str(tmp_path / "r")), "not a readable GGUF")


def test_unreachable_endpoint(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    r = run_cli("audit", f"openai:http://127.0.0.1:{port}/v1#m", "--out", str(tmp_path))
    _assert_one_line_error(r, "cannot reach the endpoint")


@pytest.mark.parametrize("spec", ["openai:ftp://x#m", "openai:http://127.0.0.1:1/v1", "openai:nothing"])
def test_malformed_endpoint(spec: str) -> None:
    _assert_one_line_error(run_cli("audit", spec), "bad endpoint")


@pytest.mark.parametrize("args,needle", [(["--profile", "huge"], "unknown profile"),
                                         (["--fail-on", "severe"], "unknown severity"),
                                         (["--check", "nope"], "unknown check")])
def test_bad_options(tmp_path: Path, args: list[str], needle: str) -> None:
    model = write_gguf(tmp_path / "m.gguf", {"general.architecture": "llama"})
    _assert_one_line_error(run_cli("audit", str(model), "--out", str(tmp_path / "r"), *args), needle)


def test_missing_api_key_env(tmp_path: Path, llama_server: str) -> None:
    r = run_cli("audit", f"openai:{llama_server}#smollm2", "--api-key-env", "OT_TEST_UNSET_KEY",
                "--check", "smoke", "--out", str(tmp_path))
    _assert_one_line_error(r, "OT_TEST_UNSET_KEY is not set")


def test_exit_codes_follow_fail_on(tmp_path: Path) -> None:
    # A GGUF without licence or chat template: model facts reports a low and a medium finding.
    model = write_gguf(tmp_path / "bare.gguf", {"general.architecture": "llama", "llama.context_length": 256},
                       [("token_embd.weight", (8, 4))])
    out = tmp_path / "reports"
    high = run_cli("audit", str(model), "--check", "model_facts", "--out", str(out))
    assert high.returncode == 0, high.stderr
    medium = run_cli("audit", str(model), "--check", "model_facts", "--out", str(out), "--fail-on", "medium")
    assert medium.returncode == 1, medium.stderr
    report = json.loads((out / "bare" / "report.json").read_text())
    assert report["summary"] == {"findings_by_severity": {"critical": 0, "high": 0, "medium": 1, "low": 1, "info": 0},
                                 "fail_on": "medium", "failed": True, "exit_code": 1}
    rules = {f["rule_id"] for s in report["sections"] for f in s["findings"]}
    assert rules == {"OT-FACTS-NO-LICENSE", "OT-FACTS-NO-CHAT-TEMPLATE"}
    never = run_cli("audit", str(model), "--check", "model_facts", "--out", str(out), "--fail-on", "none")
    assert never.returncode == 0
