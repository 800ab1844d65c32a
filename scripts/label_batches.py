"""Prepare labelling batches and merge labelled batches (docs/labelling-guide.md).

    python scripts/label_batches.py sample      # draw rows from ../shared/data/labels into labels/work/*.todo.jsonl
    python scripts/label_batches.py merge       # join labels/work/*.labels.jsonl into labels/<set>.jsonl

Drawing is deterministic (fixed seed) and stratified by the source's own label and question, so a batch
covers every question of the source. The labellers see only id, prompt and response: never the source's
label or any detector output.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "labels"
WORK = ROOT / "labels" / "work"
BATCH = 100


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def stratified(rows: list[dict], k: int, seed: int) -> list[dict]:
    """k rows, half from each source label, spread round-robin over prompts."""
    rng = random.Random(seed)
    out: list[dict] = []
    by_label: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_label[r["label"]].append(r)
    for label, group in sorted(by_label.items()):
        by_prompt: dict[str, list[dict]] = defaultdict(list)
        for r in group:
            by_prompt[r["prompt"][:200]].append(r)
        keys = sorted(by_prompt)
        rng.shuffle(keys)
        for g in by_prompt.values():
            rng.shuffle(g)
        want = k // len(by_label)
        chosen: list[dict] = []
        while len(chosen) < want and any(by_prompt[key] for key in keys):
            for key in keys:
                if by_prompt[key] and len(chosen) < want:
                    chosen.append(by_prompt[key].pop())
        out.extend(chosen)
    rng.shuffle(out)
    return out


def sample(_: argparse.Namespace) -> None:
    plan = [("gptfuzz", "harm_gptfuzz_train.jsonl", 800, 11), ("jbb", "harm_jailbreakbench_judge.jsonl", 400, 12)]
    for name, file, k, seed in plan:
        rows = stratified(read_jsonl(SHARED / file), k, seed)
        for b in range(0, len(rows), BATCH):
            batch = [{"id": f"{name}-{b + i:04d}", "prompt": r["prompt"], "response": r["response"],
                      "source": r["source"]} for i, r in enumerate(rows[b:b + BATCH])]
            write_jsonl(WORK / f"{name}_{b // BATCH:02d}.todo.jsonl", batch)
        print(f"{name}: {len(rows)} rows in {(len(rows) + BATCH - 1) // BATCH} batches", file=sys.stderr)


REFUSAL_KINDS = {"full_compliance": "compliance", "full_refusal": "refusal", "partial_refusal": "refusal"}
HARM_KINDS = {"harmful_content": "harmful", "harmful_with_disclaimer": "harmful", "dual_persona": "harmful",
              "refuse_then_comply": "harmful", "refusal": "safe", "deflection": "safe", "general_info": "safe",
              "off_topic": "safe", "empty_promise": "safe", "counter_speech": "safe"}
FLAGS = {"empty", "truncated", "non_english", "unreadable", "multi_turn"}


def from_raw(args: argparse.Namespace) -> None:
    """Rows drawn by scripts/sample_for_labelling.py -> labelling batches. Harm labels are asked only of
    responses to harmful requests (the catalogue's harmful and jailbreak probes)."""
    raw = read_jsonl(Path(args.raw))
    name = args.name
    start = args.start
    rows = raw[start:args.end]
    first = args.first_batch if args.first_batch is not None else start // BATCH
    for b in range(0, len(rows), BATCH):
        batch = []
        for r in rows[b:b + BATCH]:
            harmful = r["origin"] in ("probe:harmful", "probe:jailbreak")
            batch.append({"id": f"{name}-{r['id']}", "prompt": r["prompt"], "response": r["response"],
                          "source": f"{r['model']}:{r['id']}", "model": r["model"], "origin": r["origin"],
                          "tasks": ["refusal", "harm"] if harmful else ["refusal"]})
        out = WORK / f"{name}_{first + b // BATCH:02d}.todo.jsonl"
        if out.exists() and not args.overwrite:
            raise SystemExit(f"{out} exists: pass --first-batch N to number new batches, or --overwrite")
        write_jsonl(out, batch)
        print(f"{out.name}: {len(batch)} rows", file=sys.stderr)


def show(args: argparse.Namespace) -> None:
    """Print rows start..end of a batch for reading: id, prompt (its first 1500 characters), whole response."""
    rows = read_jsonl(Path(args.file))
    for r in rows[args.start:args.end]:
        prompt = r["prompt"] if len(r["prompt"]) <= 1500 else r["prompt"][:1500] + " […]"
        tasks = " [tasks: " + ", ".join(r["tasks"]) + "]" if "tasks" in r else ""
        print(f"=== {r['id']}{tasks}\n--- PROMPT:\n{prompt}\n--- RESPONSE:\n{r['response']}\n")


def check(args: argparse.Namespace) -> None:
    """Validate a labels file against its batch: every id once, known kinds, label = kind's label."""
    todo_rows = read_jsonl(Path(args.todo))
    todo = [r["id"] for r in todo_rows]
    wants = {r["id"]: r.get("tasks", ["refusal", "harm"] if args.harm else ["refusal"]) for r in todo_rows}
    labels = read_jsonl(Path(args.labels))
    problems = []
    seen = set()
    for i, r in enumerate(labels, 1):
        if r.get("id") not in todo:
            problems.append(f"line {i}: unknown id {r.get('id')!r}")
        if r.get("id") in seen:
            problems.append(f"line {i}: duplicate id {r['id']}")
        seen.add(r.get("id"))
        for task, kinds in (("refusal", REFUSAL_KINDS), ("harm", HARM_KINDS)):
            if task not in r:
                if task in wants.get(r.get("id"), ()):
                    problems.append(f"line {i}: no {task} label")
                continue
            kind = r[task].get("kind")
            if kind not in kinds:
                problems.append(f"line {i}: {task} kind {kind!r} not one of {sorted(kinds)}")
            elif r[task].get("label") != kinds[kind]:
                problems.append(f"line {i}: {task} label must be {kinds[kind]!r} for kind {kind!r}")
        bad = set(r.get("flags", [])) - FLAGS
        if bad:
            problems.append(f"line {i}: unknown flags {sorted(bad)}")
    missing = [t for t in todo if t not in seen]
    if missing:
        problems.append(f"{len(missing)} ids not labelled yet, first: {missing[:5]}")
    print("\n".join(problems) or f"ok: {len(labels)} rows")
    sys.exit(1 if problems else 0)


def merge(_: argparse.Namespace) -> None:
    """labels/work/<set>_NN.todo.jsonl + <set>_NN.<labeller>.labels.jsonl -> labels/<set>.jsonl.

    Where two labellers labelled a batch, both labels are kept in ``labels_by``; the adjudicated label is
    the first labeller's unless a third adjudication file (``<batch>.ADJ.labels.jsonl``) says otherwise."""
    sets: dict[str, list[dict]] = defaultdict(list)
    for todo_path in sorted(WORK.glob("*.todo.jsonl")):
        batch = todo_path.name.split(".")[0]
        name = batch.rsplit("_", 1)[0]
        files = sorted(p for p in WORK.glob(f"{batch}.*.labels.jsonl") if ".ADJ." not in p.name)
        if not files:
            print(f"{batch}: not labelled yet, skipped", file=sys.stderr)
            continue
        by = {f.name.split(".")[1]: {r["id"]: r for r in read_jsonl(f)} for f in files}
        adj_path = WORK / f"{batch}.ADJ.labels.jsonl"
        adj = {r["id"]: r for r in read_jsonl(adj_path)} if adj_path.exists() else {}
        for row in read_jsonl(todo_path):
            first = next(iter(by.values()))
            chosen = adj.get(row["id"]) or first.get(row["id"])
            if chosen is None:
                print(f"{batch}: {row['id']} unlabelled, skipped", file=sys.stderr)
                continue
            out = {k: row[k] for k in ("id", "prompt", "response", "source") if k in row}
            for extra in ("model", "origin"):
                if extra in row:
                    out[extra] = row[extra]
            for task in ("refusal", "harm"):
                if task in chosen:
                    out[task] = chosen[task]["label"]
                    out[f"{task}_kind"] = chosen[task]["kind"]
            out["flags"] = chosen.get("flags", [])
            out["labeller"] = "ADJ" if row["id"] in adj else next(iter(by))
            if chosen.get("note"):
                out["note"] = chosen["note"]
            if len(by) > 1:
                out["labels_by"] = {lab: {t: rows[row["id"]][t]["label"] for t in ("refusal", "harm")
                                          if t in rows.get(row["id"], {})} for lab, rows in by.items()}
            sets[name].append(out)
    for name, rows in sets.items():
        write_jsonl(ROOT / "labels" / f"{name}.jsonl", rows)
        print(f"labels/{name}.jsonl: {len(rows)} rows", file=sys.stderr)


def _kappa(a: list[str], b: list[str]) -> tuple[float, float]:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = defaultdict(int), defaultdict(int)
    for x in a:
        ca[x] += 1
    for y in b:
        cb[y] += 1
    expected = sum(ca[k] * cb[k] for k in set(a) | set(b)) / n / n
    return observed, (observed - expected) / (1 - expected) if expected < 1 else 1.0


def agreement(_: argparse.Namespace) -> None:
    """Agreement between labellers on double-labelled batches, and with the third-party harm labels."""
    for name in ("gptfuzz", "jbb", "smollm2"):
        path = ROOT / "labels" / f"{name}.jsonl"
        if not path.exists():
            continue
        rows = read_jsonl(path)
        for task in ("refusal", "harm"):
            pairs = [list(r["labels_by"].values()) for r in rows if len(r.get("labels_by", {})) == 2]
            pairs = [(a[task], b[task]) for a, b in pairs if task in a and task in b]
            if pairs:
                o, k = _kappa([x for x, _ in pairs], [y for _, y in pairs])
                print(f"{name} {task}: two labellers agree on {o:.1%} of {len(pairs)} rows (Cohen's kappa {k:.2f})")
    source = {}
    for file in ("harm_gptfuzz_train.jsonl", "harm_jailbreakbench_judge.jsonl"):
        if (SHARED / file).exists():
            source.update({r["source"]: r["label"] for r in read_jsonl(SHARED / file)})
    for name in ("gptfuzz", "jbb"):
        path = ROOT / "labels" / f"{name}.jsonl"
        if not path.exists() or not source:
            continue
        pairs = [(r["harm"], source[r["source"]]) for r in read_jsonl(path) if r["source"] in source]
        o, k = _kappa([x for x, _ in pairs], [y for _, y in pairs])
        ours_safe = sum(1 for x, y in pairs if x == "safe" and y == "harmful")
        ours_harm = sum(1 for x, y in pairs if x == "harmful" and y == "safe")
        print(f"{name} harm vs the source's labels: {o:.1%} of {len(pairs)} rows (kappa {k:.2f}); we said safe where "
              f"they said harmful {ours_safe} times, the reverse {ours_harm} times")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("sample").set_defaults(fn=sample)
    sub.add_parser("merge").set_defaults(fn=merge)
    sub.add_parser("agreement").set_defaults(fn=agreement)
    fr = sub.add_parser("from-raw")
    fr.add_argument("raw")
    fr.add_argument("name")
    fr.add_argument("--start", type=int, default=0)
    fr.add_argument("--end", type=int, default=None)
    fr.add_argument("--first-batch", type=int, default=None, help="number of the first batch (default: start / 100)")
    fr.add_argument("--overwrite", action="store_true", help="replace existing batch files")
    fr.set_defaults(fn=from_raw)
    sh = sub.add_parser("show")
    sh.add_argument("file")
    sh.add_argument("start", type=int)
    sh.add_argument("end", type=int)
    sh.set_defaults(fn=show)
    ck = sub.add_parser("check")
    ck.add_argument("todo")
    ck.add_argument("labels")
    ck.add_argument("--harm", action="store_true", help="require a harm label on every row")
    ck.set_defaults(fn=check)
    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
