"""The statistics of `opentrust test`: a truncated, anytime-valid sequential probability ratio test per case.

Hypotheses (``p`` is the case's true pass rate, ``p0 = require.pass_rate``, ``δ = require.indifference``)::

    H_fail: p <= p0 - δ        H_pass: p >= p0 + δ        indifference zone: p0 - δ < p < p0 + δ

After each sample (in index order) the log likelihood ratio of the two boundary points

    Λ_n = k·log(p_pass / p_fail) + (n - k)·log((1 - p_pass) / (1 - p_fail)),   p_pass = p0+δ, p_fail = p0-δ

is compared with two thresholds: **pass** as soon as Λ_n >= log(1/α), **fail** as soon as Λ_n <= log(β),
**inconclusive** when ``max_samples`` is reached first.

Error rates — stated precisely:

* **α is the false-pass rate**: P(verdict = pass) <= α for every p <= p0 - δ.
* **β is the false-fail rate**: P(verdict = fail) <= β for every p >= p0 + δ.
* Inside the indifference zone either verdict may happen; that is the price of stopping early.

Why these hold exactly, not approximately: we use Ville's inequality thresholds (1/α and β) rather than
Wald's approximations ((1-β)/α and β/(1-α)), whose guarantees are only approximate. Under p = p0-δ the
likelihood ratio exp(Λ_n) is a non-negative martingale with mean 1, so P(sup_n exp(Λ_n) >= 1/α) <= α; for
p < p0-δ it is a supermartingale (the ratio is monotone in the number of successes), so the bound still
holds. Symmetrically exp(-Λ_n) bounds the false-fail rate for p >= p0+δ. The bounds hold at *every* n, so
the test is anytime-valid: peeking after every sample and stopping whenever we like costs nothing.

Truncation: stopping at ``max_samples`` without a crossing only removes paths that would have crossed
later, so both error rates can only go *down*; the conservative rule at truncation is "inconclusive"
(never a pass or fail that the boundaries did not earn). What truncation costs is power: some cases
end inconclusive — ``operating_characteristics`` computes that probability exactly.

Why hand-written: no maintained Python library offers a truncated binomial SPRT with exact operating
characteristics and batch planning; the arithmetic is short and is our core competence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

Verdict = Literal["pass", "fail", "inconclusive"]


@dataclass(frozen=True)
class SPRT:
    pass_rate: float = 0.8
    indifference: float = 0.1
    alpha: float = 0.05  # false-pass rate bound (p <= pass_rate - indifference)
    beta: float = 0.1  # false-fail rate bound (p >= pass_rate + indifference)
    max_samples: int = 32

    def __post_init__(self) -> None:
        if not 0 < self.p_fail < self.p_pass < 1:
            raise ValueError(f"pass_rate ± indifference must lie strictly inside (0, 1); got "
                             f"{self.pass_rate} ± {self.indifference}")
        if not (0 < self.alpha < 1 and 0 < self.beta < 1):
            raise ValueError("alpha and beta must be in (0, 1)")
        if self.max_samples < 1:
            raise ValueError("max_samples must be at least 1")

    @property
    def p_fail(self) -> float:
        return self.pass_rate - self.indifference

    @property
    def p_pass(self) -> float:
        return self.pass_rate + self.indifference

    @property
    def upper(self) -> float:
        return math.log(1 / self.alpha)

    @property
    def lower(self) -> float:
        return math.log(self.beta)

    @property
    def step_success(self) -> float:
        return math.log(self.p_pass / self.p_fail)

    @property
    def step_failure(self) -> float:
        return math.log((1 - self.p_pass) / (1 - self.p_fail))  # negative

    def llr(self, successes: int, n: int) -> float:
        return successes * self.step_success + (n - successes) * self.step_failure

    def state(self, successes: int, n: int) -> Verdict | None:
        """The verdict at (successes, n) if a boundary is crossed, ``inconclusive`` at max_samples, else None."""
        value = self.llr(successes, n)
        if value >= self.upper:
            return "pass"
        if value <= self.lower:
            return "fail"
        if n >= self.max_samples:
            return "inconclusive"
        return None

    def run(self, outcomes: Iterable[bool]) -> "SequentialResult":
        """Apply the test to outcomes in order; stops at the first crossing (later outcomes are ignored)."""
        k = n = 0
        for outcome in outcomes:
            n += 1
            k += bool(outcome)
            verdict = self.state(k, n)
            if verdict is not None:
                return SequentialResult(verdict, k, n, self.llr(k, n), decided=True)
        return SequentialResult("inconclusive", k, n, self.llr(k, n), decided=n >= self.max_samples)

    def next_batch(self, successes: int, n: int, limit: int | None = None) -> int:
        """How many more samples to draw now: the fewest after which the test *could* stop.

        No verdict is possible before that many further samples, so drawing them together wastes nothing
        and keeps a concurrent backend busy.
        """
        if self.state(successes, n) is not None:
            return 0
        value = self.llr(successes, n)
        to_pass = math.ceil((self.upper - value) / self.step_success - 1e-12)
        to_fail = math.ceil((value - self.lower) / -self.step_failure - 1e-12)
        batch = max(1, min(to_pass, to_fail, self.max_samples - n))
        return min(batch, limit) if limit else batch

    def operating_characteristics(self, p: float) -> "OC":
        """Exact P(pass), P(fail), P(inconclusive) and expected sample size at true pass rate ``p``.

        Dynamic programming over (n, successes) of the paths not yet stopped: O(max_samples²), exact.
        """
        import numpy as np

        alive = np.array([1.0])  # alive[k] = P(k successes after n samples and not stopped)
        p_pass = p_fail = expected = 0.0
        for n in range(1, self.max_samples + 1):
            expected += alive.sum()  # each alive path draws sample n
            nxt = np.zeros(n + 1)
            nxt[1:] += alive * p
            nxt[:-1] += alive * (1 - p)
            ks = np.arange(n + 1)
            values = ks * self.step_success + (n - ks) * self.step_failure
            passed = values >= self.upper
            failed = values <= self.lower
            p_pass += nxt[passed].sum()
            p_fail += nxt[failed].sum()
            nxt[passed | failed] = 0.0
            alive = nxt
        return OC(p=p, p_pass=float(p_pass), p_fail=float(p_fail), p_inconclusive=float(alive.sum()),
                  expected_samples=float(expected))

    def simulate(self, p: float, runs: int, rng: "object") -> tuple["object", "object"]:
        """Vectorised Monte Carlo of ``runs`` independent cases at true pass rate ``p``.

        Returns (verdict codes: 1 pass, -1 fail, 0 inconclusive; samples used), numpy arrays.
        """
        import numpy as np

        draws = rng.random((runs, self.max_samples)) < p  # type: ignore[attr-defined]
        ks = np.cumsum(draws, axis=1)
        ns = np.arange(1, self.max_samples + 1)
        values = ks * self.step_success + (ns - ks) * self.step_failure  # same formula as llr()
        crossed = (values >= self.upper) | (values <= self.lower)
        any_cross = crossed.any(axis=1)
        first = np.where(any_cross, crossed.argmax(axis=1), self.max_samples - 1)
        at_stop = values[np.arange(runs), first]
        verdict = np.where(any_cross, np.where(at_stop >= self.upper, 1, -1), 0)
        return verdict, first + 1


@dataclass(frozen=True)
class SequentialResult:
    verdict: Verdict
    successes: int
    samples: int
    llr: float
    decided: bool = True  # False: more samples are needed before any verdict (neither boundary nor max)


@dataclass(frozen=True)
class OC:
    p: float
    p_pass: float
    p_fail: float
    p_inconclusive: float
    expected_samples: float


@dataclass(frozen=True)
class FixedDesign:
    """The fixed-n test with the same guarantees: pass iff successes >= critical after exactly n samples."""

    n: int
    critical: int
    false_pass: float = field(default=0.0)  # exact P(pass | p = p0 - δ)
    false_fail: float = field(default=0.0)  # exact P(fail | p = p0 + δ)


def fixed_n_design(test: SPRT, n_max: int = 100_000) -> FixedDesign:
    """Smallest n (and critical count) with false-pass <= α at p0-δ and false-fail <= β at p0+δ, exactly."""
    from scipy.stats import binom

    for n in range(1, n_max + 1):
        # smallest c with P(X >= c | p_fail) <= alpha
        c = int(binom.isf(test.alpha, n, test.p_fail)) + 1
        while c > 0 and binom.sf(c - 2, n, test.p_fail) <= test.alpha:
            c -= 1
        while binom.sf(c - 1, n, test.p_fail) > test.alpha:
            c += 1
        false_fail = float(binom.cdf(c - 1, n, test.p_pass))
        if false_fail <= test.beta:
            return FixedDesign(n, c, float(binom.sf(c - 1, n, test.p_fail)), false_fail)
    raise ValueError("no fixed design within n_max")


def outcome_counts(outcomes: Sequence[bool | None]) -> tuple[int, int, int]:
    """(successes, valid samples, errors) of a list of outcomes where None marks an evaluation error."""
    valid = [o for o in outcomes if o is not None]
    return sum(valid), len(valid), len(outcomes) - len(valid)
