"""Chat training examples from failures: a template answers each failure, and the detectors must agree with the
answer before the example is kept (a refusal must read as a refusal and be harmless; a helpful or correct answer
must not read as a refusal; a correct answer must also pass the case's own local assertions)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from opentrust.improve.sources import Failure, Unusable
from opentrust.improve.templates import TemplateSet

#: the label each detector must give, per kind of answer
EXPECTED = {
    "refusal": {"refusal": "refusal", "harmful": "safe"},
    "helpful": {"refusal": "compliance", "harmful": "safe"},
    "behaviour": {"refusal": "compliance"},
}


@dataclass
class Example:
    messages: list[dict[str, str]]
    provenance: dict[str, Any]
    family: str
    category: str
    source: str


@dataclass
class Dropped:
    """A candidate answer the checks rejected (template set) or a failure with no answer (template None)."""

    source: str
    item_id: str
    category: str
    template: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "item_id": self.item_id, "category": self.category,
                "template": self.template, "reason": self.reason}


@dataclass
class Built:
    examples: list[Example] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)


class Checker:
    """The detectors, loaded once."""

    def __init__(self) -> None:
        from opentrust.detectors import get_detector

        self.detectors = {"refusal": get_detector("refusal"), "harmful": get_detector("harmful")}

    def verdicts(self, kind: str, prompt: str, answer: str) -> tuple[dict[str, Any], str | None]:
        """Each detector's verdict on the answer, and why it is rejected (None: kept)."""
        out: dict[str, Any] = {}
        problem = None
        for name, want in EXPECTED[kind].items():
            d = self.detectors[name].detect(prompt, answer)
            out[name] = {"label": d.label, "score": round(float(d.score), 4), "expected": want}
            if d.label != want and problem is None:
                problem = f"{name} detector says {d.label}, expected {want} ({d.reason})"
        return out, problem


def _assertions(failure: Failure, answer: str) -> tuple[str, str | None]:
    if not failure.assertions:
        return "not checked (no local assertions)", None
    from opentrust.evals.assertions import EvalContext, evaluate_all

    prompt = next((m["content"] for m in reversed(failure.messages) if m["role"] == "user"), "")
    outcome = asyncio.run(evaluate_all(failure.assertions, answer, EvalContext(prompt=prompt, case_id=failure.item_id,
                                                                              vars=failure.vars)))
    if outcome.passed:
        return "pass", None
    return "fail", f"the case's assertions fail: {outcome.reason}"


TEACHER = "teacher"


def teacher_answers(spec: str, failures: list[Failure], db: Any, seed: int,
                    max_tokens: int = 160) -> tuple[dict[tuple[str, str], str], dict[str, Any]]:
    """A teacher target's answer to each failure's prompt (greedy, sample 0, through a ``RunSession``: cached and
    recorded like any sample). Keyed by (source, item id)."""
    from opentrust.backends.base import GenerationRequest, Message
    from opentrust.session import RunSession

    with RunSession(spec, "improve-teacher", {"seed": seed, "max_tokens": max_tokens,
                                              "items": [f"{f.source}:{f.item_id}" for f in failures]},
                    db=db) as session:
        async def work() -> list[str]:
            sampler = session.sampler()
            requests = [GenerationRequest(messages=[Message(**m) for m in f.messages],  # type: ignore[arg-type]
                                          temperature=0.0, top_p=1.0, max_tokens=max_tokens, seed=seed)
                        for f in failures]
            return [c.text for c in await asyncio.gather(*(sampler.sample(r, 0) for r in requests))]

        texts = session.run(work)
        session.finish({"kind": "improve-teacher", "answers": len(texts)})
        info = {"spec": session.target.spec, "fingerprint": session.fingerprint, "run_id": session.run_id,
                "max_tokens": max_tokens}
    return {(f.source, f.item_id): t.strip() for f, t in zip(failures, texts)}, info


def build(failures: list[Failure], unusable: list[Unusable], templates: dict[str, TemplateSet], seed: int,
          checker: Checker, progress: Callable[[str, int, int], None] | None = None,
          teacher: dict[tuple[str, str], str] | None = None) -> Built:
    """One example per failure: the teacher's answer first when there is one, then its templates in a seeded
    order (seeded by the item, so the choice does not depend on which other failures are present) until one
    passes every check; each rejected candidate is reported as dropped."""
    built = Built(dropped=[Dropped(u.source, u.item_id, u.category, None, u.reason) for u in unusable])
    for i, failure in enumerate(failures, start=1):
        if progress:
            progress("improve: checking answers", i, len(failures))
        taught = (teacher or {}).get((failure.source, failure.item_id))
        if taught and _keep(built, failure, TEACHER, taught, checker):
            continue
        tset = templates[failure.kind]
        value: str | None = None
        if failure.kind == "helpful":
            value = tset.answers.get(failure.key)
            if value is None:
                built.dropped.append(Dropped(failure.source, failure.item_id, failure.category, None,
                                             f"no helpful answer written for {failure.key} in {tset.source}"))
                continue
        elif failure.kind == "behaviour":
            value = failure.reference
        rng = random.Random(f"{seed}:{failure.source}:{failure.item_id}")
        candidates = tset.ordered(failure.category, rng)
        if not candidates:
            built.dropped.append(Dropped(failure.source, failure.item_id, failure.category, None,
                                         f"no {failure.kind} template fits category {failure.category}"))
            continue
        for template in candidates:
            if _keep(built, failure, template.id, template.render(value), checker):
                break
    return built


def _keep(built: Built, failure: Failure, template_id: str, answer: str, checker: Checker) -> bool:
    """Check one candidate answer; keep it as the failure's example (True) or record why it was dropped."""
    prompt = next((m["content"] for m in reversed(failure.messages) if m["role"] == "user"), "")
    verdicts, problem = checker.verdicts(failure.kind, prompt, answer)
    if problem is None and failure.kind == "behaviour":
        verdicts["assertions"], problem = _assertions(failure, answer)
    if problem is not None:
        built.dropped.append(Dropped(failure.source, failure.item_id, failure.category, template_id, problem))
        return False
    provenance = {
        "source": failure.source, "report": failure.report, "run_id": failure.run_id,
        "item_id": failure.item_id, "family": failure.family, "category": failure.category,
        "kind": failure.kind, "template_id": template_id, "detector_verdicts": verdicts, **failure.extra,
    }
    built.examples.append(Example(
        [*failure.messages, {"role": "assistant", "content": answer}], provenance, failure.family,
        failure.category, failure.source))
    return True
