"""Audit composition: checks register themselves, finalize sees every section, artifacts are written."""

from __future__ import annotations

import json
from pathlib import Path

from opentrust.audit import registered_checks
from tests.conftest import run_cli
from tests.gguf_writer import write_gguf


def test_builtin_checks_are_registered_in_order() -> None:
    names = [c.name for c in registered_checks()]
    assert names[0] == "model_facts"  # cheap static facts first, model sampling later
    assert {"model_facts", "smoke", "openness"} <= set(names)
    orders = [c.order for c in registered_checks()]
    assert orders == sorted(orders)


def test_aibom_carries_measurements_of_other_checks(tmp_path: Path) -> None:
    from opentrust.openness.aibom import validation_error

    model = write_gguf(tmp_path / "tiny.gguf", {"general.architecture": "llama", "general.license": "mit"},
                       [("token_embd.weight", (8, 4))])
    r = run_cli("audit", str(model), "--check", "model_facts", "--check", "openness", "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "out" / "tiny"
    bom = json.loads((folder / "aibom.cdx.json").read_text())
    assert validation_error(bom) is None
    metrics = {m["type"]: m["value"] for m in
               bom["metadata"]["component"]["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]}
    assert metrics["model.parameters"] == "32"  # measured by model_facts, a different check
    report = json.loads((folder / "report.json").read_text())
    assert [s["check"] for s in report["sections"]] == ["model_facts", "openness"]
    assert "artifacts" not in report["sections"][1]


def test_skipped_checks_are_reported_not_hidden(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text('{"architectures": ["BertModel"]}')
    r = run_cli("audit", str(tmp_path / "m"), "--check", "model_facts", "--check", "smoke", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    sections = json.loads((tmp_path / "o" / "m" / "report.json").read_text())["sections"]
    assert [(s["check"], s["status"]) for s in sections] == [("model_facts", "skipped"), ("smoke", "skipped")]
