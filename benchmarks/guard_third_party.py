"""The guard's input detectors on prompts no one here wrote or labelled: JailbreakBench's attack artifacts (every
prompt is an attack, by its method: GCG and DSN adversarial suffixes, PAIR rewrites, the JBC/AIM template,
random-search template + suffix) and GPTFuzz's plain harmful questions (no framing at all: for these detectors a
direct harmful request is *not* a jailbreak or an injection; the output checks and the model answer it).

    .venv/bin/python benchmarks/guard_third_party.py

Prints, per source and method, how many distinct prompts each detector flags, with 95% Wilson intervals. Both
files come from ../shared/data/labels (licences there) and were kept out of the detectors' training on purpose
(scripts/build_guard_sets.py, scripts/train_adversarial_suffix.py; benchmarks/guard_jailbreak_split.py is an
experiment that trained on them, not shipped). The methods are the third parties' labels; "should flag" is our
reading of them.

Then the false-positive side, on benign prompts none of these detectors trained on: the over-refusal probes and
suite, the built-in eval suites' prompts, the benign rows of labels/guard/heldout.jsonl and
labels/guard/benign_technical.jsonl (code, base64, hashes, URLs, stack traces, data: the classic false positives of
a perplexity filter; and prompts in other languages), and the CPU time per prompt of each detector.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import time  # noqa: E402

import yaml  # noqa: E402

from opentrust.detectors import get_detector  # noqa: E402
from opentrust.stats import wilson_interval  # noqa: E402

SHARED = ROOT.parent / "shared/data/labels"
DETECTORS = ("jailbreak", "prompt_injection", "adversarial_suffix")


def prompts() -> dict[str, list[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for line in open(SHARED / "harm_jailbreakbench_judge.jsonl", encoding="utf-8"):
        row = json.loads(line)
        method = re.search(r"method=([^,)]+)", row["source"]).group(1)
        groups[f"JailbreakBench {method} (attack)"].add(row["prompt"])
    for line in open(SHARED / "harm_gptfuzz_train.jsonl", encoding="utf-8"):
        groups["GPTFuzz plain questions (no attack framing)"].add(json.loads(line)["prompt"])
    return {k: sorted(v) for k, v in sorted(groups.items())}


def benign() -> dict[str, list[str]]:
    from opentrust.evals.suite import builtin_suite_paths, load_suite

    groups: dict[str, list[str]] = defaultdict(list)
    probes = yaml.safe_load((ROOT / "src/opentrust/redteam/probes/over_refusal.yaml").read_text())["probes"]
    groups["over-refusal probes"] = [p["prompt"] for p in probes]
    for path in builtin_suite_paths():
        suite = load_suite(path)
        groups[f"suite {suite.name}"] = sorted({c.prompt for c in suite.cases if c.prompt})
    for line in (ROOT / "labels/guard/heldout.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["label"] == "benign":
            groups["heldout.jsonl benign"].append(row["text"])
    for line in (ROOT / "labels/guard/benign_technical.jsonl").read_text().splitlines():
        row = json.loads(line)
        groups[f"technical: {row['kind']}"].append(row["text"])
    return dict(groups)


def cell(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k:4d} {k / n:5.2f} [{lo:.2f}, {hi:.2f}]"


def main() -> None:
    detectors = {n: get_detector(n) for n in DETECTORS}
    print("Attack prompts: share flagged (should be high), 95% Wilson intervals")
    print(f"{'prompts':46s} {'n':>5s}  " + "  ".join(f"{n:>24s}" for n in detectors) + "  any")
    for name, texts in prompts().items():
        hits = {n: [d.detect(t).label == d.positive_label for t in texts] for n, d in detectors.items()}
        either = sum(any(h) for h in zip(*hits.values()))
        cells = [cell(sum(hits[n]), len(texts)) for n in detectors]
        print(f"{name:46s} {len(texts):5d}  " + "  ".join(f"{c:>24s}" for c in cells) + f"  {either / len(texts):.2f}")
    print("\nBenign prompts: share flagged (false positives, should be low)")
    print(f"{'prompts':46s} {'n':>5s}  " + "  ".join(f"{n:>24s}" for n in detectors) + "  any")
    totals = {n: [0, 0] for n in detectors}
    seconds = {n: 0.0 for n in detectors}
    any_english = [0]
    chars = 0
    for name, texts in benign().items():
        hits = {}
        for n, d in detectors.items():
            t0 = time.process_time()
            hits[n] = [d.detect(t).label == d.positive_label for t in texts]
            seconds[n] += time.process_time() - t0
            if not name.startswith("technical: non_english"):
                totals[n][0] += sum(hits[n])
                totals[n][1] += len(texts)
        chars += sum(map(len, texts))
        either = sum(any(h) for h in zip(*hits.values()))
        if not name.startswith("technical: non_english"):
            any_english[0] += either
        print(f"{name:46s} {len(texts):5d}  " + "  ".join(f"{cell(sum(hits[n]), len(texts)):>24s}" for n in detectors)
              + f"  {either / len(texts):.2f}")
    n_english = totals[DETECTORS[0]][1]
    print(f"{'all benign in English':46s} {n_english:5d}  "
          + "  ".join(f"{cell(*totals[n]):>24s}" for n in detectors) + f"  {any_english[0] / n_english:.2f}")
    count = sum(len(t) for t in benign().values())
    print(f"\nCPU per benign prompt (mean {chars / count:.0f} characters): "
          + ", ".join(f"{n} {seconds[n] / count * 1000:.3f} ms" for n in detectors))


if __name__ == "__main__":
    main()
