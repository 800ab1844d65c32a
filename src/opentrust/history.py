"""A model's history from the store (``opentrust history``): which models a target names, and their runs.

Built on the store's read API only (``Store.models`` and ``Store.runs``), as inventory, diff and the UI will be.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

SEVERITIES = ("critical", "high", "medium", "low", "info")


def model_history(spec: str, *, db: Any = None, command: str | None = None, limit: int = 20,
                  api_key_env: str | None = None) -> dict[str, Any]:
    """{"target", "location", "models": [{fingerprint, kind, identity, names, runs: [...]}]}, newest first.

    A file is matched by its weights' sha256; an endpoint by its location (URL#model): every model seen there
    is listed, so weights swapped behind one name show as two models."""
    from opentrust.store import Store
    from opentrust.target import resolve_target

    target = resolve_target(spec, api_key_env=api_key_env)
    with Store(db) as store:
        models = stored_models(store, target)
        if not models and target.kind not in ("endpoint", "plugin"):
            models = [{"fingerprint": target.fingerprint(store), "kind": target.kind, "identity": None, "names": [],
                       "first_seen": None, "last_seen": None, "runs": 0}]
        out = []
        for m in models:
            runs = store.runs(fingerprint=m["fingerprint"], command=command, limit=limit)
            out.append({**{k: m[k] for k in ("fingerprint", "kind", "identity", "names", "first_seen", "last_seen")},
                        "total_runs": m["runs"], "runs": runs})
    return {"target": target.spec, "location": target.location, "models": out}


def finished_results(store: Any, fingerprint: str, *, command: str | None = None,
                     commands: Iterable[str] | None = None, limit: int = 200) -> Iterator[tuple[dict[str, Any], Any]]:
    """(run row, result) of a model's newest finished runs (of ``command``, or of any of ``commands``) whose result
    this version reads; runs without one, or with one it cannot read, are skipped."""
    from opentrust.errors import UserError

    wanted = set(commands) if commands is not None else None
    for run in store.runs(fingerprint=fingerprint, command=command, status="done", limit=limit, counts=False):
        if not run["has_result"] or (wanted is not None and run["command"] not in wanted):
            continue
        try:
            result = store.run_result(run["id"])
        except UserError:
            continue
        if result is not None:
            yield run, result


def stored_models(store: Any, target: Any) -> list[dict[str, Any]]:
    """The store's models a target names (``Store.models`` rows): a file by its weights' sha256; an endpoint or a
    plugin by its location, every model seen there."""
    if target.kind in ("endpoint", "plugin"):
        return store.models(location=target.location)
    fingerprint = target.fingerprint(store)
    return [m for m in store.models(limit=1000) if m["fingerprint"] == fingerprint]


def print_history(data: dict[str, Any], console: Any, extra: tuple[str, Any] | None = None) -> None:
    """``extra``: (column title, function of a run giving its cell), e.g. the evidence and gate verdicts that
    ``opentrust history`` adds from the governance inventory."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    if not any(m["runs"] for m in data["models"]):
        console.print(f"no runs recorded for {escape(data['target'])} ({escape(data['location'])})")
        return
    for m in data["models"]:
        names = ", ".join(sorted({n["spec"] for n in m["names"]})) or data["target"]
        table = Table(title=f"{escape(names)} — model {m['fingerprint'][:16]}", title_justify="left",
                      box=box.SIMPLE_HEAD)
        for col in ("run", "command", "started (UTC)", "status"):
            table.add_column(col, no_wrap=True)
        table.add_column("findings")
        table.add_column("new/cached", justify="right")
        extras = {r["id"]: extra[1](r) for r in m["runs"]} if extra is not None else {}
        wide = console.width >= 120  # the extra column fits beside the others; otherwise a table of its own below
        if extra is not None and wide:
            table.add_column(extra[0], overflow="fold")
        for r in m["runs"]:
            findings = ", ".join(f"{n} {s}" for s in SEVERITIES if (n := r["findings"][s])) or "none"
            cells = [r["id"], r["command"], r["started_at"][:16].replace("T", " "), r["status"], findings,
                     f"{r['samples']['generated']} / {r['samples']['reused']}"]
            if extra is not None and wide:
                cells.append(escape(extras[r["id"]]))
            table.add_row(*cells)
        shown = len(m["runs"])
        if m["total_runs"] > shown:
            table.caption = f"{shown} of {m['total_runs']} runs shown (--limit)"
        console.print(table)
        if extra is not None and not wide and any(extras.values()):
            below = Table(box=box.SIMPLE_HEAD)
            below.add_column("run", no_wrap=True)
            below.add_column(extra[0], overflow="fold")
            for run_id, text in extras.items():
                if text:
                    below.add_row(run_id, escape(text))
            console.print(below)
