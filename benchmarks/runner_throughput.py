"""Runner throughput against a real OpenAI-compatible llama.cpp server on localhost, and opentrust's own
overhead per sample.

Starts `python -m llama_cpp.server` with SmolLM2 on 127.0.0.1, then:
  * bare client (the peer): the same requests sent one after another with plain httpx, round-robin over
    the cases — no cache, no statistics, no assertions: the floor any tool pays;
  * opentrust's runner at concurrency 1, 2 and 4 (fresh store each, so every sample is generated).
Overhead per sample = (runner wall time - sum of backend latencies) / samples at concurrency 1: everything
opentrust adds (scheduling, assertions, SPRT, the SQLite sample cache, progress) beyond the HTTP request.
The llama.cpp server runs one request at a time, so concurrency cannot raise throughput; it must not lower it.

Run: .venv/bin/python benchmarks/runner_throughput.py [--cases 3] [--samples 12] [--max-tokens 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PROMPTS = ["Name a fruit.", "Name a colour.", "Name an animal.", "Name a country.", "Name a tool.", "Name a city."]


def cases(n_cases: int, samples: int, max_tokens: int) -> list:
    from opentrust.evals.suite import SuiteFile, _expand

    suite = SuiteFile.model_validate({
        "defaults": {"sampling": {"max_tokens": max_tokens},
                     # pass_rate 0.8 ± 0.1 needs `samples` straight passes: a fixed, known number of samples
                     "require": {"pass_rate": 0.8, "indifference": 0.1, "max_samples": samples},
                     "assert": [{"type": "any", "assert": [{"type": "not-refusal"}, {"type": "length", "min": 0}]},
                                {"type": "not-regex", "pattern": r"\bzzqx\b"}]},
        "cases": [{"id": f"c{i}", "prompt": PROMPTS[i % len(PROMPTS)] + f" ({i})"} for i in range(n_cases)]})
    return [spec for c in suite.cases for spec in _expand(c, suite.defaults, "bench", "bench")]


async def bare(base: str, specs: list, samples: int) -> tuple[float, int]:
    import httpx

    from opentrust.backends.base import derive_seed

    n = 0
    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as client:
        # round-robin over cases, as the runner interleaves them (the server's prompt cache then helps
        # neither side; case-by-case order would favour the bare loop with prompt-prefix cache hits)
        for i in range(samples):
            for spec in specs:
                r = await client.post(f"{base}/chat/completions", json={
                    "model": "smollm2", "messages": spec.messages, "temperature": 0.7, "top_p": 0.95,
                    "max_tokens": spec.sampling.max_tokens, "seed": derive_seed(0, i)})
                r.raise_for_status()
                n += 1
    return time.perf_counter() - start, n


def run_level(base: str, specs: list, concurrency: int) -> tuple[float, int, float]:
    from opentrust.evals.testrun import run_cases

    with tempfile.TemporaryDirectory() as tmp:
        run = run_cases(specs, f"openai:{base}#smollm2", db=Path(tmp) / "bench.db", concurrency=concurrency)
    assert all(r.verdict == "pass" for r in run.results), [r.verdict for r in run.results]
    return run.stats.wall_s, run.stats.generated, run.stats.generation_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=3)
    ap.add_argument("--samples", type=int, default=12)
    ap.add_argument("--max-tokens", type=int, default=16)
    args = ap.parse_args()
    from opentrust.target import smollm2_path

    specs = cases(args.cases, args.samples, args.max_tokens)
    from opentrust.backends.local_server import llama_server

    with llama_server(smollm2_path()) as base:
        asyncio.run(bare(base, specs[:1], 2))  # warm-up (first request loads and caches the prompt)
        bare_wall, bare_n = asyncio.run(bare(base, specs, args.samples))
        print(f"llama.cpp server, SmolLM2, {len(specs)} cases x {args.samples} samples, max_tokens {args.max_tokens}, "
              f"{os.cpu_count()} cores (shared machine: absolute numbers vary with load)")
        print(f"{'client':<22} {'gen/s':>7} {'vs bare':>8} {'overhead/sample':>16} {'overhead %':>11}")
        print(f"{'bare httpx (peer)':<22} {bare_n / bare_wall:7.2f} {1.0:8.2f} {'-':>16} {'-':>11}")
        for c in (1, 2, 4):
            wall, n, gen = run_level(base, specs, c)
            line = f"{'opentrust c=' + str(c):<22} {n / wall:7.2f} {(n / wall) / (bare_n / bare_wall):8.2f}"
            if c == 1:
                over = (wall - gen) / n
                line += f" {over * 1000:13.1f} ms {over / (gen / n):10.1%}"
            else:
                line += f" {'-':>16} {'-':>11}"
            print(line)


if __name__ == "__main__":
    main()
