"""Which cases a comparison runs: the user's suites, the built-in ones, or by default the profile's cases.

Default (no suite, no ``--builtin``): ``quick`` takes the built-in cases tagged ``quick`` — the 37 short-answer
cases of factual-qa and instruction-following that the audit's quick behaviour check samples, with the same
requests and seeds, so a comparison after an audit reuses the audit's answers — and ``standard`` every built-in
case. How many samples each case gets is the comparison's business (opentrust.compare.run), not the suite's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from opentrust.errors import UserError

if TYPE_CHECKING:
    from opentrust.evals.suite import CaseSpec


def select_cases(suites: list[str | Path], builtin: bool, profile: str) -> list["CaseSpec"]:
    from opentrust.evals.suite import builtin_suite_paths, load_suite, require_unique_ids

    builtins = [c for p in builtin_suite_paths() for c in load_suite(p).cases]
    cases: list["CaseSpec"] = []
    for path in suites:
        cases.extend(load_suite(path).cases)
    if builtin:
        cases.extend(builtins)
    elif not suites:
        cases = [c for c in builtins if "quick" in c.tags] if profile == "quick" else builtins
    require_unique_ids(cases)
    if not cases:
        raise UserError("no case to compare on", "the suites hold no case")
    return cases
