"""Audit check "redteam": the red-team profile of the audit's name (quick or standard; see
opentrust.redteam.profiles — quick covers harmful requests, jailbreaks, prompt injection and over-refusal).

The Section shows a heat map of attack-success rates (categories × techniques), the per-category rates with
detector-corrected intervals (figures whose interval is wider than ±0.25 are shown as "insufficient evidence"),
where each detector's error figures come from, the worst examples with the detector's reason, and findings
mapped to OWASP LLM Top 10 2025, AILuminate hazards and IBM AI Risk Atlas ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentrust.checks.base import Check, CheckContext

if TYPE_CHECKING:
    from opentrust.report.model import Section
    from opentrust.target import Target


class RedTeamCheck(Check):
    name = "redteam"
    title = "Red teaming (attack-success rates per category and technique)"
    order = 70

    def skip_reason(self, target: "Target") -> str | None:
        return None if target.can_generate else "no runnable model (needs a GGUF file or an endpoint)"

    def plan(self, profile: str) -> Any:
        from opentrust.redteam.plan import Plan
        from opentrust.redteam.catalogue import load_catalogue
        from opentrust.redteam.profiles import get_profile

        # the audit's own profiles are quick and standard; both map to the red-team profile of the same name
        return Plan.from_profile(get_profile(profile if profile in ("quick", "standard") else "quick"),
                                 load_catalogue())

    def parameters(self, ctx: CheckContext) -> dict[str, Any]:
        return {**self.plan(ctx.profile).parameters(), "seed": ctx.seed}

    async def run(self, ctx: CheckContext) -> "Section":
        from opentrust.redteam.campaign import run_campaign_async
        from opentrust.redteam.report import section

        plan = self.plan(ctx.profile)
        result = await run_campaign_async(plan, ctx.session, seed=ctx.seed, progress=ctx.progress)
        result.model = {"spec": ctx.target.spec, "name": ctx.target.name, "fingerprint": ctx.fingerprint}
        from opentrust.redteam.results import findings_for

        result.findings = findings_for(result, self.name, ctx.target.location)
        out = section(result, self.name, self.title)
        out.parameters = self.parameters(ctx)
        return out
