"""SARIF 2.1.0 from Findings: one run, rules with ids and help, results with file URI and byte region.

Generic on purpose: any command with Findings (scan, red teaming) can render SARIF through ``to_sarif``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

from opentrust._version import __version__
from opentrust.findings import Finding, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.critical: "error", Severity.high: "error", Severity.medium: "warning", Severity.low: "note",
          Severity.info: "note"}
# GitHub code scanning reads this number to rank security results.
SECURITY_SEVERITY = {Severity.critical: "9.5", Severity.high: "8.0", Severity.medium: "5.5", Severity.low: "3.0",
                     Severity.info: "0.0"}


def artifact_uri(path: str) -> str:
    """A file path as a SARIF URI: relative paths stay relative (resolved against the scan root)."""
    p = Path(path)
    if p.is_absolute():
        return p.as_uri()
    return quote(path.replace("\\", "/"), safe="/._-~")


def to_sarif(findings: Iterable[Finding], rules: Iterable[Any] = (), *, tool: str = "opentrust",
             information_uri: str = "https://github.com/opentrust/opentrust") -> dict[str, Any]:
    """``rules``: objects with ``id``, ``name``, ``title``, ``help`` and ``severity`` (e.g. scan Rules);
    rules for findings not listed are derived from the findings themselves."""
    findings = list(findings)
    table: dict[str, dict[str, Any]] = {}
    for r in rules:
        table[r.id] = _rule(r.id, getattr(r, "name", r.id), r.title, r.help, r.severity)
    for f in findings:
        if f.rule_id not in table:
            table[f.rule_id] = _rule(f.rule_id, f.rule_id, f.title, f.remedy or f.title, f.severity)
    order = {rid: i for i, rid in enumerate(table)}
    results = [_result(f, order[f.rule_id]) for f in findings]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": tool, "version": __version__, "informationUri": information_uri,
                                "rules": list(table.values())}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }


def _rule(rid: str, name: str, title: str, help_text: str, severity: Severity) -> dict[str, Any]:
    name = "".join(ch for ch in name.title() if ch.isalnum()) if not name.isidentifier() else name
    return {
        "id": rid, "name": name,
        "shortDescription": {"text": title},
        "fullDescription": {"text": help_text},
        "help": {"text": help_text, "markdown": f"**{title}**\n\n{help_text}"},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[severity], "tags": ["security"],
                       "problem.severity": LEVELS[severity]},
    }


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    path = f.location.path or ""
    outer, _, inner = path.partition("!")  # "model.zip!archive/data.pkl": the file on disk is the zip
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(outer or ".")}}
    if f.location.offset is not None and not inner:
        physical["region"] = {"byteOffset": max(0, f.location.offset)}
    elif f.location.line is not None and not inner:
        physical["region"] = {"startLine": max(1, f.location.line)}
    result: dict[str, Any] = {
        "ruleId": f.rule_id, "ruleIndex": rule_index, "level": LEVELS[f.severity],
        "message": {"text": f.message or f.title},
        "locations": [{"physicalLocation": physical}],
        "properties": {"severity": f.severity.value, "evidence": f.evidence},
    }
    if inner:
        result["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": path, "kind": "member"}]
        result["properties"]["nested_path"] = path
        if f.location.offset is not None:
            result["properties"]["nested_offset"] = f.location.offset
    if f.location.key:
        result["properties"]["key"] = f.location.key
    return result
