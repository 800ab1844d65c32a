"""The shared vocabulary of every check: Finding (something wrong, with evidence) and Measurement (a number).

Both map one-to-one onto SARIF results / JUnit cases so renderers never invent data.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field


class Severity(str, Enum):
    """Ordered severities; ``none`` only appears as a ``--fail-on`` threshold (never fail)."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: "Severity") -> bool:
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str) -> "Severity | None":
        """Parse a ``--fail-on`` value; ``none`` means never fail."""
        text = text.strip().lower()
        if text == "none":
            return None
        try:
            return cls(text)
        except ValueError:
            from opentrust.errors import UserError

            raise UserError(
                f"unknown severity {text!r}",
                "use one of: critical, high, medium, low, info, none",
            ) from None


_RANK = {Severity.info: 0, Severity.low: 1, Severity.medium: 2, Severity.high: 3, Severity.critical: 4}


class Location(BaseModel):
    """Where the evidence is: a file and byte offset, a metadata key, a line, or a sample."""

    path: str | None = Field(None, description="File path (relative to what was scanned where possible).")
    offset: int | None = Field(None, description="Byte offset inside the file.")
    key: str | None = Field(None, description="Metadata key, JSON pointer or archive member.")
    line: int | None = Field(None, description="1-based line number for text files.")


class Finding(BaseModel):
    """One thing a check found that a reviewer should look at."""

    rule_id: str = Field(description="Stable rule identifier, e.g. 'OT-SMOKE-001' or 'PICKLE-DANGEROUS-CALL'.")
    severity: Severity = Field(description="critical, high, medium, low or info.")
    title: str = Field(description="One-line summary of the problem.")
    message: str = Field("", description="What was found, in full sentences.")
    check: str = Field("", description="Name of the check that produced the finding.")
    location: Location = Field(default_factory=Location, description="Where the evidence is.")
    evidence: str = Field("", description="The bytes, text or values that prove the finding (truncated).")
    remedy: str = Field("", description="What to do about it.")
    risk_ids: list[str] = Field(
        default_factory=list, description="Taxonomy ids: OWASP LLM Top 10 2025, AILuminate, IBM AI Risk Atlas."
    )
    properties: dict[str, Any] = Field(default_factory=dict, description="Check-specific structured details.")


class Measurement(BaseModel):
    """A named number with its unit, sample size and (optional) confidence interval."""

    name: str = Field(description="Stable name, e.g. 'smoke.tokens_per_second'.")
    value: float | None = Field(description="Point estimate; null when it could not be measured.")
    unit: str = Field("", description="Unit, e.g. 'tokens/s', 's', 'ratio'.")
    n: int | None = Field(None, description="Number of observations behind the value.")
    interval: tuple[float, float] | None = Field(None, description="Confidence interval [low, high].")
    confidence: float | None = Field(None, description="Confidence level of the interval, e.g. 0.95.")
    method: str = Field("", description="How the value and interval were computed.")
    label: str = Field("", description="Human-readable name for reports.")
    evidence: Literal["sufficient", "insufficient"] | None = Field(
        None, description="'insufficient' when the figure decides nothing (interval half-width above 0.25 for a "
        "ratio or above 50% of the value for other units, or fewer than 2 independent units): reports say 'insufficient "
        "evidence' instead of showing it as a result, and value/interval are kept here. Null: not assessed.")


def max_severity(findings: list[Finding]) -> Severity | None:
    return max((f.severity for f in findings), key=lambda s: s.rank, default=None)


def exceeds(findings: list[Finding], threshold: Severity | None) -> bool:
    """True when any finding is at or above ``threshold`` (None = never)."""
    return threshold is not None and any(f.severity.at_least(threshold) for f in findings)
