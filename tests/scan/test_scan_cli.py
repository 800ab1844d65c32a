"""`opentrust scan` end to end: exit codes, table/json/sarif output, targets, folders by content."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.conftest import sarif_schema
import pytest

from payloads import pickle_payloads
from tests.conftest import run_cli
from torchfiles import write_torch_zip



@pytest.fixture()
def model_dir(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "marker"
    d = tmp_path / "model"
    (d / "sub").mkdir(parents=True)
    write_torch_zip(d / "pytorch_model.bin", {"w": (2, 2)})
    (d / "sub" / "notes.md").write_bytes(pickle_payloads(marker)["timeit"])  # a pickle under a text name
    (d / "config.json").write_text('{"model_type": "bert"}')
    return d, marker


def test_json_output_and_exit_code(model_dir: tuple[Path, Path]) -> None:
    d, marker = model_dir
    r = run_cli("scan", str(d), "--format", "json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == "1.1" and doc["kind"] == "scan"
    assert {"path", "format", "size", "findings", "seconds"} <= set(doc["files"][0])
    f = next(f for f in doc["findings"] if f["rule_id"] == "PICKLE-DANGEROUS-CALL")
    assert {"rule_id", "severity", "path", "offset", "message", "evidence", "remedy"} <= set(f)
    assert f["path"].endswith("notes.md") and f["severity"] == "critical" and "timeit" in f["evidence"]
    formats = {Path(x["path"]).name: x["format"] for x in doc["files"]}
    assert formats["pytorch_model.bin"] == "torch" and formats["notes.md"] == "pickles"
    assert not marker.exists()


def test_sarif_validates_against_official_schema(model_dir: tuple[Path, Path], tmp_path: Path) -> None:
    d, _ = model_dir
    out = tmp_path / "scan.sarif"
    r = run_cli("scan", str(d), "--format", "sarif", "--out", str(out))
    assert r.returncode == 1
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, sarif_schema())
    run = doc["runs"][0]
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert "PICKLE-DANGEROUS-CALL" in rule_ids and all(rule["help"]["text"] for rule in run["tool"]["driver"]["rules"])
    res = next(x for x in run["results"] if x["ruleId"] == "PICKLE-DANGEROUS-CALL")
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("notes.md") and "byteOffset" in loc["region"]
    assert res["level"] == "error"


def test_clean_file_exits_zero_and_fail_on(tmp_path: Path) -> None:
    p = write_torch_zip(tmp_path / "ok.pt", {"w": (3,)})
    r = run_cli("scan", str(p))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "torch" in r.stdout
    unknown = tmp_path / "custom.pkl"
    unknown.write_bytes(b"\x80\x02c__main__\nNet\n)\x81.")
    assert run_cli("scan", str(unknown)).returncode == 0  # medium < default high
    assert run_cli("scan", str(unknown), "--fail-on", "medium").returncode == 1


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    r = run_cli("scan", str(tmp_path / "missing.bin"))
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("scan", str(tmp_path), "--format", "xml")
    assert r.returncode == 2 and "unknown format" in r.stderr
    r = run_cli("scan", str(tmp_path), "--fail-on", "severe")
    assert r.returncode == 2


def test_target_alias_smollm2() -> None:
    r = run_cli("scan", "smollm2", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["files"][0]["format"] == "gguf"
