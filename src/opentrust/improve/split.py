"""The train / held-out split: by family, never by example, so a probe template, a base probe (and its mutated
variants) or a behaviour case sits wholly on one side. Seeded, and stratified by category so that every category
with two families or more has some held out."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any, Sequence

DEFAULT_HELDOUT = 0.25


def split_families(examples: Sequence[Any], heldout: float, seed: int) -> tuple[set[str], set[str]]:
    """(train families, held-out families)."""
    category_of: dict[str, str] = {}
    for e in examples:
        category_of.setdefault(e.family, e.category)
    by_category: dict[str, list[str]] = defaultdict(list)
    for family, category in category_of.items():
        by_category[category].append(family)
    train: set[str] = set()
    held: set[str] = set()
    for category in sorted(by_category):
        families = sorted(by_category[category])
        random.Random(f"{seed}:{category}").shuffle(families)
        n = round(len(families) * heldout)
        if heldout > 0 and n == 0 and len(families) >= 2:
            n = 1
        n = min(n, len(families) - 1) if len(families) >= 2 else (len(families) if heldout >= 1 else 0)
        held.update(families[:n])
        train.update(families[n:])
    return train, held
