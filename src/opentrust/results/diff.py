"""The JSON of `opentrust diff OLD NEW` (``--format json``): findings new, fixed and changed; every metric's change
with its interval; changed verdicts; and the regressions that make it exit 1. README (`opentrust diff`) documents it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from opentrust.results.base import Part, ResultBase

SCHEMA_VERSION = "1.0"


class Side(Part):
    label: str = Field(description="The file or target as given.")
    target: str
    fingerprint: str
    run_id: str
    created_at: str
    profile: str | None = None
    seed: int | None = None


class FindingChange(Part):
    change: Literal["new", "fixed", "changed"]
    check: str
    rule_id: str
    location: str = Field(description="Where, relative to the model (findings are matched by rule and location).")
    severity: str = Field(description="NEW's severity (OLD's for fixed findings).")
    old_severity: str | None = None
    title: str
    deterministic: bool = Field(description="From a check that reads files (model_facts, scan, openness): the same "
                                            "files always give the same findings, so a new one is a real change.")


class MetricChange(Part):
    name: str
    unit: str = ""
    old: float | None
    new: float | None
    diff: float | None = Field(description="new - old.")
    ci: tuple[float, float] | None = Field(description="95% interval of the difference (null: no interval to judge).")
    ci_familywise: tuple[float, float] | None = Field(
        description="The interval at 1 - 0.05/m, m = the directional metrics compared (Bonferroni): significance "
                    "and regressions are read from it, so the diff as a whole errs at most 5% of the time.")
    method: str = Field(description="paired (same cases, clustered by case) or independent (MOVER from each "
                                    "side's interval).")
    n_old: float | None = None
    n_new: float | None = None
    direction: Literal["higher_is_better", "lower_is_better"] | None = Field(
        description="Which way is better; null: no direction (reported, never a regression).")
    significant: bool = Field(description="ci_familywise excludes 0.")
    regression: bool = Field(description="Significant and in the worse direction (timings only with --timings).")
    note: str = ""


class VerdictChange(Part):
    what: str
    old: Any
    new: Any
    regression: bool = False


class DiffResult(ResultBase):
    """The result of `opentrust diff`."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["diff"] = "diff"
    old: Side
    new: Side
    findings: list[FindingChange]
    metrics: list[MetricChange]
    verdicts: list[VerdictChange]
    regressions: list[str] = Field(description="Why the diff exits 1, one line each (empty: no regression).")
    confidence: float = Field(description="Family-wise confidence of the regression decisions.")
    exit_code: int
