"""The ``data`` block of each built-in audit section, typed (``Section.data`` picks the model by check name;
a plugin check's data stays a plain JSON object)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from opentrust.results.base import Part
from opentrust.results.fairness import BBQScores, CounterfactualRow, FairnessItem, FairnessMethod, FairnessSummary
from opentrust.results.openness import OpennessResult
from opentrust.results.redteam import GroupFigure, Method, ProbeRecord, Summary
from opentrust.results.scan import ScanResult
from opentrust.results.test import CaseOutcome, SuiteSummary


class ModelFactsData(Part):
    facts: dict[str, Any] = Field(description="GGUF metadata facts: architecture, parameters, quantization...")
    chat_template: str | None = Field(None, description="The chat template stored in the GGUF, if any.")


class ScanData(Part):
    scan: ScanResult = Field(description="The same document as `opentrust scan --format json`.")


class OpennessData(OpennessResult):
    aibom: dict[str, Any] | None = Field(None, description="The CycloneDX 1.6 AI BOM (also aibom.cdx.json).")


class SmokeData(Part):
    prompts: list[dict[str, Any]] = Field(description="The smoke prompts with their expected-answer pattern.")
    backend: dict[str, Any] = Field(description="The backend that generated (kind, runtime version, context size).")


class BehaviourData(Part):
    cases: list[CaseOutcome] = Field(description="One entry per case, as in `opentrust test` JSON.")
    suite: SuiteSummary


class RedteamData(Part):
    summary: Summary
    categories: dict[str, GroupFigure]
    techniques: dict[str, GroupFigure]
    method: Method
    probes: list[ProbeRecord] = Field(default_factory=list, description="One record per probe variant, as in "
                                      "`opentrust redteam` JSON (empty in reports written before they were kept).")


class FairnessData(Part):
    method: FairnessMethod
    counterfactual: list[CounterfactualRow] = Field(description="As in `opentrust fairness` JSON.")
    bbq: BBQScores | None
    items: list[FairnessItem]
    summary: FairnessSummary


SECTION_DATA: dict[str, type[Part]] = {
    "model_facts": ModelFactsData, "scan": ScanData, "openness": OpennessData, "smoke": SmokeData,
    "behaviour": BehaviourData, "redteam": RedteamData, "fairness": FairnessData,
}
