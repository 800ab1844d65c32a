"""Audit check "fairness": `opentrust fairness` on the built-in suite, quick profile in a quick audit.

quick: the counterfactual templates tagged ``quick`` (one per attribute) with 4 seeds per filled variant, and
the BBQ-format items of two templates per category (both context conditions and polarities); standard: the
whole built-in suite. The section shows per attribute the groups' rates with interval bars, the gap with its
simultaneous interval and the verdict (fair / unfair / inconclusive), the paired answers that disagreed most
side by side, and BBQ's accuracy and bias scores with bootstrap intervals per category. An unfair verdict is a
finding (medium); a BBQ ambiguous-context bias score whose interval lies above 0 is a low finding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentrust.checks.base import Check, CheckContext

if TYPE_CHECKING:
    from opentrust.report.model import Section
    from opentrust.target import Target


class FairnessCheck(Check):
    name = "fairness"
    title = "Fairness (counterfactual pairs and BBQ-format QA, paired statistics)"
    order = 65  # after behaviour, before the long red-team campaign

    def skip_reason(self, target: "Target") -> str | None:
        return None if target.can_generate else "no runnable model (needs a GGUF file or an endpoint)"

    def plan(self, profile: str) -> Any:
        from opentrust.fairness.run import FairnessPlan

        return FairnessPlan.build(builtin=True, profile=profile if profile in ("quick", "standard") else "quick")

    def parameters(self, ctx: CheckContext) -> dict[str, Any]:
        return {**self.plan(ctx.profile).parameters(), "seed": ctx.seed}

    async def run(self, ctx: CheckContext) -> "Section":
        from opentrust.fairness.report import section
        from opentrust.fairness.run import run_fairness_async

        plan = self.plan(ctx.profile)
        result = await run_fairness_async(plan, ctx.session, seed=ctx.seed, progress=ctx.progress)
        for f in result.findings:
            f.check = self.name
        out = section(result, self.name, self.title)
        out.parameters = self.parameters(ctx)
        return out
