"""The JSON of `opentrust gate` (``--format json``) and of the gate of `opentrust audit --policy` (gate.json beside
the report): the policy's verdict on the evidence and one outcome per rule. README (`opentrust gate`) documents it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from opentrust.results.base import Part, ResultBase

SCHEMA_VERSION = "1.0"

Outcome = Literal["pass", "fail", "warn", "unknown", "excepted"]


class Evidence(Part):
    path: str = Field(description="The dotted evidence path the rule reads (README: evidence paths).")
    value: Any = Field(description="The value compared: the point estimate, or the interval bound the rule names; "
                                   "null when the evidence is missing.")
    point: Any = Field(None, description="Interval-aware rules: the point estimate.")
    interval: list[float | None] | None = Field(None, description="Interval-aware rules: the figure's interval.")
    n: int | float | None = Field(None, description="Interval-aware rules: the sample count the rule checked.")
    source: str | None = Field(None, description="The input the value came from (file, kind and run id).")


class Expected(Part):
    op: str = Field(description="eq, ne, lt, le, gt, ge, in, not_in, exists or matches.")
    value: Any = Field(None, description="The threshold, list or pattern.")
    bound: Literal["point", "upper", "lower"] = Field("point", description="Which end of the interval is compared.")
    min_samples: int | None = Field(None, description="Fewer samples behind the figure make the outcome unknown.")


class AppliedException(Part):
    reason: str
    expires: str = Field(description="ISO date; the exception applies up to and including this day.")
    approved_by: str | None = None
    status: Literal["active", "expired", "unused"] = Field(
        description="active: it turned a fail/warn/unknown into excepted; expired: past its date, so the rule's own "
                    "outcome stands; unused: the rule passed without it.")


class RuleOutcome(Part):
    id: str
    outcome: Outcome = Field(description="pass: requirement met; fail: a deny rule not met; warn: a warn rule not met; "
                                         "unknown: the evidence is missing or too thin (fails a deny rule); excepted: "
                                         "not met or unknown, but an active exception covers it.")
    severity: Literal["deny", "warn"]
    evidence: Evidence
    expected: Expected
    refs: list[str] = Field(default_factory=list, description="EU AI Act articles, NIST AI RMF functions, IBM AI Risk "
                                                              "Atlas ids and other framework references.")
    message: str = Field(description="What the rule demands, in words (from the policy).")
    detail: str = Field("", description="Why this outcome: the figure compared, the missing path, the exception.")
    rationale: str = Field("", description="Why the rule exists (from the policy).")
    exception: AppliedException | None = None
    fails_gate: bool = Field(description="This outcome fails the gate: a fail, or an unknown on a deny rule (on any "
                                         "rule under unknown_evidence: fail).")
    policy_line: int | None = Field(None, description="The line of the rule in the policy file.")


class GateCounts(Part):
    pass_: int = Field(alias="pass")
    fail: int
    warn: int
    unknown: int
    excepted: int = Field(description="Counted apart, as Conftest does: rules an active exception covers.")
    expired_exceptions: int = Field(description="Exceptions past their expiry date (they no longer apply).")


class GateInput(Part):
    path: str
    kind: str
    run_id: str | None = None
    fingerprint: str | None = None
    target: str | None = None
    schema_version: str


class GateResult(ResultBase):
    """The result of `opentrust gate`."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["gate"] = "gate"
    policy: str = Field(description="The policy's name.")
    policy_file: str | None = Field(None, description="Where the policy was read from (preset:NAME for a preset).")
    policy_sha256: str = Field(description="sha256 of the policy file's bytes: which policy text decided.")
    use_case: str | None
    tier: str | None = Field(description="high-risk, limited, minimal, gpai, gpai-systemic, or the policy's own tier.")
    unknown_evidence: Literal["by-severity", "fail"] = Field(
        description="The policy's setting: by-severity (unknown fails deny rules) or fail (unknown fails any rule).")
    verdict: Literal["pass", "fail"] = Field(description="fail when a rule failed, or an unknown counts as failing "
                                                         "(fails_gate); excepted rules never fail it.")
    rules: list[RuleOutcome]
    counts: GateCounts
    target: dict[str, Any] = Field(default_factory=dict, description="name and fingerprint of the model gated.")
    inputs: list[GateInput] = Field(description="The result files (or the fresh audit) the evidence came from.")
    evaluated_at: str = Field(description="UTC time of the evaluation; exception expiry is judged on its date.")
    exit_code: int = Field(description="0 pass, 1 fail.")
