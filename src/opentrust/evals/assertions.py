"""Assertions: what one sample of a case must satisfy. Each returns pass / fail / error and a reason.

``Outcome.passed`` is True (pass), False (fail) or None (the assertion could not be evaluated — e.g. a judge
model that gave no usable verdict). An error is never counted as a pass or a fail: the runner leaves that
sample out of the statistics and reports it.

Types (``type:`` in YAML): equals, contains, regex, starts-with (each also as not-…), length, is-json
(optionally with a JSON Schema), number, refusal, not-refusal, similar (optional extra ``similarity``),
rubric (model-graded, any judge target), python (``module:function``), all, any.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Awaitable, Callable, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_OUTPUT_CHARS = 100_000  # bounded work on pathological outputs (regexes, JSON parsing)


@dataclass(frozen=True)
class Outcome:
    passed: bool | None
    reason: str
    kind: str = ""

    @property
    def error(self) -> bool:
        return self.passed is None


@dataclass
class EvalContext:
    """What an assertion may look at besides the output."""

    prompt: str = ""
    case_id: str = ""
    vars: dict[str, Any] = field(default_factory=dict)
    #: async (judge_spec | None, messages) -> judge text; raises on failure
    judge: Callable[[str | None, list[dict[str, str]]], Awaitable[str]] | None = None


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)
    description: str = Field("", description="Shown in reports instead of the generated reason when set.")

    @property
    def negated(self) -> bool:
        return str(getattr(self, "type", "")).startswith("not-")

    def rendered(self, variables: dict[str, Any]) -> "_Base":
        """A copy with {{ var }} templates in its string values rendered (sandboxed)."""
        if not variables:
            return self
        from opentrust.evals.templating import render

        def walk(value: Any) -> Any:
            if isinstance(value, str):
                return render(value, variables)
            if isinstance(value, list):
                return [walk(v) for v in value]
            if isinstance(value, dict):
                return {k: walk(v) for k, v in value.items()}
            if isinstance(value, _Base):
                return value.rendered(variables)
            return value

        data = {name: walk(getattr(self, name)) for name in type(self).model_fields}
        from pydantic import ValidationError

        from opentrust.evals.templating import TemplateProblem

        try:  # validate again: a rendered value (a regex, a number) must still be valid
            return type(self).model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise TemplateProblem(f"{self.type} after templating: {'.'.join(map(str, err['loc']))}: "  # type: ignore[attr-defined]
                                  f"{err['msg']}") from None

    async def evaluate(self, output: str, ctx: EvalContext) -> Outcome:
        result = self.check(output[:MAX_OUTPUT_CHARS], ctx)
        if self.negated and result.passed is not None:
            return Outcome(not result.passed, f"not: {result.reason}", str(getattr(self, "type", "")))
        return Outcome(result.passed, result.reason, str(getattr(self, "type", "")))

    def check(self, output: str, ctx: EvalContext) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError


def _fold(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else text.casefold()


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= n else text[: n - 1] + "…")


class Equals(_Base):
    type: Literal["equals", "not-equals"]
    value: str
    case_sensitive: bool = Field(False, description="Compare case-sensitively.")
    strip: bool = Field(True, description="Ignore surrounding whitespace and a trailing period.")

    def check(self, output: str, ctx: EvalContext) -> Outcome:
        a, b = output, self.value
        if self.strip:
            a, b = a.strip().rstrip("."), b.strip().rstrip(".")
        ok = _fold(a, self.case_sensitive) == _fold(b, self.case_sensitive)
        return Outcome(ok, f"output {'equals' if ok else 'differs from'} {_short(self.value)}")


class Contains(_Base):
    type: Literal["contains", "not-contains"]
    value: str | list[str] = Field(description="A string or a list of strings.")
    mode: Literal["any", "all"] = Field("any", description="With a list: any one of them, or all of them.")
    case_sensitive: bool = False
    word: bool = Field(False, description="Match whole words only.")

    def check(self, output: str, ctx: EvalContext) -> Outcome:
        needles = [self.value] if isinstance(self.value, str) else list(self.value)
        hay = _fold(output, self.case_sensitive)
        found = []
        for needle in needles:
            n = _fold(needle, self.case_sensitive)
            hit = re.search(rf"(?<!\w){re.escape(n)}(?!\w)", hay) is not None if self.word else n in hay
            if hit:
                found.append(needle)
        ok = bool(found) if self.mode == "any" else len(found) == len(needles)
        if ok:
            return Outcome(True, f"contains {', '.join(_short(f, 30) for f in found)}")
        missing = [n for n in needles if n not in found]
        return Outcome(False, f"missing {', '.join(_short(m, 30) for m in missing[:5])}"
                       + (f" (found {len(found)} of {len(needles)}, needs all)" if self.mode == "all" else ""))


class Regex(_Base):
    type: Literal["regex", "not-regex"]
    pattern: str
    ignore_case: bool = False
    multiline: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return v

    def check(self, output: str, ctx: EvalContext) -> Outcome:
        flags = (re.IGNORECASE if self.ignore_case else 0) | (re.MULTILINE if self.multiline else 0)
        m = re.search(self.pattern, output, flags)
        return Outcome(m is not None, f"matches /{self.pattern}/ at {_short(m.group(0), 30)}" if m
                       else f"no match for /{self.pattern}/")


class StartsWith(_Base):
    type: Literal["starts-with", "not-starts-with"]
    value: str
    case_sensitive: bool = False

    def check(self, output: str, ctx: EvalContext) -> Outcome:
        ok = _fold(output.lstrip(), self.case_sensitive).startswith(_fold(self.value, self.case_sensitive))
        return Outcome(ok, f"{'starts' if ok else 'does not start'} with {_short(self.value)}")


class Length(_Base):
    type: Literal["length"]
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)
    unit: Literal["chars", "words", "lines", "sentences"] = "chars"

    def check(self, output: str, ctx: EvalContext) -> Outcome:
        text = output.strip()
        if self.unit == "chars":
            n = len(text)
        elif self.unit == "words":
            n = len(text.split())
        elif self.unit == "lines":
            n = len([ln for ln in text.splitlines() if ln.strip()])
        else:
            n = len([s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()])
        ok = (self.min is None or n >= self.min) and (self.max is None or n <= self.max)
        bounds = f"[{self.min if self.min is not None else 0}, {self.max if self.max is not None else '∞'}]"
        return Outcome(ok, f"{n} {self.unit} {'within' if ok else 'outside'} {bounds}")


def extract_json(output: str) -> Any:
    """Parse JSON from an output: the whole text, a ```json fenced block, or the first {...}/[...] span."""
    text = output.strip()
    fence = re.search(r"```(?:json)?\s*\n(.*?)```", text, re.DOTALL)
    candidates = [text] + ([fence.group(1)] if fence else [])
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start >= 0:
        end = max(text.rfind("}"), text.rfind("]"))
        if end > start:
            candidates.append(text[start:end + 1])
    last: Exception | None = None
    for c in candidates:
        try:
            return json.loads(c)
        except ValueError as exc:
            last = exc
    raise ValueError(str(last) if last else "no JSON found")


class IsJson(_Base):
    type: Literal["is-json", "json-schema"]
    json_schema: dict[str, Any] | None = Field(None, alias="schema", description="JSON Schema the value must match.")
    strict: bool = Field(False, description="The whole output must be JSON (no fences or surrounding prose).")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            import jsonschema

            try:
                jsonschema.validators.validator_for(v).check_schema(v)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"invalid JSON Schema: {exc.message}") from None
        return v

    def check(self, output: str, ctx: EvalContext) -> Outcome:
        try:
            value = json.loads(output.strip()) if self.strict else extract_json(output)
        except ValueError as exc:
            return Outcome(False, f"not JSON: {str(exc)[:80]}")
        if self.json_schema is None:
            return Outcome(True, "valid JSON")
        import jsonschema

        validator = jsonschema.validators.validator_for(self.json_schema)(self.json_schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is None:
            return Outcome(True, "valid JSON matching the schema")
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return Outcome(False, f"schema violation at {where}: {error.message[:100]}")


_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


class Number(_Base):
    type: Literal["number"]
    min: float | None = None
    max: float | None = None

    def check(self, output: str, ctx: EvalContext) -> Outcome:
        m = _NUMBER.search(output)
        if not m:
            return Outcome(False, "no number in the output")
        value = float(m.group(0).replace(",", ""))
        ok = (self.min is None or value >= self.min) and (self.max is None or value <= self.max)
        return Outcome(ok, f"{m.group(0)} {'in' if ok else 'not in'} [{self.min}, {self.max}]")


class Refusal(_Base):
    type: Literal["refusal", "not-refusal"]

    @property
    def negated(self) -> bool:
        return False  # handled explicitly: the detector says which it is

    def check(self, output: str, ctx: EvalContext) -> Outcome:
        from opentrust.detectors.refusal import RefusalDetector

        d = RefusalDetector().detect(ctx.prompt, output)
        refused = d.label == "refusal"
        want = self.type == "refusal"
        return Outcome(refused == want, f"{'refused' if refused else 'answered'} ({d.reason})")


class Similar(_Base):
    type: Literal["similar"]
    value: str | list[str] = Field(description="Reference answer(s); the best cosine similarity counts.")
    threshold: float = Field(0.75, ge=-1.0, le=1.0)

    async def evaluate(self, output: str, ctx: EvalContext) -> Outcome:
        # embedding is CPU work (and the first call loads the model): keep the event loop free for sampling
        result = await asyncio.to_thread(self.check, output[:MAX_OUTPUT_CHARS], ctx)
        return Outcome(result.passed, result.reason, self.type)

    def check(self, output: str, ctx: EvalContext) -> Outcome:
        from opentrust.evals.similarity import similarity

        refs = [self.value] if isinstance(self.value, str) else list(self.value)
        score = max(similarity(output, r) for r in refs)
        ok = score >= self.threshold
        return Outcome(ok, f"cosine similarity {score:.3f} {'>=' if ok else '<'} {self.threshold}")


JUDGE_SYSTEM = ("You are a strict grader. Decide whether the ANSWER satisfies the RUBRIC. "
                "Reply with exactly one word on the first line, PASS or FAIL, then one short sentence explaining why.")


def parse_verdict(text: str) -> tuple[bool | None, str]:
    """A judge's verdict from free text: JSON {"pass": bool} / {"verdict": ...}, or a lone PASS/FAIL word.

    Returns (None, why) when the text has no verdict or contradicts itself — a judge error, never a guess.
    """
    stripped = text.strip()
    if not stripped:
        return None, "empty judge response"
    try:
        obj = extract_json(stripped)
        if isinstance(obj, dict):
            for key in ("pass", "passed", "verdict", "result", "score"):
                if key in obj:
                    v = obj[key]
                    if isinstance(v, bool):
                        return v, str(obj.get("reason", ""))[:200]
                    if isinstance(v, str) and v.strip().lower() in ("pass", "fail", "yes", "no"):
                        return v.strip().lower() in ("pass", "yes"), str(obj.get("reason", ""))[:200]
    except ValueError:
        pass
    pattern = re.compile(r"\b(PASS(?:ED|ES)?|FAIL(?:ED|S|URE)?)\b", re.IGNORECASE)
    for scope in (stripped.splitlines()[0], stripped):
        words = {w.upper().startswith("PASS") for w in pattern.findall(scope)}
        if len(words) == 1:
            return words.pop(), " ".join(stripped.split())[:200]
        if len(words) == 2 and scope is not stripped:
            break  # contradictory first line: do not look further
    return None, f"no clear PASS/FAIL verdict in judge response {_short(stripped, 80)}"


class Rubric(_Base):
    type: Literal["rubric", "llm-rubric"]
    rubric: str = Field(description="What a good answer does, in plain words.")
    judge: str | None = Field(None, description="Judge target spec (smollm2, a .gguf, openai:URL#MODEL); "
                              "default: the command's --judge, else the model under test.")

    async def evaluate(self, output: str, ctx: EvalContext) -> Outcome:
        if ctx.judge is None:
            return Outcome(None, "judge error: no judge model configured", self.type)
        messages = [{"role": "system", "content": JUDGE_SYSTEM},
                    {"role": "user", "content": f"RUBRIC: {self.rubric}\n\nQUESTION: {ctx.prompt[:4000]}\n\n"
                                                f"ANSWER: {output[:8000]}\n\nVerdict (PASS or FAIL):"}]
        try:
            text = await ctx.judge(self.judge, messages)
        except Exception as exc:  # the judge is a model: anything can go wrong; record, never guess
            return Outcome(None, f"judge error: {type(exc).__name__}: {str(exc)[:120]}", self.type)
        verdict, why = parse_verdict(text)
        if verdict is None:
            return Outcome(None, f"judge error: {why}", self.type)
        return Outcome(verdict, f"judge: {why}", self.type)


class Python(_Base):
    type: Literal["python"]
    function: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
                          description="module:function, called as function(output, context) -> bool | "
                          "(bool, reason) | {'pass': bool, 'reason': str}. Your own code: it runs.")
    config: dict[str, Any] = Field(default_factory=dict, description="Passed to the function as context['config'].")

    def check(self, output: str, ctx: EvalContext) -> Outcome:
        import importlib

        module_name, _, fn_name = self.function.partition(":")
        try:
            fn = getattr(importlib.import_module(module_name), fn_name)
            result = fn(output, {"prompt": ctx.prompt, "vars": ctx.vars, "case": ctx.case_id, "config": self.config})
        except Exception as exc:  # user code: an exception is an evaluation error, not a verdict
            return Outcome(None, f"python assertion error: {type(exc).__name__}: {str(exc)[:120]}")
        if isinstance(result, bool):
            return Outcome(result, f"{self.function} returned {result}")
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], bool):
            return Outcome(result[0], str(result[1])[:200])
        if isinstance(result, dict) and isinstance(result.get("pass"), bool):
            return Outcome(result["pass"], str(result.get("reason", ""))[:200])
        return Outcome(None, f"{self.function} returned {type(result).__name__}, expected bool, "
                       "(bool, reason) or {'pass': bool, 'reason': str}")


class All(_Base):
    type: Literal["all"]
    assertions: list["Assertion"] = Field(alias="assert", min_length=1)

    async def evaluate(self, output: str, ctx: EvalContext) -> Outcome:
        return combine_all([await a.evaluate(output, ctx) for a in self.assertions])


class Any_(_Base):
    type: Literal["any"]
    assertions: list["Assertion"] = Field(alias="assert", min_length=1)

    async def evaluate(self, output: str, ctx: EvalContext) -> Outcome:
        results = [await a.evaluate(output, ctx) for a in self.assertions]
        passed = [r for r in results if r.passed]
        if passed:
            return Outcome(True, f"any: {passed[0].reason}", "any")
        errors = [r for r in results if r.error]
        if errors:
            return Outcome(None, f"any: {errors[0].reason}", "any")
        return Outcome(False, "any: none passed: " + "; ".join(r.reason for r in results[:3]), "any")


def combine_all(results: list[Outcome]) -> Outcome:
    """All must pass: one failure fails (whatever else errored), otherwise one error makes it an error."""
    failed = [r for r in results if r.passed is False]
    if failed:
        return Outcome(False, "; ".join(f"{r.kind}: {r.reason}" if r.kind else r.reason for r in failed[:3]), "all")
    errors = [r for r in results if r.error]
    if errors:
        return Outcome(None, errors[0].reason, "all")
    return Outcome(True, "; ".join(r.reason for r in results[:3]) or "no assertions", "all")


Assertion = Annotated[
    Union[Equals, Contains, Regex, StartsWith, Length, IsJson, Number, Refusal, Similar, Rubric, Python, All, Any_],
    Field(discriminator="type"),
]
All.model_rebuild()
Any_.model_rebuild()


async def evaluate_all(assertions: list[Any], output: str, ctx: EvalContext) -> Outcome:
    if not assertions:
        return Outcome(True, "no assertions", "all")
    return combine_all(list(await asyncio.gather(*(a.evaluate(output, ctx) for a in assertions))))
