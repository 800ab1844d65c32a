"""Red-team throughput: opentrust vs garak vs promptfoo, the same prompts to the same local llama.cpp server.

Starts `python -m llama_cpp.server` with SmolLM2 on 127.0.0.1 and sends the same user prompts (the first
--probes single-turn base probes of the quick profile), --samples times each, --max-tokens, temperature 0.7:

* opentrust: `run_campaign` (the real pipeline: engine runner, SQLite sample cache, detectors, sequential
  stopping) against `openai:<server>#smollm2`, fresh store. Sequential stopping means it may generate fewer
  than probes × samples: its wall time is time-to-verdict, its generations/s is the per-generation cost.
* garak (pinned 0.17.1, venv /work/bench-venvs/garak): its OpenAICompatible generator (garak.generators.openai),
  called with generations_this_call = samples per prompt — garak's generation layer only (no probe/detector
  harness, which needs garak's own probe classes).
* promptfoo (pinned 0.118.0, npm in /work/bench-venvs/promptfoo; the last line of releases that runs on Node 20):
  `promptfoo eval` with the openai:chat provider at apiBaseUrl = the server, --repeat samples, no cache,
  telemetry off — its whole CLI (start-up included).

A peer that is not installed or fails is reported and skipped. The server handles one request at a time,
so every tool runs with concurrency 1.

Run: .venv/bin/python benchmarks/redteam_peers.py [--probes 8] [--samples 3] [--max-tokens 32]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

GARAK_PY = Path("/work/bench-venvs/garak/bin/python")
PROMPTFOO = Path("/work/bench-venvs/promptfoo/node_modules/.bin/promptfoo")

GARAK_DRIVER = r"""
import json, sys, time
from garak import _config
_config.load_base_config()
from garak.attempt import Conversation, Message, Turn
from garak.generators.openai import OpenAICompatible
base, max_tokens, samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
prompts = json.load(sys.stdin)
_config.plugins.generators.setdefault("openai", {})["OpenAICompatible"] = {
    "uri": base, "max_tokens": max_tokens, "temperature": 0.7, "top_p": 0.95, "stop": [],
    "api_key": "unused", "parallel_requests": False}
t0 = time.perf_counter()
gen = OpenAICompatible(name="smollm2")
n = 0
for p in prompts:
    outs = gen.generate(Conversation([Turn("user", Message(p))]), generations_this_call=samples)
    n += sum(o is not None for o in outs)
print(json.dumps({"generations": n, "wall_s": time.perf_counter() - t0}))
"""


def pick_probes(k: int) -> list:
    from opentrust.redteam.catalogue import load_catalogue
    from opentrust.redteam.profiles import PROFILES, select

    probes = [p for p in select(load_catalogue(), PROFILES["quick"], mutators=[])
              if all(m.role == "user" for m in p.messages) and len(p.messages) == 1]
    # spread over categories: round robin
    by_cat: dict[str, list] = {}
    for p in probes:
        by_cat.setdefault(p.category, []).append(p)
    out = []
    while len(out) < k and any(by_cat.values()):
        for c in sorted(by_cat):
            if by_cat[c] and len(out) < k:
                out.append(by_cat[c].pop(0))
    return out


def run_opentrust(base: str, probes: list, samples: int, max_tokens: int) -> dict:
    from opentrust.redteam.campaign import Plan, run_campaign

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        res = run_campaign(Plan(probes, samples, max_tokens), f"openai:{base}#smollm2", db=Path(d) / "b.db",
                           concurrency=1)
        wall = time.perf_counter() - t0
    return {"generations": res.stats.generated, "wall_s": wall}


def run_garak(base: str, prompts: list[str], samples: int, max_tokens: int) -> dict | str:
    if not GARAK_PY.exists():
        return f"garak not installed ({GARAK_PY} missing): create the venv and `pip install garak==0.17.1`"
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "XDG_DATA_HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home,
               "OPENAICOMPATIBLE_API_KEY": "unused"}
        t0 = time.perf_counter()
        proc = subprocess.run([str(GARAK_PY), "-c", GARAK_DRIVER, base + "/", str(max_tokens), str(samples)],
                              input=json.dumps(prompts), capture_output=True, text=True, env=env, timeout=3600)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return f"garak failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"generations": data["generations"], "wall_s": wall, "in_process_s": data["wall_s"]}


def run_promptfoo(base: str, prompts: list[str], samples: int, max_tokens: int) -> dict | str:
    if not PROMPTFOO.exists():
        return (f"promptfoo not installed ({PROMPTFOO} missing): "
                "cd /work/bench-venvs/promptfoo && npm install promptfoo@0.118.0")
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "promptfooconfig.json"
        cfg.write_text(json.dumps({
            "prompts": ["{{prompt}}"],
            "providers": [{"id": "openai:chat:smollm2", "config": {
                "apiBaseUrl": base, "apiKey": "unused", "temperature": 0.7, "top_p": 0.95, "max_tokens": max_tokens}}],
            "tests": [{"vars": {"prompt": p}} for p in prompts]}))
        out = Path(d) / "out.json"
        env = {**os.environ, "HOME": d, "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
               "PROMPTFOO_CONFIG_DIR": str(Path(d) / ".promptfoo"), "OPENAI_API_KEY": "unused"}
        t0 = time.perf_counter()
        proc = subprocess.run([str(PROMPTFOO), "eval", "-c", str(cfg), "--no-cache", "--max-concurrency", "1",
                               "--repeat", str(samples), "--no-progress-bar", "--no-write", "-o", str(out)],
                              capture_output=True, text=True, env=env, timeout=3600, cwd=d)
        wall = time.perf_counter() - t0
        if not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()
            return f"promptfoo failed (exit {proc.returncode}): {tail[-1] if tail else ''}"
        data = json.loads(out.read_text())
    # with --no-write the per-row results are not kept; the run's stats count the requests that were made
    stats = (data.get("results") or {}).get("stats") or {}
    requests = (stats.get("tokenUsage") or {}).get("numRequests", 0)
    errors = stats.get("errors", 0)
    return {"generations": max(0, requests - errors), "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probes", type=int, default=8)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=32)
    args = ap.parse_args()
    from opentrust.target import smollm2_path

    probes = pick_probes(args.probes)
    prompts = [p.last_user() for p in probes]
    print(f"{len(prompts)} prompts x {args.samples} samples, max_tokens {args.max_tokens}, temperature 0.7")
    from opentrust.backends.local_server import llama_server

    results: dict[str, dict | str] = {}
    with llama_server(smollm2_path()) as base:
        results["opentrust"] = run_opentrust(base, probes, args.samples, args.max_tokens)
        results["garak"] = run_garak(base, prompts, args.samples, args.max_tokens)
        results["promptfoo"] = run_promptfoo(base, prompts, args.samples, args.max_tokens)
    ours = results["opentrust"]
    assert isinstance(ours, dict)
    ours_rate = ours["generations"] / ours["wall_s"]
    print(f"{'tool':<10} {'generations':>11} {'wall s':>8} {'gen/s':>7}  ratios (opentrust / peer)")
    for name, r in results.items():
        if isinstance(r, str):
            print(f"{name:<10} skipped: {r}")
            continue
        rate = r["generations"] / r["wall_s"] if r["wall_s"] else 0.0
        ratio = "" if name == "opentrust" else (
            f"  gen/s x{ours_rate / rate:.2f}, wall time x{ours['wall_s'] / r['wall_s']:.2f}" if rate else "")
        print(f"{name:<10} {r['generations']:>11} {r['wall_s']:>8.1f} {rate:>7.2f}{ratio}")
    print("opentrust stops each probe when its outcome is clear (fewer generations); peers generate every sample.")


if __name__ == "__main__":
    main()
