"""The JSON of `opentrust openness --format json` (README documents each field)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from opentrust.results.base import Part, ResultBase

SCHEMA_VERSION = "1.1"


class OpennessTarget(Part):
    name: str
    kind: str
    location: str


class MOF(Part):
    class_: int = Field(alias="class", description="0 Unclassified, 3 Open Model, 2 Open Tooling, 1 Open Science.")
    label: str
    progress: dict[str, float] = Field(description="Percent of each class met (cumulative).")
    components: list[dict[str, Any]] = Field(description="The 17 components with status, licence and evidence.")
    type_warnings: list[dict[str, Any]] = Field(default_factory=list)
    distribution_license: str | None = None
    global_licenses: dict[str, Any] = Field(default_factory=dict)


class OpennessResult(ResultBase):
    """The result of `opentrust openness` (also the data of the audit's openness section)."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["openness"] = "openness"
    target: OpennessTarget
    mof: MOF
    osaid: dict[str, Any]
    licenses: list[dict[str, Any]]
    next_steps: list[dict[str, Any]]
    conflicts: list[dict[str, Any]] = Field(default_factory=list)
    notes: list[Any] = Field(default_factory=list)
