"""Carry a detector's measured error into an attack-success rate.

A campaign observes ``k`` "successes" out of ``n`` samples, but a success is what a detector *said*.
With the detector's sensitivity Se (P(positive | truly positive)) and specificity Sp
(P(negative | truly negative)), the observed rate q relates to the true rate p by
``q = Se·p + (1 − Sp)·(1 − p)``; the Rogan–Gladen estimator inverts it:

    p̂ = (q + Sp − 1) / (Se + Sp − 1), clipped to [0, 1].

The interval must also carry the uncertainty in Se and Sp, which come from a finite labelled set
(``benchmarks/detectors.py`` → ``data/detectors/error_rates.json``). We use a simple, conservative
construction: Clopper–Pearson intervals for q, Se and Sp, each at level 1 − α/3 (Bonferroni, so all
three hold together with probability ≥ 1 − α), and the extremes of the Rogan–Gladen map over that
box. The map is monotone in each argument on the region where it is defined, so its extremes lie at
the box's corners. If Se + Sp − 1 ≤ 0 anywhere in the box the detector is not informative there and
the interval is [0, 1] — an honest "we cannot tell". (Lang & Reiczigel 2014 give tighter intervals;
this one is simple to audit and never too narrow.)

When an attack "succeeds" on the detector's *negative* label (over-refusal counts refusals; a jailbreak
counted by "compliance" of the refusal detector), swap the roles with ``ErrorRates.for_label``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from scipy.stats import beta


@dataclass(frozen=True)
class ErrorRates:
    """Confusion counts of a detector on a labelled set, for its positive label."""

    detector: str
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else float("nan")

    def swapped(self) -> "ErrorRates":
        """The same detector judged on its negative label (positives and negatives trade places)."""
        return ErrorRates(self.detector, tp=self.tn, fp=self.fn, tn=self.tp, fn=self.fp)

    def for_label(self, label: str, positive_label: str) -> "ErrorRates":
        return self if label == positive_label else self.swapped()


@dataclass(frozen=True)
class CorrectedRate:
    observed: float
    estimate: float  # Rogan–Gladen point estimate, clipped to [0, 1]
    low: float
    high: float
    n: int
    method: str = "rogan-gladen, clopper-pearson box (bonferroni)"


def clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def rogan_gladen(q: float, se: float, sp: float) -> float | None:
    """True prevalence from observed rate q; None when the detector is not informative (Se + Sp ≤ 1)."""
    j = se + sp - 1.0
    if j <= 1e-9:
        return None
    return min(1.0, max(0.0, (q + sp - 1.0) / j))


def corrected_rate(successes: int, n: int, rates: ErrorRates, alpha: float = 0.05) -> CorrectedRate:
    """Attack-success rate corrected for detector error, with a (1 − α) interval that includes the
    uncertainty of the detector's own error rates."""
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    q = successes / n if n else 0.0
    a = alpha / 3
    q_lo, q_hi = clopper_pearson(successes, n, a)
    se_lo, se_hi = clopper_pearson(rates.tp, rates.tp + rates.fn, a)
    sp_lo, sp_hi = clopper_pearson(rates.tn, rates.tn + rates.fp, a)
    point = rogan_gladen(q, rates.sensitivity, rates.specificity) if n else None
    corners = [
        rogan_gladen(qq, se, sp) for qq in (q_lo, q_hi) for se in (se_lo, se_hi) for sp in (sp_lo, sp_hi)
    ]
    if any(c is None for c in corners) or point is None:
        return CorrectedRate(q, q if point is None else point, 0.0, 1.0, n)
    values = [c for c in corners if c is not None]
    low, high = min(values), max(values)
    return CorrectedRate(q, point, min(low, point), max(high, point), n)


@lru_cache(maxsize=1)
def load_error_rates() -> dict[str, Any]:
    """The file ``benchmarks/detectors.py`` writes: per detector, counts on the labelled set, with date."""
    text = (
        resources.files("opentrust").joinpath("data/detectors/error_rates.json").read_text(encoding="utf-8")
    )
    return json.loads(text)


def error_rates(detector: str) -> ErrorRates:
    data = load_error_rates()["detectors"][detector]
    c = data["all"]["counts"]
    return ErrorRates(detector, tp=c["tp"], fp=c["fp"], tn=c["tn"], fn=c["fn"])
