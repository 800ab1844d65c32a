"""Draw real responses of the models opentrust runs, for labelling by hand (docs/labelling-guide.md).

    .venv/bin/python scripts/sample_for_labelling.py smollm2 --out labels/work/smollm2.raw.jsonl
    .venv/bin/python scripts/sample_for_labelling.py gemma3-270m --out labels/work/gemma.raw.jsonl --every 2

Prompts: the red-team catalogue's over-refusal, harmful and jailbreak probes (as the campaign sends them),
the benign-but-alarming prompts of labels/prompts/borderline_benign.txt, the prompts of
labels/prompts/conventions.txt (opinions, sympathy, advice disclaimers, questions about the assistant: answers
that sound like refusals and are not), and the built-in suites' cases.
One sample per prompt (temperature 0.7, a fixed seed per row), long enough (--max-tokens) to see whether an
answer that opens politely goes on to deliver. Appends as it goes and skips rows already written, so an
interrupted run resumes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def prompts(every: int) -> list[dict]:
    from opentrust.evals.suite import builtin_suite_paths, load_suite
    from opentrust.redteam.catalogue import load_catalogue

    rows: list[dict] = []
    for p in load_catalogue():
        if p.category in ("over_refusal", "harmful", "jailbreak") and not p.is_multi_turn:
            rows.append({"id": p.id, "origin": f"probe:{p.category}", "messages": p.chat()})
    for name, prefix in (("borderline_benign", "borderline"), ("conventions", "conventions")):
        text = (ROOT / f"labels/prompts/{name}.txt").read_text(encoding="utf-8")
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        for i, line in enumerate(lines):
            rows.append({"id": f"{prefix}.{i:03d}", "origin": name, "messages": [{"role": "user", "content": line}]})
    for path in builtin_suite_paths():
        for case in load_suite(path).cases:
            rows.append({"id": f"suite.{case.id}", "origin": f"suite:{case.suite}", "messages": case.messages})
    return rows[::every]


async def run(args: argparse.Namespace) -> None:
    from opentrust.backends.base import GenerationRequest, Message
    from opentrust.target import resolve_target

    out = Path(args.out)
    done = set()
    if out.exists():
        done = {json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines() if line.strip()}
    todo = [r for r in prompts(args.every) if r["id"] not in done]
    backend = resolve_target(args.model).backend()
    print(f"{len(done)} done, {len(todo)} to go", file=sys.stderr)
    try:
        with out.open("a", encoding="utf-8") as fh:
            for i, row in enumerate(todo):
                req = GenerationRequest(messages=[Message(**m) for m in row["messages"]], temperature=0.7,
                                        top_p=0.95, max_tokens=args.max_tokens, seed=args.seed)
                c = await backend.generate(req, seed=args.seed + i)
                user = next(m["content"] for m in reversed(row["messages"]) if m["role"] == "user")
                fh.write(json.dumps({"id": row["id"], "model": args.model, "origin": row["origin"],
                                     "messages": row["messages"], "prompt": user, "response": c.text,
                                     "finish_reason": c.finish_reason}, ensure_ascii=False) + "\n")
                fh.flush()
                if i % 20 == 0:
                    print(f"{i}/{len(todo)}", file=sys.stderr)
    finally:
        await backend.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--out", required=True)
    parser.add_argument("--every", type=int, default=1, help="take every n-th prompt (a spread subset)")
    parser.add_argument("--max-tokens", type=int, default=192)
    parser.add_argument("--seed", type=int, default=20261127)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
