"""`opentrust audit` includes the scan section (findings, per-file table, measurements)."""

from __future__ import annotations

import json
from pathlib import Path

from payloads import pickle_payloads
from tests.conftest import run_cli
from torchfiles import write_torch_zip


def test_audit_runs_scan_check(tmp_path: Path) -> None:
    d = tmp_path / "model"
    d.mkdir()
    write_torch_zip(d / "pytorch_model.bin", {"w": (2, 2)})
    (d / "config.json").write_text('{"model_type": "bert"}')
    (d / "optimizer.pt").write_bytes(pickle_payloads(tmp_path / "marker")["partial_system"])
    r = run_cli("audit", str(d), "--check", "scan", "--out", str(tmp_path / "reports"))
    assert r.returncode == 1, r.stdout + r.stderr
    report = json.loads((tmp_path / "reports" / "model" / "report.json").read_text())
    section = next(s for s in report["sections"] if s["check"] == "scan")
    assert section["status"] == "findings"
    assert any(f["rule_id"] == "PICKLE-DANGEROUS-CALL" and f["check"] == "scan" for f in section["findings"])
    names = {m["name"] for m in section["measurements"]}
    assert {"scan.files", "scan.bytes_read", "scan.seconds"} <= names
    assert section["tables"][0]["columns"][:2] == ["file", "format"] and len(section["tables"][0]["rows"]) == 3
    assert not (tmp_path / "marker").exists()
