"""What a scan returns: per-file results and the findings, as plain dataclasses (no pydantic: the fast path
reads them). Its own module so that dispatch (which builds it) and report (which renders it) share the type
without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opentrust.scan.base import ScanFinding

if TYPE_CHECKING:
    from opentrust.findings import Finding


@dataclass
class FileResult:
    path: str
    format: str
    size: int
    findings: int
    seconds: float
    max_severity: str | None = None
    nested: dict[str, str] = field(default_factory=dict)


@dataclass
class ScanResult:
    files: list[FileResult] = field(default_factory=list)
    records: list[ScanFinding] = field(default_factory=list)  # what the scanners reported (no pydantic)
    seconds: float = 0.0
    bytes_read: int = 0
    roots: list[str] = field(default_factory=list)  # the paths the scan was asked for (tables show paths relative)
    _findings: "list[Finding] | None" = field(default=None, repr=False)

    @property
    def findings(self) -> "list[Finding]":
        """The findings as ``opentrust.findings.Finding`` (built on first use: reports and the audit need
        them; the CLI's table and JSON read ``records`` and never import pydantic)."""
        if self._findings is None:
            self._findings = [r.to_finding() for r in self.records]
        return self._findings

    # its JSON document is opentrust.scan.report.to_json_dict(result): the renderer knows the result, not the
    # other way round
