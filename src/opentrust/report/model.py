"""One Report object that every renderer reads. Its JSON is opentrust's versioned public schema.

A report is a list of sections, one per check. A section carries findings and measurements (the shared
vocabulary) plus generic display blocks (tables, interval bar charts) so that renderers need no
check-specific code: a new check appears in HTML, JSON and the terminal without touching them.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, Field, model_validator

from opentrust.clock import utc_now  # noqa: F401  (re-exported: report.model.utc_now)
from opentrust.findings import Finding, Measurement, Severity, exceeds
from opentrust.results.base import ResultBase
from opentrust.results.sections import (
    SECTION_DATA,
    BehaviourData,
    FairnessData,
    ModelFactsData,
    OpennessData,
    RedteamData,
    ScanData,
    SmokeData,
)

SCHEMA_VERSION = "1.1"  # 1.1: kind


class Table(BaseModel):
    """A titled table of plain values."""

    title: str = Field("", description="Caption shown above the table.")
    columns: list[str] = Field(description="Column headers.")
    rows: list[list[Any]] = Field(default_factory=list, description="Rows of cell values (str, number, null).")
    display: Literal["table", "heatmap"] = Field(
        "table", description="heatmap: numeric cells are shaded from white (0) to red (scale_max).")
    scale_max: float | None = Field(None, description="Value shaded darkest in a heatmap (default: the largest).")


class Bar(BaseModel):
    label: str = Field(description="Bar label.")
    value: float = Field(description="Bar length (point estimate).")
    interval: tuple[float, float] | None = Field(None, description="Optional interval drawn as a whisker.")
    note: str = Field("", description="Text shown after the bar.")


class BarChart(BaseModel):
    """Horizontal bars with optional interval whiskers; rendered as inline SVG."""

    title: str = Field("", description="Chart caption.")
    unit: str = Field("", description="Unit of the values.")
    max_value: float | None = Field(None, description="Axis maximum; defaults to the largest value.")
    bars: list[Bar] = Field(default_factory=list)


class Section(BaseModel):
    """The result of one check."""

    check: str = Field(description="Check name, e.g. 'model_facts'.")
    title: str = Field(description="Heading shown in reports.")
    status: Literal["ok", "findings", "error", "skipped"] = Field(
        "ok", description="ok: ran, nothing to report; findings: ran and found something; error: could not run; "
        "skipped: not applicable to this target."
    )
    summary: str = Field("", description="One-paragraph plain-language result.")
    findings: list[Finding] = Field(default_factory=list)
    measurements: list[Measurement] = Field(default_factory=list)
    facts: dict[str, Any] = Field(default_factory=dict, description="Key facts shown as a definition list.")
    tables: list[Table] = Field(default_factory=list)
    charts: list[BarChart] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict, description="Parameters the check ran with.")
    data: Union[ModelFactsData, ScanData, OpennessData, SmokeData, BehaviourData, RedteamData, FairnessData,
                dict[str, Any]] = Field(
        default_factory=dict, description="Check-specific machine-readable results: a typed block for each built-in "
        "check (chosen by the section's check name), a plain object for plugin checks."
    )
    duration_s: float | None = Field(None, description="Wall time of the check in seconds.")
    artifacts: dict[str, Any] = Field(
        default_factory=dict, exclude=True,
        description="Extra files written next to the report (file name -> JSON document), e.g. aibom.cdx.json.")

    @model_validator(mode="before")
    @classmethod
    def _typed_data(cls, value: Any) -> Any:
        """Validate ``data`` with the model of the section's check (a plain dict for checks without one). A section
        that failed or was skipped has no data ({}): it stays empty, so the report still reads back."""
        if isinstance(value, dict) and isinstance(value.get("data"), dict) and value["data"]:
            model = SECTION_DATA.get(value.get("check", ""))
            if model is not None:
                value = {**value, "data": model.model_validate(value["data"])}
        return value


class TargetInfo(BaseModel):
    name: str = Field(description="Short name used for the report folder, e.g. 'smollm2'.")
    kind: str = Field(description="gguf, folder or endpoint.")
    location: str = Field(description="Path or endpoint URL.")
    model: str | None = Field(None, description="Model name at the endpoint (endpoints only).")
    fingerprint: str = Field(description="sha256 of the weights, or of endpoint+model name for endpoints.")
    size_bytes: int | None = Field(None, description="Size of the weights on disk.")


class ToolInfo(BaseModel):
    name: str = "opentrust"
    version: str


class Summary(BaseModel):
    findings_by_severity: dict[str, int] = Field(description="Count of findings per severity.")
    fail_on: str = Field(description="The --fail-on threshold in force ('none' = never fail).")
    failed: bool = Field(description="True when a finding is at or above fail_on; the exit code is then 1.")
    exit_code: int = Field(description="The process exit code this report implies (0 or 1).")


class Report(ResultBase):
    """The whole result of one command run. ``schema_version`` changes on any incompatible change."""

    schema_version: str = Field(SCHEMA_VERSION, description="Version of this JSON schema (semver major.minor).")
    kind: Literal["audit"] = Field("audit", description="Result kind (see opentrust.results).")
    tool: ToolInfo
    command: str = Field(description="The command that produced the report, e.g. 'audit'.")
    run_id: str = Field(description="Identifier of the run in the store.")
    created_at: str = Field(description="UTC time the run started, ISO 8601.")
    target: TargetInfo
    parameters: dict[str, Any] = Field(default_factory=dict, description="Parameters of the run (profile, seeds...).")
    sections: list[Section] = Field(default_factory=list)
    summary: Summary | None = None

    @property
    def findings(self) -> list[Finding]:
        return [f for s in self.sections for f in s.findings]

    def finalize(self, fail_on: Severity | None) -> "Report":
        counts = {s.value: 0 for s in Severity}
        for f in self.findings:
            counts[f.severity.value] += 1
        failed = exceeds(self.findings, fail_on)
        self.summary = Summary(
            findings_by_severity=counts,
            fail_on=fail_on.value if fail_on else "none",
            failed=failed,
            exit_code=1 if failed else 0,
        )
        return self


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of report.json (docs/report-schema.json and docs/schemas/audit.schema.json)."""
    from opentrust.results import json_schema as schema_of

    return schema_of("audit")
