"""Versioned results: every JSON output opentrust writes, read back as a typed pydantic model.

Each output is one kind — ``audit`` (report.json), ``scan``, ``test``, ``redteam``, ``openness`` — with
``schema_version`` and ``kind`` at its top level next to the kind's own fields (whose names never change
within a major version). ``read_result(path)`` loads any version written so far and upgrades old ones:

* files from before ``kind`` existed are recognised by their shape;
* ``1.0`` audit, test and openness results and scan ``1`` gain ``kind`` (1.1);
* red-team ``1.0`` figures gain the 2.x fields they lacked: ``half_width`` and ``evidence`` from the
  interval (the samples counted as units, as 1.0 did), ``units``/``clusters``/``precision`` unknown (None);
* a newer minor version reads (unknown fields are kept); a newer major version is refused with a one-line error.

The published JSON Schemas (``docs/schemas/<kind>.schema.json``) are generated from these models
(``python -m opentrust.results``); a test fails when they drift.
"""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any, Callable

from opentrust.errors import UserError

#: kind -> (module, class) of its model; the model's ``schema_version`` default is the current version
MODELS: dict[str, tuple[str, str]] = {
    "audit": ("opentrust.report.model", "Report"),
    "scan": ("opentrust.results.scan", "ScanResult"),
    "test": ("opentrust.results.test", "TestResult"),
    "redteam": ("opentrust.results.redteam", "RedteamResult"),
    "openness": ("opentrust.results.openness", "OpennessResult"),
    "fairness": ("opentrust.results.fairness", "FairnessResult"),
    "compare": ("opentrust.results.compare", "CompareResult"),
    "gate": ("opentrust.results.gate", "GateResult"),
    "diff": ("opentrust.results.diff", "DiffResult"),
    "factsheet": ("opentrust.results.factsheet", "Factsheet"),
    "data": ("opentrust.results.data", "DataResult"),
    "improve": ("opentrust.results.improve", "ImproveResult"),
}

__all__ = ["MODELS", "model_for", "current_version", "parse_result", "read_result", "json_schema", "schema_text"]


def model_for(kind: str) -> Any:
    try:
        module, name = MODELS[kind]
    except KeyError:
        raise UserError(f"unknown result kind {kind!r}", f"known kinds: {', '.join(MODELS)}") from None
    return getattr(importlib.import_module(module), name)


def current_version(kind: str) -> str:
    return str(model_for(kind).model_fields["schema_version"].default)


def _version(text: Any) -> tuple[int, int]:
    parts = str(text).split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise UserError(f"unreadable schema_version {text!r}", "is this an opentrust result?") from None


def detect_kind(data: dict[str, Any]) -> str:
    """The kind of a result, from ``kind`` or, for files written before it existed, from its shape."""
    kind = data.get("kind")
    if isinstance(kind, str) and kind:
        return kind
    if "sections" in data and "command" in data:
        return "audit"
    if "cases" in data and "suite" in data:
        return "test"
    if "categories" in data and "probes" in data:
        return "redteam"
    if "mof" in data and "osaid" in data:
        return "openness"
    if "files" in data and "findings" in data and "summary" in data:
        return "scan"
    raise UserError("not an opentrust result (no 'kind' and no known shape)",
                    "pass a JSON file written by opentrust audit, scan, test, redteam or openness")


# -- upgrades: (kind, major) -> function of the data, applied in order until the current version ----------
def _add_kind(kind: str, version: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def upgrade(data: dict[str, Any]) -> dict[str, Any]:
        data["kind"] = kind
        data["schema_version"] = version
        return data

    return upgrade


def _redteam_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    from opentrust.stats import evidence

    def figure(g: dict[str, Any] | None) -> dict[str, Any] | None:
        if g is None:
            return None
        ci = g.get("ci") or [None, None]
        half = None if None in ci else round((ci[1] - ci[0]) / 2, 4)
        g.setdefault("half_width", half)
        g.setdefault("evidence", evidence(g.get("asr"), None if None in ci else ci, g.get("samples")))
        for key in ("units", "clusters", "effective_samples", "precision"):
            g.setdefault(key, None)
        g.setdefault("uncorrected", [])
        return g

    summary = data.setdefault("summary", {})
    summary["attack_success"] = figure(summary.get("attack_success"))
    summary["over_refusal"] = figure(summary.get("over_refusal"))
    for group in ("categories", "techniques"):
        data[group] = {k: figure(v) for k, v in (data.get(group) or {}).items()}
    headline = {**{f"categories.{k}": v for k, v in data["categories"].items()},
                "summary.attack_success": summary["attack_success"],
                **({"summary.over_refusal": summary["over_refusal"]} if summary.get("over_refusal") else {})}
    summary.setdefault("insufficient_evidence", sorted(k for k, v in headline.items()
                                                      if v and v["evidence"] != "sufficient"))
    summary.setdefault("target_missed", [])
    data["schema_version"] = "2.0"
    return data


UPGRADES: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("audit", 1): _add_kind("audit", "1.1"),
    ("test", 1): _add_kind("test", "1.1"),
    ("openness", 1): _add_kind("openness", "1.1"),
    ("scan", 1): _add_kind("scan", "1.1"),
    ("redteam", 1): _redteam_1_to_2,
    ("redteam", 2): _add_kind("redteam", "2.1"),
}


def parse_result(data: Any, source: str = "the result") -> Any:
    """A result document (parsed JSON) as its kind's model, upgraded to the current version."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise UserError(f"{source} is not an opentrust result (not a JSON object)", "pass a result JSON file")
    kind = detect_kind(data)
    model = model_for(kind)
    current = _version(current_version(kind))
    found = _version(data.get("schema_version", "1.0"))
    if found[0] > current[0]:
        raise UserError(f"{source} is a {kind} result of schema {data.get('schema_version')}, newer than this "
                        f"opentrust reads ({current[0]}.x)", "upgrade opentrust")
    original = str(data.get("schema_version", "1.0"))
    data = copy.deepcopy(data)
    while _version(data.get("schema_version", "1.0")) < current:
        step = UPGRADES.get((kind, _version(data.get("schema_version", "1.0"))[0]))
        if step is None:
            break
        before = data.get("schema_version")
        data = step(data)
        if data.get("schema_version") == before:  # pragma: no cover - an upgrade must move forward
            break
    data.setdefault("kind", kind)
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UserError(f"{source}: not a valid {kind} result: {where}: {err['msg']}",
                        "was it edited by hand or written by another tool?") from None
    if original != str(result.schema_version):
        result._upgraded_from = original
    return result


def read_result(path: str | Path) -> Any:
    """Load any opentrust JSON output (audit report.json, scan, test, redteam, openness; any version written so
    far) as a typed model, upgraded to the current version. ``result.kind`` says which model it is."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}", "pass the path of a result JSON file") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{path} is not JSON: {exc}", "pass a result JSON file written by opentrust") from None
    return parse_result(data, source=str(path))


def json_schema(kind: str) -> dict[str, Any]:
    """The published JSON Schema of ``kind`` (docs/schemas/<kind>.schema.json is generated from it)."""
    model = model_for(kind)
    schema = model.model_json_schema(by_alias=True)
    schema["$id"] = f"https://opentrust.dev/schemas/{kind}-{current_version(kind)}.json"
    return schema


def schema_text(kind: str) -> str:
    return json.dumps(json_schema(kind), indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for kind in MODELS:
        path = folder / f"{kind}.schema.json"
        path.write_text(schema_text(kind), encoding="utf-8")
        out.append(path)
    return out
