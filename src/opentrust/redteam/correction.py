"""Carry a detector's measured error into an attack-success rate.

A campaign observes "successes", but a success is what a detector *said*. With the detector's sensitivity Se
(P(positive | truly positive)) and specificity Sp (P(negative | truly negative)), the observed rate q relates
to the true rate p by ``q = Se·p + (1 − Sp)·(1 − p)``; the Rogan–Gladen estimator inverts it:

    p̂ = (q + Sp − 1) / (Se + Sp − 1), clipped to [0, 1].

Se and Sp come from a finite labelled validation set (``benchmarks/detectors.py`` →
``data/detectors/error_rates.json``, format 2: per detector, the held-out confusion counts ``pooled`` over
several human-labelled sets, and per set). Their uncertainty belongs in the interval.

``lang_reiczigel`` is the interval we use (Lang & Reiczigel 2014, "Confidence limits for prevalence of disease
adjusted for estimated sensitivity and specificity", Prev. Vet. Med. 113:13–22): an Agresti–Coull-style
adjustment (add z²/2 positives and z²/2 negatives to the prevalence sample, one of each to both validation
samples), the delta-method variance of the Rogan–Gladen estimator from the three independent binomials, and
the authors' shift of the centre, 2z²·(p̃·Var(Se~) − (1 − p̃)·Var(Sp~)). Hand-written because no maintained
Python package implements it; the arithmetic follows the authors' published R script
(CI4TruePrevalence_15_03_2013.r) and its coverage is checked by simulation in
``benchmarks/redteam_intervals.py`` and ``tests/redteam/test_intervals.py``. It takes a (possibly fractional)
effective count, so a clustered design enters through its effective sample size (see
``opentrust.redteam.estimate``).

``corrected_rate`` is the previous construction (Clopper–Pearson boxes over q, Se and Sp at α/3 each and the
extremes of the Rogan–Gladen map over the box): valid but very conservative; kept for comparison.

When an attack "succeeds" on the detector's *negative* label, swap the roles with ``ErrorRates.for_label``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from opentrust.stats import clopper_pearson_interval

FORMAT_V2 = "opentrust-detector-error-rates/2"
FORMAT_V1 = "opentrust-detector-error-rates/1"


@dataclass(frozen=True)
class ErrorRates:
    """Confusion counts of a detector on a labelled set, for its positive label, and where they come from."""

    detector: str
    tp: int
    fp: int
    tn: int
    fn: int
    #: the validation sets the counts were pooled over
    sets: tuple[str, ...] = ()
    labelled_by: str = ""
    positive_label: str = ""
    #: per set: name -> (tp, fp, tn, fn), when the file gives them (used to show how much the sets disagree)
    per_set: tuple[tuple[str, tuple[int, int, int, int]], ...] = field(default=(), compare=False)

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.tn + self.fp

    @property
    def sensitivity(self) -> float:
        return self.tp / self.positives if self.positives else float("nan")

    @property
    def specificity(self) -> float:
        return self.tn / self.negatives if self.negatives else float("nan")

    def swapped(self) -> "ErrorRates":
        """The same detector judged on its negative label (positives and negatives trade places)."""
        return ErrorRates(self.detector, tp=self.tn, fp=self.fn, tn=self.tp, fn=self.fp, sets=self.sets,
                          labelled_by=self.labelled_by, positive_label=f"not {self.positive_label}",
                          per_set=tuple((n, (tn, fn, tp, fp)) for n, (tp, fp, tn, fn) in self.per_set))

    def for_label(self, label: str, positive_label: str | None = None) -> "ErrorRates":
        positive = positive_label if positive_label is not None else self.positive_label
        return self if label == positive else self.swapped()

    def to_json(self, confidence: float = 0.95) -> dict[str, Any]:
        """What a report states about the correction: the sets, their size, Se and Sp with exact intervals."""
        r = lambda v: round(v, 4)  # noqa: E731
        se_ci = clopper_pearson_interval(self.tp, self.positives, confidence)
        sp_ci = clopper_pearson_interval(self.tn, self.negatives, confidence)
        out: dict[str, Any] = {
            "positive_label": self.positive_label, "sets": list(self.sets), "labelled_by": self.labelled_by,
            "n": self.positives + self.negatives, "positives": self.positives, "negatives": self.negatives,
            "counts": {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn},
            "sensitivity": r(self.sensitivity), "sensitivity_ci": [r(se_ci[0]), r(se_ci[1])],
            "specificity": r(self.specificity), "specificity_ci": [r(sp_ci[0]), r(sp_ci[1])],
            "interval": "Clopper–Pearson, " + f"{confidence:.0%}",
        }
        spread = self.set_spread()
        if spread:
            out["per_set"] = spread
        return out

    def set_spread(self) -> dict[str, Any]:
        """Se and Sp per validation set, and whether the sets disagree more than chance allows.

        The correction assumes the audited model's responses are judged like the pooled sets'. When the sets
        themselves disagree (a chi-square test of homogeneity across sets, p < 0.01, on positives or negatives),
        that assumption is doubtful and the report says so.
        """
        if len(self.per_set) < 2:
            return {}
        from scipy.stats import chi2_contingency

        rows = {}
        for name, (tp, fp, tn, fn) in self.per_set:
            rows[name] = {"sensitivity": None if tp + fn == 0 else round(tp / (tp + fn), 4),
                          "specificity": None if tn + fp == 0 else round(tn / (tn + fp), 4),
                          "positives": tp + fn, "negatives": tn + fp}

        def p_value(pairs: list[tuple[int, int]]) -> float | None:
            pairs = [p for p in pairs if sum(p) > 0]
            if len(pairs) < 2 or all(a == 0 for a, _ in pairs) or all(b == 0 for _, b in pairs):
                return None
            return float(chi2_contingency([list(p) for p in pairs])[1])

        p_se = p_value([(tp, fn) for _, (tp, fp, tn, fn) in self.per_set])
        p_sp = p_value([(tn, fp) for _, (tp, fp, tn, fn) in self.per_set])
        disagree = any(p is not None and p < 0.01 for p in (p_se, p_sp))
        return {"sets": rows, "homogeneity_p": {"sensitivity": p_se, "specificity": p_sp},
                "sets_disagree": disagree}


@dataclass(frozen=True)
class CorrectedRate:
    observed: float
    estimate: float  # Rogan–Gladen point estimate, clipped to [0, 1]
    low: float
    high: float
    n: int
    method: str = "rogan-gladen, clopper-pearson box (bonferroni)"


def rogan_gladen(q: float, se: float, sp: float) -> float | None:
    """True prevalence from observed rate q; None when the detector is not informative (Se + Sp ≤ 1)."""
    j = se + sp - 1.0
    if j <= 1e-9:
        return None
    return min(1.0, max(0.0, (q + sp - 1.0) / j))


def corrected_rate(successes: int, n: int, rates: ErrorRates, alpha: float = 0.05) -> CorrectedRate:
    """The previous, conservative construction, kept for comparison (benchmarks/redteam_intervals.py):
    Clopper–Pearson intervals for q, Se and Sp at level 1 − α/3 each (Bonferroni) and the extremes of the
    Rogan–Gladen map over that box (it is monotone in each argument, so they lie at the corners)."""
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    q = successes / n if n else 0.0
    a = alpha / 3
    q_lo, q_hi = clopper_pearson_interval(successes, n, 1 - a)
    se_lo, se_hi = clopper_pearson_interval(rates.tp, rates.tp + rates.fn, 1 - a)
    sp_lo, sp_hi = clopper_pearson_interval(rates.tn, rates.tn + rates.fp, 1 - a)
    point = rogan_gladen(q, rates.sensitivity, rates.specificity) if n else None
    corners = [
        rogan_gladen(qq, se, sp) for qq in (q_lo, q_hi) for se in (se_lo, se_hi) for sp in (sp_lo, sp_hi)
    ]
    if any(c is None for c in corners) or point is None:
        return CorrectedRate(q, q if point is None else point, 0.0, 1.0, n)
    values = [c for c in corners if c is not None]
    low, high = min(values), max(values)
    return CorrectedRate(q, point, min(low, point), max(high, point), n)


@dataclass(frozen=True)
class Adjusted:
    """One Lang–Reiczigel computation: the adjusted centre and the variance of the corrected rate.

    ``sampling_var`` and ``detector_var`` split the variance into the part from the campaign's own samples
    and the part from the detector's validation set (what more probes can and cannot shrink).
    """

    informative: bool
    estimate: float  # Rogan–Gladen with the unadjusted figures, clipped to [0, 1]
    centre: float  # adjusted estimate plus the shift; the interval is centre ± z·sqrt(variance)
    sampling_var: float
    detector_var: float
    youden: float  # Se~ + Sp~ − 1 of the adjusted figures

    @property
    def variance(self) -> float:
        return self.sampling_var + self.detector_var


def z_value(confidence: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)


def lang_reiczigel(k: float, n: float, rates: ErrorRates, confidence: float = 0.95) -> Adjusted:
    """Lang & Reiczigel's adjusted interval ingredients for k positives (may be fractional) of n.

    Adjustments: k + z²/2 of n + z² for the observed rate; (tp + 1)/(tp + fn + 2) and (tn + 1)/(tn + fp + 2)
    for Se and Sp. Variance (delta method, three independent binomials):
    [q~(1−q~)/n~ + p~²·Se~(1−Se~)/n_Se~ + (1−p~)²·Sp~(1−Sp~)/n_Sp~] / (Se~ + Sp~ − 1)².
    """
    if n <= 0:
        raise ValueError("n must be positive")
    z = z_value(confidence)
    q = k / n
    n_q = n + z * z
    q_a = (k + z * z / 2) / n_q
    n_se, n_sp = rates.positives + 2, rates.negatives + 2
    se_a = (rates.tp + 1) / n_se
    sp_a = (rates.tn + 1) / n_sp
    j = se_a + sp_a - 1
    point = rogan_gladen(q, rates.sensitivity, rates.specificity) if rates.positives and rates.negatives else None
    if j <= 1e-9 or point is None:
        return Adjusted(False, q if point is None else point, 0.5, 0.0, 0.0, j)
    p_a = (q_a + sp_a - 1) / j
    v_se = se_a * (1 - se_a) / n_se
    v_sp = sp_a * (1 - sp_a) / n_sp
    shift = 2 * z * z * (p_a * v_se - (1 - p_a) * v_sp)
    sampling = q_a * (1 - q_a) / n_q / (j * j)
    detector = (p_a * p_a * v_se + (1 - p_a) ** 2 * v_sp) / (j * j)
    return Adjusted(True, point, p_a + shift, sampling, detector, j)


# -- the shipped error rates --------------------------------------------------------------------------------
def _resource_text() -> str:
    return resources.files("opentrust").joinpath("data/detectors/error_rates.json").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load_error_rates() -> dict[str, Any]:
    """The file ``benchmarks/detectors.py`` writes (format 2; format 1 is still read)."""
    return json.loads(_resource_text())


def read_error_rates(path: str | Path) -> dict[str, Any]:
    """A user-supplied error-rates file (format 2 or 1)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _counts(c: dict[str, Any]) -> tuple[int, int, int, int]:
    return int(c["tp"]), int(c["fp"]), int(c["tn"]), int(c["fn"])


def parse_error_rates(doc: dict[str, Any], detector: str) -> ErrorRates:
    """ErrorRates for ``detector`` from an error-rates document.

    Format 2: ``detectors.<name>.pooled.counts`` with ``pooled.sets``, per-set counts under ``sets``.
    Format 1 (older files): ``detectors.<name>.all.counts``.
    """
    from opentrust.errors import UserError

    entries = doc.get("detectors") or {}
    if detector not in entries:
        raise UserError(f"no measured error rates for the {detector} detector",
                        "run benchmarks/detectors.py, or give the detector's confusion counts")
    d = entries[detector]
    positive = d.get("positive_label", "")
    if "pooled" in d:
        pooled = d["pooled"]
        tp, fp, tn, fn = _counts(pooled["counts"])
        sets = tuple(pooled.get("sets") or ())
        raw_sets = d.get("sets") if isinstance(d.get("sets"), dict) else {}
        per_set = tuple((name, _counts(s["counts"])) for name, s in raw_sets.items()
                        if isinstance(s, dict) and "counts" in s and (not sets or name in sets))
        labelled = d.get("labelled_by") or pooled.get("labelled_by") or "; ".join(
            sorted({str(s.get("labelled_by")) for s in raw_sets.values() if isinstance(s, dict)
                    and s.get("labelled_by")}))
        return ErrorRates(detector, tp, fp, tn, fn, sets=sets, labelled_by=labelled, positive_label=positive,
                          per_set=per_set)
    if "all" in d:  # format 1
        tp, fp, tn, fn = _counts(d["all"]["counts"])
        sets = tuple(d.get("sets") or ())
        return ErrorRates(detector, tp, fp, tn, fn, sets=sets, labelled_by=d.get("labelled_by", ""),
                          positive_label=positive)
    raise UserError(f"error rates for the {detector} detector have no 'pooled' (format 2) or 'all' (format 1) counts",
                    "regenerate the file with benchmarks/detectors.py")


def error_rates(detector: str) -> ErrorRates:
    return parse_error_rates(load_error_rates(), detector)


def error_rates_source() -> dict[str, Any]:
    doc = load_error_rates()
    return {"file": "opentrust/data/detectors/error_rates.json", "format": doc.get("format"),
            "date": doc.get("date"), "produced_by": doc.get("produced_by")}

