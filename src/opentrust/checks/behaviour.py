"""Audit check "behaviour": the built-in suites judged statistically (the `opentrust test` engine).

quick profile: the cases tagged ``quick`` (3 per suite) with at most QUICK_MAX_SAMPLES samples each, so the
audit stays within a couple of minutes on SmolLM2 on 2 cores; standard: every built-in case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentrust.checks.base import Check, CheckContext

if TYPE_CHECKING:
    from opentrust.report.model import Section
    from opentrust.target import Target

QUICK_MAX_SAMPLES = 12
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
                c.require = c.require.model_copy(update={"max_samples": min(c.require.max_samples or 32,
                                                                            QUICK_MAX_SAMPLES)})
        return cases

    def parameters(self, ctx: CheckContext) -> dict[str, Any]:
        cases = self.cases(ctx.profile)
        return {"profile": ctx.profile, "cases": len(cases), "seed": ctx.seed,
                "max_samples": QUICK_MAX_SAMPLES if ctx.profile == "quick" else "per suite",
                "test": "truncated SPRT per case (see opentrust.evals.sequential)"}

    async def run(self, ctx: CheckContext) -> "Section":
        from opentrust.evals.report import section
        from opentrust.evals.testrun import TestRun, run_cases_async

        cases = self.cases(ctx.profile)
        results, stats = await run_cases_async(
            cases, ctx.target, ctx.store, fingerprint=ctx.fingerprint, run_id=ctx.run_id, seed=ctx.seed,
            use_cache=ctx.use_cache, backend=ctx.backend(), progress=ctx.progress)
        run = TestRun(model={"spec": ctx.target.spec, "name": ctx.target.name, "fingerprint": ctx.fingerprint},
                      results=results, stats=stats, run_id=ctx.run_id)
        out = section(run, self.name, self.title, SEVERITY_BY_SUITE)
        out.parameters = self.parameters(ctx)
        return out
