"""The behaviour-test engine as a library: cases in, per-case statistical verdicts out.

``Runner.run(cases)`` samples every case concurrently through the shared ``Sampler`` (bounded concurrency
per backend, the sample cache keyed by fingerprint + request + index, an independent seed per index), in
batches sized so that sequential stopping never wastes a generation (see ``SPRT.next_batch``). Verdicts
depend only on the samples in index order, so a run is deterministic for fixed seeds whatever the
scheduling, and a killed run resumes from the cache with no sample lost or duplicated.

Red teaming and model comparison build on the same engine: give it ``CaseSpec``s, read ``CaseResult``s.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from opentrust.evals.assertions import EvalContext, evaluate_all
from opentrust.evals.sequential import INTERVAL_METHOD, SPRT, interval_confidence, sequential_interval, unbiased_rate
from opentrust.evals.verdicts import decision
from opentrust.stats import clopper_pearson_interval, evidence, mean_rate_interval, pass_at_k, pass_hat_k

if TYPE_CHECKING:
    from opentrust.backends.base import GenerationRequest
    from opentrust.evals.suite import CaseSpec
    from opentrust.sampler import Sampler
    from opentrust.session import RunSession

MAX_FAILURES_SHOWN = 5
KS = (1, 5)


@dataclass
class CaseResult:
    id: str
    suite: str
    verdict: str  # pass | fail | inconclusive | error
    pass_rate: float | None  # observed rate successes / samples (None with no valid sample)
    ci: tuple[float, float]  # exact interval for the sequential test (see opentrust.evals.sequential)
    confidence: float  # joint coverage of `ci`: 1 - alpha - beta (lower end 1 - alpha, upper end 1 - beta)
    samples: int  # samples the statistical test used
    successes: int
    draws: int  # samples generated or reused, including evaluation errors
    errors: int  # samples whose assertions could not be evaluated (judge errors...)
    llr: float
    require: dict[str, Any]
    failures: list[dict[str, Any]] = field(default_factory=list)
    error_details: list[dict[str, Any]] = field(default_factory=list)
    pass_at_k: dict[str, float] = field(default_factory=dict)
    pass_hat_k: dict[str, float] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    source: str = ""
    prompt: str = ""
    ci_method: str = INTERVAL_METHOD
    # Clopper–Pearson as if the number of samples had been fixed in advance, at require.confidence: for
    # comparison only — after sequential stopping it under-covers (benchmarks/sequential.py) and can seem to
    # contradict the verdict.
    ci_fixed_n: tuple[float, float] | None = None
    # unbiased estimate of the case's pass rate despite early stopping (what suite figures average)
    rate_unbiased: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ci"] = [round(self.ci[0], 4), round(self.ci[1], 4)]
        data["confidence"] = round(self.confidence, 6)
        if self.ci_fixed_n is not None:
            data["ci_fixed_n"] = [round(self.ci_fixed_n[0], 4), round(self.ci_fixed_n[1], 4)]
        data["pass_rate"] = None if self.pass_rate is None else round(self.pass_rate, 4)
        data["rate_unbiased"] = None if self.rate_unbiased is None else round(self.rate_unbiased, 4)
        data["llr"] = round(self.llr, 4)
        data["decision"] = decision(self.verdict, self.require, self.samples, self.errors)
        return data


@dataclass
class RunStats:
    generated: int = 0
    reused: int = 0
    wall_s: float = 0.0
    generation_s: float = 0.0  # sum of backend latencies of generated samples


class JudgePool:
    """Judges for rubric assertions: each spec's sampler comes from the run's session (cached, linked to the
    run, backends owned by the session); no spec = the model under test. Greedy: temperature 0, sample 0."""

    def __init__(self, session: "RunSession", default_spec: str | None, api_key_env: str | None = None,
                 max_tokens: int = 64):
        self.session = session
        self.default_spec = default_spec
        self.api_key_env = api_key_env
        self.max_tokens = max_tokens

    async def __call__(self, spec: str | None, messages: list[dict[str, str]]) -> str:
        from opentrust.backends.base import GenerationRequest, Message

        sampler = self.session.judge_sampler(spec or self.default_spec, api_key_env=self.api_key_env)
        req = GenerationRequest(messages=[Message(**m) for m in messages], temperature=0.0, top_p=1.0,  # type: ignore[arg-type]
                                max_tokens=self.max_tokens, seed=0)
        return (await sampler.sample(req, 0)).text


class Runner:
    def __init__(self, sampler: "Sampler", seed: int = 0, judge: JudgePool | None = None,
                 progress: Callable[[str, int, int], None] | None = None, batch_limit: int | None = None):
        self.sampler = sampler
        self.seed = seed
        self.judge = judge
        self.progress = progress or (lambda d, c, t: None)
        self.batch_limit = batch_limit
        self.stats = RunStats()
        self._done = 0
        self._remaining: dict[str, int] = {}
        self._decided = 0
        self._cases = 0

    def request_for(self, case: "CaseSpec") -> "GenerationRequest":
        from opentrust.backends.base import GenerationRequest, Message

        s = case.sampling
        return GenerationRequest(
            messages=[Message(**m) for m in case.messages],  # type: ignore[arg-type]
            temperature=s.temperature if s.temperature is not None else 0.7,
            top_p=s.top_p if s.top_p is not None else 0.95,
            max_tokens=s.max_tokens or 128, seed=s.seed if s.seed is not None else self.seed, stop=s.stop or [])

    @staticmethod
    def test_for(case: "CaseSpec") -> SPRT:
        r = case.require
        return SPRT(pass_rate=r.pass_rate or 0.8, indifference=r.indifference or 0.1, alpha=r.alpha or 0.05,
                    beta=r.beta or 0.1, max_samples=r.max_samples or 32)

    async def run(self, cases: list["CaseSpec"]) -> list[CaseResult]:
        start = time.perf_counter()
        self._cases = len(cases)
        self._remaining = {c.id: (c.require.max_samples or 32) for c in cases}
        self._tick()
        try:
            results = list(await asyncio.gather(*(self.run_case(c) for c in cases)))
        finally:
            self.stats.wall_s += time.perf_counter() - start
        return results

    def _tick(self) -> None:
        total = self._done + sum(self._remaining.values())
        self.progress(f"test: {self._decided}/{self._cases} cases decided", self._done, total)

    async def run_case(self, case: "CaseSpec") -> CaseResult:
        test = self.test_for(case)
        request = self.request_for(case)
        ctx = EvalContext(prompt=case.prompt, case_id=case.id, vars=case.vars, judge=self.judge)
        error_allowance = max(1, test.max_samples // 2)
        outcomes: list[bool | None] = []
        failures: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        verdict: str | None = None
        while True:
            valid = [o for o in outcomes if o is not None]
            k, n = sum(valid), len(valid)
            verdict = test.state(k, n)
            if verdict is not None:
                break
            if len(outcomes) - n > error_allowance:
                verdict = "error"
                break
            batch = test.next_batch(k, n, self.batch_limit)
            start = len(outcomes)
            completions = await self.sampler.samples(request, batch, start=start)
            evaluated = await asyncio.gather(*(evaluate_all(case.assertions, c.text, ctx) for c in completions))
            for i, (completion, outcome) in enumerate(zip(completions, evaluated)):
                if completion.cached:
                    self.stats.reused += 1
                else:
                    self.stats.generated += 1
                    self.stats.generation_s += completion.latency_s
                outcomes.append(outcome.passed)
                record = {"index": start + i, "output": completion.text[:400], "reason": outcome.reason}
                if outcome.passed is False and len(failures) < MAX_FAILURES_SHOWN:
                    failures.append(record)
                elif outcome.passed is None and len(errors) < MAX_FAILURES_SHOWN:
                    errors.append(record)
            self._done += batch
            self._remaining[case.id] = max(0, test.max_samples - n - batch)
            self._tick()
        valid = [o for o in outcomes if o is not None]
        result = test.run(valid)
        if verdict != "error":
            verdict = result.verdict
        self._remaining[case.id] = 0
        self._decided += 1
        self._tick()
        k, n = result.successes, result.samples
        return CaseResult(
            id=case.id, suite=case.suite, verdict=verdict, pass_rate=k / n if n else None,
            ci=sequential_interval(test, k, n), confidence=interval_confidence(test), samples=n, successes=k,
            draws=len(outcomes), errors=len(outcomes) - len(valid), llr=result.llr,
            require={"pass_rate": test.pass_rate, "indifference": test.indifference, "alpha": test.alpha,
                     "beta": test.beta, "max_samples": test.max_samples},
            failures=failures, error_details=errors,
            pass_at_k={str(kk): round(v, 4) for kk in KS if (v := pass_at_k(n, k, kk)) is not None},
            pass_hat_k={str(kk): round(v, 4) for kk in KS if (v := pass_hat_k(n, k, kk)) is not None},
            tags=case.tags, source=case.source, prompt=case.prompt[:300],
            ci_fixed_n=clopper_pearson_interval(k, n, case.require.confidence or 0.95),
            rate_unbiased=unbiased_rate(test, k, n) if n else None)


def case_rate(r: CaseResult) -> float | None:
    """The unbiased pass-rate estimate of a case (None without a valid sample)."""
    if r.rate_unbiased is not None or not r.samples:
        return r.rate_unbiased
    q = r.require
    return unbiased_rate(SPRT(q["pass_rate"], q["indifference"], q["alpha"], q["beta"], q["max_samples"]),
                         r.successes, r.samples)


SUITE_METHOD = ("mean over cases of each case's unbiased pass-rate estimate; Clopper–Pearson interval with the "
                "cases as trials (see opentrust.stats.mean_rate_interval)")


def summarize(results: list[CaseResult], confidence: float = 0.95) -> dict[str, Any]:
    """Suite-level figures: verdict counts, mean per-case pass rate with an interval across cases.

    Each case contributes its unbiased rate (opentrust.evals.sequential.unbiased_rate): the observed k/n of a
    case that stopped early is biased low for failing cases, and a suite mean of them inherits the bias.
    ``evidence`` is "insufficient" when the interval is wider than ±0.25 or fewer than two cases have samples
    (opentrust.stats.evidence): reports then say so instead of showing the figure as a result.
    """
    rates = [v for r in results if (v := case_rate(r)) is not None]
    mean, ci = mean_rate_interval(rates, confidence) if rates else (None, None)
    counts = {v: sum(r.verdict == v for r in results) for v in ("pass", "fail", "inconclusive", "error")}
    return {
        "cases": len(results), **counts,
        "pass_rate": None if mean is None else round(mean, 4),
        "ci": None if ci is None else [round(ci[0], 4), round(ci[1], 4)],
        "confidence": confidence,
        "method": SUITE_METHOD,
        "units": len(rates),
        "evidence": evidence(mean, ci, len(rates)),
        "samples": sum(r.draws for r in results),
    }


def summarize_by_suite(results: list[CaseResult]) -> dict[str, dict[str, Any]]:
    suites: dict[str, list[CaseResult]] = {}
    for r in results:
        suites.setdefault(r.suite, []).append(r)
    return {name: summarize(rs) for name, rs in suites.items()}
