"""Simulated pairs of models: error rates and power of `opentrust compare`'s paired test against lm-eval's unpaired
z-test, and the samples each needs for 80% power.

Model: C cases; each case has a true pass rate p_c ~ Beta(a, b) for model B (a U-shaped Beta makes outcomes
strongly case-dependent: most cases are easy for both models or hard for both, as on real suites). Model A's rate
on the case is p_c (null) or p_c + delta · (1 − p_c) / (1 − E[p]) (A better by delta on average). Every sample
is an independent Bernoulli draw given the case's rate. Both tests see the same simulated answers:

* ours — opentrust.compare.stats: paired samples, exact McNemar with one sample per case (case-clustered t with
  more), verdict better/worse only when significant *and* the interval excludes 0;
* lm-eval's ``scripts/model_comparator.py`` — z = (acc_a − acc_b) / sqrt(se_a² + se_b²), each se that of an
  independent mean: it ignores that both models answered the same items.

Prints, per design: the false better/worse rate under the null (must stay ≤ alpha), power at delta, and the cases
needed for 80% power by each test (smallest C on a grid with simulated power ≥ 0.8) with the saving.

    .venv/bin/python benchmarks/compare_stats.py            # ~2 minutes on 2 cores
    .venv/bin/python benchmarks/compare_stats.py --sims 200 # quicker, noisier
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from opentrust.compare import stats as s

ALPHA = 0.05


def simulate(cases: int, k: int, delta: float, a: float, b: float, rng: np.random.Generator
             ) -> tuple[list[list[bool]], list[list[bool]]]:
    p_b = rng.beta(a, b, size=cases)
    mean = a / (a + b)
    p_a = p_b + delta * (1 - p_b) / (1 - mean)
    xa = rng.random((cases, k)) < p_a[:, None]
    xb = rng.random((cases, k)) < p_b[:, None]
    return xa.tolist(), xb.tolist()


def rates(cases: int, k: int, delta: float, sims: int, beta: tuple[float, float], seed: int) -> dict[str, float]:
    """Share of simulations each test called A better / called either better or worse."""
    rng = np.random.default_rng(seed)
    ours_better = ours_any = z_better = z_any = 0
    for _ in range(sims):
        xa, xb = simulate(cases, k, delta, *beta, rng)
        st = s.compare_outcomes(xa, xb, confidence=1 - ALPHA, delta=max(delta, 0.05), seed=int(rng.integers(1 << 30)))
        s.decide([st], ALPHA, max(delta, 0.05))
        ours_better += st.verdict == "better"
        ours_any += st.verdict in ("better", "worse")
        diff, p = s.unpaired_z(xa, xb)
        z_better += p < ALPHA and diff > 0
        z_any += p < ALPHA
    return {"ours_better": ours_better / sims, "ours_any": ours_any / sims, "z_better": z_better / sims,
            "z_any": z_any / sims}


def cases_for_power(k: int, delta: float, sims: int, beta: tuple[float, float], grid: list[int], seed: int,
                    target: float = 0.8) -> dict[str, int | None]:
    """The smallest number of cases on the grid where each test reaches the target power."""
    found: dict[str, int | None] = {"ours": None, "z": None}
    for c in grid:
        r = rates(c, k, delta, sims, beta, seed + c)
        if found["ours"] is None and r["ours_better"] >= target:
            found["ours"] = c
        if found["z"] is None and r["z_better"] >= target:
            found["z"] = c
        if all(v is not None for v in found.values()):
            break
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sims", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    random.seed(args.seed)
    start = time.perf_counter()
    designs = [("U-shaped cases Beta(0.5,0.5), 1 sample/case", 1, (0.5, 0.5)),
               ("U-shaped cases Beta(0.5,0.5), 3 samples/case", 3, (0.5, 0.5)),
               ("mild case effect Beta(2,2), 1 sample/case", 1, (2.0, 2.0))]
    delta = 0.1
    grid = [25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 650, 800]
    print(f"alpha {ALPHA}, delta {delta}, {args.sims} simulations per point\n")
    print(f"{'design':48} {'null: false better/worse':>26} {'power at delta, 100 cases':>28} "
          f"{'cases for 80% power':>22} {'saving':>7}")
    print(f"{'':48} {'ours':>12} {'lm-eval z':>13} {'ours':>13} {'lm-eval z':>14} {'ours':>10} {'lm-eval z':>11}")
    for name, k, beta in designs:
        null = rates(100, k, 0.0, args.sims, beta, args.seed)
        alt = rates(100, k, delta, args.sims, beta, args.seed + 1)
        need = cases_for_power(k, delta, max(200, args.sims // 2), beta, grid, args.seed + 2)
        saving = "" if not (need["ours"] and need["z"]) else f"{1 - need['ours'] / need['z']:.0%}"
        print(f"{name:48} {null['ours_any']:>12.3f} {null['z_any']:>13.3f} {alt['ours_better']:>13.3f} "
              f"{alt['z_better']:>14.3f} {str(need['ours']):>10} {str(need['z']):>11} {saving:>7}")
    print(f"\n(cases for power: smallest on the grid {grid}; samples = cases × samples per case; "
          f"{time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
