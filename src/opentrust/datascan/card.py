"""A dataset's card and licences: is every field a reader needs there, and under which terms is the data?

The card's fields (the union of Croissant 1.0, the Hugging Face dataset card and Datasheets for Datasets) are
judged by ``opentrust.openness.datacard``, which the openness evidence shares; this module reads the card file.

Licences reuse the openness machinery (``opentrust.openness.licenses``): SPDX normalisation, the open /
restricted / not-open categories and licence-text identification for LICENSE files. The card's licence and the
files' licences are compared; a mismatch, non-commercial or no-derivatives terms, and no licence at all are
findings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opentrust.openness import licenses as lic
from opentrust.openness.datacard import FIELDS, MAX_CARD, assess_parsed, read_croissant  # noqa: F401 (re-exported)
from opentrust.openness.evidence import front_matter, sections


def assess_card(card_path: Path | None, rel: str | None, croissant: dict[str, Any],
                croissant_rel: str | None) -> dict[str, Any]:
    """``card``: each required field present or missing (``opentrust.openness.datacard``), for a card file."""
    meta: dict[str, Any] = {}
    secs: list[tuple[str, int, str]] = []
    title = ""
    if card_path is not None:
        with open(card_path, "rb") as fh:
            text = fh.read(MAX_CARD).decode("utf-8", errors="replace")
        meta, body, first = front_matter(text)
        secs = sections(body, first)
        m = re.search(r"^#\s+(.+)$", body, re.M)
        title = m.group(1).strip() if m else ""
    return assess_parsed(meta, secs, title, rel, croissant, croissant_rel)

# --- licences ------------------------------------------------------------------------------------------------

_CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)", re.I)


def _from_url(value: str) -> str:
    m = _CC_URL.search(value)
    if m:
        kind, name, version = m.groups()
        if kind == "publicdomain" and name == "zero":
            return f"CC0-{version}"
        return f"CC-{name.upper()}-{version}"
    if "apache.org/licenses/license-2.0" in value.lower():
        return "Apache-2.0"
    if "opensource.org/licenses/mit" in value.lower():
        return "MIT"
    return value


def _card_licences(meta: dict[str, Any], croissant: dict[str, Any]) -> list[str]:
    out: list[str] = []
    raw = meta.get("license")
    values = raw if isinstance(raw, list) else [raw] if raw else []
    for v in values:
        v = str(v)
        if v.strip().lower() == "other" and meta.get("license_name"):
            v = str(meta["license_name"])
        out.append(v)
    c = croissant.get("license")
    for v in (c if isinstance(c, list) else [c] if c else []):
        out.append(_from_url(str(v.get("@id", v) if isinstance(v, dict) else v)))
    return out


def _terms(info: lic.LicenseInfo) -> list[str]:
    ident = info.id.upper()
    terms = []
    if re.search(r"(^|-)NC(-|$)", ident) or "NONCOMMERCIAL" in ident or any(
            "commercial" in (r.get("summary") or r.get("text") or str(r)).lower() for r in info.restrictions):
        terms.append("non-commercial")
    if re.search(r"(^|-)ND(-|$)", ident) or "NODERIV" in ident:
        terms.append("no-derivatives")
    return terms


def assess_licences(card_path: Path | None, card_rel: str | None, licence_files: list[tuple[Path, str]],
                    croissant: dict[str, Any], croissant_rel: str | None, row_licences: dict[str, int],
                    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``licenses`` and the findings about them (dicts: rule_id, severity, title, message, path, remedy)."""
    meta: dict[str, Any] = {}
    if card_path is not None:
        with open(card_path, "rb") as fh:
            meta, _, _ = front_matter(fh.read(MAX_CARD).decode("utf-8", errors="replace"))
    found: list[dict[str, Any]] = []
    for name in _card_licences(meta, croissant):
        info = lic.describe(name)
        found.append({"source": "card" if name in map(str, (meta.get("license"), meta.get("license_name"))) or
                      croissant_rel is None else "croissant", "path": card_rel or croissant_rel, "given": name,
                      **_info(info)})
    for path, rel in licence_files[:32]:
        match = lic.identify_text(lic.read_text(path))
        ids = match.ids
        if ids:
            info = lic.describe(lic.combine(ids))
            found.append({"source": "file", "path": rel, "given": match.detail, **_info(info)})
        else:
            found.append({"source": "file", "path": rel, "given": match.detail, "id": None, "category": "unknown",
                          "open": False, "terms": [], "reason": "licence text not identified"})
    for value, count in sorted(row_licences.items(), key=lambda kv: -kv[1])[:20]:
        info = lic.describe(value)
        found.append({"source": "rows", "path": None, "given": value, "rows": count, **_info(info)})
    findings: list[dict[str, Any]] = []
    ids_card = {f["id"] for f in found if f["source"] in ("card", "croissant") and f["id"]}
    ids_file = {f["id"] for f in found if f["source"] == "file" and f["id"]}
    conflicts: list[dict[str, Any]] = []
    if ids_card and ids_file and not (ids_card & ids_file):
        conflicts.append({"card": sorted(ids_card), "files": sorted(ids_file)})
        findings.append({"rule_id": "DATA-LICENSE-MISMATCH", "severity": "medium",
                         "title": "the card's licence and the licence file disagree",
                         "message": f"card: {', '.join(sorted(ids_card))}; files: {', '.join(sorted(ids_file))}",
                         "path": card_rel, "remedy": "make the card's 'license' match the LICENSE file, or explain "
                                                    "which applies to which part of the data"})
    if len(ids_card) > 1 and any(f["source"] == "card" for f in found) and any(f["source"] == "croissant" for f in found):
        by = {f["source"]: f["id"] for f in found if f["source"] in ("card", "croissant")}
        if by.get("card") and by.get("croissant") and by["card"] != by["croissant"]:
            conflicts.append({"card": [by["card"]], "croissant": [by["croissant"]]})
    rows_ids = {f["id"] for f in found if f["source"] == "rows" and f["id"]}
    declared = ids_card | ids_file
    if rows_ids and declared and rows_ids - declared:
        conflicts.append({"declared": sorted(declared), "rows": sorted(rows_ids - declared)})
        findings.append({"rule_id": "DATA-LICENSE-MISMATCH", "severity": "medium",
                         "title": "rows carry licences the card does not declare",
                         "message": f"row licences {', '.join(sorted(rows_ids - declared))} vs declared "
                                    f"{', '.join(sorted(declared))}", "path": card_rel,
                         "remedy": "declare every licence that applies to the rows, or separate the rows by licence"})
    for f in found:
        if f["terms"]:
            findings.append({"rule_id": "DATA-LICENSE-TERMS", "severity": "low",
                             "title": f"{f['id']}: {' and '.join(f['terms'])} terms",
                             "message": f"{f['source']} licence {f['id']} restricts use ({', '.join(f['terms'])}): "
                                        "training a model for commercial use or publishing derived data may not be "
                                        "allowed", "path": f["path"],
                             "remedy": "check the terms against the intended use of the model"})
    if not [f for f in found if f["source"] != "rows" and f["id"]]:
        findings.append({"rule_id": "DATA-LICENSE-MISSING", "severity": "medium",
                         "title": "no licence found for the dataset",
                         "message": "neither the card, a Croissant file nor a LICENSE file names a licence",
                         "path": card_rel, "remedy": "add 'license:' (an SPDX id) to the card's front matter and a "
                                                    "LICENSE file"})
    spdx = sorted({f["id"] for f in found if f["id"]})
    summary = {"found": found, "spdx": spdx, "conflicts": conflicts,
               "non_commercial": sorted({f["id"] for f in found if "non-commercial" in f["terms"]}),
               "no_derivatives": sorted({f["id"] for f in found if "no-derivatives" in f["terms"]}),
               "open": bool(spdx) and all(f["open"] for f in found if f["id"])}
    return summary, findings


def _info(info: lic.LicenseInfo) -> dict[str, Any]:
    return {"id": info.id or None, "category": info.category, "open": info.is_open, "terms": _terms(info),
            "reason": info.reason}


def card_findings(card: dict[str, Any] | None, folder: bool) -> list[dict[str, Any]]:
    if card is None:
        return []
    if card["path"] is None and card["croissant"] is None:
        return [{"rule_id": "DATA-CARD-MISSING", "severity": "medium", "title": "the dataset has no card",
                 "message": "no README.md / dataset card and no Croissant file in the folder", "path": None,
                 "remedy": "add a dataset card (README.md with YAML front matter) answering the Datasheets "
                           "questions"}] if folder else []
    missing = [f["label"] for f in card["fields"] if not f["present"]]
    if not missing:
        return []
    return [{"rule_id": "DATA-CARD-INCOMPLETE", "severity": "low" if len(missing) <= 3 else "medium",
             "title": f"the card lacks {len(missing)} of {card['required']} required fields",
             "message": "missing: " + "; ".join(missing), "path": card["path"] or card["croissant"],
             "remedy": "fill in the missing sections (placeholders such as '[More Information Needed]' count as "
                       "missing)"}]
