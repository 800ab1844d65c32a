"""The detector contract shared by behaviour assertions (`opentrust test`) and red teaming."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Detection:
    label: str  # e.g. "refusal" / "compliance", "leak" / "clean"
    score: float  # probability-like confidence in [0, 1] that the positive label applies
    reason: str  # one line a report can show


class Detector:
    name: str = ""
    #: the label that means "this response shows the property" (refusal, leak, harmful, pii)
    positive_label: str = ""

    def detect(self, prompt: str, response: str) -> Detection:  # pragma: no cover - interface
        raise NotImplementedError
