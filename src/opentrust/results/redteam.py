"""The JSON of `opentrust redteam` (schema 2.x): attack-success figures per category and technique, the
method behind them, one record per probe variant and the findings. README (`opentrust redteam`) documents it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from opentrust.findings import Finding
from opentrust.results.base import ExecutorInfo, Part, ResultBase
from opentrust.results.test import ModelRef

SCHEMA_VERSION = "2.1"


class Figure(Part):
    """An attack-success rate corrected for detector error, with its interval and what it rests on."""

    asr: float | None = Field(description="Corrected attack-success rate (mean over probe variants).")
    ci: tuple[float | None, float | None] = Field(description="95% interval (Lang-Reiczigel, detector error carried).")
    observed: float | None = Field(description="The detector's rate before correction.")
    successes: int
    samples: int
    units: int | None = Field(None, description="Probe variants with a valid sample (None: upgraded from 1.x).")
    clusters: int | None = Field(None, description="Independent base probes.")
    effective_samples: float | None = Field(None, description="Cluster-robust effective sample size.")
    half_width: float | None = None
    evidence: Literal["sufficient", "insufficient"] | None = None
    precision: dict[str, Any] | None = Field(None, description="Target half-width, met or not, why, probes needed.")
    uncorrected: list[str] = Field(default_factory=list, description="Detectors whose share is left uncorrected.")


class GroupFigure(Figure):
    probes: int
    vulnerable: int
    resisted: int
    inconclusive: int
    errors: int
    detectors: list[str]
    worst: list[dict[str, Any]] = Field(default_factory=list, description="Worst examples with the detector's reason.")
    taxonomy: list[str] = Field(default_factory=list)


class Method(Part):
    interval: str
    confidence: float
    case_mapping: str
    design: str | None = None
    evidence: str | None = None
    target_half_width: float | None = None
    error_rates: Any = None
    detector_error: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Summary(Part):
    attack_success: Figure
    over_refusal: Figure | None
    insufficient_evidence: list[str] = Field(default_factory=list)
    target_missed: list[str] = Field(default_factory=list)
    probes: int
    samples: int
    generated: int
    reused: int
    wall_s: float
    generation_s: float
    findings: int


class ProbeRecord(Part):
    id: str
    base_id: str
    category: str
    technique: str
    mutators: list[str]
    detector: str
    success_label: str
    hazard: str | None
    verdict: str
    attack_successes: int
    samples: int
    draws: int
    errors: int
    asr: float | None
    asr_unbiased: float | None = None
    ci: tuple[float, float]
    taxonomy: dict[str, list[str]]
    examples: list[dict[str, Any]] = Field(default_factory=list)
    prompt: str = ""


class RedteamResult(ResultBase):
    """The result of `opentrust redteam`."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["redteam"] = "redteam"
    model: ModelRef
    run_id: str
    executor: ExecutorInfo | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    method: Method
    summary: Summary
    categories: dict[str, GroupFigure]
    techniques: dict[str, GroupFigure]
    probes: list[ProbeRecord]
    findings: list[Finding]
