"""What third-party jailbreak prompts add to the guard's jailbreak model, measured on behaviours kept out of training.

    .venv/bin/python benchmarks/guard_jailbreak_split.py [--json out.json]

The shipped jailbreak model trains on our development set plus the JailbreakChat, PAIR and adaptive-random-search
prompts of JailbreakBench's artifacts (``../shared/data/labels/harm_jailbreakbench_judge.jsonl``;
``scripts/build_guard_sets.py``), so the third-party benchmark's figures for those methods are in-sample. This
script splits JailbreakBench's 100 behaviours in two halves by a hash of the behaviour's name, trains the model
the same way (``scripts/train_guard_detectors.train_one``: grouped cross-validation, threshold at 1% false
positives on benign rows) on our rows plus the half-0 prompts, and reports, on the half-1 prompts (behaviours
the model never saw attacked), each method's recall for that model and for the model trained on our rows only
(the previous shipped one, retrained here the same way), with 95% Wilson intervals. Also the benign prompts each
flags (over-refusal probes, built-in suites, the held-out set's benign rows, benign technical prompts) and the
plain harmful questions of GPTFuzz (a harmful question is not a jailbreak: the output checks judge its answer).

What this cannot tell: how well PAIR-style rewrites from *other* attacker models are caught; JailbreakBench's PAIR
prompts were all written by one attacker model, so the half-1 figure is an upper bound for those.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "scripts"), str(ROOT / "benchmarks")]

from build_guard_sets import JBB_METHODS, jbb_attacks  # noqa: E402
from guard_third_party import benign, cell, prompts  # noqa: E402
from train_guard_detectors import rows_for, train_one  # noqa: E402

from opentrust.detectors.injection import segments  # noqa: E402


def half(group: str) -> int:
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % 2


def flags(model, texts: list[str]) -> int:
    return sum(model.score(segments(t)[1]).probability >= model.threshold for t in texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    ours = [r for r in rows_for("jailbreak") if r.get("channel") != "third-party"]
    attacks = jbb_attacks()
    print(f"training: {len(ours)} rows of ours; JailbreakBench {len(attacks)} prompts, "
          f"{sum(half(r['group']) == 0 for r in attacks)} of them on half-0 behaviours")
    base, _ = train_one(ours, "jailbreak", "jailbreak")
    split, _ = train_one(ours + [r for r in attacks if half(r["group"]) == 0], "jailbreak", "jailbreak")
    out: dict = {"thresholds": {"ours_only": base.threshold, "ours_plus_half0": split.threshold}, "attacks": {},
                 "benign": {}}
    print(f"thresholds: ours only {base.threshold}, ours + half 0 {split.threshold}\n")
    print(f"{'half-1 behaviours (never seen)':32s} {'ours only':>26s} {'ours + half-0 prompts':>26s}")
    for method in JBB_METHODS:
        test = [r["text"] for r in attacks if half(r["group"]) == 1 and r["source"].count(f"method={method},")]
        a, b = flags(base, test), flags(split, test)
        out["attacks"][method] = {"n": len(test), "ours_only": a, "ours_plus_half0": b}
        print(f"{f'{method} (n={len(test)})':32s} {cell(a, len(test)):>26s} {cell(b, len(test)):>26s}")
    plain = prompts()["GPTFuzz plain questions (no attack framing)"]
    a, b = flags(base, plain), flags(split, plain)
    out["attacks"]["gptfuzz_plain_questions"] = {"n": len(plain), "ours_only": a, "ours_plus_half0": b}
    print(f"{f'GPTFuzz plain questions (n={len(plain)})':32s} {cell(a, len(plain)):>26s} {cell(b, len(plain)):>26s}"
          "  (not jailbreaks: lower is right)")
    print(f"\n{'benign prompts flagged':32s}")
    total = [0, 0, 0]
    for name, texts in benign().items():
        a, b = flags(base, texts), flags(split, texts)
        out["benign"][name] = {"n": len(texts), "ours_only": a, "ours_plus_half0": b}
        total = [total[0] + len(texts), total[1] + a, total[2] + b]
        print(f"{f'{name} (n={len(texts)})':32s} {cell(a, len(texts)):>26s} {cell(b, len(texts)):>26s}")
    print(f"{f'all benign (n={total[0]})':32s} {cell(total[1], total[0]):>26s} {cell(total[2], total[0]):>26s}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
