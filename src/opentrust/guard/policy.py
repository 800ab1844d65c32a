"""The guard's policy: which checks run on what goes in and what comes out, and what each one does.

```yaml
fail_mode: closed              # closed (default): a check that errors blocks; open: it lets the text through
on_block: {style: error, message: "Blocked by policy"}   # error: an OpenAI-shaped error; refusal: a normal reply
log: {content: none, sync: normal}   # content: none | redacted (the redacted excerpt is stored); sync: normal | full
clients: {api_key_sha256: [9f86d08...]}   # optional: the sha256 of each client key the gateway accepts
limits: {max_body_bytes: 4000000}
upstream: {timeout_s: 120, retries: 2}
stream: {window: 0}            # hold-back window in characters (at least the longest match an output check makes)
input:
  - {check: prompt_injection, action: block}
  - {check: jailbreak, action: block, threshold: 0.95}
  - {check: adversarial_suffix, action: block}   # GCG-style token soup (windowed character/word perplexity)
  - {check: pii, action: redact, entities: [email, phone, credit_card]}
  - {check: secrets, action: redact}
  - {check: regex, id: internal-hosts, pattern: '\\b\\w+\\.corp\\.example\\b', action: block}
  - {check: max_tokens, limit: 1024, action: redact}        # redact = clamp the request's max_tokens
  - {check: rate_limit, requests_per_minute: 120, action: block}
output:
  - {check: pii, action: redact}
  - {check: secrets, action: block}
  - {check: canary, canaries: [ZEBRA-7Q4K-PLUM], action: block}
  - {check: system_prompt_leak, action: block}
  - {check: harmful, action: flag}
  - {check: harmful, id: no-weapons, categories: [indiscriminate_weapons, violent_crimes], action: block}
  - {check: max_tokens, limit: 2048, action: redact}        # redact = cut the answer there
```

Actions: ``block`` (the request or answer is refused, with the rule id), ``redact`` (the matched text becomes a
readable placeholder such as ``[EMAIL]``; an injected sentence becomes ``[REMOVED: prompt_injection]``),
``flag`` (let through, marked in the log, the metrics and the ``x-opentrust-guard`` header) and ``log-only``
(recorded only). Each rule's id is ``id:`` or ``<direction>.<check>``. ``load_policy`` reports problems as
``file:line: what is wrong``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opentrust.errors import UserError

ACTIONS = ("block", "redact", "flag", "log-only")
#: checks, the directions they apply to, and the actions each supports
CHECKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "prompt_injection": (("input",), ACTIONS),
    "jailbreak": (("input",), ACTIONS),
    "adversarial_suffix": (("input",), ("block", "flag", "log-only")),
    "pii": (("input", "output"), ACTIONS),
    "secrets": (("input", "output"), ACTIONS),
    "harmful": (("output",), ("block", "flag", "log-only")),
    "canary": (("input", "output"), ACTIONS),
    "system_prompt_leak": (("output",), ACTIONS),
    "regex": (("input", "output"), ACTIONS),
    "max_tokens": (("input", "output"), ("block", "redact", "flag", "log-only")),
    "rate_limit": (("input",), ("block", "flag", "log-only")),
}
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckSpec(_Strict):
    """One check in one direction, with its action and options."""

    check: Literal["prompt_injection", "jailbreak", "adversarial_suffix", "pii", "secrets", "harmful", "canary", "system_prompt_leak",
                   "regex", "max_tokens", "rate_limit"]
    action: Literal["block", "redact", "flag", "log-only"] = "block"
    id: str | None = Field(None, description="The rule id in logs, metrics and errors; default <direction>.<check>.")
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="prompt_injection, jailbreak, "
                                    "adversarial_suffix, harmful: "
                                    "the calibrated score at or above which the check fires (default: the model's).")
    entities: list[str] | None = Field(None, description="pii: the entity types (default: all); secrets: rule ids.")
    canaries: list[str] | None = Field(None, description="canary: the secret strings that must never pass.")
    pattern: str | None = Field(None, description="regex: a Python regular expression.")
    ignore_case: bool = False
    max_length: int = Field(256, ge=1, le=100_000, description="regex: the longest text the pattern can match "
                            "(the streaming hold-back window must cover it).")
    placeholder: str | None = Field(None, description="regex: the text that replaces a match when redacting.")
    limit: int | None = Field(None, ge=1, description="max_tokens: the most tokens requested (input) or "
                              "released (output).")
    requests_per_minute: float | None = Field(None, gt=0, description="rate_limit: per client API key (or client "
                                              "address when no key is used).")
    burst: int | None = Field(None, ge=1, description="rate_limit: how many requests may come at once.")
    roles: list[Literal["system", "user", "assistant", "tool", "function", "developer", "tool_call"]] | None = Field(
        None, description="input: the message roles read (default: user, tool and tool_call — the arguments of an "
                          "assistant turn's tool calls; system too for pii and secrets).")
    min_words: int = Field(8, ge=3, le=100, description="system_prompt_leak: a run of this many words of the "
                           "system prompt in the answer is a leak.")
    categories: list[str] | None = Field(None, description="harmful: the hazard categories this rule acts on "
                                         "(default: all): violent_crimes, nonviolent_crimes, sex_related_crimes, "
                                         "child_sexual_exploitation, indiscriminate_weapons (weapons), "
                                         "suicide_self_harm, hate, specialized_advice, privacy, "
                                         "intellectual_property, defamation, sexual_content, or AILuminate codes.")
    judge: str | None = Field(None, description="harmful: a target that gives the verdict (slower, stronger), "
                              "e.g. openai:http://127.0.0.1:8081/v1#llama-guard")
    judge_format: Literal["instruction", "conversation"] = "instruction"

    @field_validator("id")
    @classmethod
    def _rule_id(cls, v: str | None) -> str | None:
        if v is not None and not _RULE_ID.match(v):
            raise ValueError("a rule id is letters, digits, '.', '_' and '-'")
        return v

    @model_validator(mode="after")
    def _options(self) -> "CheckSpec":
        c = self.check
        if c == "regex":
            if not self.pattern:
                raise ValueError("a regex check needs pattern:")
            try:
                re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        if c == "canary" and not self.canaries:
            raise ValueError("a canary check needs canaries: [...]")
        if c == "canary" and any(len(re.sub(r"\W", "", k)) < 4 for k in self.canaries or []):
            raise ValueError("each canary needs at least 4 letters or digits")
        if c == "max_tokens" and not self.limit:
            raise ValueError("a max_tokens check needs limit:")
        if c == "rate_limit" and not self.requests_per_minute:
            raise ValueError("a rate_limit check needs requests_per_minute:")
        if c == "pii" and self.entities:
            from opentrust.detectors.pii import KINDS

            unknown = sorted(set(self.entities) - set(KINDS))
            if unknown:
                raise ValueError(f"unknown pii entities {unknown}; choose from {list(KINDS)}")
        if self.categories is not None:
            from opentrust.detectors.hazard import HAZARDS, canonical

            if c != "harmful":
                raise ValueError("categories: applies to the harmful check")
            unknown = [n for n in self.categories if canonical(n) is None]
            if unknown or not self.categories:
                raise ValueError(f"unknown hazard categories {unknown}; choose from {list(HAZARDS)}")
            self.categories = sorted({canonical(n) for n in self.categories})  # type: ignore[misc]
        if c == "secrets" and self.entities:
            from opentrust.detectors.secrets import RULES

            unknown = sorted(set(self.entities) - {r.id for r in RULES})
            if unknown:
                raise ValueError(f"unknown secret rules {unknown}; choose from {[r.id for r in RULES]}")
        if self.action not in CHECKS[c][1]:
            raise ValueError(f"{c} cannot {self.action}; it supports {', '.join(CHECKS[c][1])}")
        return self


class OnBlock(_Strict):
    style: Literal["error", "refusal"] = Field(
        "error", description="error: HTTP 400 with an OpenAI error body (code content_filter, the rule id; a stream ends with an "
                             "error event); refusal: a normal "
                             "200 completion whose text is the message and finish_reason content_filter.")
    message: str = "The request was blocked by the gateway's policy."


class LogSettings(_Strict):
    content: Literal["none", "redacted"] = Field(
        "none", description="none: only hashes of the content; redacted: also the redacted excerpt.")
    sync: Literal["normal", "full"] = Field(
        "normal", description="normal: a committed decision survives the gateway's crash (kill -9); full: also "
                              "a power cut (fsync per commit, slower).")
    excerpt_chars: int = Field(500, ge=0, le=20_000)


class Clients(_Strict):
    api_key_sha256: list[str] = Field(default_factory=list, description="sha256 (hex) of each accepted client key.")

    @field_validator("api_key_sha256")
    @classmethod
    def _hex(cls, v: list[str]) -> list[str]:
        bad = [h for h in v if not _HEX64.match(h.lower())]
        if bad:
            raise ValueError("each api_key_sha256 entry is 64 hex digits (sha256 of the key: "
                             "`printf %s KEY | sha256sum`)")
        return [h.lower() for h in v]


class Limits(_Strict):
    max_body_bytes: int = Field(4_000_000, ge=1024, le=200_000_000)


class UpstreamSettings(_Strict):
    timeout_s: float = Field(120.0, gt=0, le=3600)
    retries: int = Field(2, ge=0, le=10)


class StreamSettings(_Strict):
    window: int = Field(0, ge=0, le=1_000_000, description="hold-back window in characters; never less than the "
                        "longest match an output check can make")


class GuardPolicy(_Strict):
    fail_mode: Literal["closed", "open"] = "closed"
    on_block: OnBlock = Field(default_factory=OnBlock)
    log: LogSettings = Field(default_factory=LogSettings)
    clients: Clients = Field(default_factory=Clients)
    limits: Limits = Field(default_factory=Limits)
    upstream: UpstreamSettings = Field(default_factory=UpstreamSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    input: list[CheckSpec] = Field(default_factory=list)
    output: list[CheckSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _directions(self) -> "GuardPolicy":
        seen: set[str] = set()
        for direction in ("input", "output"):
            for spec in getattr(self, direction):
                if direction not in CHECKS[spec.check][0]:
                    raise ValueError(f"{spec.check} is not a check of the {direction} "
                                     f"(it applies to {', '.join(CHECKS[spec.check][0])})")
                rule = rule_id(direction, spec)
                if rule in seen:
                    raise ValueError(f"rule id {rule!r} is used twice; give the checks distinct id:")
                seen.add(rule)
        return self


def rule_id(direction: str, spec: CheckSpec) -> str:
    return spec.id or f"{direction}.{spec.check}"


#: what runs without --policy: attacks blocked on the way in, personal data and secrets redacted both ways, a
#: system prompt copied into the answer blocked. Not ``harmful``: its built-in model judges answers to harmful
#: requests and flags most helpful answers to ordinary ones (65% of SmolLM2's answers to plain requests,
#: benchmarks/guard_detectors.py); a policy turns it on, best with a judge model
DEFAULT_POLICY: dict[str, Any] = {
    "input": [
        {"check": "prompt_injection", "action": "block"},
        {"check": "jailbreak", "action": "block"},
        {"check": "adversarial_suffix", "action": "block"},
        {"check": "secrets", "action": "redact"},
        {"check": "pii", "action": "log-only"},
    ],
    "output": [
        {"check": "secrets", "action": "redact"},
        {"check": "pii", "action": "redact"},
        {"check": "system_prompt_leak", "action": "block"},
    ],
}


def default_policy() -> GuardPolicy:
    return GuardPolicy.model_validate(DEFAULT_POLICY)


def load_policy(path: Path | None) -> GuardPolicy:
    if path is None:
        return default_policy()
    from opentrust.yamlfile import read_yaml_lines, validation_error

    data, lines = read_yaml_lines(path, what="guard policy", empty_hint="add input: and output: check lists",
                                  not_mapping="a guard policy is a mapping with input: and output:",
                                  mapping_hint="see `opentrust guard serve --help`")
    try:
        return GuardPolicy.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, lines, exc, "guard policy", "fix the policy (README: opentrust guard)") from None


def policy_error(exc: Exception) -> UserError:
    return UserError(f"invalid guard policy: {exc}", "fix the policy (README: opentrust guard)")
