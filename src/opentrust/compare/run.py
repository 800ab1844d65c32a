"""`opentrust compare` end to end: several targets, the same cases and seeds, paired verdicts, cost figures.

1. **Quality, sequentially.** Round ``r`` draws sample ``r`` of every case from every model still needed (each
   through its own ``RunSession`` and the shared sample cache, so what an audit, a test or an earlier comparison
   drew under the same fingerprint, request, seed and provenance is reused, never generated again). After each
   round every unsettled pair is looked at (opentrust.compare.stats, at ``alpha / looks``); a pair whose verdict
   is settled (better, worse, tied; non-inferior only against ``--reference``) is frozen, and a model stops
   drawing once all its pairs are.
2. **Latency and energy** (opentrust.compare.latency): warm-up, idle baseline, randomised blocks.
3. **Memory** (opentrust.compare.memory): GGUF models run in a worker process whose peak RSS is read.
4. **Choice** (opentrust.compare.pareto): the Pareto front and the cheapest model that is good enough.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from opentrust.compare import stats as pstats
from opentrust.errors import UserError

if TYPE_CHECKING:
    from opentrust.backends.base import Backend
    from opentrust.evals.suite import CaseSpec
    from opentrust.session import RunSession

#: verdicts that decide a pair both ways. non_inferior (a >= b - delta) says nothing about b against a, and the
#: reference is the best-quality model, known only at the end; so it settles a pair only against --reference
SETTLED = {"better", "worse", "tied"}
PROFILES = {"quick": {"rounds": 3, "latency_prompts": 6, "repeats": 3},
            "standard": {"rounds": 5, "latency_prompts": 10, "repeats": 5}}


@dataclass
class CompareOptions:
    profile: str = "quick"
    delta: float = 0.05
    alpha: float = 0.05
    power: float = 0.8
    reference: str | None = None
    seed: int = 0
    grid_intensity: float | None = None
    country: str | None = None
    cpu_watts: float | None = None
    use_cache: bool = True
    api_key_env: str | None = None
    rounds: int | None = None  # samples per case at most (default: the profile's)
    latency_prompts: int | None = None
    repeats: int | None = None
    idle_seconds: float | None = None
    #: ready backends by target spec (tests: opentrust.backends.fake); the comparison does not close them
    backends: dict[str, "Backend"] = field(default_factory=dict)

    def validate(self) -> None:
        if self.profile not in PROFILES:
            raise UserError(f"unknown profile {self.profile!r}", "use --profile quick or --profile standard")
        if not 0 < self.delta < 1:
            raise UserError(f"--delta {self.delta:g} is outside (0, 1)", "pass a margin on the pass-rate scale, e.g. 0.05")
        if not 0 < self.alpha < 0.5:
            raise UserError(f"--alpha {self.alpha:g} is outside (0, 0.5)", "pass e.g. --alpha 0.05")
        if not 0.5 <= self.power < 1:
            raise UserError(f"--power {self.power:g} is outside [0.5, 1)", "pass e.g. --power 0.8")
        if self.cpu_watts is not None and not 0 < self.cpu_watts <= 2000:
            raise UserError(f"--cpu-watts {self.cpu_watts:g} is outside (0, 2000]", "pass the CPU's power at full load in watts")
        for name in ("rounds", "latency_prompts", "repeats"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise UserError(f"{name} must be at least 1", "pass a positive number")

    def setting(self, name: str) -> int:
        value = getattr(self, name)
        return int(value if value is not None else PROFILES[self.profile][name])


@dataclass
class Contender:
    """One target in the comparison: its session, backend, sampler and outcomes."""

    spec: str
    session: "RunSession"
    backend: "Backend"
    outcomes: list[list["bool | None"]]
    texts: list[list[str]]
    finish: dict[str, int] = field(default_factory=dict)
    prompt_tokens: list[int | None] = field(default_factory=list)
    owned: bool = True  # the comparison created the backend and closes it
    generated: int = 0
    reused: int = 0
    empty: int = 0


def _backend_for(target: Any, given: "Backend | None") -> "Backend":
    if given is not None:
        return given
    if target.kind in ("gguf", "folder") and target.gguf_path is not None and target.adapter is None:
        from opentrust.compare.memory import WorkerBackend  # (its worker loads no LoRA: adapted targets in-process)

        return WorkerBackend(target.gguf_path, prompt_mode=target.prompt_mode)
    return target.backend()  # type: ignore[no-any-return]


def run_compare(specs: list[str], cases: list["CaseSpec"], options: CompareOptions, *, db: Any = None,
                progress: Callable[[str, int, int], None] | None = None, executor: Any = None) -> dict[str, Any]:
    """Run the whole comparison; returns the result document (opentrust.results.compare.CompareResult's JSON)."""
    from opentrust.session import RunSession
    from opentrust.store import Store
    from opentrust.target import resolve_target

    options.validate()
    if len(specs) < 2:
        raise UserError("compare needs at least two targets", "e.g. opentrust compare smollm2 gemma3-270m")
    if len(set(specs)) != len(specs):
        raise UserError("a target is given twice", "name each target once")
    if options.reference is not None and options.reference not in specs:
        raise UserError(f"--reference {options.reference} is not one of the targets", "pass one of: " + ", ".join(specs))
    if not cases:
        raise UserError("no case to compare on", "pass suite files, --builtin, or no suite for the quick cases")
    from opentrust.compare.energy import EnergyMeter, grid_intensity

    intensity = grid_intensity(options.grid_intensity, options.country)  # bad input fails before any model loads
    meter = EnergyMeter(cpu_watts=options.cpu_watts)
    targets = [resolve_target(s, api_key_env=options.api_key_env) for s in specs]
    progress = progress or (lambda d, c, t: None)
    params = {"profile": options.profile, "delta": options.delta, "alpha": options.alpha, "power": options.power,
              "seed": options.seed, "cases": [c.id for c in cases], "targets": specs}
    start = time.perf_counter()
    with ExitStack() as stack:
        store = stack.enter_context(Store(db))
        contenders = []
        for spec, target in zip(specs, targets):
            backend = _backend_for(target, options.backends.get(spec))
            owned = spec not in options.backends
            if owned:  # a worker process must not outlive a failed comparison
                stack.callback(_close_sync, backend)
            # "as": gemma3-270m and completion:gemma3-270m share a fingerprint, and would otherwise share a run
            # on Ray, quality samples are drawn on the cluster; latency, memory and energy stay measured here
            # (they describe this machine), on the local backend
            quality = backend if executor is None or executor.name == "local" or spec in options.backends \
                else executor.backend(target, None)
            session = stack.enter_context(RunSession(target, "compare", {**params, "as": spec}, store=store,
                                                     backend=quality, use_cache=options.use_cache,
                                                     api_key_env=options.api_key_env))

            contenders.append(Contender(spec, session, backend, [[] for _ in cases], [[] for _ in cases],
                                        owned=owned))
        doc = asyncio.run(_compare(contenders, cases, options, meter, intensity, progress))
        doc["summary"]["wall_s"] = round(time.perf_counter() - start, 1)
        from opentrust.results.compare import CompareResult

        result = CompareResult.model_validate(doc)
        for c in contenders:
            c.session.finish(result)
    return doc


def _close_sync(backend: "Backend") -> None:
    close = getattr(backend, "close", None)
    if close is not None:
        close()


async def _compare(contenders: list[Contender], cases: list["CaseSpec"], options: CompareOptions, meter: Any,
                   intensity: tuple[float | None, str], progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    from opentrust.compare import latency, pareto
    from opentrust.evals.runner import JudgePool, Runner

    try:
        rounds = options.setting("rounds")
        looks = rounds
        alpha_look = options.alpha / looks
        confidence = 1 - alpha_look
        samplers = {c.spec: c.session.sampler() for c in contenders}
        runner = Runner(samplers[contenders[0].spec], seed=options.seed)  # the same requests for every model
        requests = [runner.request_for(case) for case in cases]
        pairs = _pairs([c.spec for c in contenders], options.reference)
        frozen: dict[tuple[int, int], pstats.PairStats] = {}
        decisions: dict[tuple[int, int], tuple[Any, ...]] = {}
        settled_at: dict[str, int] = {}
        judges = {c.spec: JudgePool(c.session, None, api_key_env=options.api_key_env) for c in contenders}
        total = rounds * len(cases) * len(contenders)
        done = 0
        current: list[pstats.PairStats] = []
        used_rounds = 0
        for rnd in range(rounds):
            active = {i for (i, j) in pairs if (i, j) not in frozen} | {j for (i, j) in pairs if (i, j) not in frozen}
            if not active:
                break
            used_rounds = rnd + 1
            for idx, c in enumerate(contenders):
                if idx not in active:
                    continue
                await _draw_round(c, samplers[c.spec], judges[c.spec], cases, requests, rnd)
                done += len(cases)
                progress(f"quality: round {rnd + 1}/{rounds}", done, total)
            current = []
            for key in pairs:
                if key in frozen:
                    current.append(frozen[key])
                    continue
                i, j = key
                current.append(pstats.compare_outcomes(contenders[i].outcomes, contenders[j].outcomes,
                                                       confidence, options.delta, seed=options.seed))
            pstats.decide(current, alpha_look, options.delta, options.power)
            for key, s in zip(pairs, current):
                if key in frozen:  # a settled pair keeps the verdict it was settled with
                    s.verdict, s.p_adjusted, s.samples_needed, s.reason = decisions[key]
                elif s.verdict in SETTLED or (s.verdict == "non_inferior" and options.reference is not None
                                              and contenders[key[1]].spec == options.reference):
                    frozen[key] = s
                    decisions[key] = (s.verdict, s.p_adjusted, s.samples_needed, s.reason)
                    settled_at[f"{contenders[key[0]].spec} vs {contenders[key[1]].spec}"] = rnd + 1
        # -- latency and energy ----------------------------------------------------------------------------
        n_lat = min(options.setting("latency_prompts"), len(cases))
        chosen = _spread(len(cases), n_lat)
        lat_requests = [requests[k] for k in chosen]
        timings = await latency.measure(
            [(c.spec, c.backend) for c in contenders], lat_requests, meter, repeats=options.setting("repeats"),
            seed=options.seed, prompt_tokens={c.spec: [c.prompt_tokens[k] for k in chosen] for c in contenders},
            idle_seconds=options.idle_seconds, progress=progress)
        models = [_model_block(c, cases, timings[c.spec], meter, intensity, confidence=0.95) for c in contenders]
        pair_docs = []
        for (i, j), s in zip(pairs, current):
            d = s.to_json()
            d.update(a=contenders[i].spec, b=contenders[j].spec,
                     settled_at_round=settled_at.get(f"{contenders[i].spec} vs {contenders[j].spec}"),
                     latency_ratio=latency.paired_ratios(timings[contenders[i].spec], timings[contenders[j].spec]))
            d["reverse_verdict"] = pstats.verdict(None if s.diff is None else -s.diff,
                                                  None if s.ci is None else (-s.ci[1], -s.ci[0]), s.p_adjusted,
                                                  alpha_look, options.delta)
            pair_docs.append(d)
        choice = pareto.choose(models, pair_docs, options.reference, options.delta)
        generated = sum(c.generated for c in contenders)
        reused = sum(c.reused for c in contenders)
        from opentrust.results.compare import SCHEMA_VERSION

        return {
            "schema_version": SCHEMA_VERSION, "kind": "compare",
            "run_ids": {c.spec: c.session.run_id for c in contenders},
            "parameters": {
                "profile": options.profile, "delta": options.delta, "alpha": options.alpha, "power": options.power,
                "reference": options.reference, "seed": options.seed, "cases": len(cases),
                "suites": sorted({c.suite for c in cases}), "max_samples_per_case": rounds, "looks": looks,
                "alpha_per_look": alpha_look, "confidence": confidence,
                "latency": {"prompts": len(lat_requests), "repeats": options.setting("repeats"),
                            "max_tokens": latency.MAX_TOKENS, "idle_power_w": meter.idle_w},
                "grid_intensity": options.grid_intensity, "country": options.country, "cpu_watts": options.cpu_watts,
                "use_cache": options.use_cache, "method": pstats.METHOD},
            "models": models,
            "pairs": pair_docs,
            "pareto": choice["pareto"],
            "pareto_cost": choice["cost"],
            "recommendation": choice["recommendation"],
            "cases": _case_rows(contenders, cases),
            "summary": {"generated": generated, "reused": reused, "rounds_used": used_rounds,
                        "settled_at_round": settled_at, "wall_s": 0.0,
                        "energy_source": meter.source, "energy_method": meter.formula},
        }
    finally:
        for c in contenders:
            await c.session.aclose()
            if c.owned:  # on the loop that opened it (HTTP clients belong to their loop)
                await c.backend.aclose()


async def _draw_round(c: Contender, sampler: Any, judge: Any, cases: list["CaseSpec"], requests: list[Any],
                      rnd: int) -> None:
    from opentrust.evals.assertions import EvalContext, evaluate_all

    async def one(k: int) -> None:
        case = cases[k]
        done = (await sampler.samples(requests[k], 1, start=rnd))[0]
        if done.cached:
            c.reused += 1
        else:
            c.generated += 1
        if not done.text.strip():
            c.empty += 1
        c.finish[done.finish_reason or "unknown"] = c.finish.get(done.finish_reason or "unknown", 0) + 1
        if rnd == 0:
            c.prompt_tokens[k] = done.prompt_tokens
        ctx = EvalContext(prompt=case.prompt, case_id=case.id, vars=case.vars, judge=judge)
        outcome = await evaluate_all(case.assertions, done.text, ctx)
        c.outcomes[k].append(outcome.passed)
        c.texts[k].append(done.text)

    if not c.prompt_tokens:
        c.prompt_tokens = [None] * len(cases)
    await asyncio.gather(*(one(k) for k in range(len(cases))))


def _pairs(specs: list[str], reference: str | None) -> list[tuple[int, int]]:
    """Every unordered pair once, as (candidate, reference) when one of them is the reference."""
    out = []
    for i in range(len(specs)):
        for j in range(i + 1, len(specs)):
            out.append((j, i) if reference is not None and specs[i] == reference else (i, j))
    return out


def _spread(n: int, k: int) -> list[int]:
    """k indices spread evenly over range(n) (the latency prompts: a cross-section of the cases)."""
    if k >= n:
        return list(range(n))
    return sorted({round(i * (n - 1) / max(1, k - 1)) for i in range(k)})


def _model_block(c: Contender, cases: list["CaseSpec"], timing: Any, meter: Any, intensity: tuple[float | None, str],
                 confidence: float) -> dict[str, Any]:
    from opentrust.compare import latency
    from opentrust.stats import evidence, mean_rate_interval

    rates = [sum(bool(o) for o in valid) / len(valid) for outs in c.outcomes if (valid := [o for o in outs if o is not None])]
    mean, ci = mean_rate_interval(rates, confidence) if rates else (None, None)
    samples = sum(len(o) for o in c.outcomes)
    target = c.session.target
    facts = _facts(target)
    energy = latency.energy_block(timing, meter, confidence)
    g, source = intensity
    co2: dict[str, Any]
    if energy["wh_per_1k"] is None:
        co2 = {"g_per_1k": None, "ci": None, "intensity_g_per_kwh": g,
               "source": "unavailable: no energy figure" + (f"; intensity from {source}" if g is not None else "")}
    elif g is None:
        co2 = {"g_per_1k": None, "ci": None, "intensity_g_per_kwh": None, "source": source}
    else:
        ci_e = energy["ci"]
        co2 = {"g_per_1k": round(energy["wh_per_1k"] / 1000 * g, 6),
               "ci": None if ci_e is None else [round(ci_e[0] / 1000 * g, 6), round(ci_e[1] / 1000 * g, 6)],
               "intensity_g_per_kwh": g, "source": source}
    peak = c.backend.peak_rss_mb() if hasattr(c.backend, "peak_rss_mb") else None
    memory = {"peak_rss_mb": peak,
              "source": "VmHWM of the model's worker process" if peak is not None else
              "unavailable: the model does not run in a worker process of opentrust's (an endpoint's server or a "
              "plugin backend)"}
    return {
        "target": c.spec, "name": target.name, "kind": target.kind, "fingerprint": c.session.fingerprint,
        "backend": c.backend.name, "prompt_mode": target.prompt_mode, **facts,
        "quality": {"mean": None if mean is None else round(mean, 4),
                    "ci": None if ci is None else [round(ci[0], 4), round(ci[1], 4)],
                    "confidence": confidence, "cases": len(rates), "samples": samples,
                    "generated": c.generated, "reused": c.reused, "empty_answers": c.empty,
                    "finish_reasons": dict(sorted(c.finish.items())),
                    "evidence": evidence(mean, ci, len(rates)),
                    "method": "mean over cases of each case's pass rate; Clopper-Pearson interval with the cases as "
                              "trials (opentrust.stats.mean_rate_interval)"},
        "latency": latency.summarize(timing, 0.95, seed=0),
        "memory": memory, "energy": energy, "co2": co2,
    }


def _facts(target: Any) -> dict[str, Any]:
    """Parameters, file size and quantization from the GGUF; what an endpoint's server reports otherwise."""
    out: dict[str, Any] = {"params": None, "file_bytes": None, "quantization": None, "chat_template": None}
    path = target.gguf_path
    if path is not None:
        from opentrust.formats.gguf import read_gguf

        g = read_gguf(path)
        out.update(params=g.parameter_count, file_bytes=g.file_size, quantization=g.file_type_name,
                   chat_template=isinstance(g.get("tokenizer.chat_template"), str))
    elif target.kind == "endpoint":
        try:
            meta = (target.identity().get("model") or {}).get("listing", {}).get("meta") or {}
        except Exception:  # the server's word is optional
            meta = {}
        out.update(params=meta.get("n_params"), file_bytes=meta.get("size"))
    return out


def _case_rows(contenders: list[Contender], cases: list["CaseSpec"]) -> list[dict[str, Any]]:
    rows = []
    for k, case in enumerate(cases):
        rates: dict[str, float | None] = {}
        for c in contenders:
            valid = [o for o in c.outcomes[k] if o is not None]
            rates[c.spec] = round(sum(bool(o) for o in valid) / len(valid), 4) if valid else None
        known = [v for v in rates.values() if v is not None]
        rows.append({"id": case.id, "suite": case.suite, "prompt": case.prompt[:300], "rates": rates,
                     "samples": {c.spec: len(c.outcomes[k]) for c in contenders},
                     "spread": round(max(known) - min(known), 4) if known else None,
                     "answers": {c.spec: (c.texts[k][0][:200] if c.texts[k] else None) for c in contenders}})
    return rows
