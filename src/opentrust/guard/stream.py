"""Streaming-safe output checks: text reaches the client only once every output check has cleared it.

The gateway keeps the answer streamed so far and releases it up to ``len(text) - window``, where ``window`` is
at least as long as the longest match any span check can make (a secret, a canary in any of its encodings, a
personal-data value, a run of the system prompt, a regex's ``max_length``). Why that is enough: a match that
starts before the release point and is at most ``window`` long ends inside the text already received, so the
checks see it whole before any of it is released — wherever the chunk boundaries fall. Matches are acted on
when they reach the release point (a match still at the end of the buffer may grow) and all at once when the
stream ends. A PEM private-key block is held from its ``BEGIN`` line until its ``END`` line, whatever its length.

Whole-answer checks: ``harmful`` with action ``block`` holds the answer back paragraph by paragraph and judges
the text up to each finished paragraph before releasing it; with ``flag`` / ``log-only`` it judges the whole
answer at the end. Output ``max_tokens`` cuts the answer (redact) or blocks it once the count is passed.
"""

from __future__ import annotations

from typing import Any

from opentrust.guard.checks import Check, Context, Guard, Hit, SecretsCheck, SystemPromptLeakCheck, redact


class HoldBack:
    def __init__(self, guard: Guard, ctx: Context):
        self.ctx = ctx
        checks = guard.output
        self.max_tokens = [c for c in checks if c.name == "max_tokens"]
        self.span_checks: list[Check] = [c for c in checks if c.window or isinstance(c, SystemPromptLeakCheck)]
        self.whole = [c for c in checks if c not in self.span_checks and c not in self.max_tokens]
        windows = [c.window_for(ctx) if isinstance(c, SystemPromptLeakCheck) else c.window for c in self.span_checks]
        # never less than the longest match a check can make, whatever the policy asks
        self.window = max(guard.policy.stream.window, max(windows, default=0))
        self.hold_pem = any(isinstance(c, SecretsCheck) for c in self.span_checks)
        self.paragraph_checks = [c for c in self.whole if c.action == "block"]
        self.text = ""  # the answer so far, redactions applied
        self.raw = ""  # the answer as the upstream sent it (its hash goes to the log)
        self.released = 0
        self.judged_to = 0  # paragraph checks have cleared text[:judged_to]
        self.hits: dict[str, Hit] = {}
        self.blocked: Hit | None = None
        self.stopped = False

    @property
    def decision(self) -> str:
        from opentrust.guard.checks import ACTION_DECISION, DECISION_ORDER

        out = "allow"
        for h in self.hits.values():
            d = ACTION_DECISION[h.action]
            if DECISION_ORDER[d] > DECISION_ORDER[out]:
                out = d
        return out

    def _record(self, hit: Hit) -> None:
        old = self.hits.get(hit.rule)
        if old is None or hit.score > old.score or (hit.action == "block" and old.action != "block"):
            self.hits[hit.rule] = hit
        if hit.action == "block" and self.blocked is None:
            self.blocked = hit

    async def feed(self, delta: str) -> str:
        """Add streamed text; return what may be released now (empty once blocked or stopped)."""
        if self.blocked or self.stopped:
            return ""
        self.text += delta
        self.raw += delta
        return await self._advance(final=False)

    async def finish(self) -> str:
        """The stream ended: check everything still held and return the rest (empty if blocked)."""
        if self.blocked or self.stopped:
            return ""
        return await self._advance(final=True)

    async def _advance(self, final: bool) -> str:
        n = len(self.text)
        safe = n if final else n - self.window
        if self.hold_pem and not final:
            pending = SecretsCheck.pending_from(self.text[self.released:])
            if pending is not None:
                safe = min(safe, self.released + pending)
        if self.paragraph_checks and not final:
            boundary = self.text.rfind("\n\n", 0, max(0, safe))
            safe = min(safe, boundary if boundary >= self.judged_to else self.judged_to)
        if safe <= self.released and not final:
            return ""
        spans: list[tuple[int, int, str]] = []
        for check in self.max_tokens:
            for h in check.scan(self.text, self.ctx):
                self._record(h)
                if h.action == "redact":
                    spans += h.spans
                    self.stopped = True
                    safe = min(safe, h.spans[0][0]) if not final else safe
        base = max(0, self.released - self.window)
        region = self.text[base:]
        hold = False
        for check in self.span_checks:
            for h in await check.ascan(region, self.ctx) if check.is_async else check.scan(region, self.ctx):
                if h.spans:
                    due = [(s + base, e + base, ph) for s, e, ph in h.spans if final or s + base < safe]
                    if not due:
                        continue  # every match is still at the end of the buffer: it may grow; act later
                elif not final:
                    # a hit without a place (an encoded or near copy of a canary) may be a copy still arriving:
                    # release nothing while it is there; the end of the stream decides
                    hold = True
                    continue
                else:
                    due = []
                self._record(h)
                if h.action == "redact":
                    spans += [(max(s, self.released), e, ph) for s, e, ph in due if e > s]
        if hold:
            safe = min(safe, self.released)
        if not self.blocked:
            judge_to = n if final else (safe if self.paragraph_checks and safe > self.judged_to else 0)
            for check in self.whole if final else (self.paragraph_checks if judge_to else []):
                for h in await check.ascan(self.text[:judge_to], self.ctx) if check.is_async else \
                        check.scan(self.text[:judge_to], self.ctx):
                    self._record(h)
            self.judged_to = max(self.judged_to, judge_to)
        if self.blocked:
            return ""
        if spans:
            safe = _shift(safe, spans)
            self.text = redact(self.text, spans)
            if self.stopped:
                safe = len(self.text)
        end = len(self.text) if final or self.stopped else max(self.released, safe)
        out = self.text[self.released:end]
        self.released = end
        return out

    def rules(self) -> list[dict[str, Any]]:
        return [h.as_dict() for h in self.hits.values()]


def _shift(pos: int, spans: list[tuple[int, int, str]]) -> int:
    """Where ``pos`` lands after ``spans`` are redacted: past every placeholder that starts before it."""
    delta = 0
    for s, e, ph in sorted(spans):
        if s >= pos:
            break
        if e <= pos:
            delta += len(ph) - (e - s)
        else:  # the span crosses pos: release through its placeholder
            return s + delta + len(ph)
    return pos + delta
