"""Average samples of opentrust's truncated sequential test vs the fixed-n design with the same guarantees.

For each design (p0, δ, α, β), the fixed-n design is the smallest n (with its critical count) whose exact
false-pass rate at p0-δ is <= α and false-fail rate at p0+δ is <= β. The sequential test has the same
α/β bounds (Ville thresholds, exact) and max_samples = 2 × that n. Its operating characteristics (expected
samples, P(pass/fail/inconclusive)) are computed exactly by dynamic programming, not simulated.

Run: .venv/bin/python benchmarks/sequential.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from opentrust.evals.sequential import SPRT, fixed_n_design  # noqa: E402

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


if __name__ == "__main__":
    main()
