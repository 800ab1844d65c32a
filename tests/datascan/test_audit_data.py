"""`opentrust audit` runs the card, licence and contamination checks on a dataset shipped in a model folder."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.datascan.conftest import write_jsonl


def _model_folder(root: Path, with_data: bool) -> Path:
    from opentrust.redteam.catalogue import load_catalogue

    root.mkdir()
    (root / "config.json").write_text('{"architectures": ["BertModel"]}')
    (root / "README.md").write_text("---\nlicense: apache-2.0\n---\n# tiny model\n")
    if with_data:
        (root / "data_card.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n# Eval data\n\n## Dataset Summary\n"
                                          "A handful of prompts used to evaluate the model.\n")
        probe = next(p for p in load_catalogue(include_plugins=False) if p.category == "jailbreak")
        (root / "eval").mkdir()
        write_jsonl(root / "eval" / "prompts.jsonl",
                    [{"prompt": "\n".join(m.content for m in probe.messages if m.content)},
                     {"prompt": "What is the boiling point of water at sea level in degrees Celsius, please?"}])
    return root


def test_audit_checks_a_shipped_dataset(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "model", with_data=True)
    proc = run_cli("audit", str(folder), "--check", "data", "--out", str(tmp_path / "r"))
    assert proc.returncode == 1, proc.stderr  # contamination is high
    report = json.loads((tmp_path / "r" / "model" / "report.json").read_text())
    (section,) = [s for s in report["sections"] if s["check"] == "data"]
    rules = {f["rule_id"] for f in section["findings"]}
    assert rules == {"DATA-CONTAMINATION", "DATA-CARD-INCOMPLETE", "DATA-LICENSE-TERMS"}
    assert section["data"]["card"]["path"] == "data_card.md"
    jb = next(c for c in section["data"]["contamination"] if c["benchmark"] == "probes:jailbreak")
    assert jb["gpt3_13gram"]["contaminated"] >= 1


def test_audit_skips_the_check_without_data(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "model", with_data=False)
    proc = run_cli("audit", str(folder), "--check", "data", "--out", str(tmp_path / "r"))
    report = json.loads((tmp_path / "r" / "model" / "report.json").read_text())
    (section,) = [s for s in report["sections"] if s["check"] == "data"]
    assert proc.returncode == 0 and section["status"] == "skipped"


def test_openness_says_how_complete_the_data_card_is(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "model", with_data=True)
    proc = run_cli("openness", str(folder), "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    comp = next(c for c in json.loads(proc.stdout)["mof"]["components"] if c["id"] == 14)
    (detail,) = [e["detail"] for e in comp["evidence"] if e["detail"].startswith("data card")]
    assert "3 of 18 fields" in detail and "missing url" in detail and comp["confidence"] == "medium"
