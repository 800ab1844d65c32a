"""How good is a detector on labelled responses? Accuracy, precision, recall, F1 with bootstrap intervals,
the confusion counts, and calibration (expected calibration error).

Used by ``opentrust detect NAME --evaluate LABELLED.jsonl`` (a user validating a detector on their own data)
and by ``benchmarks/detectors.py`` (the cross-set validation), so both report the same figures the same way.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

BOOTSTRAP = 1000
METRICS = ("accuracy", "precision", "recall", "f1", "specificity")
#: label values a labelled file may use for the positive / negative class of each detector
TRUE_WORDS = {"true", "yes", "1", "positive"}
FALSE_WORDS = {"false", "no", "0", "negative"}


def counts(pred: np.ndarray, gold: np.ndarray) -> dict[str, int]:
    return {"tp": int((pred & gold).sum()), "fp": int((pred & ~gold).sum()),
            "tn": int((~pred & ~gold).sum()), "fn": int((~pred & gold).sum())}


def metric_values(c: dict[str, int]) -> dict[str, float]:
    n = sum(c.values())
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    return {"accuracy": (c["tp"] + c["tn"]) / n if n else 0.0, "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "specificity": c["tn"] / (c["tn"] + c["fp"]) if c["tn"] + c["fp"] else 0.0}


def with_intervals(pred: Sequence[bool], gold: Sequence[bool], seed: int = 0) -> dict[str, Any]:
    """Point metrics with 95% percentile-bootstrap intervals (rows resampled ``BOOTSTRAP`` times)."""
    pred_a, gold_a = np.asarray(pred, dtype=bool), np.asarray(gold, dtype=bool)
    rng = np.random.default_rng(seed)
    point = metric_values(counts(pred_a, gold_a))
    draws: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(BOOTSTRAP if len(gold_a) else 0):
        idx = rng.integers(0, len(gold_a), len(gold_a))
        for k, v in metric_values(counts(pred_a[idx], gold_a[idx])).items():
            draws[k].append(v)
    out: dict[str, Any] = {"n": int(len(gold_a)), "counts": counts(pred_a, gold_a)}
    for k, v in point.items():
        ci = [float(np.percentile(draws[k], 2.5)), float(np.percentile(draws[k], 97.5))] if draws[k] else [0.0, 1.0]
        out[k] = {"value": round(v, 4), "ci": [round(ci[0], 4), round(ci[1], 4)]}
    return out


def expected_calibration_error(prob: Sequence[float], gold: Sequence[bool], bins: int = 10) -> float:
    """Mean |predicted probability − observed frequency| over equal-width bins, weighted by bin size."""
    p, g = np.asarray(prob, dtype=float), np.asarray(gold, dtype=float)
    if not len(p):
        return 0.0
    which = np.clip(np.digitize(p, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    return float(sum((which == b).mean() * abs(p[which == b].mean() - g[which == b].mean())
                     for b in range(bins) if (which == b).any()))


def gold_label(value: Any, positive: str, negative: str) -> bool | None:
    """A labelled line's truth: the detector's own label words, or yes/no style values."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == positive or text in TRUE_WORDS:
        return True
    if text == negative or text in FALSE_WORDS:
        return False
    return None


def evaluation(positive: str, scored: list[tuple[bool, float, bool]]) -> dict[str, Any]:
    """``scored``: (predicted positive, score, truly positive) per line."""
    pred = [s[0] for s in scored]
    gold = [s[2] for s in scored]
    out = with_intervals(pred, gold)
    out["positive_label"] = positive
    out["ece"] = round(expected_calibration_error([s[1] for s in scored], gold), 4)
    return out


def evaluation_table(name: str, result: dict[str, Any]) -> Any:
    from rich.table import Table

    c = result["counts"]
    table = Table(title=f"detect {name} on {result['n']} labelled line(s) (positive = {result['positive_label']})",
                  title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% interval (bootstrap)", justify="right")
    for k in METRICS:
        table.add_row(k, f"{result[k]['value']:.3f}", f"[{result[k]['ci'][0]:.3f}, {result[k]['ci'][1]:.3f}]")
    table.add_row("calibration error (ECE)", f"{result['ece']:.3f}", "")
    table.add_row("confusion", f"tp {c['tp']} fp {c['fp']} tn {c['tn']} fn {c['fn']}", "")
    return table
