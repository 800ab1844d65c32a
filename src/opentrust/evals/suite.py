"""The suite file: defaults plus cases, each sampled repeatedly and judged by assertions and a requirement.

A suite is YAML validated by pydantic models (their JSON Schema is published as docs/suite-schema.json for
editors). Errors name the file and line: the YAML is composed into nodes (which keep their marks) and the
pydantic error location is mapped back to the node it came from.

Templates (``{{ var }}`` in prompts, messages and assertion values) are rendered with jinja2's
SandboxedEnvironment and StrictUndefined: a suite may come from someone else.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from opentrust.errors import UserError
from opentrust.evals.assertions import Assertion
from opentrust.evals.templating import TemplateProblem, render
from opentrust.yamlfile import read_yaml_lines, validation_error

__all__ = ["CaseSpec", "Suite", "SuiteFile", "TemplateProblem", "builtin_suite_paths", "json_schema", "load_suite",
           "load_suites", "render", "schema_text"]

SCHEMA_ID = "https://opentrust.dev/schemas/suite-1.json"
MAX_INCLUDE_DEPTH = 8
MAX_EXPANDED_CASES = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ChatMessage(_Strict):
    role: Literal["system", "user", "assistant"] = Field(description="Who speaks.")
    content: str = Field(description="The message text; may use {{ var }} templates.")


class Sampling(_Strict):
    """How each sample is generated. Every sample i uses its own seed derived from ``seed`` and i."""

    temperature: float | None = Field(None, ge=0.0, le=2.0, description="Sampling temperature (default 0.7).")
    top_p: float | None = Field(None, gt=0.0, le=1.0, description="Nucleus sampling mass (default 0.95).")
    max_tokens: int | None = Field(None, ge=1, le=32768, description="Longest answer in tokens (default 128).")
    seed: int | None = Field(None, description="Base seed (default: the command's --seed).")
    stop: list[str] | None = Field(None, description="Stop sequences.")

    def merged(self, other: "Sampling | None") -> "Sampling":
        if other is None:
            return self
        data = self.model_dump(exclude_none=True)
        data.update(other.model_dump(exclude_none=True))
        return Sampling(**data)


class Require(_Strict):
    """What a case must achieve. See opentrust.evals.sequential for the exact test and its guarantees."""

    pass_rate: float | None = Field(None, gt=0.0, lt=1.0, description="Required pass rate p0 (default 0.8).")
    indifference: float | None = Field(
        None, gt=0.0, lt=0.5, description="Half-width δ of the indifference zone around pass_rate (default 0.1). "
        "A true rate <= p0-δ passes with probability <= alpha; a rate >= p0+δ fails with probability <= beta.")
    alpha: float | None = Field(None, gt=0.0, lt=0.5, description="False-pass rate bound (default 0.05).")
    beta: float | None = Field(None, gt=0.0, lt=0.5, description="False-fail rate bound (default 0.1).")
    max_samples: int | None = Field(None, ge=1, le=10_000,
                                    description="Stop with 'inconclusive' after this many samples (default 32).")
    confidence: float | None = Field(
        None, gt=0.0, lt=1.0, description="Confidence level of ci_fixed_n, the fixed-n Clopper-Pearson interval "
        "kept for comparison (default 0.95). The case interval ci is exact for the sequential test at its own "
        "error rates (lower end 1-alpha, upper end 1-beta), so that it always agrees with the verdict.")

    def merged(self, other: "Require | None") -> "Require":
        if other is None:
            return self
        data = self.model_dump(exclude_none=True)
        data.update(other.model_dump(exclude_none=True))
        return Require(**data)


REQUIRE_DEFAULTS = Require(pass_rate=0.8, indifference=0.1, alpha=0.05, beta=0.1, max_samples=32, confidence=0.95)
SAMPLING_DEFAULTS = Sampling(temperature=0.7, top_p=0.95, max_tokens=128)


class Defaults(_Strict):
    system: str | None = Field(None, description="System prompt for every case (unless the case has messages).")
    sampling: Sampling | None = None
    require: Require | None = None
    assertions: list[Assertion] = Field(default_factory=list, alias="assert",
                                        description="Assertions applied to every case, in addition to its own.")
    tags: list[str] = Field(default_factory=list, description="Tags added to every case.")


class Case(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$", description="Unique id within the suite.")
    description: str = ""
    prompt: str | None = Field(None, description="A user prompt; may use {{ var }} templates.")
    messages: list[ChatMessage] | None = Field(None, description="A whole chat instead of prompt.")
    system: str | None = Field(None, description="System prompt (overrides defaults.system).")
    vars: list[dict[str, Any]] | dict[str, list[Any]] | None = Field(
        None, description="A table of variables: a list of rows (one case per row), or a mapping of "
        "name -> list of values (one case per combination).")
    sampling: Sampling | None = None
    require: Require | None = None
    assertions: list[Assertion] = Field(default_factory=list, alias="assert",
                                        description="What every sample must satisfy (all of them).")
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_input(self) -> "Case":
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("a case needs exactly one of 'prompt' or 'messages'")
        return self


class SuiteFile(_Strict):
    """An opentrust behaviour suite."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True,
                              json_schema_extra={"$id": SCHEMA_ID, "title": "opentrust suite"})
    name: str | None = Field(None, description="Suite name (default: the file name).")
    description: str = ""
    include: list[str] = Field(default_factory=list, description="Other suite files (relative paths) to include.")
    defaults: Defaults = Field(default_factory=Defaults)
    cases: list[Case] = Field(default_factory=list)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a suite file (docs/suite-schema.json is generated from it)."""
    return SuiteFile.model_json_schema(by_alias=True)


# -- expanded, ready-to-run cases --------------------------------------------------------------------
@dataclass
class CaseSpec:
    """One case after defaults, includes and vars are applied: what the runner samples and judges."""

    id: str
    suite: str
    messages: list[dict[str, str]]
    sampling: Sampling
    require: Require
    assertions: list[Assertion]
    tags: list[str] = field(default_factory=list)
    source: str = ""  # file:line
    vars: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")


@dataclass
class Suite:
    name: str
    path: str
    cases: list[CaseSpec]

    def select(self, tags: list[str] | None) -> "Suite":
        if not tags:
            return self
        wanted = set(tags)
        return Suite(self.name, self.path, [c for c in self.cases if wanted & set(c.tags) or c.id in wanted])


# -- loading -----------------------------------------------------------------------------------------
def load_suite(path: str | Path, _depth: int = 0, _seen: tuple[str, ...] = ()) -> Suite:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such suite file", "check the path (or use --builtin for the built-in suites)")
    if _depth > MAX_INCLUDE_DEPTH or str(path.resolve()) in _seen:
        raise UserError(f"{path}: include cycle or includes nested deeper than {MAX_INCLUDE_DEPTH}",
                        "remove the circular include")
    data, lines = read_yaml_lines(path, "suite", "add a 'cases:' list", "a suite must be a mapping with 'cases:'",
                                  "see docs/suite-schema.json")
    try:
        model = SuiteFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, lines, exc, "suite", "fix the suite file (docs/suite-schema.json describes "
                               "every field)", aliases={"assertions": "assert"}) from None
    name = model.name or path.stem
    cases: list[CaseSpec] = []
    for inc in model.include:
        sub = load_suite(path.parent / inc, _depth + 1, _seen + (str(path.resolve()),))
        cases.extend(sub.cases)
    for i, case in enumerate(model.cases):
        cases.extend(_expand(case, model.defaults, name, f"{path}:{lines.get(('cases', i), 0)}"))
    seen: dict[str, str] = {}
    for c in cases:
        if c.id in seen:
            raise UserError(f"{c.source}: duplicate case id {c.id!r} (also at {seen[c.id]})", "give each case a unique id")
        seen[c.id] = c.source
    return Suite(name, str(path), cases)


def load_suites(paths: list[str | Path]) -> list[Suite]:
    return [load_suite(p) for p in paths]


def require_unique_ids(cases: list[CaseSpec]) -> None:
    """Cases from several suites are run (and cached, and paired) by id: two with one id would collide."""
    seen: set[str] = set()
    for c in cases:
        if c.id in seen:
            raise UserError(f"case id {c.id!r} appears in more than one suite", "give cases unique ids")
        seen.add(c.id)


def builtin_suite_paths() -> list[Path]:
    return sorted((Path(__file__).parent / "suites").glob("*.yaml"))


def _expand(case: Case, defaults: Defaults, suite: str, source: str) -> list[CaseSpec]:
    rows: list[dict[str, Any]]
    if case.vars is None:
        rows = [{}]
    elif isinstance(case.vars, dict):
        keys = list(case.vars)
        rows = [dict(zip(keys, combo)) for combo in itertools.product(*case.vars.values())]
    else:
        rows = case.vars
    if len(rows) > MAX_EXPANDED_CASES:
        raise UserError(f"{source}: case {case.id!r} expands into {len(rows)} cases", "use a smaller vars table")
    sampling = SAMPLING_DEFAULTS.merged(defaults.sampling).merged(case.sampling)
    require = REQUIRE_DEFAULTS.merged(defaults.require).merged(case.require)
    _check_require(require, source, case.id)
    out = []
    for i, row in enumerate(rows):
        case_id = case.id if case.vars is None else f"{case.id}[{row.get('id', i)}]"
        try:
            if case.messages is not None:
                messages = [{"role": m.role, "content": render(m.content, row)} for m in case.messages]
            else:
                messages = []
                system = case.system if case.system is not None else defaults.system
                if system:
                    messages.append({"role": "system", "content": render(system, row)})
                messages.append({"role": "user", "content": render(case.prompt or "", row)})
            assertions = [a.rendered(row) for a in (*defaults.assertions, *case.assertions)]
        except TemplateProblem as exc:
            raise UserError(f"{source}: case {case.id!r}: {exc}", "define the variable in the case's vars") from None
        out.append(CaseSpec(id=case_id, suite=suite, messages=messages, sampling=sampling, require=require,
                            assertions=assertions, tags=sorted({*defaults.tags, *case.tags}), source=source,
                            vars=dict(row)))
    return out


def _check_require(require: Require, source: str, case_id: str) -> None:
    p0, d = require.pass_rate or 0.8, require.indifference or 0.1
    if not 0 < p0 - d < p0 + d < 1:
        raise UserError(f"{source}: case {case_id!r}: pass_rate ± indifference = {p0} ± {d} leaves (0, 1)",
                        "lower require.indifference (pass_rate - indifference > 0 and pass_rate + indifference < 1)")


def schema_text() -> str:
    """docs/suite-schema.json's exact content (regenerate: python -m opentrust.evals.suite > docs/suite-schema.json)."""
    import json

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(schema_text())
