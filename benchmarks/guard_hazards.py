"""How well ``detectors.hazard`` names the hazard category, on JailbreakBench's behaviours (their ``goal`` text and a
judged-harmful answer with its attack prompt, from ../shared/data/labels/harm_jailbreakbench_judge.jsonl), whose own
categories are mapped onto AILuminate's (``scripts/train_hazard_categories.JBB_MAPPING``). Where a JailbreakBench
category spans several of ours, any of them counts as right.

    .venv/bin/python benchmarks/guard_hazards.py [--split-only]

The shipped model trains on these behaviours too, so the first table (the shipped model on all of them) is
in-sample. The second is the honest one: the behaviours split in two by a hash of their name, a model trained the
shipped way on our rows plus the half-0 behaviours against one trained on our rows only, both measured on the
half-1 behaviours (never seen). Top-1 and top-2 accuracy per JailbreakBench category, 95% Wilson intervals.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opentrust.detectors.hazard import classify  # noqa: E402
from opentrust.stats import wilson_interval  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from train_hazard_categories import fit, jbb_behaviours, jbb_rows, rows  # noqa: E402


def cell(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k:3d}/{n:<3d} {k / n:4.2f} [{lo:.2f}, {hi:.2f}]"


def half(name: str) -> int:
    return int(hashlib.sha256(f"jbb:{name}".encode()).hexdigest(), 16) % 2


def table(behaviours: dict[str, dict], model: dict | None, title: str) -> tuple[int, int, int, int]:
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for b in behaviours.values():
        want = set(b["ours"])
        ranked = [c for c, _ in classify(b["goal"], model=model)]
        s = stats[b["category"]]
        s[0] += ranked[0] in want
        s[1] += bool(set(ranked[:2]) & want)
        s[2] += 1
        if b["pairs"]:
            ranked = [c for c, _ in classify(*b["pairs"][0], model=model)]
            s[3] += ranked[0] in want
            s[4] += bool(set(ranked[:2]) & want)
            s[5] += 1
    print(f"\n{title}")
    print(f"{'JailbreakBench category':28s} {'goal: top-1':>24s} {'goal: top-2':>24s} {'harmful answer: top-1':>24s}")
    tot = [0] * 6
    for cat, s in sorted(stats.items()):
        tot = [a + b for a, b in zip(tot, s)]
        print(f"{cat:28s} {cell(s[0], s[2]):>24s} {cell(s[1], s[2]):>24s} "
              f"{cell(s[3], s[5]) if s[5] else '-':>24s}")
    print(f"{'all mapped':28s} {cell(tot[0], tot[2]):>24s} {cell(tot[1], tot[2]):>24s} {cell(tot[3], tot[5]):>24s}")
    return tot[0], tot[2], tot[3], tot[5]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split-only", action="store_true", help="skip the in-sample table of the shipped model")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    behaviours = jbb_behaviours()
    out = {}
    if not args.split_only:
        out["shipped_in_sample"] = table(behaviours, None, "shipped model, every behaviour (in-sample)")
    train = {k: v for k, v in behaviours.items() if half(k) == 0}
    test = {k: v for k, v in behaviours.items() if half(k) == 1}
    ours = rows()
    out["half1_ours_only"] = table(test, fit(ours), f"half-1 behaviours ({len(test)}), model trained on ours only")
    out["half1_ours_plus_half0"] = table(test, fit(ours + jbb_rows(train)),
                                         f"half-1 behaviours ({len(test)}), model trained on ours + the "
                                         f"{len(train)} half-0 behaviours")
    print("chance (12 categories): ~0.08-0.25 per row depending on how many of ours a category maps to")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
