"""Average samples of opentrust's truncated sequential test vs the fixed-n design with the same guarantees.

For each design (p0, δ, α, β), the fixed-n design is the smallest n (with its critical count) whose exact
false-pass rate at p0-δ is <= α and false-fail rate at p0+δ is <= β. The sequential test has the same
α/β bounds (Ville thresholds, exact) and max_samples = 2 × that n. Its operating characteristics (expected
samples, P(pass/fail/inconclusive)) are computed exactly by dynamic programming, not simulated.

A second part checks the interval reported next to each verdict (the exact interval for the sequential test,
opentrust.evals.sequential): for a grid of true rates and several designs, the fraction of stopped runs whose
interval contains the true rate, simulated and exact, side by side with the fixed-n Clopper–Pearson interval
computed after stopping (what opentrust reported before): at 95% two-sided, and at the same one-sided levels
as the new interval (lower 1-alpha, upper 1-beta), which isolates what ignoring the stopping rule costs.

Run: .venv/bin/python benchmarks/sequential.py            (both parts)
     .venv/bin/python benchmarks/sequential.py coverage   (the interval coverage only)
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from opentrust.evals.sequential import SPRT, design_intervals, fixed_n_design, interval_confidence  # noqa: E402

DESIGNS = [(0.8, 0.1, 0.05, 0.1), (0.9, 0.05, 0.05, 0.1), (0.5, 0.1, 0.05, 0.05), (0.7, 0.05, 0.01, 0.05)]
TRUNCATION = 2.0  # max_samples as a multiple of the fixed design's n


def main() -> None:
    savings = []
    for p0, d, alpha, beta in DESIGNS:
        fixed = fixed_n_design(SPRT(p0, d, alpha, beta, 10))
        seq = SPRT(p0, d, alpha, beta, int(TRUNCATION * fixed.n))
        # every 0.05 within ±0.3 of the threshold, plus the indifference-zone edges where the bounds bite
        grid = sorted({round(p, 3) for p in (*np.arange(p0 - 0.3, p0 + 0.3 + 1e-9, 0.05), p0 - d, p0 + d)
                       if 0.01 <= p <= 0.995})
        print(f"\ndesign: pass_rate {p0} ± {d}, alpha {alpha} (false pass), beta {beta} (false fail); "
              f"fixed n = {fixed.n} (pass iff >= {fixed.critical}); sequential max_samples = {seq.max_samples}")
        print(f"{'true p':>7} {'E[n] seq':>9} {'fixed n':>8} {'saving':>7} {'P(pass)':>8} {'P(fail)':>8} {'P(inc)':>7}")
        ratios = []
        for p in grid:
            oc = seq.operating_characteristics(p)
            ratios.append(oc.expected_samples / fixed.n)
            print(f"{p:7.3f} {oc.expected_samples:9.1f} {fixed.n:8d} {1 - ratios[-1]:7.1%} {oc.p_pass:8.3f} "
                  f"{oc.p_fail:8.3f} {oc.p_inconclusive:7.3f}")
        worst_fp = max(seq.operating_characteristics(p).p_pass for p in grid if p <= p0 - d + 1e-9)
        worst_ff = max(seq.operating_characteristics(p).p_fail for p in grid if p >= p0 + d - 1e-9)
        saving = 1 - float(np.mean(ratios))
        zone = [r for p, r in zip(grid, ratios) if abs(p - p0) <= d + 1e-9]
        print(f"saving inside the indifference zone only (|p - p0| <= δ, the hardest cases): {1 - float(np.mean(zone)):.1%}")
        savings.append(saving)
        print(f"average saving over the grid: {saving:.1%}; worst false-pass (p <= p0-δ) {worst_fp:.4f} <= {alpha}; "
              f"worst false-fail (p >= p0+δ) {worst_ff:.4f} <= {beta}")
    print("\nMonte Carlo check of the error rates (100,000 simulated cases per true rate, worst of two rates "
          "at/beyond each edge of the indifference zone):")
    rng = np.random.default_rng(12345)
    for p0, d, alpha, beta in DESIGNS:
        seq = SPRT(p0, d, alpha, beta, int(TRUNCATION * fixed_n_design(SPRT(p0, d, alpha, beta, 10)).n))
        fp = max(float(np.mean(seq.simulate(p, 100_000, rng)[0] == 1)) for p in (seq.p_fail, seq.p_fail - d / 2))
        ff = max(float(np.mean(seq.simulate(p, 100_000, rng)[0] == -1)) for p in (seq.p_pass, seq.p_pass + d / 2))
        print(f"  pass_rate {p0} ± {d}: simulated false-pass {fp:.4f} (alpha {alpha}), false-fail {ff:.4f} (beta {beta})")
    overall = float(np.mean(savings))
    print(f"\nsequential vs fixed-n: {overall:.1%} fewer samples on average over all designs and grids "
          f"(target >= 40%) — ratio {1 - overall:.2f}")


COVERAGE_RUNS = 20_000
# the built-in suites' design, the pytest plugin's default, the audit's quick design, and the designs above
COVERAGE_DESIGNS = [(0.8, 0.1, 0.05, 0.1, 24), (0.8, 0.1, 0.05, 0.1, 32), (0.8, 0.1, 0.05, 0.1, 3)] + \
    [(p0, d, a, b, None) for p0, d, a, b in DESIGNS]


def _exact_stop_probabilities(test: SPRT, p: float) -> "np.ndarray":
    """probs[n, k] = P(the test stops after n samples with k successes) at true rate p (exact DP)."""
    probs = np.zeros((test.max_samples + 1, test.max_samples + 1))
    alive = np.array([1.0])
    for n in range(1, test.max_samples + 1):
        nxt = np.zeros(n + 1)
        nxt[1:] += alive * p
        nxt[:-1] += alive * (1 - p)
        ks = np.arange(n + 1)
        values = ks * test.step_success + (n - ks) * test.step_failure
        stop = (values >= test.upper) | (values <= test.lower) | (n == test.max_samples)
        probs[n, : n + 1] = np.where(stop, nxt, 0.0)
        alive = np.where(stop, 0.0, nxt)
    return probs


def coverage() -> None:
    from scipy.stats import beta as beta_dist

    print("\nCoverage of the interval reported with each verdict, after sequential stopping "
          f"({COVERAGE_RUNS:,} simulated cases per true rate; exact = dynamic programme, no simulation).")
    print("new: exact for the sequential test, lower end 1-alpha, upper end 1-beta (nominal 1-alpha-beta).")
    print("old CP95: fixed-n Clopper-Pearson 95% two-sided after stopping (nominal 0.95; what was reported before).")
    print("CP same levels: fixed-n Clopper-Pearson with the new interval's one-sided levels (nominal 1-alpha-beta).")
    print("'<' marks simulated coverage more than 3 standard errors below its nominal level.")
    rng = np.random.default_rng(20261127)
    worst_new, worst_old = 1.0, 1.0
    for p0, d, alpha, beta, n_max in COVERAGE_DESIGNS:
        if n_max is None:
            n_max = int(TRUNCATION * fixed_n_design(SPRT(p0, d, alpha, beta, 10)).n)
        test = SPRT(p0, d, alpha, beta, n_max)
        nominal = interval_confidence(test)
        size = test.max_samples + 1
        lo_new, hi_new = np.zeros((size, size)), np.ones((size, size))
        for o, (lo, hi) in design_intervals(test).items():
            lo_new[o.samples, o.successes], hi_new[o.samples, o.successes] = lo, hi
        n_grid, k_grid = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        valid = (k_grid <= n_grid) & (n_grid > 0)
        n_safe = np.where(valid, n_grid, 1)
        k_safe = np.where(valid, k_grid, 0)

        def cp(lower_level: float, upper_level: float) -> tuple["np.ndarray", "np.ndarray"]:
            lo = np.where(k_safe == 0, 0.0, beta_dist.ppf(lower_level, np.maximum(k_safe, 1), n_safe - k_safe + 1))
            hi = np.where(k_safe == n_safe, 1.0, beta_dist.ppf(1 - upper_level, k_safe + 1,
                                                               np.maximum(n_safe - k_safe, 1)))
            return lo, hi

        lo_old, hi_old = cp(0.025, 0.025)
        lo_same, hi_same = cp(alpha, beta)
        grid = sorted({round(p, 3) for p in (*np.arange(p0 - 0.3, p0 + 0.2 + 1e-9, 0.05), p0 - d, p0 + d)
                       if 0.01 <= p <= 0.995})
        print(f"\ndesign: pass_rate {p0} ± {d}, alpha {alpha}, beta {beta}, max_samples {n_max}; "
              f"new interval nominal {nominal:.2f}")
        print(f"{'true p':>7} {'new sim':>8} {'new exact':>9} {'old CP95':>9} {'CP same lv':>10}")
        se_new = math.sqrt(nominal * (1 - nominal) / COVERAGE_RUNS)
        se_old = math.sqrt(0.95 * 0.05 / COVERAGE_RUNS)
        for p in grid:
            _, n, k = test.simulate_stops(p, COVERAGE_RUNS, rng)

            def covered(lo: "np.ndarray", hi: "np.ndarray") -> float:
                return float(np.mean((lo[n, k] <= p) & (p <= hi[n, k])))

            new, old, same = covered(lo_new, hi_new), covered(lo_old, hi_old), covered(lo_same, hi_same)
            probs = _exact_stop_probabilities(test, p)
            exact = float((probs * ((lo_new <= p) & (p <= hi_new))).sum())
            worst_new, worst_old = min(worst_new, exact - nominal), min(worst_old, old - 0.95)

            def mark(value: float, target: float, se: float) -> str:
                return "<" if value < target - 3 * se else " "

            print(f"{p:7.3f} {new:7.3f}{mark(new, nominal, se_new)} {exact:9.3f} {old:8.3f}{mark(old, 0.95, se_old)} "
                  f"{same:9.3f}{mark(same, nominal, se_new)}")
    print(f"\nworst exact coverage of the new interval minus its nominal level: {worst_new:+.4f} (never negative); "
          f"worst simulated coverage of the old CP95 minus 0.95: {worst_old:+.4f}")


if __name__ == "__main__":
    if sys.argv[1:] == ["coverage"]:
        coverage()
    else:
        main()
        coverage()
