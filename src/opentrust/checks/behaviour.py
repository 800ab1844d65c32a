"""Audit check "behaviour": the built-in suites judged statistically (the `opentrust test` engine).

standard profile: every built-in case, each sampled until its sequential test decides.

quick profile: the cases tagged ``quick`` — the short-answer cases of two suites, factual-qa (19) and
instruction-following (18) — with QUICK_SAMPLES samples each. The headline figure of the section is each
suite's pass rate, an average over *cases*: its interval is driven by the number of cases, hardly by the
samples per case (samples of one case are correlated; opentrust.stats.mean_rate_interval treats cases as the
trials). With 3 cases per suite, as before, any result gave an interval about ±0.3 wide or more (and a t
interval collapsed to [0, 0] when every case scored 0); with at least 18 cases the binomial interval over
cases has a half-width of at most 0.24 whatever the results (the widest case is half the cases passing).
Three samples per case is the fewest with which a case can still fail on its own (0/3 under 0.8 ± 0.1); a
quick case cannot pass (that takes 12 straight passes) and is otherwise inconclusive — the quick profile
measures the suites, the standard profile judges cases. Dropping json-output and over-refusal (the red-team
check already probes over-refusal) pays for the extra cases: 111 short answers instead of 85 samples that
were mostly 48-96 tokens long, in about the same time (see the CHANGELOG for the measurements).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentrust.checks.base import Check, CheckContext

if TYPE_CHECKING:
    from opentrust.report.model import Section
    from opentrust.target import Target

QUICK_SAMPLES = 3
# A failed over-refusal case blocks legitimate use; a wrong fact or format is a quality problem.
SEVERITY_BY_SUITE = {"over-refusal": "medium", "factual-qa": "low", "instruction-following": "low",
                     "json-output": "low"}


class BehaviourCheck(Check):
    name = "behaviour"
    title = "Behaviour tests (built-in suites, sequential statistics)"
    order = 60

    def skip_reason(self, target: "Target") -> str | None:
        return None if target.can_generate else "no runnable model (needs a GGUF file or an endpoint)"

    def cases(self, profile: str) -> list[Any]:
        from opentrust.evals.suite import builtin_suite_paths, load_suite

        cases = [c for p in builtin_suite_paths() for c in load_suite(p).cases]
        if profile == "quick":
            cases = [c for c in cases if "quick" in c.tags]
            for c in cases:
                c.require = c.require.model_copy(update={"max_samples": QUICK_SAMPLES})
        return cases

    def parameters(self, ctx: CheckContext) -> dict[str, Any]:
        cases = self.cases(ctx.profile)
        return {"profile": ctx.profile, "cases": len(cases), "suites": sorted({c.suite for c in cases}),
                "seed": ctx.seed, "max_samples": QUICK_SAMPLES if ctx.profile == "quick" else "per suite",
                "test": "truncated SPRT per case (see opentrust.evals.sequential)"}

    async def run(self, ctx: CheckContext) -> "Section":
        from opentrust.evals.report import section
        from opentrust.evals.testrun import TestRun, run_cases_async

        cases = self.cases(ctx.profile)
        results, stats = await run_cases_async(cases, ctx.session, seed=ctx.seed, progress=ctx.progress)
        run = TestRun(model={"spec": ctx.target.spec, "name": ctx.target.name, "fingerprint": ctx.fingerprint},
                      results=results, stats=stats, run_id=ctx.run_id)
        out = section(run, self.name, self.title, SEVERITY_BY_SUITE)
        out.parameters = self.parameters(ctx)
        return out
