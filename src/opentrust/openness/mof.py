"""The Model Openness Framework: its 17 components, three cumulative classes, and the Model Openness
Tool's classification algorithm reproduced exactly (checked against the MOT's own conformance records).

The algorithm, as the MOT evaluates a release:
1. Each included component's licence is resolved: its own licence if it has one (an empty one means
   unlicensed), else the global licence for its content type (code/data/document), else the
   distribution licence.
2. For class N (3, then 2, then 1) the required components of classes 3..N are checked cumulatively:
   included with an open licence → ``included``; with no licence → ``unlicensed``; with a licence that
   is not open → ``invalid``; absent → ``missing``. An open licence outside the type-appropriate list
   only adds a warning.
3. A research paper stands in for a missing technical report (classes II and III count it in its place;
   class I needs one fewer component).
4. Progress of class N is included/required in percent, and 0 unless every class above N is met; the
   class is the most open one at 100 %.

The MOT is PHP and decides "is the technical report included" with ``array_search``, which returns the
list position: position 0 reads as "not found". Conformance needs that quirk, so it is reproduced in
``_php_found`` (and the component order in our data file is the MOT's configuration order).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, Callable

TECHNICAL_REPORT = 11
RESEARCH_PAPER = 21
FINAL_PARAMETERS = 10
CONTENT_TYPES = ("code", "data", "document")
UNLICENSED = "unlicensed"


@dataclass(frozen=True)
class Component:
    id: int
    name: str
    content_type: str
    mof_class: int
    required: bool
    description: str


@functools.lru_cache(maxsize=1)
def _settings() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(files("opentrust").joinpath("data/openness/mof_components.yaml").read_text("utf-8"))


@functools.lru_cache(maxsize=1)
def components() -> tuple[Component, ...]:
    return tuple(Component(id=c["id"], name=c["name"], content_type=c["content_type"], mof_class=c["class"],
                           required=c["required"], description=c["description"])
                 for c in _settings()["components"])


@functools.lru_cache(maxsize=1)
def by_id() -> dict[int, Component]:
    return {c.id: c for c in components()}


@functools.lru_cache(maxsize=1)
def by_name() -> dict[str, Component]:
    return {_fold(c.name): c for c in components()}


def _fold(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower())


def component_named(name: str) -> Component | None:
    return by_name().get(_fold(name))


def class_label(mof_class: int) -> str:
    return str(_settings()["labels"][mof_class])


def required(mof_class: int) -> list[int]:
    return [c.id for c in components() if c.mof_class == mof_class and c.required]


def optional(mof_class: int) -> list[int]:
    return [c.id for c in components() if c.mof_class == mof_class and not c.required]


@dataclass
class ReleasedComponent:
    """A component that is part of the release. ``license`` None: none of its own (global licences apply);
    "" : explicitly none (unlicensed)."""

    id: int
    license: str | None = None


@dataclass
class Release:
    """What classification needs: the global licences and the included components."""

    name: str
    licenses: dict[str, str | None] = field(default_factory=dict)  # distribution/code/data/document → licence
    components: dict[int, ReleasedComponent] = field(default_factory=dict)


@dataclass
class ComponentResult:
    id: int
    name: str
    content_type: str
    mof_class: int
    required: bool
    included: bool  # part of the release
    license: str | None  # resolved licence (None: unlicensed or not included)
    license_source: str  # component | global:<type> | distribution | none
    status: str  # open | unlicensed | invalid | missing
    open: bool
    type_appropriate: bool | None


@dataclass
class Classification:
    mof_class: int
    label: str
    progress: dict[str, float]
    components: list[ComponentResult]
    not_type_appropriate: list[int]
    evaluation: dict[Any, Any]  # the MOT's per-class lists, for explanations and next steps


def resolve_license(component: Component, release: Release) -> tuple[str | None, str]:
    own = release.components.get(component.id)
    if own is not None and own.license is not None:
        return (own.license or None), "component"
    typed = release.licenses.get(component.content_type)
    if typed:
        return typed, f"global:{component.content_type}"
    dist = release.licenses.get("distribution")
    if dist:
        return dist, "distribution"
    return None, "none"


def license_is_open(license_id: str) -> bool:
    """Exact ids as the MOT compares them; SPDX expressions (which the MOT cannot read) through the parser."""
    from opentrust.openness import licenses

    if licenses.is_open_id(license_id):
        return True
    if re.search(r"\s(AND|OR|WITH)\s", license_id):
        return licenses.describe(license_id).is_open
    return False


def _type_ok(license_id: str, content_type: str) -> bool:
    from opentrust.openness import licenses

    if licenses.is_type_appropriate(license_id, content_type):
        return True
    if re.search(r"\s(AND|OR|WITH)\s", license_id):
        parts = re.split(r"\s+(?:AND|OR)\s+", license_id.replace("(", " ").replace(")", " "))
        return any(licenses.is_type_appropriate(p.split(" WITH ")[0].strip(), content_type) for p in parts)
    return False


def classify(release: Release, is_open: Callable[[str], bool] = license_is_open) -> Classification:
    included_ids = set(release.components)
    evaluation: dict[Any, Any] = {"not-type-appropriate": []}
    req: list[int] = []
    opt: list[int] = []
    for cls in (3, 2, 1):
        ev: dict[str, Any] = {"missing": [], "included": [], "invalid": [], "unlicensed": [], "optional": []}
        lic_map: dict[int, str] = {}
        req = [*req, *required(cls)]
        opt = [*opt, *optional(cls)]
        for bucket, ids in (("included", req), ("optional", opt)):
            for cid in ids:
                if cid not in included_ids:
                    if bucket == "included":
                        ev["missing"].append(cid)
                    continue
                comp = by_id()[cid]
                lic = resolve_license(comp, release)[0] or UNLICENSED
                if is_open(lic):
                    ev[bucket].append(cid)
                    if not _type_ok(lic, comp.content_type) and cid not in evaluation["not-type-appropriate"]:
                        evaluation["not-type-appropriate"].append(cid)
                elif lic == UNLICENSED:
                    ev["unlicensed"].append(cid)
                else:
                    ev["invalid"].append(cid)
                lic_map[cid] = lic
        ev["licenses"] = lic_map
        evaluation[cls] = ev

    # A research paper may stand in for the technical report.
    if not _php_found(TECHNICAL_REPORT, evaluation[3]["included"]):
        status = next((s for s in ("included", "invalid", "unlicensed")
                       if RESEARCH_PAPER in evaluation[1][s]), None)
        if status is not None:
            for cls in (3, 2, 1):
                if TECHNICAL_REPORT in evaluation[cls]["missing"]:
                    evaluation[cls]["missing"].remove(TECHNICAL_REPORT)
            for cls in (3, 2):
                evaluation[cls][status].append(RESEARCH_PAPER)
                evaluation[cls]["licenses"][RESEARCH_PAPER] = evaluation[1]["licenses"][RESEARCH_PAPER]

    progress = {str(c): _progress(c, evaluation) for c in (1, 2, 3)}
    mof_class = 0
    for cls in (3, 2, 1):
        if progress[str(cls)] == 100.0:
            mof_class = cls
    results = []
    for comp in sorted(components(), key=lambda c: (-c.mof_class, not c.required, c.name)):
        lic, source = resolve_license(comp, release) if comp.id in included_ids else (None, "none")
        if comp.id not in included_ids:
            status = "missing"
        elif lic is None or lic == UNLICENSED:
            status = "unlicensed"
        elif is_open(lic):
            status = "open"
        else:
            status = "invalid"
        results.append(ComponentResult(
            id=comp.id, name=comp.name, content_type=comp.content_type, mof_class=comp.mof_class,
            required=comp.required, included=comp.id in included_ids, license=lic, license_source=source,
            status=status, open=status == "open",
            type_appropriate=_type_ok(lic, comp.content_type) if status == "open" and lic else None))
    return Classification(mof_class=mof_class, label=class_label(mof_class), progress=progress,
                          components=results, not_type_appropriate=list(evaluation["not-type-appropriate"]),
                          evaluation=evaluation)


def _php_found(needle: int, haystack: list[int]) -> bool:
    """PHP's ``array_search(...)`` used as a boolean: a match at position 0 reads as false."""
    return needle in haystack and haystack.index(needle) != 0


def _progress(mof_class: int, evaluation: dict[Any, Any]) -> float:
    total = 0
    included = 0
    met_above = True
    for cls in range(3, mof_class - 1, -1):
        total += len(required(cls))
        included = len(evaluation[cls]["included"])
        if included < total:
            met_above = cls == mof_class  # stopping at the class itself is fine; above it, progress is 0
            break
    if not met_above:
        return 0.0
    if (mof_class == 1 and not _php_found(TECHNICAL_REPORT, evaluation[1]["included"])
            and _php_found(RESEARCH_PAPER, evaluation[1]["included"])):
        total -= 1
    return min(included / total * 100, 100.0)


# --- MOT YAML records ------------------------------------------------------------------------------------


def release_from_record(record: dict[str, Any]) -> Release:
    """A Model Openness Tool record (``framework`` + ``release``) as the MOT would import it."""
    rel = record.get("release") if isinstance(record, dict) else None
    if not isinstance(rel, dict):
        raise ValueError("not a Model Openness Tool record: no 'release' mapping")
    licenses: dict[str, str | None] = {}
    raw_licenses = rel.get("license") or {}
    if isinstance(raw_licenses, dict):
        for kind in ("distribution", *CONTENT_TYPES):
            entry = raw_licenses.get(kind)
            if isinstance(entry, dict) and entry.get("name"):
                licenses[kind] = str(entry["name"]).strip()
    release = Release(name=str(rel.get("name") or ""), licenses=licenses)
    for item in rel.get("components") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        comp = component_named(str(item["name"]))
        if comp is None:
            continue
        own = item.get("license")
        release.components[comp.id] = ReleasedComponent(id=comp.id, license=None if own is None else str(own).strip())
    return release
