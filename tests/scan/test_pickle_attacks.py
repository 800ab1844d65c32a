"""Every known pickle attack form is flagged at high or above, by content, and nothing ever runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from opentrust.findings import Severity
from opentrust.scan.dispatch import scan_bytes, scan_paths
from payloads import LIVE, benign_pickles, pickle_payloads

NAMES = sorted(pickle_payloads(Path("/nonexistent/marker")))


def _worst(findings):
    return max((f.severity for f in findings), key=lambda s: s.rank, default=None)


@pytest.mark.parametrize("name", NAMES)
def test_payload_is_flagged_high_and_never_runs(name: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    data = pickle_payloads(marker)[name]
    # misleading name: the format is identified by content
    path = tmp_path / "README.txt"
    path.write_bytes(data)
    result = scan_paths([path])
    worst = _worst(result.findings)
    assert worst is not None and worst.at_least(Severity.high), [f.rule_id for f in result.findings]
    assert result.files[0].format in ("pickles", "torch")
    assert not marker.exists()


@pytest.mark.slow
def test_live_payloads_really_run_when_unpickled(tmp_path: Path) -> None:
    """The fixtures are genuine attacks: unpickling them in a child process creates the marker."""
    failed = []
    for name in sorted(LIVE):
        marker = tmp_path / f"marker-{name}"
        blob = tmp_path / f"{name}.bin"
        blob.write_bytes(pickle_payloads(marker)[name])
        code = ("import pickle,sys\nf=open(sys.argv[1],'rb')\n"
                "try:\n  while True: pickle.load(f)\nexcept Exception: pass\n")
        subprocess.run([sys.executable, "-c", code, str(blob)], cwd=tmp_path, capture_output=True, timeout=60)
        if not marker.exists():
            failed.append(name)
    assert not failed


def test_dangerous_call_evidence_has_resolved_arguments(tmp_path: Path) -> None:
    marker = tmp_path / "m"
    r = scan_bytes(pickle_payloads(marker)["memo_stack_global"])
    calls = [f for f in r.findings if f.rule_id == "PICKLE-DANGEROUS-CALL"]
    assert calls and "os.system" in calls[0].evidence and str(marker) in calls[0].evidence


def test_alias_is_reported_with_its_real_name(tmp_path: Path) -> None:
    r = scan_bytes(pickle_payloads(tmp_path / "m")["reduce_posix_system"])
    assert any("posix.system" in f.message and "os.system" in f.message for f in r.findings)


def test_nested_loads_inner_payload_is_scanned(tmp_path: Path) -> None:
    for name in ("nested_b64_loads", "nested_zlib_loads", "nested_codecs_loads"):
        r = scan_bytes(pickle_payloads(tmp_path / "m")[name], display="outer.pkl")
        rules = {f.rule_id for f in r.findings}
        assert "PICKLE-NESTED-PICKLE" in rules, name
        inner = [f for f in r.findings if f.rule_id == "PICKLE-DANGEROUS-CALL" and "!" in (f.location.path or "")]
        assert inner and "builtins.exec" in inner[0].evidence, name


def test_payload_before_garbage_reports_call_and_parse_error(tmp_path: Path) -> None:
    r = scan_bytes(pickle_payloads(tmp_path / "m")["payload_then_garbage"])
    rules = {f.rule_id for f in r.findings}
    assert {"PICKLE-DANGEROUS-CALL", "PICKLE-MALFORMED"} <= rules


def test_second_pickle_in_stream_is_scanned(tmp_path: Path) -> None:
    r = scan_bytes(pickle_payloads(tmp_path / "m")["second_pickle"])
    call = [f for f in r.findings if f.rule_id == "PICKLE-DANGEROUS-CALL"]
    assert call and call[0].location.offset and call[0].location.offset > 10


def test_unknown_import_is_medium_not_high() -> None:
    data = b"\x80\x02c__main__\nMyModel\n)\x81}b."
    r = scan_bytes(data)
    assert {f.rule_id for f in r.findings} == {"PICKLE-UNKNOWN-IMPORT"}
    assert _worst(r.findings) == Severity.medium


@pytest.mark.parametrize("name", sorted(benign_pickles()))
def test_benign_pickles_have_no_finding_at_medium(name: str) -> None:
    r = scan_bytes(benign_pickles()[name])
    assert not [f for f in r.findings if f.severity.at_least(Severity.medium)], [(f.rule_id, f.message) for f in r.findings]
    assert r.files[0].format == "pickles"
