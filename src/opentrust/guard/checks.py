"""The guard's checks and the engine that applies a policy to messages and answers.

A check ``scan``s one text and returns ``Hit``s: the rule, the action, a score, and — for the checks that find
something *in* the text (personal data, secrets, canaries, regexes, a copied system prompt, an injected
sentence) — the spans a redaction replaces with a readable placeholder. Span checks also declare a ``window``:
the longest text one of their matches can cover, which the streaming hold-back (``guard.stream``) must keep
before releasing anything. Whole-text checks (``harmful``) have no window.

Every check wraps a detector of ``opentrust.detectors`` (reached through ``get_detector``, the
``register_detectors`` registry) or a detector's pattern finder; nothing here re-implements detection.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from opentrust.guard.policy import CheckSpec, GuardPolicy, rule_id

DECISION_ORDER = {"allow": 0, "flag": 1, "redact": 2, "block": 3}
ACTION_DECISION = {"block": "block", "redact": "redact", "flag": "flag", "log-only": "allow"}


@dataclass
class Hit:
    rule: str
    check: str
    action: str
    score: float
    detail: str = ""
    #: (start, end, placeholder) in the scanned text; empty for whole-text verdicts
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    #: output max_tokens: nothing after this hit is released
    stop: bool = False
    message: int | None = None
    #: harmful: the hazard category (detectors.hazard)
    category: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.rule, "check": self.check, "action": self.action,
                               "score": round(float(self.score), 4)}
        if self.detail:
            out["detail"] = self.detail
        if self.message is not None:
            out["message"] = self.message
        if self.category:
            out["category"] = self.category
        return out


@dataclass
class Context:
    """What a check may need besides the text: the request's system prompt and user prompt (output checks),
    the requested max_tokens, the client's identity (rate limits), and a per-request cache."""

    system: str = ""
    prompt: str = ""
    max_tokens: int | None = None
    client: str = "anonymous"
    cache: dict[Any, Any] = field(default_factory=dict)


class Check:
    window = 0  # > 0: a span check whose matches are at most this long (see guard.stream)
    is_async = False
    #: "tool_call": the arguments an assistant turn passed to a tool (its tool_calls' function.arguments)
    default_roles: tuple[str, ...] = ("user", "tool", "function", "tool_call")

    def __init__(self, direction: str, spec: CheckSpec):
        self.direction = direction
        self.spec = spec
        self.rule = rule_id(direction, spec)
        self.action = spec.action
        self.name = spec.check
        self.roles = tuple(spec.roles) if spec.roles else self.default_roles

    def hit(self, score: float, detail: str = "", spans: Iterable[tuple[int, int, str]] = (), **kw: Any) -> Hit:
        return Hit(self.rule, self.name, self.action, score, detail, list(spans), **kw)

    def scan(self, text: str, ctx: Context) -> list[Hit]:  # pragma: no cover - interface
        raise NotImplementedError

    async def ascan(self, text: str, ctx: Context) -> list[Hit]:
        return self.scan(text, ctx)


class InputModelCheck(Check):
    """prompt_injection / jailbreak: the pooled score decides; the sentences that score above the threshold on
    their own are what a redaction removes."""

    def __init__(self, direction: str, spec: CheckSpec):
        super().__init__(direction, spec)
        from opentrust.detectors import get_detector

        self.detector = get_detector(spec.check, **({"threshold": spec.threshold} if spec.threshold is not None else {}))

    def scan(self, text: str, ctx: Context) -> list[Hit]:
        from opentrust.detectors.injection import segments
        from opentrust.detectors.mil import sigmoid

        if not text.strip():
            return []
        key = ("segments", text)
        if key not in ctx.cache:  # prompt_injection and jailbreak read the same features
            ctx.cache[key] = segments(text)
        texts, feats = ctx.cache[key]
        model = self.detector.model
        scored = model.score(feats)
        if scored.probability < self.detector.threshold:
            return []
        a, b = model.calibration
        spans = []
        for seg, s in zip(texts, scored.segment_scores):
            if sigmoid(a * (model.bias + s) + b) >= self.detector.threshold:
                at = text.find(seg)
                spans.append((at, at + len(seg)) if at >= 0 else (0, len(text)))
        if not spans:
            spans = [(0, len(text))]
        placeholder = f"[REMOVED: {self.name}]"
        return [self.hit(scored.probability, texts[scored.top][:80], [(s, e, placeholder) for s, e in spans])]


class AdversarialSuffixCheck(Check):
    """adversarial_suffix: a window of the text reads as token soup (``detectors.adversarial``). By default only
    the user's messages: the attack is the user's own suffix, and long documents in tool output (technical
    markup above all) are where a perplexity filter errs (benchmarks/guard_adversarial.py)."""

    default_roles = ("user",)

    def __init__(self, direction: str, spec: CheckSpec):
        super().__init__(direction, spec)
        from opentrust.detectors import get_detector

        self.detector = get_detector(spec.check, **({"threshold": spec.threshold} if spec.threshold is not None else {}))

    def scan(self, text: str, ctx: Context) -> list[Hit]:
        p, window = self.detector.score(text)
        return [self.hit(p, window[:80])] if window and p >= self.detector.threshold else []


class PIICheck(Check):
    window = 64  # the longest personal-data value (an IBAN with spaces is 42 characters)
    default_roles = ("system", "user", "tool", "function", "tool_call")

    def __init__(self, direction: str, spec: CheckSpec):
        super().__init__(direction, spec)
        from opentrust.detectors.pii import KINDS

        self.kinds = tuple(spec.entities or KINDS)

    def scan(self, text: str, ctx: Context) -> list[Hit]:
        from opentrust.detectors.pii import PLACEHOLDERS, find_pii

        found = find_pii(text, kinds=self.kinds)
        if not found:
            return []
        kinds = sorted({m.kind for m in found})
        return [self.hit(0.99, ",".join(kinds), [(m.start, m.end, PLACEHOLDERS[m.kind]) for m in found])]


class SecretsCheck(Check):
    window = 256  # provider tokens and assignments; a PEM block is held until its END line (see pending_from)
    default_roles = ("system", "user", "tool", "function", "tool_call")

    def __init__(self, direction: str, spec: CheckSpec):
        super().__init__(direction, spec)
        from opentrust.detectors.secrets import RULES

        self.rules = tuple(r for r in RULES if not spec.entities or r.id in spec.entities)

    def scan(self, text: str, ctx: Context) -> list[Hit]:
        from opentrust.detectors.secrets import find_secrets

        found = find_secrets(text, self.rules)
        if not found:
            return []
        return [self.hit(0.99, ",".join(sorted({m.kind for m in found})), [(m.start, m.end, "[SECRET]") for m in found])]

    @staticmethod
    def pending_from(text: str) -> int | None:
        """Where an unfinished PEM private-key block starts (a stream must hold it until its END line)."""
        begin = text.rfind("-----BEGIN")
        if begin >= 0 and "PRIVATE KEY" in text[begin:begin + 64] and "-----END" not in text[begin + 10:]:
            return begin
        return None


class CanaryCheck(Check):
    def __init__(self, direction: str, spec: CheckSpec):
        super().__init__(direction, spec)
        from opentrust.detectors import get_detector

        self.canaries = list(spec.canaries or [])
        self.detector = get_detector("canary", canaries=self.canaries)
        # spaced-out, hex-with-separators and base64 forms are up to three times as long as the canary
        self.window = 3 * max(len(c) for c in self.canaries) + 16
        self._verbatim = re.compile("|".join(re.escape(c) for c in self.canaries), re.IGNORECASE)

    def scan(self, text: str, ctx: Context) -> list[Hit]:
        if not text:
            return []
        d = self.detector.detect("", text)
        if d.label != "leak":
            return []
        spans = [(m.start(), m.end(), "[CANARY]") for m in self._verbatim.finditer(text)]
        if self.action == "redact" and (not spans or self.detector.detect("", redact(text, spans)).label == "leak"):
            # an encoded or spaced copy has no clean span to replace: refuse rather than pass part of it
            return [Hit(self.rule, self.name, "block", d.score, d.reason[:120] + " (redaction impossible)")]
        return [self.hit(d.score, d.reason[:120], spans)]


_WORD = re.compile(r"\w+")


class SystemPromptLeakCheck(Check):
    """The answer repeats ``min_words`` consecutive words of the request's system prompt."""

    def __init__(self, direction: str, spec: CheckSpec):
        super().__init__(direction, spec)
        self.n = spec.min_words
        self.window = 16 * self.n + 64  # updated per request from the system prompt's longest run (stream)

    def shingles(self, ctx: Context) -> set[tuple[str, ...]]:
        key = ("shingles", self.n)
        if key not in ctx.cache:
            words = [w.lower() for w in _WORD.findall(ctx.system)]
            ctx.cache[key] = {tuple(words[i:i + self.n]) for i in range(len(words) - self.n + 1)}
        return ctx.cache[key]

    def window_for(self, ctx: Context) -> int:
        words = [m for m in _WORD.finditer(ctx.system)]
        longest = max((words[i + self.n - 1].end() - words[i].start() for i in range(len(words) - self.n + 1)),
                      default=0)
        return 2 * longest + 32

    def scan(self, text: str, ctx: Context) -> list[Hit]:
        grams = self.shingles(ctx)
        if not grams:
            return []
        words = list(_WORD.finditer(text))
        spans: list[tuple[int, int, str]] = []
        for i in range(len(words) - self.n + 1):
            if tuple(w.group(0).lower() for w in words[i:i + self.n]) in grams:
                start, end = words[i].start(), words[i + self.n - 1].end()
                if spans and start <= spans[-1][1]:
                    spans[-1] = (spans[-1][0], end, "[SYSTEM PROMPT]")
                else:
                    spans.append((start, end, "[SYSTEM PROMPT]"))
        if not spans:
            return []
        return [self.hit(1.0, f"{len(spans)} run(s) of {self.n}+ words from the system prompt", spans)]


class RegexCheck(Check):
    def __init__(self, direction: str, spec: CheckSpec):
        super().__init__(direction, spec)
        self.pattern = re.compile(spec.pattern or "", re.IGNORECASE if spec.ignore_case else 0)
        self.window = spec.max_length
        self.placeholder = spec.placeholder if spec.placeholder is not None else "[REDACTED]"

    def scan(self, text: str, ctx: Context) -> list[Hit]:
        spans = [(m.start(), m.end(), self.placeholder) for m in self.pattern.finditer(text) if m.end() > m.start()]
        return [self.hit(1.0, f"{len(spans)} match(es)", spans)] if spans else []


_TOKEN = re.compile(r"[A-Za-z0-9']+|[^\sA-Za-z0-9]")


class MaxTokensCheck(Check):
    """input: the request asks for more than ``limit`` tokens (redact: clamp ``max_tokens``). output: the answer
    runs past ``limit`` tokens, counted as words and punctuation marks (redact: cut it there)."""

    def scan(self, text: str, ctx: Context) -> list[Hit]:
        limit = self.spec.limit or 0
        if self.direction == "input":
            if ctx.max_tokens is not None and ctx.max_tokens > limit:
                return [self.hit(1.0, f"max_tokens {ctx.max_tokens} > {limit}")]
            return []
        for i, m in enumerate(_TOKEN.finditer(text)):
            if i == limit:
                return [self.hit(1.0, f"more than {limit} tokens", [(m.start(), len(text), "")], stop=True)]
        return []


class RateLimitCheck(Check):
    """A token bucket per client (API key hash, or address): ``requests_per_minute`` refill, ``burst`` size. In
    one process, in memory; with several workers, in the SQLite file they share (``guard.shared``)."""

    MAX_CLIENTS = 100_000

    def __init__(self, direction: str, spec: CheckSpec):
        super().__init__(direction, spec)
        self.rate = (spec.requests_per_minute or 60) / 60.0
        self.burst = float(spec.burst or max(1, math.ceil(self.rate * 10)))
        self.buckets: dict[str, tuple[float, float]] = {}
        self.shared: Any = None  # guard.shared.SharedBuckets when several worker processes serve

    def take(self, client: str) -> bool:
        if self.shared is not None:
            return self.shared.take(self.rule, client, self.rate, self.burst)
        now = time.monotonic()
        tokens, last = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        ok = tokens >= 1.0
        self.buckets[client] = (tokens - 1.0 if ok else tokens, now)
        if len(self.buckets) > self.MAX_CLIENTS:  # bounded memory: forget the longest-idle half
            for k, _ in sorted(self.buckets.items(), key=lambda kv: kv[1][1])[: self.MAX_CLIENTS // 2]:
                del self.buckets[k]
        return ok

    def scan(self, text: str, ctx: Context) -> list[Hit]:
        return [] if self.take(ctx.client) else [self.hit(1.0, f"over {self.rate * 60:g} requests/minute")]


class HarmfulCheck(Check):
    """The harmful-compliance detector on the answer (with the request it answers), or a judge model."""

    def __init__(self, direction: str, spec: CheckSpec):
        super().__init__(direction, spec)
        from opentrust.detectors import get_detector

        options: dict[str, Any] = {}
        if spec.threshold is not None:
            options["threshold"] = spec.threshold
        if spec.judge:
            options.update(judge=spec.judge, judge_format=spec.judge_format)
            self.is_async = True
        self.detector = get_detector("harmful", **options)

    def _hits(self, d: Any, text: str, ctx: Context) -> list[Hit]:
        """A harmful verdict, named by its hazard category; with ``categories:`` only when one of the two most
        likely categories is listed (the category model is weak: benchmarks/guard_hazards.py)."""
        if d.label != "harmful":
            return []
        from opentrust.detectors.hazard import classify

        ranked = classify(ctx.prompt, text)
        category = ranked[0][0]
        if self.spec.categories:
            listed = [c for c, _ in ranked[:2] if c in self.spec.categories]
            if not listed:
                return []
            category = listed[0]
        p = dict(ranked)[category]
        return [self.hit(d.score, f"category {category} (p={p:.2f}); {d.reason}"[:160], category=category)]

    def scan(self, text: str, ctx: Context) -> list[Hit]:
        return self._hits(self.detector.detect(ctx.prompt, text), text, ctx) if text.strip() else []

    async def ascan(self, text: str, ctx: Context) -> list[Hit]:
        return self._hits(await self.detector.adetect(ctx.prompt, text), text, ctx) if text.strip() else []


CHECK_CLASSES: dict[str, type[Check]] = {
    "prompt_injection": InputModelCheck, "jailbreak": InputModelCheck, "adversarial_suffix": AdversarialSuffixCheck,
    "pii": PIICheck, "secrets": SecretsCheck,
    "canary": CanaryCheck, "system_prompt_leak": SystemPromptLeakCheck, "regex": RegexCheck,
    "max_tokens": MaxTokensCheck, "rate_limit": RateLimitCheck, "harmful": HarmfulCheck,
}


def redact(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """Replace spans (merged where they overlap) with their placeholders."""
    merged: list[list[Any]] = []
    for s, e, ph in sorted(spans):
        if merged and s < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e, ph])
    out, at = [], 0
    for s, e, ph in merged:
        out.append(text[at:s])
        out.append(ph)
        at = e
    out.append(text[at:])
    return "".join(out)


@dataclass
class Verdict:
    decision: str = "allow"  # allow | flag | redact | block
    hits: list[Hit] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # the checked texts after redaction
    check_seconds: dict[str, float] = field(default_factory=dict)
    stopped: bool = False  # output max_tokens cut the answer

    @property
    def blocking(self) -> Hit | None:
        return next((h for h in self.hits if h.action == "block"), None)

    def rules(self) -> list[dict[str, Any]]:
        return [h.as_dict() for h in self.hits]


class Guard:
    """A policy's checks, built once (models loaded at start-up), applied to requests and answers."""

    def __init__(self, policy: GuardPolicy, shared: Any = None):
        """``shared``: the folder of state the worker processes share (``guard.shared``): rate limits go there."""
        self.policy = policy
        self.input = [CHECK_CLASSES[s.check]("input", s) for s in policy.input]
        self.output = [CHECK_CLASSES[s.check]("output", s) for s in policy.output]
        if shared is not None:
            from opentrust.guard.shared import SharedBuckets

            buckets = SharedBuckets(shared / "ratelimit.sqlite")
            for check in self.input:
                if isinstance(check, RateLimitCheck):
                    check.shared = buckets

    def checks(self, direction: str) -> list[Check]:
        return self.input if direction == "input" else self.output

    def warm(self) -> None:
        """Run every local check once, so that models and lazily built tables load before the first request."""
        ctx = Context(system="You are a helpful assistant for a bank.", prompt="Hello there, how are you?")
        sample = "Hello, call me at +44 20 7946 0958 or mail a@example.com. The api_key = 'x' is fine.\n\nThanks."
        for check in self.input + self.output:
            if check.is_async or check.name == "rate_limit":
                continue
            try:
                check.scan(sample, ctx)
            except Exception:  # noqa: BLE001 - a failing check shows itself on the first request (fail_mode)
                pass

    def _error_hit(self, check: Check, exc: Exception) -> Hit:
        action = "block" if self.policy.fail_mode == "closed" else "log-only"
        return Hit(f"{check.rule}.error", check.name, action, 1.0, f"check failed: {type(exc).__name__}: {exc}"[:200])

    async def run(self, direction: str, items: list[tuple[str, str]], ctx: Context) -> Verdict:
        """``items``: (role, text) pairs — the request's messages (input) or the answer's choices (output,
        role "assistant"). Every check reads the items of its roles; hits are combined into one decision."""
        verdict = Verdict(texts=[t for _, t in items])
        spans: dict[int, list[tuple[int, int, str]]] = {}
        for check in self.checks(direction):
            start = time.perf_counter()
            try:
                if check.name in ("rate_limit",) or (check.name == "max_tokens" and direction == "input"):
                    hits = check.scan("", ctx)
                else:
                    hits = []
                    for i, (role, text) in enumerate(items):
                        if direction == "output" or role in check.roles:
                            for h in (await check.ascan(text, ctx)) if check.is_async else check.scan(text, ctx):
                                h.message = i if len(items) > 1 else None
                                hits.append(h)
                                if h.spans and h.action == "redact":
                                    spans.setdefault(i, []).extend(h.spans)
            except Exception as exc:  # fail_mode decides; the error is logged with the rule
                hits = [self._error_hit(check, exc)]
            verdict.check_seconds[check.rule] = time.perf_counter() - start
            verdict.hits.extend(hits)
        for h in verdict.hits:
            d = ACTION_DECISION[h.action]
            if DECISION_ORDER[d] > DECISION_ORDER[verdict.decision]:
                verdict.decision = d
            verdict.stopped = verdict.stopped or (h.stop and h.action == "redact")
        if verdict.decision == "redact":
            verdict.texts = [redact(t, spans.get(i, [])) for i, t in enumerate(verdict.texts)]
        return verdict
