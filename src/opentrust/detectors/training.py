"""Fitting the multiple-instance models of ``detectors.mil`` (used by ``scripts/train_detectors.py`` and
``benchmarks/detectors.py``; never at detection time).

The loss is class-balanced, per-set-weighted logistic loss on the pooled score with an L2 penalty, minimised
by scipy's L-BFGS with the exact gradient: the gradient of the log-mean-exp pool sends each response's error
to its segments in proportion to their softmax weight, so the segment that decided a response learns most.
Why not scikit-learn: it has no multiple-instance learner, and the package must not need it at run time.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy import optimize, sparse

from opentrust.detectors.mil import MILModel
from opentrust.detectors.text import N_FEATURES

Segments = list[dict[int, float]]
#: a response: its segments, and optionally its whole-response features (see detectors.mil)
Bag = "Segments | tuple[Segments, dict[int, float]]"


def _split(bag: object) -> tuple[Segments, dict[int, float]]:
    return (bag[0], bag[1]) if isinstance(bag, tuple) else (bag, {})  # type: ignore[return-value]


def design(bags: Sequence[object]) -> tuple[sparse.csr_matrix, np.ndarray, sparse.csr_matrix]:
    rows, cols, vals, owner = [], [], [], []
    grows, gcols, gvals = [], [], []
    r = 0
    for b, bag in enumerate(bags):
        segs, whole = _split(bag)
        for k, v in whole.items():
            grows.append(b)
            gcols.append(k)
            gvals.append(v)
        for feats in segs or [{}]:
            for k, v in feats.items():
                rows.append(r)
                cols.append(k)
                vals.append(v)
            owner.append(b)
            r += 1
    x = sparse.csr_matrix((vals, (rows, cols)), shape=(r, N_FEATURES))
    g = sparse.csr_matrix((gvals, (grows, gcols)), shape=(len(bags), N_FEATURES))
    return x, np.asarray(owner), g


def _pool(s: np.ndarray, owner: np.ndarray, n: int, tau: float) -> tuple[np.ndarray, np.ndarray]:
    top = np.full(n, -np.inf)
    np.maximum.at(top, owner, s)
    e = np.exp(tau * (s - top[owner]))
    total = np.bincount(owner, weights=e, minlength=n)
    count = np.bincount(owner, minlength=n)
    return top + np.log(total / count) / tau, e / total[owner]


def fit(bags: Sequence[Segments], y: Sequence[bool], *, detector: str, weights: Sequence[float] | None = None,
        l2: float = 1e-4, tau: float = 3.0, max_iter: int = 500) -> MILModel:
    """Fit bias and weights; calibration is left at identity (see ``platt``)."""
    x, owner, whole = design(bags)
    target = np.asarray(y, dtype=float)
    n = len(target)
    prevalence = target.mean()
    sw = np.where(target == 1, 0.5 / prevalence, 0.5 / (1 - prevalence))
    if weights is not None:
        sw = sw * np.asarray(weights, dtype=float)
        sw = sw * n / sw.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, w = theta[0], theta[1:]
        pooled, soft = _pool(x @ w, owner, n, tau)
        p = 1 / (1 + np.exp(-np.clip(pooled + whole @ w + b, -35, 35)))
        nll = -(sw * (target * np.log(p + 1e-12) + (1 - target) * np.log(1 - p + 1e-12))).sum() / n
        g = sw * (p - target) / n
        grad = np.concatenate([[g.sum()], x.T @ (g[owner] * soft) + whole.T @ g + l2 * w])
        return nll + 0.5 * l2 * float(w @ w), grad

    result = optimize.minimize(loss, np.zeros(N_FEATURES + 1), jac=True, method="L-BFGS-B",
                               options={"maxiter": max_iter})
    w = result.x[1:]
    nz = np.flatnonzero(np.abs(w) >= 1e-4)
    return MILModel(detector=detector, bias=float(result.x[0]), tau=tau,
                    weights={int(i): float(w[i]) for i in nz})


def decisions(model: MILModel, bags: Sequence[Segments]) -> np.ndarray:
    """Pooled scores z (before calibration), vectorised."""
    x, owner, whole = design(bags)
    w = np.zeros(N_FEATURES)
    idx = np.fromiter(model.weights.keys(), dtype=np.int64, count=len(model.weights))
    w[idx] = np.fromiter(model.weights.values(), dtype=float, count=len(model.weights))
    pooled, _ = _pool(x @ w, owner, len(bags), model.tau)
    return pooled + whole @ w + model.bias


def platt(z: np.ndarray, y: Sequence[bool]) -> tuple[float, float]:
    """Logistic calibration p = sigmoid(a·z + b), fitted by maximum likelihood on held-out decisions."""
    target = np.asarray(y, dtype=float)

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = ab
        p = 1 / (1 + np.exp(-np.clip(a * z + b, -35, 35)))
        nll = -(target * np.log(p + 1e-12) + (1 - target) * np.log(1 - p + 1e-12)).mean()
        g = (p - target) / len(target)
        return nll, np.array([(g * z).sum(), g.sum()])

    a, b = optimize.minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    return float(a), float(b)


def cross_set(sets: dict[str, tuple[list[Segments], list[bool]]], train: Callable[[list[Segments], list[bool], list[float]], MILModel],
              set_weight: Callable[[int], float] = lambda n: 1.0) -> dict[str, np.ndarray]:
    """Leave one set out: for each set, train on the others and return its held-out decisions."""
    out: dict[str, np.ndarray] = {}
    for held in sets:
        bags: list[Segments] = []
        ys: list[bool] = []
        ws: list[float] = []
        for name, (b, y) in sets.items():
            if name != held:
                bags += b
                ys += y
                ws += [set_weight(len(y))] * len(y)
        out[held] = decisions(train(bags, ys, ws), sets[held][0])
    return out
