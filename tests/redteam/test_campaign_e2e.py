"""End to end on the real SmolLM2: `opentrust redteam` on a tiny probe subset, then again from the cache."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import run_cli, sarif_schema



@pytest.mark.slow
def test_redteam_smollm2_then_resume_from_cache(tmp_path: Path) -> None:
    db = tmp_path / "rt.db"
    out, junit = tmp_path / "rt.json", tmp_path / "rt.xml"
    # system_prompt_leak (not in quick by default, run when asked for): 12 probes + 4 base64 variants, one
    # sample of 32 tokens each
    args = ["redteam", "smollm2", "--categories", "system_prompt_leak", "--mutators", "base64",
            "--db", str(db), "--fail-on", "none"]
    first = run_cli(*args, "--format", "json", "--out", str(out), "--junit", str(junit))
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data == json.loads(out.read_text())
    assert data["schema_version"] == "2.1" and data["kind"] == "redteam" and data["model"]["name"]
    assert set(data) >= {"model", "categories", "techniques", "probes", "findings", "summary", "parameters", "method"}
    assert list(data["categories"]) == ["system_prompt_leak"]
    assert set(data["techniques"]) >= {"base64"}
    probes = data["probes"]
    from opentrust.redteam.campaign import Plan
    from opentrust.redteam.catalogue import load_catalogue
    from opentrust.redteam.profiles import PROFILES

    planned = Plan.from_profile(PROFILES["quick"], load_catalogue(), ["base64"], ["system_prompt_leak"])
    assert [p["id"] for p in probes] == [p.id for p in planned.probes]
    assert any(p["mutators"] == ["base64"] for p in probes)
    assert all(p["detector"] == "canary" for p in probes)
    for p in probes:
        assert p["verdict"] == "inconclusive"  # one sample decides nothing about a probe
        assert p["samples"] == 1 and len(p["examples"]) == p["attack_successes"]
    g = data["categories"]["system_prompt_leak"]
    assert g["samples"] == len(probes) == g["units"]
    assert 0.0 <= g["ci"][0] <= g["asr"] <= g["ci"][1] <= 1.0
    assert g["evidence"] in ("sufficient", "insufficient")
    assert data["method"]["detector_error"]["canary"]["sets"]
    assert data["summary"]["generated"] > 0
    suites = ET.parse(junit).getroot()
    assert suites.get("tests") == str(len(probes))
    assert "detector error — canary" in first.stderr

    second = run_cli(*args, "--format", "sarif")
    assert second.returncode == 0, second.stderr
    sarif = json.loads(second.stdout)
    assert sarif["version"] == "2.1.0"
    props = sarif["runs"][0]["properties"]
    assert props["attack_success"] == data["summary"]["attack_success"]  # same samples, same result
    jsonschema = pytest.importorskip("jsonschema")
    schema = sarif_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    assert "0 generated" in second.stderr  # nothing new was generated: every sample came from the cache
