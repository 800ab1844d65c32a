"""Smoke behaviour check: a handful of everyday prompts, a few independent samples each.

It answers "does this model load, answer, and how fast?" — answers, latency and tokens per second — and
flags a model that returns nothing. Statistical suites (`opentrust test`) are where pass rates are judged.

Sample counts: the headline figures are the expected-answer rate and the generation speed. The rate is over
these five fixed prompts (a Wilson interval over all answers; with the prompts fixed rather than drawn from a
population, pooling them is conservative), and with 2 samples per prompt its interval was up to ±0.28 wide;
3 per prompt (15 answers) keep it within ±0.23 whatever the answers. Every figure carries an evidence flag
(opentrust.stats.evidence): one whose interval decides nothing is reported as "insufficient evidence".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opentrust.checks.base import Check, CheckContext
from opentrust.findings import Finding, Measurement, Severity

if TYPE_CHECKING:
    from opentrust.report.model import Section
    from opentrust.target import Target

# (id, prompt, regex an acceptable answer matches — shown as a hint, not judged statistically here)
PROMPTS: list[tuple[str, str, str]] = [
    ("capital", "What is the capital of France? Answer in one sentence.", r"\bparis\b"),
    ("arithmetic", "What is 2 + 3? Reply with the number only.", r"\b5\b|\bfive\b"),
    ("colours", "Name the three primary colours of paint.", r"\bred\b.*\b(blue|yellow)\b|\b(blue|yellow)\b.*\bred\b"),
    ("translate", "Translate 'good morning' into Spanish.", r"buen[oa]s?\s+d[ií]as"),
    ("haiku", "Write a short haiku about the sea.", r"\w+"),
]
PROFILES = {"quick": {"samples": 3, "max_tokens": 48}, "standard": {"samples": 5, "max_tokens": 64}}


class SmokeCheck(Check):
    name = "smoke"
    title = "Smoke behaviour check"
    order = 50

    def skip_reason(self, target: "Target") -> str | None:
        return None if target.can_generate else "no runnable model (needs a GGUF file or an endpoint)"

    def parameters(self, ctx: CheckContext) -> dict[str, object]:
        p = PROFILES[ctx.profile]
        return {"profile": ctx.profile, "prompts": len(PROMPTS), "samples_per_prompt": p["samples"],
                "max_tokens": p["max_tokens"], "temperature": 0.7, "top_p": 0.95, "seed": ctx.seed,
                "warm_up": "one untimed 1-token generation before fresh samples"}

    async def run(self, ctx: CheckContext) -> "Section":
        from opentrust.backends.base import GenerationRequest
        from opentrust.report.model import Bar, BarChart, Section, Table
        from opentrust.stats import evidence, mean_interval, ratio_interval, wilson_interval

        params = PROFILES[ctx.profile]
        n = params["samples"]
        total = n * len(PROMPTS)
        done = 0

        def tick(_completion: object) -> None:
            nonlocal done
            done += 1
            ctx.progress("smoke: sampling", done, total)

        ctx.progress("smoke: loading model", 0, total)
        sampler = ctx.sampler(on_sample=tick)
        requests = [GenerationRequest.chat(prompt, temperature=0.7, top_p=0.95, max_tokens=params["max_tokens"],
                                           seed=ctx.seed) for _, prompt, _ in PROMPTS]
        if any(not sampler.cached(r, i) for r in requests for i in range(n)):
            # One untimed, uncached generation first: the first answers after loading paid for paging the
            # weights in (5.6 s for 9 tokens, then ~1 s), which is loading, not generation speed.
            await ctx.backend().generate(GenerationRequest.chat("Hello", temperature=0.0, max_tokens=1, seed=ctx.seed))
        results = await sampler.many([(r, n) for r in requests])

        # Timings come from samples generated now only: a cached sample's latency was measured in another run,
        # perhaps on another machine or under another load, and must not pass for a measurement of this one.
        rows, bars, tps_all, latencies = [], [], [], []
        matched = answered = 0
        for (pid, prompt, pattern), completions in zip(PROMPTS, results):
            fresh = [c for c in completions if not c.cached]
            tps = [c.tokens_per_second for c in fresh if c.tokens_per_second]
            tps_all.extend(tps)
            latencies.extend(c.latency_s for c in fresh)
            for i, c in enumerate(completions):
                ok = bool(re.search(pattern, c.text, re.IGNORECASE | re.DOTALL))
                matched += ok
                answered += bool(c.text.strip())
                rows.append([pid, i, c.text.strip()[:300], c.completion_tokens, round(c.latency_s, 3),
                             round(c.tokens_per_second, 1) if c.tokens_per_second else None,
                             "yes" if ok else "no", "cache" if c.cached else "new"])
            mean_tps, ci = mean_interval(tps)
            if tps:  # the observed mean; a whisker only where the interval says something
                enough = evidence(mean_tps, ci, len(tps), unit="tokens/s") == "sufficient"
                bars.append(Bar(label=pid, value=round(mean_tps, 1), interval=ci if enough else None,
                                note=f"n={len(tps)}" + ("" if enough else ", insufficient evidence for an interval")))

        findings: list[Finding] = []
        if answered == 0:
            findings.append(Finding(
                rule_id="OT-SMOKE-NO-ANSWER", severity=Severity.high, check=self.name,
                title="The model returned no text at all",
                message=f"All {total} smoke samples were empty.",
                remedy="Check the chat template and the backend; the model may be broken or misconfigured."))
        elif answered < total:
            findings.append(Finding(
                rule_id="OT-SMOKE-EMPTY-ANSWERS", severity=Severity.low, check=self.name,
                title="Some answers were empty", message=f"{total - answered} of {total} samples were empty."))

        # Throughput = all tokens / all generation time (a mean of per-answer ratios would overweight
        # short answers, whose time is mostly prompt processing).
        flat = [c for completions in results for c in completions]
        reused = sum(c.cached for c in flat)
        timed = [c for c in flat if c.latency_s > 0 and not c.cached]
        throughput, tput_ci = ratio_interval([float(c.completion_tokens or 0) for c in timed],
                                             [c.latency_s for c in timed])
        throughput = throughput if timed and throughput > 0 else None
        mean_tps, tps_ci = mean_interval(tps_all)
        mean_lat, lat_ci = mean_interval(latencies)
        fresh_note = f"; {len(timed)} fresh of {total} answers ({reused} reused from the cache are not timed)" \
            if reused else ""
        match_ci = wilson_interval(matched, total)
        measurements = [
            Measurement(name="smoke.tokens_per_second", value=round(throughput, 2) if throughput else None,
                        unit="tokens/s", n=len(timed), interval=_round(tput_ci) if throughput else None,
                        confidence=0.95 if throughput and tput_ci else None,
                        method="total completion tokens / total generation time (prompt processing included); "
                        "ratio-estimator Student-t interval over answers generated in this run" + fresh_note,
                        evidence=evidence(throughput, tput_ci, len(timed), unit="tokens/s"),
                        label="Generation speed"),
            Measurement(name="smoke.tokens_per_second_per_answer", value=round(mean_tps, 2) if tps_all else None,
                        unit="tokens/s", n=len(tps_all), interval=_round(tps_ci), confidence=0.95 if tps_ci else None,
                        method="mean of completion_tokens/latency per answer generated in this run, Student-t "
                        "interval" + fresh_note,
                        evidence=evidence(mean_tps if tps_all else None, tps_ci, len(tps_all), unit="tokens/s"),
                        label="Speed per answer"),
            Measurement(name="smoke.latency_s", value=round(mean_lat, 3) if latencies else None, unit="s",
                        n=len(latencies), interval=_round(lat_ci, 3), confidence=0.95 if lat_ci else None,
                        method="mean wall time per completion generated in this run, Student-t interval" + fresh_note,
                        evidence=evidence(mean_lat if latencies else None, lat_ci, len(latencies), unit="s"),
                        label="Latency per answer"),
            Measurement(name="smoke.expected_answer_rate", value=round(matched / total, 3), unit="ratio", n=total,
                        interval=_round(match_ci, 3), confidence=0.95,
                        method="Wilson score interval over all answers (the rate on these five prompts)",
                        evidence=evidence(matched / total, match_ci, total), label="Answers matching the expected pattern"),
            Measurement(name="smoke.samples_reused", value=float(reused), unit="samples", n=total,
                        label="Samples reused from the cache (not timed)"),
        ]
        rate_m, speed_m = measurements[3], measurements[0]
        rate = (f"expected-answer rate: insufficient evidence ({total} answers)"
                if rate_m.evidence == "insufficient" else
                f"expected-answer rate {matched / total:.2f} [{match_ci[0]:.2f}, {match_ci[1]:.2f}] ({matched}/{total})")
        speed = ("; generation speed: not measured (every answer came from the cache)" if not timed else
                 "" if throughput is None else
                 f"; generation speed: insufficient evidence ({len(timed)} answers)"
                 if speed_m.evidence == "insufficient" or tput_ci is None else
                 f"; {throughput:.1f} tokens/s [{tput_ci[0]:.1f}, {tput_ci[1]:.1f}]")
        summary = (f"{answered}/{total} answered; {rate}{speed} ({total - reused} generated, "
                   f"{reused} from cache).")
        chart_title = ("Tokens per second by prompt (observed mean; 95% interval where the evidence suffices, "
                       "i.e. half-width at most 50% of the mean)")
        return Section(
            check=self.name, title=self.title, status="findings" if findings else "ok", summary=summary,
            findings=findings, measurements=measurements, parameters=self.parameters(ctx),
            tables=[Table(title="Answers", columns=["prompt", "sample", "answer", "tokens", "latency (s)",
                                                     "tokens/s", "expected", "source"], rows=rows)],
            charts=[BarChart(title=chart_title, unit="tokens/s", bars=bars)],
            data={"prompts": [{"id": p, "prompt": t, "expected_pattern": r} for p, t, r in PROMPTS],
                  "backend": ctx.backend().describe()},
        )


def _round(ci: tuple[float, float] | None, digits: int = 2) -> tuple[float, float] | None:
    return (round(ci[0], digits), round(ci[1], digits)) if ci else None
