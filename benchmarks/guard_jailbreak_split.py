"""An experiment that was not shipped: what JailbreakBench's jailbreak prompts would add to the guard's jailbreak
model, measured on behaviours kept out of training — and what they cost.

    .venv/bin/python benchmarks/guard_jailbreak_split.py [--json out.json]

JailbreakBench's 100 behaviours (``../shared/data/labels/harm_jailbreakbench_judge.jsonl``) are split in two by a
hash of the behaviour's name. Three models are trained the shipped way (``scripts/train_guard_detectors.train_one``:
grouped cross-validation, threshold at 1% false positives on benign rows):

- ``shipped``: the shipped model's rows (our catalogue, prompts and compositions);
- ``+code+jbb``: those, the developer code questions (benign) and the JailbreakChat, PAIR and random-search prompts
  of the half-0 behaviours (``build_guard_sets.jbb_attacks``);
- ``+roles``: that plus benign role prompts (``build_guard_sets.role_prompts``: "You are a <role>. <task>");
- ``+code+jbb all``: as ``+code+jbb`` with every behaviour's prompts (the model that would have shipped; its
  half-1 rows are in-sample).

Each is measured on the half-1 behaviours' prompts (never seen), on GPTFuzz's plain harmful questions (not
jailbreaks: the output checks judge their answers), on 272 benign prompts (over-refusal probes, built-in suites, the
held-out set's benign rows, benign technical prompts) and on ``labels/guard/benign_roles.txt`` (20 benign role
prompts written after ``+code+jbb`` was first trained, to probe its opening-line cue). 95% Wilson intervals.

What it showed (and why the shipped jailbreak model has none of these rows): ``+code+jbb`` caught PAIR's rewrites
far more often, but trained on every behaviour it flagged 7 of the 20 role prompts — PAIR's "You are a ..." opening had become a jailbreak cue,
which none of our benign sets exercised; ``+roles`` fixed that, but its threshold fell (the role prompts are easy
negatives) until hard benign prompts crossed it. Neither met the rule fixed before its run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "scripts"), str(ROOT / "benchmarks")]

from build_guard_sets import JBB_METHODS, jbb_attacks, role_prompts  # noqa: E402
from guard_third_party import benign, cell, prompts  # noqa: E402
from train_guard_detectors import DEV, train_one  # noqa: E402

from opentrust.detectors.injection import segments  # noqa: E402

ROLES = ROOT / "labels/guard/benign_roles.txt"


def half(group: str) -> int:
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % 2


def flags(model, texts: list[str]) -> int:
    return sum(model.score(segments(t)[1]).probability >= model.threshold for t in texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    dev = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    shipped = [r for r in dev if r["label"] in ("jailbreak", "benign") and r.get("channel") != "code"]
    code = [r for r in dev if r.get("channel") == "code"]
    attacks = jbb_attacks()
    half0 = [r for r in attacks if half(r["group"]) == 0]
    variants = {"shipped": shipped, "+code+jbb": shipped + code + half0,
                "+roles": shipped + code + role_prompts(random.Random(20261129)) + half0,
                "+code+jbb all": shipped + code + attacks}
    models = {name: train_one(rows, "jailbreak", "jailbreak")[0] for name, rows in variants.items()}
    print("thresholds: " + ", ".join(f"{k} {m.threshold}" for k, m in models.items()) + "\n")
    sets: dict[str, list[str]] = {}
    for method in JBB_METHODS:
        sets[f"half-1 {method}"] = [r["text"] for r in attacks
                                    if half(r["group"]) == 1 and f"method={method}," in r["source"]]
    sets["GPTFuzz plain questions (lower is right)"] = prompts()["GPTFuzz plain questions (no attack framing)"]
    sets["benign prompts (272)"] = [t for texts in benign().values() for t in texts]
    sets["benign role prompts (20)"] = [line.strip() for line in ROLES.read_text().splitlines() if line.strip()]
    out: dict = {"thresholds": {k: m.threshold for k, m in models.items()}, "rows": {}}
    print(f"{'prompts':42s} {'n':>4s}  " + "  ".join(f"{k:>24s}" for k in models))
    for name, texts in sets.items():
        counts = {k: flags(m, texts) for k, m in models.items()}
        out["rows"][name] = {"n": len(texts), **counts}
        print(f"{name:42s} {len(texts):4d}  " + "  ".join(f"{cell(c, len(texts)):>24s}" for c in counts.values()))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
