"""Benchmark contamination: how many items of a benchmark appear in the data, by three published definitions.

Items and data are compared as lower-cased word tokens (``\\w+``).

* **GPT-3** (Brown et al. 2020, appendix C): an item is dirty when any of its N-grams occurs in the data. GPT-3
  used N = 13 for most benchmarks, lowered to the benchmark's 5th-percentile item length for short ones (never
  below 8); we do the same. An item shorter than N is dirty when the whole item occurs.
* **PaLM** (Chowdhery et al. 2022, section 8): an item is contaminated when at least 70% of its 8-grams occur
  in the data.
* **Llama 2** (Touvron et al. 2023, appendix A.6): a token of an item is contaminated when it lies in a token
  n-gram longer than 10 tokens that also occurs in the data; an item is *dirty* when at least 80% of its tokens
  are contaminated and *clean* when fewer than 20% are. (Llama 2 counted its tokenizer's tokens and allowed a
  few mismatched tokens; we count words and require exact n-grams, which can only count fewer.)

Items shorter than 8 words cannot be judged by any of the three and are counted as ``too_short``.

The index holds the benchmark side (hundreds to thousands of items): every 8-gram hash of every item. The data
side streams: the 8-gram hashes of a batch of rows are looked up with one ``numpy.isin``; only where an 8-gram
matches are the longer n-grams compared. Built-in benchmarks are the suites in ``evals/suites`` and the red-team
probes, indexed on first use in the process (nothing is downloaded); ``--against`` adds a suite, a probe file, or
any dataset this command reads (each row one item).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from opentrust.datascan import ngrams

PALM_N = 8
PALM_SHARE = 0.70
LLAMA_N = 11  # "longer than 10 tokens"
LLAMA_DIRTY = 0.80
LLAMA_CLEAN = 0.20
GPT3_MAX = 13
GPT3_MIN = 8
MIN_ITEM = 8
MAX_ITEMS = 200_000  # items of one --against dataset
MAX_EXAMPLES = 5


@dataclass
class Item:
    id: str
    hashes: list[int]  # token hashes


@dataclass
class Benchmark:
    name: str
    source: str
    items: list[Item]
    gpt3_n: int = GPT3_MAX
    # state of the pass
    matched8: list[set[int]] = field(default_factory=list)  # per item: positions of its 8-grams seen
    covered: list[set[int]] = field(default_factory=list)  # per item: token positions in a >10-gram match
    gpt3: list[bool] = field(default_factory=list)
    where: dict[int, tuple[int, int]] = field(default_factory=dict)  # item -> first (file, row) with a long match
    where8: dict[int, tuple[int, int]] = field(default_factory=dict)  # item -> first (file, row) with an 8-gram

    def __post_init__(self) -> None:
        lengths = sorted(len(i.hashes) for i in self.items if len(i.hashes) >= MIN_ITEM)
        if lengths:
            p5 = lengths[int(0.05 * len(lengths))]
            self.gpt3_n = max(GPT3_MIN, min(GPT3_MAX, p5))
        self.matched8 = [set() for _ in self.items]
        self.covered = [set() for _ in self.items]
        self.gpt3 = [False for _ in self.items]


class ContaminationIndex:
    def __init__(self, benchmarks: list[Benchmark]):
        import numpy as np

        self.benchmarks = benchmarks
        self._where: dict[int, list[tuple[int, int, int]]] = {}  # 8-gram hash -> (bench, item, position)
        self._long: dict[tuple[int, int, int, int], int] = {}  # (bench, item, pos, n) -> hash of n-gram there
        for b, bench in enumerate(benchmarks):
            for i, item in enumerate(bench.items):
                h = item.hashes
                if len(h) < MIN_ITEM:
                    continue
                arr = np.asarray(h, dtype=np.uint64)
                for pos, g in enumerate(ngrams.ngram_hashes(arr, PALM_N).tolist()):
                    self._where.setdefault(g, []).append((b, i, pos))
                for n in {LLAMA_N, bench.gpt3_n, len(h)}:
                    if n <= len(h):
                        for pos, g in enumerate(ngrams.ngram_hashes(arr, n).tolist()):
                            self._long[(b, i, pos, n)] = g
        self._keys = np.fromiter(self._where.keys(), dtype=np.uint64, count=len(self._where))

    def add_batch(self, rows: list[tuple[int, int, list[int]]]) -> None:
        """Rows (file, row, token hashes) of the data."""
        import numpy as np

        if not self._where or not rows:
            return
        arr, starts = ngrams.batch_array(r[2] for r in rows)
        h8 = ngrams.ngram_hashes(arr, PALM_N)
        hits = np.nonzero(np.isin(h8, self._keys))[0]
        if len(hits) == 0:
            return
        longer: dict[int, Any] = {}
        import bisect

        for pos in hits.tolist():
            r = bisect.bisect_right(starts, pos) - 1
            file, row, _ = rows[r]
            for b, i, ipos in self._where.get(int(h8[pos]), ()):
                bench = self.benchmarks[b]
                item = bench.items[i]
                bench.matched8[i].add(ipos)
                bench.where8.setdefault(i, (file, row))
                for n in {LLAMA_N, bench.gpt3_n, len(item.hashes)}:
                    key = (b, i, ipos, n)
                    want = self._long.get(key)
                    if want is None:
                        continue
                    if n not in longer:
                        longer[n] = ngrams.ngram_hashes(arr, n)
                    got = longer[n]
                    if pos < len(got) and int(got[pos]) == want:
                        bench.where.setdefault(i, (file, row))  # the first row with a long match
                        if n == LLAMA_N:
                            bench.covered[i].update(range(ipos, ipos + n))
                        if n == bench.gpt3_n or n == len(item.hashes) < bench.gpt3_n:
                            bench.gpt3[i] = True

    def summary(self) -> list[dict[str, Any]]:
        out = []
        for bench in self.benchmarks:
            judged = [i for i, it in enumerate(bench.items) if len(it.hashes) >= MIN_ITEM]
            n = len(judged)
            gpt3 = [i for i in judged if bench.gpt3[i]]
            palm = [i for i in judged
                    if len(bench.matched8[i]) >= PALM_SHARE * (len(bench.items[i].hashes) - PALM_N + 1)]
            share = {i: len(bench.covered[i]) / len(bench.items[i].hashes) for i in judged}
            dirty = [i for i in judged if share[i] >= LLAMA_DIRTY]
            clean = [i for i in judged if share[i] < LLAMA_CLEAN]
            flagged = sorted(set(gpt3) | set(palm) | set(dirty))

            def rate(k: int) -> float | None:
                return round(k / n, 4) if n else None

            out.append({
                "benchmark": bench.name, "source": bench.source, "items": len(bench.items), "checked_items": n,
                "too_short": len(bench.items) - n,
                "gpt3_13gram": {"n": bench.gpt3_n, "contaminated": len(gpt3), "rate": rate(len(gpt3))},
                "palm_8gram_70": {"contaminated": len(palm), "rate": rate(len(palm))},
                "llama2_token": {"dirty": len(dirty), "dirty_rate": rate(len(dirty)), "clean": len(clean),
                                 "clean_rate": rate(len(clean)), "not_clean": n - len(clean),
                                 "not_dirty": n - len(dirty)},
                "examples": [{"item": bench.items[i].id, "file": bench.where.get(i, bench.where8.get(i))[0],
                              "row": bench.where.get(i, bench.where8.get(i))[1],
                              "gpt3": bench.gpt3[i], "palm": i in palm, "llama2_share": round(share[i], 3)}
                             for i in flagged[:MAX_EXAMPLES]],
            })
        return out


# --- benchmarks ---------------------------------------------------------------------------------------------


def _item(item_id: str, text: str) -> Item:
    return Item(item_id, ngrams.token_hashes(ngrams.tokens(text)))


def builtin_benchmarks() -> list[Benchmark]:
    """The built-in suites (each case's prompt) and the red-team probes (each probe's messages), one
    benchmark per suite and per probe category."""
    from opentrust.evals.suite import builtin_suite_paths, load_suite
    from opentrust.redteam.catalogue import load_catalogue

    out = []
    for path in builtin_suite_paths():
        suite = load_suite(path)
        out.append(Benchmark(f"suite:{suite.name}", f"builtin suite {Path(path).name}",
                             [_item(c.id, c.prompt) for c in suite.cases]))
    by_cat: dict[str, list[Item]] = {}
    for p in load_catalogue(include_plugins=False):
        text = "\n".join(m.content for m in p.messages if getattr(m, "role", "user") != "assistant")
        by_cat.setdefault(p.category, []).append(_item(p.id, text))
    for cat, items in sorted(by_cat.items()):
        out.append(Benchmark(f"probes:{cat}", "builtin red-team probes", items))
    return out


def load_against(spec: str, read_rows: Any) -> Benchmark:
    """``--against``: a suite YAML, a probe YAML, or a dataset file/folder (``read_rows(path)`` yields rows)."""
    from opentrust.errors import UserError

    path = Path(spec).expanduser()
    if not path.exists():
        builtin = {b.name: b for b in builtin_benchmarks()}
        for name in (spec, f"suite:{spec}", f"probes:{spec}"):
            if name in builtin:
                return builtin[name]
        raise UserError(f"--against {spec}: no such file, folder or built-in benchmark",
                        f"pass a suite or probe YAML, a dataset, or one of: {', '.join(builtin)}")
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise UserError(f"--against {spec}: not readable YAML: {' '.join(str(exc).split())}",
                            "pass a suite or probe file") from None
        if isinstance(data, dict) and "probes" in data:
            from opentrust.redteam.catalogue import load_file

            items = [_item(p.id, "\n".join(m.content for m in p.messages)) for p in load_file(path)]
            return Benchmark(f"probes:{path.stem}", str(path), items)
        from opentrust.evals.suite import load_suite

        suite = load_suite(path)
        return Benchmark(f"suite:{suite.name}", str(path), [_item(c.id, c.prompt) for c in suite.cases])
    items: list[Item] = []
    for rel, row, text in read_rows(path):
        items.append(_item(f"{rel}#{row}", text))
        if len(items) >= MAX_ITEMS:
            break
    return Benchmark(f"data:{path.name}", str(path), items)


