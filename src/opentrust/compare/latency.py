"""Latency, HELM-style, and energy per query: every model streams the same prompts, in randomised blocks.

Design (HELM's efficiency metrics, Liang et al. 2022, §4.9, measured rather than estimated):

* every model is warmed up first (one untimed streamed answer: loading and paging the weights in is not
  generation), then the machine's idle power is measured (opentrust.compare.energy);
* ``repeats`` rounds; in each, the models run in an order drawn at random (seeded), and each model streams every
  latency prompt in a block (prompt order also shuffled), so drift in the machine's load (2 cores shared with
  other work here) falls on all models alike instead of on whichever ran last;
* per answer: **time to first token** (TTFT: prompt processing plus the first token), **prefill tokens/s** =
  prompt tokens / TTFT, **decode tokens/s** = (streamed tokens − 1) / (total time − TTFT);
* per model: TTFT p50 and p95 and the medians of prefill and decode speed, each with a percentile bootstrap
  interval over answers; pairs of models are compared on paired log-ratios (same prompt, same round);
* energy: the sensors are read around each block; each block gives one Wh per 1,000 queries (idle power
  subtracted when measured) and the interval is across rounds.

Latency answers are generated fresh every time and never cached (a cached answer has no timing of this run);
they use each case's own request with ``max_tokens`` capped at ``MAX_TOKENS``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from opentrust.backends.base import GenerationRequest
from opentrust.stats import evidence, mean_interval

if TYPE_CHECKING:
    from opentrust.backends.base import Backend, Completion
    from opentrust.compare.energy import EnergyMeter

MAX_TOKENS = 48
BOOTSTRAP = 2000


@dataclass
class Timed:
    prompt: int
    round: int
    ttft_s: float | None
    total_s: float
    tokens: int
    prompt_tokens: int | None

    @property
    def prefill_tok_s(self) -> float | None:
        if self.ttft_s and self.prompt_tokens:
            return self.prompt_tokens / self.ttft_s
        return None

    @property
    def decode_tok_s(self) -> float | None:
        if self.ttft_s is not None and self.tokens >= 2 and self.total_s > self.ttft_s:
            return (self.tokens - 1) / (self.total_s - self.ttft_s)
        return None


@dataclass
class ModelTimings:
    label: str
    answers: list[Timed] = field(default_factory=list)
    blocks_wh_per_1k: list[float] = field(default_factory=list)
    unavailable: str | None = None  # why there are no timings (a backend that cannot stream)


def _quantile_ci(values: list[float], q: float, confidence: float, rng: random.Random) -> tuple[float, list[float] | None]:
    import numpy as np

    arr = np.asarray(values, dtype=float)
    point = float(np.quantile(arr, q))
    if len(arr) < 2:
        return point, None
    gen = np.random.default_rng(rng.randrange(2 ** 32))
    boots = np.quantile(arr[gen.integers(0, len(arr), size=(BOOTSTRAP, len(arr)))], q, axis=1)
    tail = (1 - confidence) / 2
    return point, [float(np.quantile(boots, tail)), float(np.quantile(boots, 1 - tail))]


def summarize(t: ModelTimings, confidence: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """The ``latency`` block of a model (seconds and tokens/s; ``ci``: intervals by figure)."""
    rng = random.Random(seed)
    ttft = [a.ttft_s for a in t.answers if a.ttft_s is not None]
    prefill = [v for a in t.answers if (v := a.prefill_tok_s)]
    decode = [v for a in t.answers if (v := a.decode_tok_s)]
    out: dict[str, Any] = {"ttft_p50": None, "ttft_p95": None, "prefill_tok_s": None, "decode_tok_s": None,
                           "ci": {}, "answers": len(t.answers), "timed": len(ttft),
                           "no_token": sum(a.ttft_s is None for a in t.answers), "evidence": {}}
    if t.unavailable:
        out["unavailable"] = t.unavailable
    for name, values, q in (("ttft_p50", ttft, 0.5), ("ttft_p95", ttft, 0.95), ("prefill_tok_s", prefill, 0.5),
                            ("decode_tok_s", decode, 0.5)):
        if not values:
            continue
        point, ci = _quantile_ci(values, q, confidence, rng)
        digits = 4 if name.startswith("ttft") else 1
        out[name] = round(point, digits)
        out["ci"][name] = None if ci is None else [round(ci[0], digits), round(ci[1], digits)]
        unit = "s" if name.startswith("ttft") else "tokens/s"
        out["evidence"][name] = evidence(point, ci, len(values), unit=unit)
    return out


def energy_block(t: ModelTimings, meter: "EnergyMeter", confidence: float = 0.95) -> dict[str, Any]:
    """The ``energy`` block: Wh per 1,000 queries, mean over rounds with a Student-t interval."""
    source = meter.source
    if source == "estimated:cpu-watts" and not t.blocks_wh_per_1k:
        source = "unavailable"
    if not t.blocks_wh_per_1k or source == "unavailable":
        why = meter.formula if meter.source == "unavailable" else (
            "the model runs in a process opentrust cannot see (an endpoint): its CPU time is unknown"
            if meter.source == "estimated:cpu-watts" else t.unavailable or "no block was measured")
        return {"wh_per_1k": None, "ci": None, "source": "unavailable", "method": why, "blocks": 0}
    mean, ci = mean_interval(t.blocks_wh_per_1k, confidence)
    return {"wh_per_1k": round(mean, 6), "ci": None if ci is None else [round(max(0.0, ci[0]), 6), round(ci[1], 6)],
            "source": source, "method": meter.formula, "blocks": len(t.blocks_wh_per_1k)}


async def measure(models: list[tuple[str, "Backend"]], requests: list[GenerationRequest], meter: "EnergyMeter",
                  *, repeats: int = 3, seed: int = 0, prompt_tokens: dict[str, list[int | None]] | None = None,
                  idle_seconds: float | None = None, progress: Callable[[str, int, int], None] | None = None,
                  ) -> dict[str, ModelTimings]:
    """Warm up, measure idle power, then ``repeats`` randomised rounds of one block per model."""
    from opentrust.compare.energy import IDLE_SECONDS

    progress = progress or (lambda d, c, t: None)
    rng = random.Random(seed)
    capped = [r.model_copy(update={"max_tokens": min(r.max_tokens, MAX_TOKENS)}) for r in requests]
    timings = {label: ModelTimings(label) for label, _ in models}
    live: list[tuple[str, "Backend"]] = []
    for label, backend in models:
        try:
            if hasattr(backend, "load"):
                await backend.load()
            await backend.stream(capped[0])  # warm-up, untimed
            live.append((label, backend))
        except NotImplementedError as exc:
            timings[label].unavailable = str(exc)
    meter.measure_idle(IDLE_SECONDS if idle_seconds is None else idle_seconds)
    total = repeats * len(live) * len(capped)
    done = 0
    for rnd in range(repeats):
        order = list(live)
        rng.shuffle(order)
        for label, backend in order:
            prompts = list(range(len(capped)))
            rng.shuffle(prompts)
            cpu = getattr(backend, "cpu_seconds", None)
            before = meter.read(cpu)
            for i in prompts:
                c: "Completion" = await backend.stream(capped[i], seed=capped[i].seed)
                known = (prompt_tokens or {}).get(label)
                tokens_in = known[i] if known and known[i] else c.prompt_tokens
                timings[label].answers.append(Timed(i, rnd, c.ttft_s, c.latency_s, c.completion_tokens or 0, tokens_in))
                done += 1
                progress(f"latency: round {rnd + 1}/{repeats}", done, total)
            after = meter.read(cpu)
            joules = meter.joules(before, after)
            if joules is not None and not math.isnan(joules):
                from opentrust.compare.energy import wh_per_1k

                timings[label].blocks_wh_per_1k.append(wh_per_1k(joules, len(prompts)))
    return timings


def paired_ratios(a: ModelTimings, b: ModelTimings, confidence: float = 0.95) -> dict[str, Any]:
    """a/b as geometric-mean ratios of paired answers (same prompt, same round): TTFT and decode speed."""
    from opentrust.compare.stats import log_ratio

    ka = {(x.prompt, x.round): x for x in a.answers}
    kb = {(x.prompt, x.round): x for x in b.answers}
    keys = sorted(set(ka) & set(kb))
    return {"ttft": log_ratio([ka[k].ttft_s for k in keys], [kb[k].ttft_s for k in keys], confidence),
            "decode_tok_s": log_ratio([ka[k].decode_tok_s for k in keys], [kb[k].decode_tok_s for k in keys],
                                      confidence)}
