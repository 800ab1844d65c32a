"""The real comparison: `opentrust compare smollm2 gemma3-270m completion:gemma3-270m` on the quick profile, twice.

The first run starts from an empty store and generates every answer it needs; the second run asks for the same
comparison and must generate nothing (every answer has the same fingerprint, request, seed and provenance) —
its only model work is the latency and energy measurement, which is never cached. Prints the comparison table,
wall time, answers generated and reused, and the share the cache saved.

    .venv/bin/python benchmarks/compare_models.py [--cpu-watts W] [--country ISO3] [--keep DB]
    .venv/bin/python benchmarks/compare_models.py --suite benchmarks/data/compare_facts.yaml   # bounded: 12 cases

Gemma 3 270M is a base model without a chat template: through the chat format it answers (almost) nothing, so
both it and its completion-prompted form (``completion:gemma3-270m``) are compared.
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


def run(args: list[str], db: Path) -> tuple[float, dict, str]:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run([sys.executable, "-m", "opentrust", "compare", *args, "--db", str(db), "--out", out],
                           capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})
        wall = time.perf_counter() - start
        if r.returncode != 0:
            sys.exit(f"compare failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        doc = json.loads((Path(out) / "compare.json").read_text())
    return wall, doc, r.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", nargs="+", default=["smollm2", "gemma3-270m", "completion:gemma3-270m"])
    parser.add_argument("--cpu-watts", type=float, default=None)
    parser.add_argument("--country", default=None)
    parser.add_argument("--suite", type=Path, default=None,
                        help="compare on this suite instead of the quick profile's 37 built-in cases")
    parser.add_argument("--keep", type=Path, default=None, help="keep the store here (default: a temporary one)")
    args = parser.parse_args()
    extra = [*([str(args.suite)] if args.suite else []),
             *(["--cpu-watts", str(args.cpu_watts)] if args.cpu_watts else []),
             *(["--country", args.country] if args.country else [])]
    with tempfile.TemporaryDirectory() as tmp:
        db = args.keep or Path(tmp) / "bench.db"
        first_wall, first, table = run([*args.targets, *extra], db)
        print(table)
        second_wall, second, _ = run([*args.targets, *extra], db)
    s1, s2 = first["summary"], second["summary"]
    needed = s2["generated"] + s2["reused"]
    print(f"cases: {first['parameters']['cases']} ({args.suite or 'the quick profile'}), "
          f"up to {first['parameters']['max_samples_per_case']} samples each")
    print(f"first run : {first_wall:7.1f} s wall, {s1['generated']} answers generated, {s1['reused']} reused, "
          f"{s1['rounds_used']} round(s)")
    print(f"second run: {second_wall:7.1f} s wall, {s2['generated']} answers generated, {s2['reused']} reused "
          f"(the cache saved {s2['reused']} of {needed} generations, "
          f"{(s2['reused'] / needed if needed else 0):.0%}; latency and energy are measured afresh)")
    print(f"recommendation: {first['recommendation']['target']} — {first['recommendation']['reason']}")
    if second["recommendation"]["target"] != first["recommendation"]["target"]:
        print("note: the second run's recommendation differs (its cost figures are new measurements)")


if __name__ == "__main__":
    main()
