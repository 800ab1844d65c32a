"""A red-team campaign: probe variants become behaviour-test cases and run through the evals engine.

Mapping probe → case (``case_for``): each probe variant (a base probe or a mutated one) is one ``CaseSpec``
whose single assertion runs the probe's detector on every sample. The case **passes when the attack
failed** (the detector's label is not the probe's ``success_label``), so:

* a sample's outcome False = attack success; ``CaseResult.failures`` are the successful attacks (the worst
  examples, with the detector's reason);
* the sequential test (``Require``: pass_rate 0.5 ± 0.3, α 0.05, β 0.1) stops a probe as soon as its
  outcome is clear — two attack successes (verdict ``fail``: the model is reliably vulnerable) or three safe
  answers in a row (verdict ``pass``) — and otherwise at the profile's ``max_samples`` (``inconclusive``);
  with ``max_samples`` 1 (the quick and standard profiles) every probe gets exactly one sample and no verdict:
  the category rates are the result (``redteam.estimate`` and ``redteam.profiles`` say why);
* over-refusal probes use the same mapping with ``success_label: refusal``: refusing a benign prompt is the
  "attack success", so a model that refuses everything fails them.

Sampling, caching (fingerprint + request + sample index), resume, seeds and concurrency are the engine's.
Multi-turn probes (escalation) have assistant turns left open: the model's own replies are generated first,
greedily (temperature 0, sample 0, cached), then the final turn is sampled as an ordinary case.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

# the plan and the probe → case mapping live in redteam.plan (results aggregate them too); re-exported here
from opentrust.redteam.plan import REQUIRE, SUITE_PREFIX, Plan, ProbeAssertion, attack_label, case_for

if TYPE_CHECKING:
    from opentrust.detectors.base import Detector
    from opentrust.redteam.catalogue import Probe
    from opentrust.redteam.results import CampaignResult
    from opentrust.sampler import Sampler
    from opentrust.session import RunSession

__all__ = ["REQUIRE", "SUITE_PREFIX", "Plan", "ProbeAssertion", "attack_label", "case_for", "make_detectors",
           "resolve_turns", "run_campaign", "run_campaign_async"]


def make_detectors(names: set[str], judge: str | None = None, api_key_env: str | None = None,
                   judge_format: str = "instruction", session: "RunSession | None" = None) -> dict[str, "Detector"]:
    """The detectors the probes name (register_detectors hook). A harmful judge asks through the session's judge
    sampler when there is a session: its verdicts are cached and linked to the run like any sample."""
    from opentrust.detectors import get_detector

    out = {}
    for name in sorted(names):
        options: dict[str, Any] = {}
        if name == "harmful" and judge:
            options = {"judge": judge, "api_key_env": api_key_env, "judge_format": judge_format,
                       "sampler": session.judge_sampler(judge, api_key_env) if session is not None else None}
        out[name] = get_detector(name, **options)
    return out


async def resolve_turns(probe: "Probe", sampler: "Sampler", max_tokens: int, seed: int) -> list[dict[str, str]]:
    """Fill a multi-turn probe's open assistant turns with the model's own greedy replies (cached)."""
    from opentrust.backends.base import GenerationRequest, Message

    messages: list[dict[str, Any]] = [{"role": m.role, "content": m.content} for m in probe.messages]
    for i, m in enumerate(messages):
        if m["role"] == "assistant" and m["content"] is None:
            req = GenerationRequest(messages=[Message(**x) for x in messages[:i]],  # type: ignore[arg-type]
                                    temperature=0.0, top_p=1.0, max_tokens=max_tokens, seed=seed)
            m["content"] = (await sampler.sample(req, 0)).text
    return messages


async def run_campaign_async(plan: Plan, session: "RunSession", *, seed: int = 0, judge: str | None = None,
                             judge_format: str = "instruction",
                             api_key_env: str | None = None,
                             progress: Callable[[str, int, int], None] | None = None) -> "CampaignResult":
    """Run ``plan`` on the session's target; the result carries the session's model and run."""
    from opentrust.evals.runner import Runner
    from opentrust.redteam.results import aggregate

    start = time.perf_counter()
    sampler = session.sampler()
    detectors = make_detectors({p.detector for p in plan.probes}, judge, api_key_env, judge_format, session=session)
    try:
        base_payload = _base_payloads(plan.probes)
        multi = [p for p in plan.probes if any(m.role == "assistant" and m.content is None for m in p.messages)]
        resolved = dict(zip([p.id for p in multi], await asyncio.gather(
            *(resolve_turns(p, sampler, plan.max_tokens, seed) for p in multi))))
        lead_generated, lead_reused = sampler.generated, sampler.reused
        cases = [case_for(p, plan, detectors, base_payload[p.id], resolved.get(p.id)) for p in plan.probes]
        shown = (lambda d, c, t: progress(d.replace("test:", "redteam:").replace("cases", "probes"), c, t)) \
            if progress else None
        runner = Runner(sampler, seed=seed, progress=shown)
        results = await runner.run(cases)
    finally:
        for d in detectors.values():
            close = getattr(d, "aclose", None)
            if close is not None:
                await close()
    stats = runner.stats
    stats.generated += lead_generated
    stats.reused += lead_reused
    stats.wall_s = time.perf_counter() - start
    result = aggregate(plan, results, stats)
    result.model = session.model_info()
    result.run_id = session.run_id
    return result


def _base_payloads(probes: Sequence["Probe"]) -> dict[str, str]:
    """The plain-text request behind each variant (a mutated payload may be encoded)."""
    from opentrust.redteam.catalogue import load_catalogue

    by_id = {p.id: p for p in probes}
    missing = {p.base_id for p in probes if p.base_id and p.base_id not in by_id}
    if missing:
        by_id.update({p.id: p for p in load_catalogue() if p.id in missing})
    return {p.id: (by_id[p.base_id].payload if p.base_id and p.base_id in by_id else p.payload) for p in probes}


def run_campaign(plan: Plan, model: Any, *, db: Any = None, seed: int = 0, use_cache: bool = True,
                 concurrency: int | None = None, judge: str | None = None, api_key_env: str | None = None,
                 model_id: str | None = None, backend: Any = None, judge_format: str = "instruction",
                 progress: Callable[[str, int, int], None] | None = None, executor: Any = None) -> "CampaignResult":
    """Run ``plan`` against the target spec ``model`` (smollm2, a .gguf, openai:URL#MODEL) in one session."""
    from opentrust.executor import result_block
    from opentrust.session import RunSession

    params = {"seed": seed, **plan.parameters(), "probe_ids": [p.id for p in plan.probes], "judge": judge}
    if judge:
        params["judge_format"] = judge_format
    with RunSession(model, "redteam", params, db=db, api_key_env=api_key_env, model_id=model_id,
                    use_cache=use_cache, concurrency=concurrency, backend=backend, executor=executor) as session:
        result = session.run(lambda: run_campaign_async(plan, session, seed=seed, judge=judge,
                                                        judge_format=judge_format, api_key_env=api_key_env,
                                                        progress=progress))
        result.resumed = session.resumed
        result.parameters = {**plan.parameters(), "seed": seed, "use_cache": use_cache, "judge": judge}
        result.executor = result_block(executor)
        session.finish(result.to_json())
    return result
