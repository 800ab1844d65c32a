"""The detector contract shared by behaviour assertions (`opentrust test`) and red teaming."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Mapping

from opentrust.errors import UserError


@dataclass(frozen=True)
class Detection:
    label: str  # e.g. "refusal" / "compliance", "leak" / "clean"
    score: float  # probability-like confidence in [0, 1] that the positive label applies
    reason: str  # one line a report can show
    #: caveats a reviewer should see, e.g. "non_english" (the detector was trained on English)
    flags: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "score": round(float(self.score), 4), "reason": self.reason}
        if self.flags:
            out["flags"] = list(self.flags)
        return out


@dataclass(frozen=True)
class Span:
    """A value a recogniser found in a text (personal data, a secret): its kind, the exact text, where it starts."""

    kind: str
    value: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.value)


class DetectorError(UserError):
    """A detector could not reach a verdict (judge unreachable, unparseable verdict, missing canary).

    Raised, never turned into a silent pass or fail: the caller decides how to count an undecided sample.
    ``fatal`` marks failures that would repeat on every sample (judge unreachable, misconfigured).
    """

    def __init__(self, message: str, hint: str | None = None, fatal: bool = False):
        super().__init__(message, hint)
        self.fatal = fatal


class Detector:
    name: str = ""
    #: the label that means "this response shows the property" (refusal, leak, harmful, pii)
    positive_label: str = ""
    #: the label for the absence of the property
    negative_label: str = ""
    #: an input detector judges the request (``prompt`` or chat ``messages``), so its lines need no response
    reads_input: bool = False

    def detect(self, prompt: str, response: str) -> Detection:  # pragma: no cover - interface
        raise NotImplementedError

    def detect_record(self, record: Mapping[str, Any]) -> Detection:
        """Judge one JSONL record ``{"prompt", "response", ...}``; detectors that need more fields
        (a canary, a system prompt) read them here."""
        return self.detect(str(record.get("prompt", "")), str(record.get("response", "")))

    async def adetect(self, prompt: str, response: str) -> Detection:
        """Async form for callers inside an event loop (the red-team campaign). Local detectors are
        CPU-bound and quick, so the default simply calls ``detect``."""
        return self.detect(prompt, response)

    async def adetect_record(self, record: Mapping[str, Any]) -> Detection:
        """Async form of ``detect_record``; detectors that read extra fields override both."""
        return await self.adetect(str(record.get("prompt", "")), str(record.get("response", "")))


def run_sync(coro: Any) -> Any:
    """Run a coroutine from synchronous code; refuses (clearly) inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()
    raise RuntimeError("called the synchronous detect() inside an event loop; await adetect() instead")
