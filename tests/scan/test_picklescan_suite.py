"""picklescan's public regression suite, rebuilt by code (``advisories.py``): every malicious construct is
blocked at the default threshold (a finding at high or above) and nothing runs; its benign files raise
nothing at that threshold. Test ids are picklescan's file names, most of them the advisory they reproduce."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from advisories import STDLIB_LIVE, TORCH_LIVE, encrypted_zip, picklescan_suite
from opentrust.findings import Severity
from opentrust.scan.dispatch import scan_paths

_SUITE = picklescan_suite(Path("/nonexistent/marker"))
MALICIOUS = sorted(n for n, (cat, _) in _SUITE.items() if cat == "malicious")
BENIGN = sorted(n for n, (cat, _) in _SUITE.items() if cat == "benign")


def _write(tmp_path: Path, name: str) -> tuple[Path, Path]:
    marker = tmp_path / "marker"
    path = tmp_path / name
    path.write_bytes(picklescan_suite(marker)[name][1])
    return path, marker


def _worst(findings) -> Severity | None:
    return max((f.severity for f in findings), key=lambda s: s.rank, default=None)


@pytest.mark.parametrize("name", MALICIOUS)
def test_malicious_file_is_blocked(name: str, tmp_path: Path) -> None:
    path, marker = _write(tmp_path, name)
    result = scan_paths([path])
    worst = _worst(result.findings)
    assert worst is not None and worst.at_least(Severity.high), [(f.rule_id, f.severity.value, f.message)
                                                                 for f in result.findings]
    assert not marker.exists()


@pytest.mark.parametrize("name", BENIGN)
def test_benign_file_is_not_blocked(name: str, tmp_path: Path) -> None:
    path, _ = _write(tmp_path, name)
    result = scan_paths([path])
    assert not [f for f in result.findings if f.severity.at_least(Severity.high)], [
        (f.rule_id, f.message) for f in result.findings]


def test_suite_covers_the_advisories() -> None:
    # 94 malicious files in picklescan's tests/data and tests/data2; the 3 numpy/torch containers it keeps
    # beside them (object arrays, pytorch_model.bin) are benign there and here
    assert len(MALICIOUS) >= 90, len(MALICIOUS)
    assert sum(n.startswith("GHSA-") for n in MALICIOUS) >= 45


def test_derived_sinks_name_the_chain(tmp_path: Path) -> None:
    """The advisories the hand-written lists missed are caught by the derived call graph, with its evidence."""
    expect = {"GHSA-fqq6-7vqf-w3fg.pkl": ("doctest.debug_script", "builtins.exec"),
              "GHSA-g38g-8gr9-h9xp-uuid.pkl": ("uuid._get_command_stdout", "subprocess.Popen"),
              "GHSA-g38g-8gr9-h9xp-osx-support.pkl": ("_osx_support._read_output", "os.system"),
              "GHSA-g38g-8gr9-h9xp-test.pkl": ("test.support.script_helper.assert_python_ok", "subprocess.Popen"),
              "GHSA-f54q-57x4-jg88.pkl": ("lib2to3.pgen2.grammar.Grammar.loads", "pickle.loads"),
              "GHSA-f745-w6jp-hpxx.pkl": ("torch.utils.collect_env.run", "subprocess.Popen"),
              "GHSA-vv6j-3g6g-2pvj.pkl": ("torch.utils._config_module.ConfigModule.load_config", "pickle.loads")}
    for name, (start, sink) in expect.items():
        path, _ = _write(tmp_path, name)
        calls = [f for f in scan_paths([path]).findings if f.rule_id == "PICKLE-DANGEROUS-CALL"]
        assert calls and start in calls[0].message and sink in calls[0].message, (name, calls)


def test_functions_nothing_vouches_for_are_high_not_medium(tmp_path: Path) -> None:
    """_pyrepl exists only on Python 3.13+, compile_file left torch before 2.13: the fallback rule blocks them."""
    for name in ("GHSA-g38g-8gr9-h9xp-pyrepl-pager.pkl", "malicious17.pkl"):
        path, _ = _write(tmp_path, name)
        rules = {(f.rule_id, f.severity) for f in scan_paths([path]).findings}
        assert ("PICKLE-UNKNOWN-CALL", Severity.high) in rules, rules


def test_zip_flag_bits_still_inspected(tmp_path: Path) -> None:
    """0x1/0x20/0x40 members whose bytes are plain are read as PyTorch's reader reads them."""
    for bit in (0x1, 0x20, 0x40):
        path, _ = _write(tmp_path, f"malicious1_0x{bit:x}.zip")
        rules = {f.rule_id for f in scan_paths([path]).findings}
        assert {"ARCHIVE-FLAG-MISMATCH", "PICKLE-DANGEROUS-CALL"} <= rules, (bit, rules)


def test_truly_encrypted_zip_is_not_blocked_but_a_sealed_model_container_is(tmp_path: Path) -> None:
    path, _ = _write(tmp_path, "benign_password_protected.zip")
    found = [(f.rule_id, f.severity) for f in scan_paths([path]).findings]
    assert ("ARCHIVE-NOT-INSPECTED", Severity.medium) in found
    # a model container (data.pkl) whose member is really encrypted cannot be vetted: high
    sealed = tmp_path / "model.pt"
    sealed.write_bytes(encrypted_zip("archive/data.pkl", b"\x80\x04K\x01.", b"pw"))
    found = [(f.rule_id, f.severity) for f in scan_paths([sealed]).findings]
    assert ("ARCHIVE-ENCRYPTED-MODEL", Severity.high) in found, found


def _torch_python() -> str | None:
    for cand in (os.environ.get("OPENTRUST_TORCH_PYTHON"), "/work/bench-venvs/torch/bin/python"):
        if cand and Path(cand).exists():
            return cand
    return None


_LOADER = ("import pickle,sys\nf=open(sys.argv[1],'rb')\n"
           "try:\n  while True: pickle.load(f)\nexcept BaseException: pass\n")


def _payloads_that_do_not_run(python: str, names: set[str], tmp_path: Path) -> list[str]:
    """Load each file with ``python`` in its own folder; return those whose marker did not appear."""
    failed = []
    for name in sorted(names):
        d = tmp_path / name.replace(".", "_")
        d.mkdir()
        marker = d / "marker"
        blob = d / "blob"
        blob.write_bytes(picklescan_suite(marker)[name][1])
        subprocess.run([python, "-c", _LOADER, str(blob)], cwd=d, capture_output=True, timeout=300,
                       stdin=subprocess.DEVNULL)
        if not marker.exists():
            failed.append(name)
    return failed


@pytest.mark.slow
def test_stdlib_payloads_really_run_when_unpickled(tmp_path: Path) -> None:
    """The rebuilt advisories are genuine: unpickling them in a child process creates the marker."""
    assert not _payloads_that_do_not_run(sys.executable, STDLIB_LIVE, tmp_path)


@pytest.mark.slow
def test_torch_payloads_really_run_under_torch(tmp_path: Path) -> None:
    py = _torch_python()
    if py is None:
        pytest.skip("no torch interpreter (set OPENTRUST_TORCH_PYTHON to one with torch 2.13 installed)")
    assert not _payloads_that_do_not_run(py, TORCH_LIVE, tmp_path)
