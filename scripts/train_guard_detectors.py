"""Train the guard's input detectors (prompt_injection, jailbreak) shipped in the package.

    .venv/bin/python scripts/train_guard_detectors.py   # writes src/opentrust/data/detectors/{prompt_injection,jailbreak}.json

Data: ``labels/guard/dev.jsonl`` only (``scripts/build_guard_sets.py``). Each detector trains on its own
positives against the benign rows; the other detector's positives are left out of its training (a jailbreak
template is not what the injection model is asked about, and the reverse).

Calibration and threshold come from grouped cross-validation: five folds in which every row of a template or
carrier (``group``) falls on the same side, so the held-out decisions describe wording the model never saw
in that form. Platt scaling is fitted on those decisions; the threshold is the calibrated score at which the
cross-validated false-positive rate on benign rows is at most 1%, and never below 0.5 — a guard that blocks
benign traffic is switched off by its users.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opentrust.detectors import injection  # noqa: E402
from opentrust.detectors.mil import sigmoid  # noqa: E402
from opentrust.detectors.training import decisions, fit, platt  # noqa: E402

DEV = ROOT / "labels/guard/dev.jsonl"
OUT = ROOT / "src/opentrust/data/detectors"
HYPER = {"l2": 3e-4, "tau": 4.0}
FOLDS = 5
TARGET_FPR = 0.01
TRAINED_ALSO = {"injection": "; developer questions around third-party code and config files", "jailbreak": ""}
#: rows a detector does not train on, by channel: the jailbreak model is the one frozen before the code questions
#: were added (its retraining with them and with JailbreakBench's prompts did not meet its shipping rules:
#: benchmarks/guard_jailbreak_split.py)
LEFT_OUT = {"injection": set(), "jailbreak": {"code"}}


def rows_for(label: str, dev: Path = DEV) -> list[dict]:
    rows = [json.loads(line) for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["label"] in (label, "benign") and r.get("channel") not in LEFT_OUT[label]]


def train_one(rows: list[dict], name: str, label: str, trained_on: str = "") -> tuple[Any, dict]:
    """The model of one detector from its rows (``label`` positive, the rest benign): calibration and threshold
    from grouped cross-validation, weights from all rows. Also the cross-validated confusion counts."""
    bags = [injection.segments(r["text"])[1] for r in rows]
    y = np.array([r["label"] == label for r in rows])
    groups = sorted({r["group"] for r in rows})
    rng = np.random.default_rng(0)
    fold_of = dict(zip(groups, rng.integers(0, FOLDS, len(groups))))
    folds = np.array([fold_of[r["group"]] for r in rows])
    z = np.zeros(len(rows))
    for k in range(FOLDS):
        train = folds != k
        model = fit([b for b, t in zip(bags, train) if t], list(y[train]), detector=name, **HYPER)
        z[~train] = decisions(model, [b for b, t in zip(bags, ~train) if t])
    a, b = platt(z, list(y))
    p = np.array([sigmoid(a * v + b) for v in z])
    benign = np.sort(p[~y])
    at_fpr = float(benign[int(np.ceil(len(benign) * (1 - TARGET_FPR))) - 1]) if len(benign) else 0.5
    threshold = round(max(0.5, at_fpr + 1e-6), 4)
    pred = p >= threshold
    cv = {"tp": int((pred & y).sum()), "fp": int((pred & ~y).sum()), "fn": int((~pred & y).sum()),
          "tn": int((~pred & ~y).sum())}
    final = fit(bags, list(y), detector=name, **HYPER)
    final.calibration = (a, b)
    final.threshold = threshold
    final.meta = {
        "trained_on": trained_on,
        "rows": {"positive": int(y.sum()), "benign": int((~y).sum())},
        "cross_validation": {"folds": FOLDS, "grouped_by": "template or carrier", **cv,
                             "threshold_rule": f"fpr <= {TARGET_FPR} on benign, at least 0.5"},
        "hyper": HYPER,
    }
    return final, cv


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", type=Path, default=DEV, help="the development set (default: labels/guard/dev.jsonl)")
    ap.add_argument("--out", type=Path, default=OUT, help="where the model files go (default: the package's)")
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    for name, label in (("prompt_injection", "injection"), ("jailbreak", "jailbreak")):
        rows = rows_for(label, args.dev)
        dev = args.dev.resolve()
        where = dev.relative_to(ROOT) if dev.is_relative_to(ROOT) else dev
        final, cv = train_one(rows, name, label, f"{where} (scripts/build_guard_sets.py): our catalogue, prompts and "
                                                 "compositions" + TRAINED_ALSO[label])
        (out / f"{name}.json").write_text(json.dumps(final.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"{name}: {len(rows)} rows, threshold {final.threshold}, grouped CV recall "
              f"{cv['tp'] / max(1, cv['tp'] + cv['fn']):.3f} fpr {cv['fp'] / max(1, cv['fp'] + cv['tn']):.3f} "
              f"({len(final.weights)} weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
