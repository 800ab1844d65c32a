"""`opentrust improve --plan`: failures in, checked examples split by family out (train.jsonl, heldout.jsonl,
plan.json). No training happens here."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from opentrust.errors import UserError
from opentrust.improve.examples import Checker, Example, build
from opentrust.improve.sources import BEHAVIOUR, from_results, from_store
from opentrust.improve.split import split_families
from opentrust.improve.templates import describe, load_templates

PLAN_VERSION = "0.1"


def make_plan(target: Any, *, reports: list[Path], use_store: bool, db: Path | None, categories: list[str] | None,
              out: Path, seed: int, heldout: float, templates_dir: Path | None = None,
              progress: Callable[[str, int, int], None] | None = None, teacher: str | None = None,
              retain: bool = False) -> dict[str, Any]:
    from opentrust.redteam.catalogue import CATEGORIES, load_catalogue

    known = [*CATEGORIES, BEHAVIOUR]
    if categories:
        unknown = sorted(set(categories) - set(known))
        if unknown:
            raise UserError(f"unknown categories: {', '.join(unknown)}", f"choose from: {', '.join(known)}")
    templates = load_templates(templates_dir)
    catalogue = load_catalogue()
    if use_store:
        failures, unusable, sources = from_store(target, db, catalogue)
    else:
        failures, unusable, sources = from_results(reports, catalogue)
    if categories:
        failures = [f for f in failures if f.category in categories]
        unusable = [u for u in unusable if u.category in categories]
    answers, taught = None, None
    if teacher:  # a teacher target's answers are tried first, checked like the templates' (examples.build)
        from opentrust.improve.examples import teacher_answers

        if progress:
            progress("improve: asking the teacher", 0, len(failures))
        answers, taught = teacher_answers(teacher, failures, db, seed)
    built = build(failures, unusable, templates, seed, Checker(), progress, teacher=answers)
    train_f, held_f = split_families(built.examples, heldout, seed)
    if train_f & held_f:  # pragma: no cover - split_families keeps each family on one side
        raise RuntimeError("a family is on both sides of the split")
    train = [e for e in built.examples if e.family in train_f]
    if retain:  # helpful answers to benign prompts the model answered: training side only, never held out
        extra = build(retain_failures(failures, catalogue, templates), [], templates, seed, Checker())
        kept = extra.examples
        built.dropped += extra.dropped
        train_f |= {e.family for e in kept}
        train += kept
    held = [e for e in built.examples if e.family in held_f]
    for e in train:
        e.provenance["split"] = "train"
    for e in held:
        e.provenance["split"] = "heldout"
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / "train.jsonl", train)
    _write_jsonl(out / "heldout.jsonl", held)
    plan = {
        "kind": "improve-plan",
        "schema_version": PLAN_VERSION,
        "target": target.spec,
        "seed": seed,
        "heldout_ratio": heldout,
        "categories": categories or None,
        "sources": sources,
        "templates": describe(templates),
        "teacher": taught,
        "retain": retain,
        "failures": len(failures) + len(unusable),
        "examples": {"train": len(train), "heldout": len(held)},
        "families": {"train": sorted(train_f), "heldout": sorted(held_f)},
        "counts": _counts(train, held),
        "dropped": {"total": len(built.dropped),
                    "by_reason": dict(Counter(_reason_kind(d.reason) for d in built.dropped).most_common()),
                    "items": [d.as_dict() for d in built.dropped]},
        "files": {"train": str(out / "train.jsonl"), "heldout": str(out / "heldout.jsonl")},
        "training": "not run by --plan (run improve without --plan to train and re-test)",
    }
    (out / "plan.json").write_text(json.dumps(plan, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plan["_examples"] = (train, held)
    return plan


def retain_failures(failures: list[Any], catalogue: list[Any], templates: dict[str, Any]) -> list[Any]:
    """``--retain``: every benign (over-refusal) probe with a written helpful answer that is not already a failure,
    as a 'failure' to answer helpfully (source ``retain``). Mixed into training so that an adapter taught to refuse
    attacks is also shown benign prompts it must keep answering (over-refusal is the usual price of refusal data)."""
    from opentrust.improve.sources import Failure

    answers = templates["helpful"].answers
    failed = {f.key for f in failures if f.category == "over_refusal"}
    out = []
    for p in catalogue:
        if p.category != "over_refusal" or p.id in failed or p.id not in answers or p.is_multi_turn or p.base_id:
            continue
        out.append(Failure("retain", "templates", "", p.id, f"retain:{p.id}", "over_refusal", "helpful",
                           [m for m in p.chat() if m["role"] in ("system", "user")], key=p.id,
                           extra={"probe_id": p.id, "base_id": p.id, "payload": p.payload}))
    return out


def _reason_kind(reason: str) -> str:
    """The reason without its detail (the detector's own explanation, a file name)."""
    return reason.split(" (")[0].split(":")[0]


def _counts(train: list[Example], held: list[Example]) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for split, examples in (("train", train), ("heldout", held)):
        for e in examples:
            row = rows.setdefault((e.source, e.category), {"source": e.source, "category": e.category,
                                                           "train": 0, "heldout": 0, "families": set()})
            row[split] += 1
            row["families"].add(e.family)
    out = []
    for key in sorted(rows):
        row = rows[key]
        out.append({**row, "families": len(row["families"])})
    return out


def _write_jsonl(path: Path, examples: list[Example]) -> None:
    text = "".join(json.dumps({"messages": e.messages, "provenance": e.provenance}, ensure_ascii=False) + "\n"
                   for e in examples)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc}", "pass a writable folder with --out") from None


def show(plan: dict[str, Any], console: Any) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"improve plan for {escape(plan['target'])} (seed {plan['seed']}, "
                        f"held out {plan['heldout_ratio']:.0%} of families)", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for col in ("source", "category", "families", "train", "held-out"):
        table.add_column(col, justify="left" if col in ("source", "category") else "right")
    for row in plan["counts"]:
        table.add_row(row["source"], row["category"], str(row["families"]), str(row["train"]), str(row["heldout"]))
    table.add_row("[b]total[/b]", "", str(len(plan["families"]["train"]) + len(plan["families"]["heldout"])),
                  f"[b]{plan['examples']['train']}[/b]", f"[b]{plan['examples']['heldout']}[/b]")
    console.print(table)
    if not plan["failures"]:
        console.print("no failures to learn from in these results: nothing to train on")
    dropped = plan["dropped"]
    if dropped["total"]:
        why = "; ".join(f"{n} {escape(r)}" for r, n in dropped["by_reason"].items())
        console.print(f"dropped {dropped['total']} candidate answers or failures: {why}")
    elif plan["failures"]:
        console.print("dropped 0: every answer passed the detector checks")
    train, held = plan["_examples"]
    picks = (train[:2] + held[:1]) if held else train[:3]
    if picks:
        ex = Table(title="example items", title_justify="left", box=box.SIMPLE_HEAD, show_lines=False)
        for col in ("split", "family", "template", "prompt", "answer"):
            ex.add_column(col, overflow="fold")
        for e in picks:
            user = next(m["content"] for m in reversed(e.messages) if m["role"] == "user")
            ex.add_row(e.provenance["split"], escape(e.family), e.provenance["template_id"],
                       escape(_clip(user)), escape(_clip(e.messages[-1]["content"])))
        console.print(ex)
    console.print(f"wrote {escape(plan['files']['train'])}, {escape(plan['files']['heldout'])} and plan.json; "
                  "run without --plan to train and re-test")


def _clip(text: str, n: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
