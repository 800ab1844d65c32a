"""Look up whether a callable a pickle names reaches a sink, in the table derived from library source.

The table (``opentrust/data/scan/sinks.zip``, written by ``scripts/gen_sink_table.py`` with
``opentrust.scan.callgraph``) covers the standard library of the Python it was built with and the ML
libraries installed then (versions recorded in the file). It is read on first use only — benign model
pickles name allow-listed globals and never need it.

A module the table lacks (a newer Python's stdlib, another library) is derived on first use from the source
the running interpreter would import, within a small budget; what can be derived neither way is reported as
``unanalysed`` and the caller falls back to a rule that needs no list (an unknown *function* called at load
time is rated higher than an unknown *class*).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

TABLE_PATH = Path(__file__).resolve().parent.parent / "data" / "scan" / "sinks.zip"
DERIVE_MAX_MODULES = 120  # modules parsed to derive one module missing from the table
DERIVE_SECONDS = 4.0
_MAX_DERIVED = 64  # derived modules kept per process

Status = Literal["dangerous", "known", "absent", "unanalysed"]


@dataclass(frozen=True)
class Lookup:
    """``dangerous``: the callable reaches a sink (``chain`` from it to the sink, ``category`` of the sink);
    ``known``: analysed, reaches none; ``absent``: its module was analysed but does not define it;
    ``unanalysed``: no source to analyse (C extension, not installed)."""

    status: Status
    chain: tuple[str, ...] = ()
    category: str = ""
    source: str = ""  # "table <python/library versions>" or "derived from <path>"


@dataclass
class _Table:
    """The shipped table: a zip of JSON chunks (one per package, see scripts/gen_sink_table.py), read chunk
    by chunk so a lookup costs only what its package holds."""

    path: Path
    python: str = ""
    libraries: dict[str, str] = field(default_factory=dict)
    sinks: dict[str, str] = field(default_factory=dict)
    chunk_names: dict[str, str] = field(default_factory=dict)  # package prefix -> zip member
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)  # loaded so far
    via: dict[str, str] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)

    def chunk_for(self, module: str) -> str | None:
        parts = module.split(".")
        for i in range(len(parts), 0, -1):
            prefix = ".".join(parts[:i])
            if prefix in self.chunk_names:
                return prefix
        return None

    def entry(self, module: str) -> dict[str, Any] | None:
        prefix = self.chunk_for(module)
        if prefix is not None and prefix not in self.loaded:
            self.loaded.add(prefix)
            doc = _read_member(self.path, self.chunk_names[prefix])
            if isinstance(doc, dict):
                self.modules.update(doc.get("modules", {}))
                self.via.update(doc.get("via", {}))
        return self.modules.get(module)


def _read_member(path: Path, name: str) -> Any:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read(name))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


_table: _Table | None = None
_derived: dict[str, dict[str, Any] | None] = {}


def table(path: Path = TABLE_PATH) -> _Table:
    """The shipped table's index (loaded once; an empty table when the file is missing or damaged)."""
    global _table
    if _table is None:
        t = _Table(path)
        index = _read_member(path, "index.json")
        if isinstance(index, dict):
            t = _Table(path, python=index.get("python", ""), libraries=index.get("libraries", {}),
                       sinks=index.get("sinks", {}), chunk_names=index.get("chunks", {}),
                       via=dict(index.get("via", {})))
        _table = t
    return _table


def describe() -> str:
    t = table()
    libs = ", ".join(f"{k} {v}" for k, v in t.libraries.items())
    return f"Python {t.python}" + (f", {libs}" if libs else "")


def _entry(module: str, *, derive: bool, check_budget: Any = None) -> tuple[dict[str, Any] | None, str]:
    t = table()
    e = t.entry(module)
    if e is not None:
        return e, f"table of {describe()}"
    if not derive:
        return None, ""
    if module not in _derived:
        if len(_derived) >= _MAX_DERIVED:
            _derived.clear()
        _derived[module] = _derive(module, check_budget)
    d = _derived[module]
    return d, (d or {}).get("source", "")


def _known(module: str, e: dict[str, Any]) -> frozenset[str]:
    k = e.get("_known")
    if k is None:
        k = frozenset(e.get("k", "").split())
        e["_known"] = k
    return k


def lookup(module: str, name: str, *, derive: bool = True, check_budget: Any = None) -> Lookup:
    """Whether ``module.name`` (``name`` may be ``Class.method``) reaches a sink."""
    from opentrust.scan.callgraph import normalize, sink_of

    module = normalize(module)
    s = sink_of(f"{module}.{name}")
    if s is not None:
        return Lookup("dangerous", (s,), table().sinks.get(s, "") or _category(s), "sink list")
    e, source = _entry(module, derive=derive, check_budget=check_budget)
    if e is None:
        return Lookup("unanalysed")
    hop = e["d"].get(name)
    if hop is not None:
        ch = _chain(f"{module}.{name}", hop)
        return Lookup("dangerous", ch, _category(ch[-1]), source)
    if name in _known(module, e):
        return Lookup("known", source=source)
    if e.get("partial"):
        return Lookup("unanalysed", source=source)
    return Lookup("absent", source=source)


def _category(sink: str) -> str:
    from opentrust.scan.callgraph import SINKS, sink_of

    return SINKS.get(sink_of(sink) or sink, "")


def _chain(start: str, hop: str, limit: int = 12) -> tuple[str, ...]:
    """start -> hop -> ... -> sink, following each step through the module entries and ``via``."""
    from opentrust.scan.callgraph import sink_of

    t = table()
    out = [start]
    cur = hop
    while len(out) < limit and cur not in out:
        out.append(cur)
        if sink_of(cur) == cur:
            break
        t.entry(cur.rpartition(".")[0])  # loads the chunk that holds cur (and its via entries)
        nxt = t.via.get(cur)
        if nxt is None:
            mod, _, name = cur.rpartition(".")
            while mod and nxt is None:
                e = t.entry(mod) or _derived.get(mod)
                if e is not None:
                    nxt = e["d"].get(name)
                    break
                mod, _, head = mod.rpartition(".")
                name = f"{head}.{name}"
        if nxt is None or nxt == cur:
            break
        cur = nxt
    return tuple(out)


def _search_path() -> list[str]:
    """Where the running interpreter imports from, minus the working directory (which may be the model
    folder being scanned: its files are analysed as code findings, never as libraries)."""
    import os

    cwd = os.getcwd()
    return [p for p in sys.path if p and os.path.isdir(p) and os.path.abspath(p) != cwd]


def _derive(module: str, check_budget: Any = None) -> dict[str, Any] | None:
    """Analyse one module missing from the table, from the source the running interpreter would import."""
    from opentrust.scan import callgraph as cg

    finder = cg.SourceFinder(_search_path())
    found = finder.find(module)
    if found is None or not found[0]:
        return None
    deadline = time.monotonic() + DERIVE_SECONDS
    hit_budget = False

    def budget() -> None:
        nonlocal hit_budget
        if check_budget is not None:
            check_budget()
        if time.monotonic() > deadline:
            hit_budget = True
            raise _OutOfBudget()

    graph = cg.CallGraph(finder, max_modules=DERIVE_MAX_MODULES, check_budget=budget)
    try:
        entries, via = cg.table_for(graph, [module])
    except _OutOfBudget:
        return {"d": {}, "k": "", "partial": True, "source": f"derived from {found[0]} (budget exhausted)"}
    e = entries.get(module)
    if e is None:
        return None
    t = table()
    for k, v in via.items():
        t.via.setdefault(k, v)
    e["partial"] = hit_budget or len(graph.modules) >= DERIVE_MAX_MODULES
    e["source"] = f"derived on first use from {found[0]}"
    return e


class _OutOfBudget(Exception):
    pass
