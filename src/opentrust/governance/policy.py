"""Policy files: a small YAML language in the spirit of Conftest and Kyverno, without a Rego runtime.

```yaml
policy: support-bot                 # a name
use_case: customer support chat     # what the model is for
tier: limited                       # high-risk | limited | minimal | gpai | gpai-systemic | your own word
unknown_evidence: by-severity       # by-severity (default): unknown fails deny rules; fail: it fails every rule
rules:
  - id: redteam.attack-success
    require: {path: redteam.summary.attack_success, op: le, value: 0.05, bound: upper, min_samples: 100}
    severity: deny                  # deny: failing fails the gate; warn: reported only
    refs: [eu-ai-act:art-15, nist-ai-rmf:MEASURE-2.7, atlas-jailbreaking]
    message: Attacks succeed at most 5% of the time, at the upper end of the 95% interval.
    rationale: Why the rule exists.
exceptions:
  - {rule: redteam.attack-success, reason: "vendor fix due", expires: 2027-03-31, approved_by: jane}
```

``load_policy`` reports every problem as ``file:line: what is wrong`` (exit 2 in the CLI). The JSON Schema for
editors is generated from the models here: ``docs/policy-schema.json`` (``python -m opentrust.governance.policy``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opentrust.errors import UserError

OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "exists", "matches")
ORDER_OPS = ("lt", "le", "gt", "ge")
TIERS = ("high-risk", "limited", "minimal", "gpai", "gpai-systemic")
SCHEMA_ID = "https://opentrust.dev/schemas/policy-1.json"

_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Require(_Strict):
    """What a rule demands of one evidence path."""

    path: str = Field(description="Dotted path into the evidence (README: evidence paths), e.g. "
                                  "redteam.summary.attack_success.")
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "exists", "matches"] = Field(
        description="eq, ne, lt, le, gt, ge (numbers), in / not_in (a list), exists (true/false), matches (a regex).")
    value: Any = Field(None, description="The threshold, list or pattern; exists takes true (default) or false.")
    bound: Literal["point", "upper", "lower"] = Field(
        "point", description="On a figure with an interval: compare its upper or lower bound instead of the point "
                             "estimate (a rate must be below a threshold with 95% confidence: bound: upper).")
    min_samples: int | None = Field(None, ge=1, description="The figure must rest on at least this many samples, "
                                                            "otherwise the outcome is unknown.")
    count: str | None = Field(None, description="Which field of the figure counts samples (default: the first of n, "
                                                "samples, units, blocks, cases, pairs, items).")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        from opentrust.governance.evidence import parse_path

        parse_path(value)  # ValueError -> a validation error with the line of `path`
        return value

    @model_validator(mode="after")
    def _value_fits_op(self) -> "Require":
        op, value = self.op, self.value
        if op in ORDER_OPS and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"{op} needs a number as value, got {value!r}")
        if op in ("in", "not_in") and not isinstance(value, list):
            raise ValueError(f"{op} needs a list as value, got {value!r}")
        if op == "exists" and value is not None and not isinstance(value, bool):
            raise ValueError(f"exists takes true or false, got {value!r}")
        if op == "matches":
            if not isinstance(value, str):
                raise ValueError(f"matches needs a regular expression string, got {value!r}")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        if op in ("eq", "ne") and value is None:
            raise ValueError(f"{op} needs a value (use exists to test for presence)")
        if self.bound != "point" and op not in ORDER_OPS:
            raise ValueError(f"bound: {self.bound} compares an interval end; use it with lt, le, gt or ge, not {op}")
        return self


class Rule(_Strict):
    id: str = Field(description="Unique id, e.g. redteam.attack-success.")
    require: Require
    severity: Literal["deny", "warn"] = Field("deny", description="deny: a failure fails the gate; warn: reported.")
    refs: list[str] = Field(default_factory=list, description="EU AI Act articles (eu-ai-act:art-15), NIST AI RMF "
                            "functions (nist-ai-rmf:MEASURE-2.7), IBM AI Risk Atlas ids (atlas-jailbreaking)...")
    message: str = Field(description="What the rule demands, in words a reviewer reads.")
    rationale: str = Field("", description="Why the rule exists.")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _RULE_ID.match(value):
            raise ValueError(f"rule id {value!r} may hold letters, digits, '.', '_' and '-' only")
        return value

    @field_validator("refs")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        from opentrust.governance.refs import check_ref

        for ref in value:
            problem = check_ref(ref)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message must say what the rule demands")
        return value


class PolicyException(_Strict):
    rule: str = Field(description="The id of the rule excepted.")
    reason: str = Field(description="Why the exception is acceptable (required).")
    expires: dt.date = Field(description="ISO date (YYYY-MM-DD); the exception applies up to and including it.")
    approved_by: str | None = Field(None, description="Who accepted the risk.")

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("an exception needs a reason")
        return value

    @field_validator("expires", mode="before")
    @classmethod
    def _expires(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"expires must be a date YYYY-MM-DD, got {value!r}") from None
        if value is None:
            raise ValueError("an exception needs an expiry date (expires: YYYY-MM-DD)")
        return value


class Policy(_Strict):
    """An opentrust policy file."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"$id": SCHEMA_ID,
                                                                  "title": "opentrust policy"})

    policy: str = Field(description="The policy's name.")
    use_case: str | None = Field(None, description="What the model is used for.")
    tier: str | None = Field(None, description="Risk tier: high-risk, limited, minimal, gpai, gpai-systemic, or your "
                                               "own word.")
    description: str = Field("", description="Free text shown in reports.")
    unknown_evidence: Literal["by-severity", "fail"] = Field(
        "by-severity", description="by-severity: unknown fails deny rules and is reported for warn rules; fail: "
                                   "unknown fails the gate whatever the rule's severity.")
    rules: list[Rule] = Field(min_length=1)
    exceptions: list[PolicyException] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "Policy":
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.id in seen:
                raise _At(("rules", i, "id"), f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        excepted: set[str] = set()
        for i, exc in enumerate(self.exceptions):
            if exc.rule not in seen:
                raise _At(("exceptions", i, "rule"), f"exception for unknown rule {exc.rule!r}")
            if exc.rule in excepted:
                raise _At(("exceptions", i, "rule"), f"second exception for rule {exc.rule!r}; keep one")
            excepted.add(exc.rule)
        return self


class _At(ValueError):
    """A cross-field problem that knows where in the file it is."""

    def __init__(self, loc: tuple[Any, ...], message: str):
        super().__init__(message)
        self.loc = loc


@dataclass
class LoadedPolicy:
    policy: Policy
    source: str  # the file path, or preset:NAME
    sha256: str
    lines: dict[str, int] = field(default_factory=dict)  # rule id -> its line in the file


def preset_names() -> list[str]:
    return list(TIERS)


def starting_policy(tier: str, use_case: str | None = None) -> str:
    """The preset of ``tier`` as a file to start from, with ``use_case`` filled in."""
    import json

    text = preset_text(tier)
    if use_case is not None:
        if not use_case.strip() or "\n" in use_case:
            raise UserError("--use-case must be one non-empty line", 'e.g. --use-case "CV screening assistant"')
        text = re.sub(r"(?m)^use_case: null.*$", lambda _: f"use_case: {json.dumps(use_case)}", text, count=1)
    return text


def preset_text(tier: str) -> str:
    with preset_path(tier) as path:
        return str(path.read_text(encoding="utf-8"))


def preset_path(tier: str) -> Any:
    """A context manager giving the preset's file path (``with preset_path("minimal") as path``)."""
    if tier not in TIERS:
        raise UserError(f"unknown tier {tier!r}", f"use one of: {', '.join(TIERS)}")
    return resources.as_file(resources.files("opentrust.governance").joinpath(f"presets/{tier}.yml"))


def load_policy(spec: str | Path) -> LoadedPolicy:
    """A policy from a file, or a preset by its tier name (``high-risk``) when no such file exists."""
    path = Path(spec)
    if not path.exists() and str(spec) in TIERS:
        with preset_path(str(spec)) as preset:
            policy, lines = _parse(preset)
            return LoadedPolicy(policy, f"preset:{spec}", _sha(preset.read_bytes()), lines)
    if not path.is_file():
        raise UserError(f"no policy file {path}", f"write one with `opentrust policy init --tier TIER --out {path}`, "
                                                  f"or name a preset: {', '.join(TIERS)}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the policy: {exc}", "pass a readable YAML file") from None
    policy, lines = _parse(path)
    return LoadedPolicy(policy, str(path), _sha(raw), lines)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_policy_file(path: Path) -> Policy:
    return _parse(path)[0]


def _parse(path: Path) -> tuple[Policy, dict[str, int]]:
    from opentrust.yamlfile import read_yaml_lines

    data, lines = read_yaml_lines(path, what="policy", empty_hint="start from `opentrust policy init --tier minimal`",
                                  not_mapping="a policy is a mapping with policy: and rules:",
                                  mapping_hint="start from `opentrust policy init --tier minimal`")
    policy = _validate(data, lines, str(path))
    return policy, {rule.id: lines.get(("rules", i), 0) for i, rule in enumerate(policy.rules)}


def _validate(data: dict[str, Any], lines: Any, source: str) -> Policy:
    from opentrust.yamlfile import line_for

    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _At):
            loc = cause.loc
        line = line_for(lines, loc)
        where = ".".join(str(p) for p in loc) or "policy"
        msg = str(cause) if cause is not None else err["msg"]
        msg = msg.removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r}"
        elif err["type"] == "missing":
            msg = f"missing required field {loc[-1]!r}"
        elif err["type"] == "literal_error":
            msg = f"{err['msg'].removeprefix('Input should be ')} expected, got {err.get('input')!r}"
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise UserError(f"{source}:{line}: {where}: {msg}{more}",
                        "fix the policy (docs/policy-schema.json describes every field)") from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file (docs/policy-schema.json is generated from it)."""
    schema = Policy.model_json_schema()
    schema["$id"] = SCHEMA_ID
    return schema


def schema_text() -> str:
    import json

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(schema_text())
