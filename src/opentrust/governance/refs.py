"""Framework references a policy rule may cite, and how each is checked.

=====================  ==========================================  =============================================
form                   example                                     checked against
=====================  ==========================================  =============================================
``eu-ai-act:art-N``    ``eu-ai-act:art-15``, ``art-53(1)(b)``      the Act's numbering (Art. 1-113, Annex I-XIII)
``eu-ai-act:annex-R``  ``eu-ai-act:annex-xi``
``nist-ai-rmf:FN[-C]`` ``nist-ai-rmf:MEASURE-2.7``                 the four functions and their categories
``nist-ai-rmf:XX-...`` ``nist-ai-rmf:MS-2.7-001``                  the GenAI profile's actions (ai-atlas-nexus)
``nist-…``             ``nist-confabulation``                      the GenAI profile's risks (ai-atlas-nexus)
``atlas-…``            ``atlas-jailbreaking``                      the IBM AI Risk Atlas (ai-atlas-nexus)
``owasp-llm:LLMnn``    ``owasp-llm:LLM01``                         data/taxonomy.yaml (our copy)
``ail-…``              ``ail-hate``                                data/taxonomy.yaml (AILuminate hazards)
=====================  ==========================================  =============================================

The ai-atlas-nexus ids are checked against the package's own data files when the extra ``opentrust[taxonomy]``
is installed (its YAML is read, never imported: its runtime is heavy); without it they are kept as plain
strings after a syntax check.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

NIST_FUNCTIONS = {"GOVERN": 6, "MAP": 5, "MEASURE": 4, "MANAGE": 4}  # function -> number of categories
NIST_ACTION_PREFIXES = {"GV", "MP", "MS", "MG"}
ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii"]

_EU = re.compile(r"^eu-ai-act:(?:art-(\d+)((?:\(\d+[a-z]?\))?(?:\([a-z]\))?)|annex-([ivx]+))$")
_NIST = re.compile(r"^nist-ai-rmf:(GOVERN|MAP|MEASURE|MANAGE)(?:-(\d+)(?:\.(\d+))?)?$")
_NIST_ACTION = re.compile(r"^nist-ai-rmf:((GV|MP|MS|MG)-\d+\.\d+-\d{3})$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

SCHEMES = ("eu-ai-act:art-N | eu-ai-act:annex-R", "nist-ai-rmf:FUNCTION[-N[.N]] | nist-ai-rmf:MS-2.7-001",
           "nist-<risk>", "atlas-<risk>", "owasp-llm:LLM01..LLM10", "ail-<hazard>")


@functools.lru_cache(maxsize=1)
def nexus_folder() -> Path | None:
    """The ai-atlas-nexus knowledge-graph data folder, when the package is installed (never imported)."""
    try:
        spec = importlib.util.find_spec("ai_atlas_nexus")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "data" / "knowledge_graph"
    return folder if folder.is_dir() else None


@functools.lru_cache(maxsize=8)
def _nexus_ids(file: str, key: str) -> frozenset[str]:
    import yaml

    folder = nexus_folder()
    if folder is None or not (folder / file).is_file():
        return frozenset()
    doc = yaml.safe_load((folder / file).read_text(encoding="utf-8")) or {}
    return frozenset(str(e["id"]) for e in doc.get(key) or [] if isinstance(e, dict) and "id" in e)


def nexus_installed() -> bool:
    return nexus_folder() is not None


def check_ref(ref: str) -> str | None:
    """None when ``ref`` is a valid reference; otherwise what is wrong with it, in a few words."""
    if not isinstance(ref, str) or not ref:
        return "a reference must be a non-empty string"
    if ref.startswith("eu-ai-act:"):
        m = _EU.match(ref)
        if not m:
            return f"{ref!r} is not an EU AI Act reference (eu-ai-act:art-15, eu-ai-act:art-53(1)(a), eu-ai-act:annex-xi)"
        if m.group(1) is not None and not 1 <= int(m.group(1)) <= 113:
            return f"{ref!r}: the EU AI Act has articles 1 to 113"
        if m.group(3) is not None and m.group(3) not in ROMAN:
            return f"{ref!r}: the EU AI Act has annexes i to xiii"
        return None
    if ref.startswith("nist-ai-rmf:"):
        action = _NIST_ACTION.match(ref)
        if action:
            known = _nexus_ids("nist_ai_rmf_actions_data.yaml", "actions")
            if known and action.group(1) not in known:
                return f"{ref!r} is not an action of the NIST AI 600-1 profile in ai-atlas-nexus"
            return None
        m = _NIST.match(ref)
        if not m:
            return (f"{ref!r} is not a NIST AI RMF reference (nist-ai-rmf:GOVERN, nist-ai-rmf:MEASURE-2.7, "
                    "nist-ai-rmf:MS-2.7-001)")
        if m.group(2) is not None and not 1 <= int(m.group(2)) <= NIST_FUNCTIONS[m.group(1)]:
            return f"{ref!r}: {m.group(1)} has categories 1 to {NIST_FUNCTIONS[m.group(1)]}"
        return None
    if ref.startswith("owasp-llm:"):
        from opentrust.redteam.catalogue import known_taxonomy_ids

        if ref.split(":", 1)[1] not in known_taxonomy_ids()["owasp"]:
            return f"{ref!r} is not an OWASP LLM Top 10 2025 entry (owasp-llm:LLM01 .. owasp-llm:LLM10)"
        return None
    if ref.startswith("ail-"):
        from opentrust.redteam.catalogue import known_taxonomy_ids

        if ref not in known_taxonomy_ids()["ailuminate"]:
            return f"{ref!r} is not an AILuminate v1.0 hazard id (e.g. ail-hate)"
        return None
    if ref.startswith("atlas-"):
        if not _SLUG.match(ref):
            return f"{ref!r} is not an IBM AI Risk Atlas id (lower-case words joined by '-')"
        known = _nexus_ids("risk_atlas_data.yaml", "entries")
        if known and ref not in known:
            return f"{ref!r} is not an IBM AI Risk Atlas id in ai-atlas-nexus"
        return None
    if ref.startswith("nist-") and _SLUG.match(ref):
        known = _nexus_ids("nist_ai_rmf_data.yaml", "entries")
        if known and ref not in known:
            return f"{ref!r} is not a NIST AI 600-1 risk id in ai-atlas-nexus"
        return None
    return f"unknown reference {ref!r}; use one of: {'; '.join(SCHEMES)}"
