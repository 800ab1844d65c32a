"""The evidence a policy reads: result files merged into one tree, and the dotted paths that read it.

Every input is read with ``opentrust.read_result`` (so reports of older versions load, upgraded) and placed under a
root named after what it measured, whether it came from an audit section or a command of its own:

==============  ========================================================  =========================================
root            from an audit report                                      from a result file of its own
==============  ========================================================  =========================================
``audit``       the whole report (``audit.sections.redteam.status``)      —
``target``      ``report.target`` (name, kind, location, fingerprint)     the result's ``model`` block
``model_facts`` the model_facts section's data                            —
``scan``        the scan section's scan document                          ``opentrust scan --format json``
``openness``    the openness section's data                               ``opentrust openness --format json``
``smoke``       the smoke section's data                                  —
``behaviour``   the behaviour section's data (``suite``, ``cases``)       ``opentrust test --format json``
``fairness``    the fairness section's data                               ``opentrust fairness --format json``
``redteam``     the redteam section's data (``summary``, ``categories``)  ``opentrust redteam --format json``
``data``        the data section's data (``pii``, ``secrets``, ``card``…)  ``opentrust data --format json``
``compare``     —                                                         ``opentrust compare`` JSON
``measurements``every measurement of the report, by name                  —
``findings``    every finding of the report                               —
==============  ========================================================  =========================================

A result file of its own replaces the audit section of the same root (it is usually the deeper run). A section
that was skipped or failed leaves its root missing, and every rule on it ``unknown``, with the section's reason.

Paths: ``root.key.key`` with
  * ``.N`` or ``[N]`` — the N-th item of a list (a number is a key of a mapping, e.g. ``mof.progress.3``);
  * ``.NAME`` on a list — the item whose ``check``, ``name``, ``id``, ``target``, ``attribute`` or ``spec`` is NAME
    (``audit.sections.redteam``, ``compare.models.smollm2``);
  * ``[field=value]`` — the items whose ``field`` equals value (``mof.components[name=Model card]``); none is
    missing evidence, except for ``exists: false`` (``scan.findings[rule_id=X]`` with ``exists: false``: no such finding);
  * ``["a.b"]`` — a key with dots or spaces (``measurements["smoke.match_rate"]``);
  * ``*`` or ``[*]`` — every item (or value of a mapping): the requirement must hold for each (no items at all is
    missing evidence, never a silent pass);
  * ``{target}`` — the name of the model gated (``compare.models.{target}.quality``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentrust.errors import UserError

ROOTS = ("audit", "target", "model_facts", "scan", "openness", "smoke", "behaviour", "fairness", "redteam", "compare",
         "data", "measurements", "findings")
#: audit section -> root (the scan section keeps its document one level down)
SECTION_ROOTS = {"model_facts": "model_facts", "scan": "scan", "openness": "openness", "smoke": "smoke",
                 "behaviour": "behaviour", "fairness": "fairness", "redteam": "redteam", "data": "data"}
#: result kind -> root
KIND_ROOTS = {"scan": "scan", "openness": "openness", "test": "behaviour", "fairness": "fairness",
              "redteam": "redteam", "compare": "compare", "data": "data"}
SELECT_KEYS = ("check", "name", "id", "target", "attribute", "spec")
POINT_KEYS = ("value", "asr", "pass_rate", "mean", "max_gap", "diff", "rate")
INTERVAL_KEYS = ("ci", "interval", "gap_ci")
COUNT_KEYS = ("n", "samples", "units", "blocks", "cases", "pairs", "items")

_NAME = re.compile(r"[A-Za-z0-9_\-$]+|\{target\}")


# -- paths -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    kind: str  # key | index | select | match | all
    key: str = ""
    value: str = ""
    index: int = 0


def parse_path(text: str) -> list[Step]:
    """Parse a dotted evidence path; raises ValueError with what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an evidence path must be a non-empty string")
    steps: list[Step] = []
    i, n = 0, len(text)
    expect_name = True
    while i < n:
        ch = text[i]
        if ch == "[":
            end = _closing(text, i)
            steps.append(_bracket(text[i + 1:end].strip(), text))
            i = end + 1
            expect_name = False
            continue
        if ch == ".":
            if expect_name:
                raise ValueError(f"empty segment in path {text!r}")
            i += 1
            expect_name = True
            if i >= n:
                raise ValueError(f"path {text!r} ends with '.'")
            continue
        if not expect_name:
            raise ValueError(f"expected '.' or '[' at character {i + 1} of {text!r}")
        if ch == "*":
            steps.append(Step("all"))
            i += 1
        else:
            m = _NAME.match(text, i)
            if not m:
                raise ValueError(f"unexpected {ch!r} at character {i + 1} of {text!r} (quote odd keys: [\"a b\"])")
            word = m.group(0)
            steps.append(Step("match", key=word) if steps else Step("key", key=word))
            i = m.end()
        expect_name = False
    if not steps or steps[0].kind != "key":
        raise ValueError(f"path {text!r} must start with a root name")
    if steps[0].key not in ROOTS:
        raise ValueError(f"unknown evidence root {steps[0].key!r} in {text!r}; roots: {', '.join(ROOTS)}")
    return steps


def _closing(text: str, start: int) -> int:
    quote = None
    for j in range(start + 1, len(text)):
        ch = text[j]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "]":
            return j
    raise ValueError(f"unclosed '[' in path {text!r}")


def _bracket(inner: str, text: str) -> Step:
    if inner == "*":
        return Step("all")
    if re.fullmatch(r"-?\d+", inner):
        return Step("index", index=int(inner))
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "\"'":
        return Step("key", key=inner[1:-1])
    if "=" in inner:
        key, _, value = inner.partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if not key:
            raise ValueError(f"empty field name in [{inner}] of {text!r}")
        return Step("select", key=key, value=value)
    raise ValueError(f"[{inner}] in {text!r}: use [N], [*], [field=value] or [\"key\"]")


# -- the tree -------------------------------------------------------------------------------------------------------
@dataclass
class Evidence:
    tree: dict[str, Any] = field(default_factory=dict)
    #: root -> where it came from ("report.json: audit run 61493c6d")
    sources: dict[str, str] = field(default_factory=dict)
    #: root -> why it is missing (a skipped or failed audit section)
    missing: dict[str, str] = field(default_factory=dict)
    target: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)


def load_inputs(paths: list[Path]) -> Evidence:
    """Read result files (any kind but gate) into one evidence tree."""
    from opentrust.results import read_result

    if not paths:
        raise UserError("no result files given", "pass one or more report.json / result JSON files")
    return collect([(str(p), read_result(p)) for p in paths])


def collect(results: list[tuple[str, Any]]) -> Evidence:
    """One evidence tree from results already read (``(label, result)``): an audit's sections first, then results
    of their own over them."""
    ev = Evidence()
    own: dict[str, str] = {}
    fingerprints: dict[str, str] = {}
    ordered = sorted(results, key=lambda item: item[1].kind != "audit")
    for label, result in ordered:
        kind = result.kind
        doc = result.model_dump(mode="json", by_alias=True)
        run_id = doc.get("run_id")
        where = f"{label}: {kind}" + (f" run {run_id}" if run_id else "")
        ev.inputs.append({"path": label, "kind": kind, "run_id": run_id, "schema_version": str(result.schema_version),
                          **_model_of(doc)})
        if kind == "gate":
            raise UserError(f"{label} is a gate result, not evidence", "pass the report.json the gate was run on")
        if kind == "audit":
            if "audit" in ev.tree:
                raise UserError(f"two audit reports given ({ev.sources['audit'].split(':')[0]} and {label})",
                                "gate one audit at a time")
            _add_audit(ev, doc, where)
        else:
            root = KIND_ROOTS.get(kind)
            if root is None:
                raise UserError(f"{label}: a {kind} result is not evidence a policy reads",
                                f"pass results of these kinds: audit, {', '.join(KIND_ROOTS)}")
            if root in own:
                raise UserError(f"two {kind} results given ({own[root]} and {label})", "pass one of each kind")
            own[root] = label
            ev.tree[root] = doc
            ev.sources[root] = where
            ev.missing.pop(root, None)
        model = _model_of(doc)
        if model.get("fingerprint") and kind != "compare":
            fingerprints[label] = model["fingerprint"]
            if not ev.target:
                ev.target = _identity(doc)
    if len(set(fingerprints.values())) > 1:
        listing = ", ".join(f"{k} ({v[:12]})" for k, v in fingerprints.items())
        raise UserError(f"the results are about different models: {listing}", "gate one model's results at a time")
    if "compare" in ev.tree and ev.target.get("fingerprint"):
        fps = {m.get("fingerprint") for m in ev.tree["compare"].get("models") or []}
        if ev.target["fingerprint"] not in fps:
            raise UserError(f"{own['compare']} does not compare the model gated ({ev.target.get('name')})",
                            "pass a comparison that includes it")
    if ev.target and "target" not in ev.tree:
        ev.tree["target"] = {k: v for k, v in ev.target.items() if v is not None}
        ev.sources["target"] = ev.inputs[0]["path"]
    return ev


def _model_of(doc: dict[str, Any]) -> dict[str, Any]:
    block = doc.get("target") if doc.get("kind") == "audit" else doc.get("model")
    if isinstance(block, dict) and block.get("fingerprint"):
        return {"fingerprint": block["fingerprint"], "target": block.get("name")}
    return {}


def _identity(doc: dict[str, Any]) -> dict[str, Any]:
    """name, fingerprint, kind, spec and location of the model a result is about (what it says of them)."""
    block = (doc.get("target") if doc.get("kind") == "audit" else doc.get("model")) or {}
    return {"name": block.get("name"), "fingerprint": block.get("fingerprint"), "kind": block.get("kind"),
            "spec": block.get("spec") or block.get("name"), "location": block.get("location")}


def _add_audit(ev: Evidence, doc: dict[str, Any], where: str) -> None:
    ev.tree["audit"] = doc
    ev.tree["target"] = doc.get("target") or {}
    ev.target = _identity(doc)
    for root in ("audit", "target", "measurements", "findings"):
        ev.sources[root] = where
    measurements: dict[str, Any] = {}
    findings: list[Any] = []
    for section in doc.get("sections") or []:
        check = section.get("check")
        if check == "gate":  # a gate section is a verdict on the evidence, not evidence
            continue
        findings.extend(section.get("findings") or [])
        for m in section.get("measurements") or []:
            measurements[m["name"]] = m
        root = SECTION_ROOTS.get(check)
        if root is None:
            continue
        if section.get("status") in ("skipped", "error"):
            ev.missing[root] = f"the audit's {check} section was {section['status']}: {section.get('summary', '')}"
            continue
        data = section.get("data") or {}
        ev.tree[root] = data.get("scan", data) if root == "scan" else data
        ev.sources[root] = where
    ev.tree["measurements"] = measurements
    ev.tree["findings"] = findings


# -- reading a path -------------------------------------------------------------------------------------------------
class Missing(Exception):
    """The path leads nowhere; ``str(exc)`` says where it stopped."""


def resolve(ev: Evidence, path: str) -> list[tuple[str, Any]]:
    """Every (concrete path, value) the path names (one unless it has a wildcard). Raises Missing."""
    steps = parse_path(path)
    root = steps[0].key
    if root not in ev.tree:
        reason = ev.missing.get(root) or f"no {root} evidence among the inputs"
        raise Missing(reason)
    found = [(root, ev.tree[root])]
    for step in steps[1:]:
        nxt: list[tuple[str, Any]] = []
        for where, value in found:
            nxt.extend(_step(ev, where, value, step))
        found = nxt
    return found


def _step(ev: Evidence, where: str, value: Any, step: Step) -> list[tuple[str, Any]]:
    key, want = step.key, step.value
    if "{target}" in key + want:
        name = ev.target.get("name")
        if not name:
            raise Missing(f"{where}: {{target}} is unknown (no input names the model)")
        key, want = key.replace("{target}", str(name)), want.replace("{target}", str(name))
    if step.kind == "all":
        if isinstance(value, list):
            return [(f"{where}[{i}]", v) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return [(f"{where}.{k}", v) for k, v in value.items()]
        raise Missing(f"{where} is not a list or mapping")
    if step.kind == "index":
        if isinstance(value, list) and -len(value) <= step.index < len(value):
            return [(f"{where}[{step.index}]", value[step.index])]
        raise Missing(f"{where} has no item {step.index}")
    if step.kind == "select":
        if not isinstance(value, list):
            raise Missing(f"{where} is not a list")
        hits = [(f"{where}[{i}]", v) for i, v in enumerate(value)
                if isinstance(v, dict) and key in v and _same(v[key], want)]
        if not hits:
            raise Missing(f"{where} has no item with {key}={want}")
        return hits  # a filter: the requirement holds for every item it keeps
    # key or match
    if isinstance(value, dict):
        if key in value:
            return [(f"{where}.{key}", value[key])]
        raise Missing(f"{where} has no {key!r}")
    if isinstance(value, list):
        if re.fullmatch(r"\d+", key):
            return _step(ev, where, value, Step("index", index=int(key)))
        hits = [(i, v) for i, v in enumerate(value)
                if isinstance(v, dict) and any(_same(v.get(k), key) for k in SELECT_KEYS if k in v)]
        return _one(where, hits, key)
    raise Missing(f"{where} is {_kind(value)}, so it has no {key!r}")


def _one(where: str, hits: list[tuple[int, Any]], what: str) -> list[tuple[str, Any]]:
    if not hits:
        raise Missing(f"{where} has no item {what}")
    if len(hits) > 1:
        raise Missing(f"{where} has {len(hits)} items {what}; select one with [field=value]")
    return [(f"{where}[{what}]", hits[0][1])]


def _same(a: Any, b: str) -> bool:
    return a is not None and not isinstance(a, (dict, list)) and str(a) == b


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__.replace("str", "a string").replace("bool", "a boolean")


# -- figures ---------------------------------------------------------------------------------------------------------
@dataclass
class Figure:
    point: Any
    interval: tuple[float, float] | None
    n: float | None


def figure_of(value: Any, count: str | None = None) -> Figure | None:
    """A figure (point, interval, sample count) from a result block: a measurement (value, interval, n), a red-team
    figure (asr, ci, samples), a suite (pass_rate, ci, samples), a fairness row (max_gap, gap_ci, blocks)...
    None when ``value`` is not such a block."""
    if not isinstance(value, dict):
        return None
    point_key = next((k for k in POINT_KEYS if k in value), None)
    interval_key = next((k for k in INTERVAL_KEYS if k in value), None)
    if point_key is None and interval_key is None:
        return None
    raw = value.get(interval_key) if interval_key else None
    interval = None
    if isinstance(raw, (list, tuple)) and len(raw) == 2 and all(isinstance(x, (int, float)) for x in raw):
        interval = (float(raw[0]), float(raw[1]))
    keys = (count,) if count else COUNT_KEYS
    n = next((value[k] for k in keys if isinstance(value.get(k), (int, float)) and not isinstance(value.get(k), bool)),
             None)
    return Figure(value.get(point_key) if point_key else None, interval, n)
