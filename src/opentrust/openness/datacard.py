"""Is a dataset card complete? Each field a reader needs, present or missing, from the card's YAML front matter,
a Croissant JSON-LD file beside it, or a section whose heading matches.

The required fields are the union of three sources, each field naming the ones that ask for it:
- Croissant 1.0 (MLCommons), the schema.org properties every Croissant dataset must have: name, description,
  license, url, creator, datePublished;
- the Hugging Face dataset card template's sections (summary, languages, structure, splits, curation
  rationale, source data, annotations, personal and sensitive information, uses, bias and limitations,
  licensing, citation, curators, contact);
- Datasheets for Datasets (Gebru et al. 2021): motivation, composition, collection process, preprocessing,
  uses, distribution, maintenance.

The template's placeholder "[More Information Needed]", HTML comments and sections of fewer than three words
count as missing. Used by ``opentrust data`` (the ``card`` block) and by the openness evidence (the MOF data card
component says how complete the card is).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"\[more information needed\]|<!--.*?-->|\{\{.*?\}\}", re.I | re.S)
MAX_CARD = 1024 * 1024

C, H, D = "Croissant 1.0", "Hugging Face dataset card", "Datasheets for Datasets"


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    sources: tuple[str, ...]
    keys: tuple[str, ...]  # front-matter / Croissant keys
    heading: str  # regex on a section heading (lower case)


FIELDS: tuple[Field, ...] = (
    Field("name", "Name", (C,), ("pretty_name", "name", "dataset_name"), r"^(?!dataset card)(dataset )?name$"),
    Field("description", "Description / summary", (C, H), ("description", "summary"),
          r"dataset (summary|description)|^description$|^summary$|^about"),
    Field("license", "Licence", (C, H, D), ("license", "license_name", "licence"), r"licen[cs]"),
    Field("url", "Homepage or repository URL", (C,), ("url", "homepage", "repository", "paper"),
          r"homepage|repository|^links?$|dataset sources"),
    Field("creator", "Creators / curators", (C, H, D), ("creator", "creators", "author", "authors", "curators"),
          r"curators|curated by|creators?|card authors|authors|who (created|are the source)"),
    Field("date_published", "Date published", (C,), ("datePublished", "date_published", "release_date", "date"),
          r"date|release"),
    Field("languages", "Languages", (H,), ("language", "languages", "inLanguage"), r"^languages?$"),
    Field("motivation", "Motivation / curation rationale", (H, D), (), r"motivation|curation rationale"),
    Field("structure", "Composition / structure and fields", (H, D), ("dataset_info", "recordSet"),
          r"dataset structure|data fields|data instances|composition"),
    Field("splits", "Data splits", (H,), ("splits",), r"splits?"),
    Field("collection", "Collection process / source data", (H, D), ("source_datasets",),
          r"source data|data collection|collection process|initial data"),
    Field("preprocessing", "Preprocessing / cleaning / labelling", (D,), (),
          r"preprocess|cleaning|processing|labell?ing"),
    Field("annotations", "Annotations", (H, D), ("annotations_creators",), r"annotation"),
    Field("personal_data", "Personal and sensitive information", (H, D), (), r"personal|sensitive|privacy"),
    Field("uses", "Intended uses", (H, D), ("task_categories",), r"^uses$|intended use|direct use|supported tasks"),
    Field("limitations", "Bias, risks and limitations", (H,), (),
          r"bias|risks|limitations|considerations for using|social impact"),
    Field("citation", "Citation", (H,), ("citeAs", "citation"), r"citation|bibtex|cite"),
    Field("maintenance", "Maintenance / contact", (D, H), ("maintainer", "contact"),
          r"maintenance|contact|point of contact"),
)

CROISSANT_FILE = re.compile(r"croissant.*\.json$|^metadata\.json$", re.I)


def _real(text: str) -> bool:
    cleaned = PLACEHOLDER.sub(" ", text)
    return len(re.findall(r"\w+", cleaned)) >= 3


def _value_present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        v = PLACEHOLDER.sub("", value).strip()
        return bool(v) and v.lower() not in ("unknown", "other", "n/a", "none", "tbd")
    if isinstance(value, (list, tuple, dict)):
        return len(value) > 0
    return True


def read_croissant(folder: Path) -> tuple[dict[str, Any], str | None]:
    for p in sorted(folder.iterdir()) if folder.is_dir() else []:
        if p.is_file() and CROISSANT_FILE.search(p.name) and p.stat().st_size < MAX_CARD:
            try:
                data = json.loads(p.read_text(encoding="utf-8", errors="replace"))
            except ValueError:
                continue
            if isinstance(data, dict) and ("@context" in data or data.get("@type") in ("sc:Dataset", "Dataset")):
                return data, p.name
    return {}, None


def assess_parsed(meta: dict[str, Any], secs: list[tuple[str, int, str]], title: str, rel: str | None,
                  croissant: dict[str, Any], croissant_rel: str | None) -> dict[str, Any]:
    """``card``: each required field present or missing, and where it was found. ``meta`` is the card's front
    matter, ``secs`` its (heading, line, text) sections, ``title`` its first H1 (the caller parses the card)."""
    meta = {k: v for k, v in meta.items() if not str(k).startswith("_")}
    fields = []
    for f in FIELDS:
        where = None
        for key in f.keys:
            if key in meta and _value_present(meta[key]):
                where = f"{rel}: front matter '{key}'"
                break
            if key in croissant and _value_present(croissant[key]):
                where = f"{croissant_rel}: '{key}'"
                break
        if where is None and f.id == "name" and title and not re.match(r"(?i)dataset card for\s*$", title):
            where = f"{rel}: title"
        if where is None:
            for heading, line, content in secs:
                h = heading.lower().strip()
                if h and re.search(f.heading, h) and _real(content):
                    where = f"{rel}:{line} '{heading}'"
                    break
                # a parent heading ("Dataset Creation") is real when one of its sub-sections is
        fields.append({"id": f.id, "label": f.label, "sources": list(f.sources), "present": where is not None,
                       "where": where})
    present = sum(1 for f in fields if f["present"])
    return {"path": rel, "croissant": croissant_rel, "fields": fields, "present": present, "required": len(fields),
            "missing": [f["id"] for f in fields if not f["present"]],
            "completeness": round(present / len(fields), 3)}
