"""Train the refusal classifier shipped in the package.

    .venv/bin/python scripts/train_refusal.py

Reads src/opentrust/data/refusal/train.jsonl (labels written by the team, rules in the README next to
it), fits an L2-regularised, class-balanced logistic regression over the hashed features of
``opentrust.detectors.refusal.featurize`` with scipy's L-BFGS, and writes the non-zero weights as JSON
to src/opentrust/data/refusal/model.json (no pickle: the package loads plain numbers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
from scipy import optimize, sparse

from opentrust.detectors.refusal import N_FEATURES, featurize

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src/opentrust/data/refusal"


def load(path: Path) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts.append(row["response"])
            labels.append(1.0 if row["label"] == "refusal" else 0.0)
    return texts, np.array(labels)


def matrix(texts: list[str]) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for i, t in enumerate(texts):
        for k, v in featurize(t).items():
            rows.append(i), cols.append(k), vals.append(v)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), N_FEATURES))


def fit(x: sparse.csr_matrix, y: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    # balance the classes so the prior in the training set does not become the model's bias
    pos = y.mean()
    sw = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, w = theta[0], theta[1:]
        z = x @ w + b
        p = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
        eps = 1e-12
        nll = -(sw * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))).sum() / len(y)
        g = sw * (p - y) / len(y)
        grad = np.concatenate([[g.sum()], x.T @ g + l2 * w])
        return nll + 0.5 * l2 * float(w @ w), grad

    res = optimize.minimize(
        loss, np.zeros(N_FEATURES + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500}
    )
    return float(res.x[0]), res.x[1:]


def choose_l2(
    x: sparse.csr_matrix,
    y: np.ndarray,
    grid: tuple[float, ...] = (1e-2, 1e-3, 3e-4, 1e-4, 3e-5),
    folds: int = 5,
) -> float:
    """Pick the L2 strength by k-fold cross-validated log-loss on the training set only (the
    evaluation set under tests/data stays unseen)."""
    order = np.random.default_rng(0).permutation(len(y))
    scores = {}
    for l2 in grid:
        total = 0.0
        for k in range(folds):
            test = order[k::folds]
            train = np.setdiff1d(order, test)
            b, w = fit(x[train], y[train], l2)
            p = 1 / (1 + np.exp(-np.clip(x[test] @ w + b, -30, 30)))
            total -= float(np.sum(y[test] * np.log(p + 1e-9) + (1 - y[test]) * np.log(1 - p + 1e-9)))
        scores[l2] = total / len(y)
        print(f"  l2={l2:g}: cross-validated log-loss {scores[l2]:.4f}")
    return min(scores, key=scores.__getitem__)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--l2", type=float, default=None, help="fix the L2 strength (default: 5-fold CV)")
    ap.add_argument("--out", type=Path, default=DATA / "model.json")
    args = ap.parse_args()
    train = DATA / "train.jsonl"
    texts, y = load(train)
    x = matrix(texts)
    l2 = args.l2 if args.l2 is not None else choose_l2(x, y)
    bias, w = fit(x, y, l2)
    pred = (x @ w + bias) > 0
    acc = float((pred == (y == 1)).mean())
    weights = {str(i): round(float(v), 5) for i, v in enumerate(w) if abs(v) >= 1e-4}
    out = {
        "format": "opentrust-refusal-logreg/1",
        "n_features": N_FEATURES,
        "bias": round(bias, 5),
        "weights": weights,
        "trained_on": {
            "file": "train.jsonl",
            "sha256": hashlib.sha256(train.read_bytes()).hexdigest(),
            "n": len(y),
            "refusals": int(y.sum()),
            "l2": l2,
            "training_accuracy": round(acc, 4),
            "date": dt.date.today().isoformat(),
        },
    }
    args.out.write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"trained on {len(y)} examples, training accuracy {acc:.3f}, {len(weights)} non-zero weights")


if __name__ == "__main__":
    main()
