"""Evidence → MOF classification, licence analysis, OSAID verdict and next steps, as one result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentrust.openness import licenses as lic
from opentrust.openness import mof
from opentrust.openness.evidence import (
    CONFIDENCE_RANK,
    LOOKED_FOR,
    Evidence,
    from_record,
    from_target,
    is_mot_record,
)
from opentrust.openness.next_steps import next_steps
from opentrust.openness.osaid import verdict
from opentrust.results.openness import SCHEMA_VERSION  # the version its model reads back

# A licence file's text outranks a card's tag, which outranks a GGUF key (the text is what binds).
SOURCE_RANK = {"file": 0, "record": 0, "card": 1, "gguf": 2}

# Component statuses shown to users (the MOT's included/invalid/unlicensed/missing, said plainly).
INCLUDED, MISSING, UNLICENSED, NOT_OPEN, UNKNOWN = "included", "missing", "unlicensed", "licence not open", "unknown"


@dataclass
class OpennessResult:
    evidence: Evidence
    release: mof.Release
    classification: mof.Classification
    components: list[dict[str, Any]]
    licenses: list[dict[str, Any]]
    osaid: dict[str, Any]
    next_steps: list[dict[str, Any]]
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    target: Any = None  # opentrust.target.Target for model targets

    def type_warnings(self) -> list[dict[str, Any]]:
        """Open licences that are not of their component's type (a warning in the MOT, not a failure)."""
        out = []
        for cid in self.classification.not_type_appropriate:
            comp = mof.by_id()[cid]
            licence = next((c["license"] for c in self.components if c["id"] == cid), None)
            out.append({"component": comp.name, "component_id": cid, "license": licence,
                        "content_type": comp.content_type,
                        "message": f"{comp.name} is {comp.content_type}; {licence} is open but not a "
                                   f"{comp.content_type} licence (e.g. {lic.suggested_license(comp.content_type)})"})
        return out

    def to_dict(self) -> dict[str, Any]:
        c = self.classification
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "openness",
            "target": {"name": self.evidence.name, "kind": self.evidence.kind, "location": self.evidence.location},
            "mof": {"class": c.mof_class, "label": c.label, "progress": c.progress, "components": self.components,
                    "type_warnings": self.type_warnings(),
                    "distribution_license": self.release.licenses.get("distribution"),
                    "global_licenses": {k: v for k, v in self.release.licenses.items() if v}},
            "osaid": self.osaid,
            "licenses": self.licenses,
            "next_steps": self.next_steps,
            "conflicts": self.conflicts,
            "notes": self.evidence.notes,
        }


def assess_spec(spec: str) -> OpennessResult:
    """What `opentrust openness TARGET` assesses: a MOT record, a folder, a GGUF file or an alias."""
    from opentrust.errors import UserError
    from opentrust.target import resolve_target

    path = Path(spec).expanduser()
    if path.suffix.lower() in (".yml", ".yaml") and path.is_file():
        if not is_mot_record(path):
            raise UserError(f"{spec} is a YAML file but not a Model Openness Tool record",
                            "a record has top-level 'framework' and 'release' keys (see the MOT's models/ folder)")
        try:
            return assess_evidence(from_record(path))
        except ValueError as exc:
            raise UserError(f"{spec}: {exc}", "fix the record's 'release' section") from exc
    target = resolve_target(spec)
    if target.kind == "endpoint":
        raise UserError("openness reads the released files; an endpoint has none",
                        "point opentrust at the model's folder, its GGUF file or a MOT record")
    result = assess_evidence(from_target(target))
    result.target = target
    return result


def assess_evidence(ev: Evidence) -> OpennessResult:
    release, conflicts = _release(ev)
    classification = mof.classify(release)
    components = _components(ev, release, classification)
    licences = _licenses(ev, release, classification)
    # built once, complete: the verdict and the next steps read the parts, not a half-built result
    return OpennessResult(evidence=ev, release=release, classification=classification, components=components,
                          licenses=licences, osaid=verdict(components), next_steps=next_steps(classification, components),
                          conflicts=conflicts)


def _release(ev: Evidence) -> tuple[mof.Release, list[dict[str, Any]]]:
    if ev.kind == "record" and ev.record is not None:
        return mof.release_from_record(ev.record), []
    conflicts: list[dict[str, Any]] = []
    licences: dict[str, str | None] = {}
    ranked = sorted((c for c in ev.license_clues if c.license and c.applies_to == "distribution"),
                    key=lambda c: SOURCE_RANK.get(c.source, 3))
    if ranked:
        licences["distribution"] = ranked[0].license
        distinct = {c.license for c in ranked}
        if len(distinct) > 1:
            conflicts.append({"licenses": sorted(distinct),  # type: ignore[type-var]
                              "sources": [{"license": c.license, "where": _where(c.path, c.key, c.line)} for c in ranked],
                              "chosen": ranked[0].license})
    release = mof.Release(name=ev.name, licenses=licences)
    for comp in mof.components():
        present = [c for c in ev.for_component(comp.id) if c.present]
        if present:
            own = next((c.license for c in present if c.license), None)
            release.components[comp.id] = mof.ReleasedComponent(id=comp.id, license=own)
    return release, conflicts


def _where(path: str | None, key: str | None, line: int | None) -> str:
    loc = path or ""
    if key:
        loc = f"{loc}#{key}" if loc else key
    if line:
        loc = f"{loc}:{line}"
    return loc


def _components(ev: Evidence, release: mof.Release, cl: mof.Classification) -> list[dict[str, Any]]:
    out = []
    for r in cl.components:
        clues = ev.for_component(r.id)
        referenced = [c for c in clues if not c.present]
        if r.status == "missing":
            status = UNKNOWN if referenced else MISSING
        elif r.status == "unlicensed":
            status = UNLICENSED
        elif r.status == "open":
            status = INCLUDED
        else:
            status = UNKNOWN if r.license and lic.describe(r.license).category == "unknown" and ev.kind != "record" else NOT_OPEN
        if clues:
            confidence = max((c.confidence for c in clues), key=lambda x: CONFIDENCE_RANK.get(x, 0))
        else:
            confidence = "high" if ev.kind == "record" else "medium"
        evidence = [{"detail": c.detail, "where": c.where(), "confidence": c.confidence, "present": c.present}
                    for c in clues[:8]]
        if not clues:
            evidence = [{"detail": "not listed in the record" if ev.kind == "record"
                         else f"not found; looked for {LOOKED_FOR[r.id]}", "where": "", "confidence": confidence,
                         "present": False}]
        if r.license and r.license_source != "component":
            evidence.append({"detail": f"licence {r.license} from the {r.license_source.replace(':', ' ')} licence",
                             "where": _license_where(ev, r.license), "confidence": "high", "present": True})
        out.append({
            "id": r.id, "name": r.name, "class": r.mof_class, "content_type": r.content_type, "required": r.required,
            "status": status, "license": r.license, "license_source": r.license_source, "open": r.open,
            "type_appropriate": r.type_appropriate, "confidence": confidence, "evidence": evidence,
        })
    return out


def _license_where(ev: Evidence, licence: str) -> str:
    """Where the licence is stated, the binding text first (as in ``_release``)."""
    for c in sorted(ev.license_clues, key=lambda c: SOURCE_RANK.get(c.source, 3)):
        if c.license == licence:
            return _where(c.path, c.key, c.line)
    return ""


def _licenses(ev: Evidence, release: mof.Release, cl: mof.Classification) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}

    def add(name: str | None, where: str, detail: str) -> None:
        if not name:
            return
        entry = seen.get(name)
        if entry is None:
            info = lic.describe(name)
            entry = info.to_dict()
            entry["as_written"] = name
            entry["applies_to"] = []
            entry["evidence"] = []
            seen[name] = entry
        if detail and {"detail": detail, "where": where} not in entry["evidence"]:
            entry["evidence"].append({"detail": detail, "where": where})

    for c in ev.license_clues:
        if c.license:
            add(c.license, _where(c.path, c.key, c.line), c.detail)
    for kind, name in release.licenses.items():
        add(name, "", f"{kind} licence")
    for r in cl.components:
        if r.license:
            add(r.license, "", "")
            seen[r.license]["applies_to"].append(r.name)
    unidentified = [c for c in ev.license_clues if not c.license]
    out = list(seen.values())
    for c in unidentified:
        out.append({"id": None, "name": None, "category": "unknown", "open": False, "osi_approved": False,
                    "fsf_libre": False, "open_data": False, "restrictions": [], "as_written": None,
                    "reason": c.detail, "applies_to": [], "evidence": [{"detail": c.detail, "where": _where(c.path, c.key, c.line)}]})
    return out
