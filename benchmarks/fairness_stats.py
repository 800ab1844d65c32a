"""Paired vs unpaired: false alarms and power of `opentrust fairness` verdicts on simulated planted gaps.

Simulated design (what a counterfactual comparison looks like): ``cells`` templates × fillers, each with its
own base rate drawn from U(0.15, 0.85) — prompts differ far more from one another than groups do — and two
groups whose rates are the base rate ± gap/2. Each cell is asked ``samples`` times per group with the same
seeds; a seed moves both groups' answers alike with probability ``rho`` (the pairing the same seeds buy on a
sampled model), otherwise independently. One block = one cell and seed.

Both procedures see the same data and use the same verdict rule (unfair: p < alpha and the gap's interval above
the tolerance; fair: interval below it; inconclusive otherwise):

* **paired** — what opentrust runs (opentrust.fairness.stats.analyse): exact McNemar on the blocks, Newcombe's
  paired-difference interval; with ``looks`` = 2 the sequential design of the runner (half the seeds, then
  all, alpha split between the looks);
* **unpaired** — the groups' samples compared as independent (what lm-eval's model comparator and most bias
  dashboards do): two-proportion z-test, Newcombe's square-and-add Wilson interval for the difference.

Scores (a rating rescaled to 0-1) are judged with a bootstrap interval rather than Newcombe's; the last table
shows how often a plain percentile bootstrap and opentrust's guarded one certify ``fair`` when a true gap equal to
the tolerance comes from rare large drops (a false ``fair``), and when there is no gap at all.

Reported per setting: P(unfair) — a false alarm where the true gap is at most the tolerance (0 and exactly the
tolerance), power where it is above — P(fair) (the power to certify a small gap), and the mean number of blocks
the sequential design used.

Run: .venv/bin/python benchmarks/fairness_stats.py [REPS]      (default 1000 replicates per setting)
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from opentrust.fairness.stats import MIN_BLOCKS, analyse, verdict  # noqa: E402
from opentrust.stats import wilson_interval  # noqa: E402

ALPHA = 0.05
TOLERANCE = 0.1
CELLS = 4
GAPS = (0.0, 0.1, 0.2, 0.3, 0.4)
SAMPLES = (8, 16, 32)
RHOS = (0.5, 0.0)


def simulate(rng: np.random.Generator, gap: float, samples: int, rho: float) -> np.ndarray:
    """outcomes[cell, sample, group] (0/1)."""
    base = rng.uniform(0.15, 0.85, CELLS)
    p = np.clip(np.stack([base + gap / 2, base - gap / 2], axis=-1), 0, 1)[:, None, :]  # cell x 1 x group
    shared = rng.random((CELLS, samples, 1))
    own = rng.random((CELLS, samples, 2))
    u = np.where(rng.random((CELLS, samples, 1)) < rho, shared, own)
    return (u < p).astype(float)


def paired(x: np.ndarray, looks: int) -> tuple[str, int]:
    """The runner's design: after each look (the first ceil(samples * look / looks) seeds of every cell), the
    verdict at alpha / looks; stop once decided. Returns (verdict, blocks used)."""
    samples = x.shape[1]
    level = ALPHA / looks
    for look in range(1, looks + 1):
        blocks = x[:, :math.ceil(samples * look / looks), :].reshape(-1, 2)
        stats = analyse(blocks, ["a", "b"], level, binary=True)
        v = verdict(stats, stats.p_value, level, TOLERANCE)
        if v != "inconclusive" or look == looks:
            return v, len(blocks)
    raise AssertionError  # pragma: no cover


def unpaired(x: np.ndarray) -> str:
    """Independent-samples comparison of the two groups' rates, same verdict rule."""
    from scipy.stats import norm

    a, b = x[..., 0].ravel(), x[..., 1].ravel()
    n = len(a)
    ka, kb = int(a.sum()), int(b.sum())
    pa, pb = ka / n, kb / n
    pooled = (ka + kb) / (2 * n)
    se = math.sqrt(2 * pooled * (1 - pooled) / n)
    p_value = 1.0 if se == 0 else float(2 * norm.sf(abs(pa - pb) / se))
    la, ua = wilson_interval(ka, n, 1 - ALPHA)
    lb, ub = wilson_interval(kb, n, 1 - ALPHA)
    d = pa - pb
    lo = d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    hi = d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    gap_lo, gap_hi = (lo, hi) if lo > 0 else (-hi, -lo) if hi < 0 else (0.0, max(-lo, hi))
    if n < MIN_BLOCKS:
        return "inconclusive"
    if p_value < ALPHA and gap_lo > TOLERANCE:
        return "unfair"
    if gap_hi < TOLERANCE:
        return "fair"
    return "inconclusive"


def score_blocks(rng: np.random.Generator, scenario: str, blocks: int) -> np.ndarray:
    """blocks x 2 scores in [0, 1]. 'drop': group b falls from the top score to the bottom in 10% of blocks (a
    true gap of exactly the tolerance, rarely seen); 'none': no gap, one-point (1/9) wobbles either way."""
    a = rng.uniform(0.6, 1.0, blocks) if scenario == "none" else np.ones(blocks)
    if scenario == "drop":
        return np.stack([a, np.where(rng.random(blocks) < 0.1, 0.0, a)], axis=1)
    return np.stack([a, np.clip(a + rng.choice([0.0, 1 / 9, -1 / 9], blocks, p=[0.8, 0.1, 0.1]), 0, 1)], axis=1)


def plain_bootstrap_fair(x: np.ndarray) -> bool:
    """The verdict rule's 'fair' with a plain percentile bootstrap of the mean paired difference."""
    from opentrust.stats import bootstrap_interval

    d = x[:, 0] - x[:, 1]
    lo, hi = bootstrap_interval(len(d), lambda idx: float(d[idx].mean()), 1 - ALPHA, 2000, 0)
    return len(d) >= MIN_BLOCKS and max(-lo, hi) < TOLERANCE


def scores(reps: int) -> None:
    print(f"\nscores (rescaled to 0-1), {reps} replicates per setting: P(fair), plain percentile bootstrap vs "
          "opentrust's (upper end guarded by a pseudo-block at each extreme)")
    print(f"{'blocks':>6} | {'gap = tolerance, rarely seen: plain':>36} {'opentrust':>10} | "
          f"{'no gap: plain':>14} {'opentrust':>10}")
    for blocks in (11, 16, 32, 64, 128):
        row = []
        for scenario in ("drop", "none"):
            rng = np.random.default_rng(blocks * 7 + len(scenario))
            plain = guarded = 0
            for _ in range(reps):
                x = score_blocks(rng, scenario, blocks)
                plain += plain_bootstrap_fair(x)
                st = analyse(x, ["a", "b"], ALPHA, binary=False)
                guarded += verdict(st, st.p_value, ALPHA, TOLERANCE) == "fair"
            row += [plain / reps, guarded / reps]
        print(f"{blocks:6d} | {row[0]:36.3f} {row[1]:10.3f} | {row[2]:14.3f} {row[3]:10.3f}")


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    start = time.perf_counter()
    print(f"{reps} replicates per setting; alpha {ALPHA}, tolerance {TOLERANCE}, {CELLS} cells (templates x "
          f"fillers) with base rates U(0.15, 0.85); blocks = cells x seeds")
    for rho in RHOS:
        print(f"\nrho = {rho} (share of seeds that move both groups' answers alike)")
        print(f"{'blocks':>6} {'gap':>5} | {'P(unfair) paired':>16} {'2 looks':>8} {'unpaired':>9} | "
              f"{'P(fair) paired':>14} {'2 looks':>8} {'unpaired':>9} | {'blocks used, 2 looks':>20}")
        for samples in SAMPLES:
            for gap in GAPS:
                rng = np.random.default_rng(hash((rho, samples, gap)) & 0xFFFFFFFF)
                counts = {k: 0 for k in ("pu", "su", "uu", "pf", "sf", "uf")}
                used = 0
                for _ in range(reps):
                    x = simulate(rng, gap, samples, rho)
                    v1, _ = paired(x, 1)
                    v2, n2 = paired(x, 2)
                    vu = unpaired(x)
                    used += n2
                    counts["pu"] += v1 == "unfair"
                    counts["su"] += v2 == "unfair"
                    counts["uu"] += vu == "unfair"
                    counts["pf"] += v1 == "fair"
                    counts["sf"] += v2 == "fair"
                    counts["uf"] += vu == "fair"
                r = {k: v / reps for k, v in counts.items()}
                tag = " (false alarm)" if gap <= TOLERANCE else ""
                print(f"{CELLS * samples:6d} {gap:5.2f} | {r['pu']:16.3f} {r['su']:8.3f} {r['uu']:9.3f} | "
                      f"{r['pf']:14.3f} {r['sf']:8.3f} {r['uf']:9.3f} | {used / reps:9.1f} of {CELLS * samples}{tag}")
    scores(max(100, reps // 5))
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
