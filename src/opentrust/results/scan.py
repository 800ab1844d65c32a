"""The JSON of `opentrust scan --format json` (README documents each field). The scan itself writes a plain
dict (its fast path imports no pydantic); this model reads it back and the drift test holds the two together."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from opentrust.results.base import Part, ResultBase

SCHEMA_VERSION = "1.1"


class Tool(Part):
    name: str = "opentrust"
    version: str


class ScannedFile(Part):
    path: str
    format: str | None = Field(description="The format detected by content (None: not a format we scan).")
    size: int | None
    findings: int = Field(description="Number of findings in this file.")
    max_severity: str | None
    seconds: float
    nested: Any = None


class ScanFindingRecord(Part):
    rule_id: str
    severity: Literal["critical", "high", "medium", "low", "info"]
    path: str | None = Field(description="File path; outer!inner for archive members and nested pickles.")
    offset: int | None = Field(description="Byte offset of the evidence.")
    key: str | None = None
    title: str = ""
    message: str = ""
    evidence: str = ""
    remedy: str = ""
    properties: dict[str, Any] = Field(default_factory=dict)


class ScanSummary(Part):
    files: int
    findings_by_severity: dict[str, int]
    seconds: float
    bytes_read: int
    fail_on: str
    failed: bool


class ScanResult(ResultBase):
    """The result of `opentrust scan`."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["scan"] = "scan"
    tool: Tool
    files: list[ScannedFile]
    findings: list[ScanFindingRecord]
    summary: ScanSummary
