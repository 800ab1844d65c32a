"""The guard's input detectors on prompts no one here wrote or labelled: JailbreakBench's attack artifacts (every
prompt is an attack, by its method: GCG and DSN adversarial suffixes, PAIR rewrites, the JBC/AIM template,
random-search template + suffix) and GPTFuzz's plain harmful questions (no framing at all: for these detectors a
direct harmful request is *not* a jailbreak or an injection; the output checks and the model answer it).

    .venv/bin/python benchmarks/guard_third_party.py

Prints, per source and method, how many distinct prompts each detector flags, with 95% Wilson intervals. Both
files come from ../shared/data/labels (licences there) and were kept out of the detectors' training on purpose
(scripts/build_guard_sets.py). The methods are the third parties' labels; "should flag" is our reading of them.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opentrust.detectors import get_detector  # noqa: E402
from opentrust.stats import wilson_interval  # noqa: E402

SHARED = ROOT.parent / "shared/data/labels"


def prompts() -> dict[str, list[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for line in open(SHARED / "harm_jailbreakbench_judge.jsonl", encoding="utf-8"):
        row = json.loads(line)
        method = re.search(r"method=([^,)]+)", row["source"]).group(1)
        groups[f"JailbreakBench {method} (attack)"].add(row["prompt"])
    for line in open(SHARED / "harm_gptfuzz_train.jsonl", encoding="utf-8"):
        groups["GPTFuzz plain questions (no attack framing)"].add(json.loads(line)["prompt"])
    return {k: sorted(v) for k, v in sorted(groups.items())}


def main() -> None:
    detectors = {n: get_detector(n) for n in ("jailbreak", "prompt_injection")}
    print(f"{'prompts':46s} {'n':>5s}  " + "  ".join(f"{n + ' flagged':>28s}" for n in detectors) + "  either")
    for name, texts in prompts().items():
        hits = {n: [d.detect(t).label == d.positive_label for t in texts] for n, d in detectors.items()}
        either = sum(any(h) for h in zip(*hits.values()))
        cells = []
        for n in detectors:
            k = sum(hits[n])
            lo, hi = wilson_interval(k, len(texts))
            cells.append(f"{k:5d} {k / len(texts):5.2f} [{lo:.2f}, {hi:.2f}]")
        print(f"{name:46s} {len(texts):5d}  " + "  ".join(f"{c:>28s}" for c in cells) + f"  {either / len(texts):.2f}")


if __name__ == "__main__":
    main()
