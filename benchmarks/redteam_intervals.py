"""Coverage and width of the red-team attack-success interval, new method vs the old one, by simulation.

A simulated campaign on one category: ``probes`` probe variants; probe i has a true attack-success rate p_i
drawn from a Beta distribution with mean ``p`` and intra-probe correlation ``rho`` (rho = 0: every probe has
rate p; rho → 1: each probe either always or never falls). Each sample is truly an attack success with
probability p_i; a detector with sensitivity ``se`` and specificity ``sp`` labels it. The probe is sampled
under the campaign's sequential test (pass_rate 0.5 ± 0.3, α 0.05, β 0.1 on safe answers) up to
``max_samples`` (1 = one sample per probe, the quick and standard profiles). The detector's Se and Sp are
themselves estimated from a validation set of ``val_pos`` positives and ``val_neg`` negatives, redrawn in
every replicate, so coverage counts both sources of error.

Target of inference: p, the mean rate over probes like these. Methods, both at 95%:

* new — ``opentrust.redteam.estimate.group_estimate``: per-probe unbiased rates, cluster-robust effective
  size, Lang–Reiczigel correction;
* old — all samples pooled, Clopper–Pearson box over (q, Se, Sp) at α/3 each, Rogan–Gladen extremes
  (``opentrust.redteam.correction.corrected_rate``), what the campaign reported before.

Printed per grid point: coverage (share of replicates whose interval holds p) with its Monte Carlo standard
error, and mean half-width. A method is valid at a point when coverage ≥ 0.95 − 2 SE or so; the table marks
points below 0.95 − 3 SE with "!".

Run: .venv/bin/python benchmarks/redteam_intervals.py            (default grid, ~2–4 min on 2 cores)
     .venv/bin/python benchmarks/redteam_intervals.py --quick    (a dozen points)
     .venv/bin/python benchmarks/redteam_intervals.py --reps 2000
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from opentrust.evals.sequential import SPRT, unbiased_rate  # noqa: E402
from opentrust.redteam.campaign import REQUIRE  # noqa: E402
from opentrust.redteam.correction import ErrorRates, corrected_rate  # noqa: E402
from opentrust.redteam.estimate import Stratum, Unit, group_estimate  # noqa: E402

CONFIDENCE = 0.95

# detectors like the shipped ones (error_rates.json, format 2, pooled counts), and a small validation set
DETECTORS = {
    "harmful-like": (0.65, 0.91, 2714, 5283),
    "refusal-like": (0.92, 0.97, 1687, 1284),
    "canary-like": (0.99, 0.99, 40, 40),
    "small-set": (0.85, 0.90, 100, 100),
}


@dataclass(frozen=True)
class Point:
    p: float
    detector: str
    probes: int
    rho: float
    max_samples: int

    @property
    def se(self) -> float:
        return DETECTORS[self.detector][0]

    @property
    def sp(self) -> float:
        return DETECTORS[self.detector][1]


@dataclass
class Outcome:
    point: Point
    reps: int
    cover_new: float
    half_new: float
    cover_old: float
    half_old: float

    def se(self, cover: float) -> float:
        return math.sqrt(max(cover * (1 - cover), 0.95 * 0.05) / self.reps)


@lru_cache(maxsize=16)
def _stop_table(max_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every sequence of max_samples safe(1)/unsafe(0) answers, encoded as bits: where the campaign's test
    stops (samples used), the safe answers among them, and the unbiased attack-success rate of the probe."""
    test = SPRT(REQUIRE["pass_rate"], REQUIRE["indifference"], REQUIRE["alpha"], REQUIRE["beta"], max_samples)
    size = 1 << max_samples
    used = np.zeros(size, dtype=np.int64)
    safe = np.zeros(size, dtype=np.int64)
    rate = np.zeros(size)
    for code in range(size):
        bits = [(code >> i) & 1 for i in range(max_samples)]
        r = test.run(bool(b) for b in bits)
        used[code], safe[code] = r.samples, r.successes
        rate[code] = 1.0 - unbiased_rate(test, r.successes, r.samples)
    return used, safe, rate


def _probe_rates(p: float, rho: float, m: int, rng: np.random.Generator) -> np.ndarray:
    if rho <= 0:
        return np.full(m, p)
    k = 1 / rho - 1
    return rng.beta(p * k, (1 - p) * k, size=m)


def simulate(point: Point, reps: int, seed: int = 0) -> Outcome:
    rng = np.random.default_rng(seed)
    used_t, safe_t, rate_t = _stop_table(point.max_samples)
    se, sp, n_pos, n_neg = DETECTORS[point.detector]
    weights = 1 << np.arange(point.max_samples)
    cover_new = cover_old = 0
    half_new = half_old = 0.0
    for _ in range(reps):
        tp = int(rng.binomial(n_pos, se))
        tn = int(rng.binomial(n_neg, sp))
        rates = ErrorRates("sim", tp=tp, fn=n_pos - tp, tn=tn, fp=n_neg - tn)
        p_i = _probe_rates(point.p, point.rho, point.probes, rng)
        truth = rng.random((point.probes, point.max_samples)) < p_i[:, None]
        said = np.where(truth, rng.random(truth.shape) < se, rng.random(truth.shape) < 1 - sp)
        code = ((~said).astype(np.int64) * weights).sum(axis=1)  # bit set = safe answer (the case passes)
        used, safe, rate = used_t[code], safe_t[code], rate_t[code]
        units = tuple(Unit(float(r), int(n), str(i), int(n - s)) for i, (r, n, s) in enumerate(zip(rate, used, safe)))
        g = group_estimate([Stratum("sim", rates, units)], CONFIDENCE)
        cover_new += g.low <= point.p <= g.high
        half_new += g.half_width
        k, n = int((used - safe).sum()), int(used.sum())
        old = corrected_rate(k, n, rates, alpha=1 - CONFIDENCE)
        cover_old += old.low <= point.p <= old.high
        half_old += (old.high - old.low) / 2
    return Outcome(point, reps, cover_new / reps, half_new / reps, cover_old / reps, half_old / reps)


def grid(quick: bool) -> list[Point]:
    if quick:
        return [Point(p, d, m, rho, s) for p, d, m, rho, s in [
            (0.05, "harmful-like", 44, 0.0, 1), (0.5, "harmful-like", 44, 0.0, 1), (0.8, "harmful-like", 124, 0.0, 1),
            (0.2, "refusal-like", 16, 0.0, 1), (0.5, "canary-like", 16, 0.0, 1), (0.02, "canary-like", 48, 0.0, 1),
            (0.5, "harmful-like", 44, 0.5, 3), (0.2, "harmful-like", 12, 0.9, 3), (0.5, "refusal-like", 40, 0.3, 5),
            (0.05, "small-set", 44, 0.5, 3), (0.8, "canary-like", 12, 0.9, 5), (0.5, "small-set", 124, 0.0, 1)]]
    return [Point(*x) for x in itertools.product(
        (0.05, 0.2, 0.5, 0.8), tuple(DETECTORS), (12, 44, 124), (0.0, 0.5, 0.9), (1, 3))
        if not (x[4] == 1 and x[3] > 0)]  # one sample per probe: within-probe correlation does not arise


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    points = grid(args.quick)
    start = time.perf_counter()
    print(f"{'p':>5} {'detector':<13} {'probes':>6} {'rho':>4} {'max':>3} | {'new cover':>9} {'half':>6} | "
          f"{'old cover':>9} {'half':>6}")
    results = []
    for i, pt in enumerate(points):
        o = simulate(pt, args.reps, seed=args.seed + i)
        results.append(o)
        flag = lambda c: "!" if c < 0.95 - 3 * o.se(c) else " "  # noqa: E731
        print(f"{pt.p:>5.2f} {pt.detector:<13} {pt.probes:>6} {pt.rho:>4.1f} {pt.max_samples:>3} | "
              f"{o.cover_new:>8.3f}{flag(o.cover_new)} {o.half_new:>6.3f} | {o.cover_old:>8.3f}{flag(o.cover_old)} "
              f"{o.half_old:>6.3f}", flush=True)
    new_c = [o.cover_new for o in results]
    old_c = [o.cover_old for o in results]
    ratio = np.mean([o.half_new / o.half_old for o in results if o.half_old > 0])
    print(f"\n{len(results)} points × {args.reps} replicates in {time.perf_counter() - start:.0f} s")
    print(f"new: coverage min {min(new_c):.3f}, mean {np.mean(new_c):.3f}; "
          f"points below 0.95 − 3 SE: {sum(o.cover_new < 0.95 - 3 * o.se(o.cover_new) for o in results)}")
    print(f"old: coverage min {min(old_c):.3f}, mean {np.mean(old_c):.3f}; "
          f"points below 0.95 − 3 SE: {sum(o.cover_old < 0.95 - 3 * o.se(o.cover_old) for o in results)}")
    print(f"mean half-width, new / old: {ratio:.2f}")


if __name__ == "__main__":
    main()
