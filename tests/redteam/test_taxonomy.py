"""Our taxonomy file against the ai-atlas-nexus package's own data (optional extra `opentrust[taxonomy]`).

Only the package's YAML data is read (it is not imported): its runtime pulls in heavy dependencies
that the check does not need.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from opentrust.redteam.catalogue import taxonomy


def _nexus_data() -> Path:
    spec = importlib.util.find_spec("ai_atlas_nexus")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("ai-atlas-nexus is not installed (pip install 'opentrust[taxonomy]' to check the ids)")
    return Path(list(spec.submodule_search_locations)[0]) / "data/knowledge_graph"


def _entries(path: Path) -> dict[str, str]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = {}
    for key in ("risks", "groups", "taxonomies", "entries"):
        for e in doc.get(key) or []:
            found[e["id"]] = e.get("name", "")
    return found


def test_owasp_ids_and_names_match_the_package() -> None:
    nexus = _entries(_nexus_data() / "owasp_llm_2.0_data.yaml")
    for e in taxonomy()["owasp_llm_2025"]["entries"]:
        assert e["id"] in nexus, e
        assert e["name"].lower() in nexus[e["id"]].lower() and e["code"] in nexus[e["id"]], e


def test_ailuminate_hazards_match_the_package() -> None:
    nexus = _entries(_nexus_data() / "ailuminate.yaml")
    ours = taxonomy()["ailuminate_v1"]["entries"]
    assert len(ours) == 12
    hazards = {i for i in nexus if i.startswith("ail-") and not i.endswith("-hazards")}
    assert {e["id"] for e in ours} == hazards
    for e in ours:
        assert e["name"] == nexus[e["id"]], e


def test_risk_atlas_ids_match_the_package() -> None:
    nexus = _entries(_nexus_data() / "risk_atlas_data.yaml")
    for e in taxonomy()["ibm_risk_atlas"]["entries"]:
        assert e["id"] in nexus, e
        assert e["name"] == nexus[e["id"]], e
