"""``opentrust guard check``: the gateway's checks over recorded traffic (JSONL), without a server.

Each input line is ``{"messages": [...]}`` (a chat request: input checks), ``{"prompt": "..."}`` (input checks)
or ``{"response": "..."}`` (output checks; an optional ``prompt`` and ``system`` give the output checks their
context). Each output line is the input plus ``decision`` (allow, block, redact or flag), ``rules`` (the ids
that fired, with action and score) and ``text`` (the checked text after redaction; chat messages joined by
newlines). ``rate_limit`` does not apply offline (there is no clock of the recorded traffic).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from opentrust.errors import UserError
from opentrust.guard.checks import Context, Guard
from opentrust.guard.server import input_items


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc}", "pass an existing JSONL file with --input") from None
    with handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise UserError(f"{path}:{n}: not valid JSON ({exc})", "one JSON object per line") from None
            if not isinstance(record, dict) or not any(k in record for k in ("messages", "prompt", "response")):
                raise UserError(f"{path}:{n}: expected an object with messages, prompt or response",
                                'e.g. {"messages": [{"role": "user", "content": "..."}]} or {"response": "..."}')
            if "messages" in record and not isinstance(record["messages"], list):
                raise UserError(f"{path}:{n}: messages must be a list", "use the OpenAI chat format")
            yield n, record


async def check_record(guard: Guard, record: dict[str, Any]) -> dict[str, Any]:
    if "response" in record:
        ctx = Context(system=str(record.get("system") or ""), prompt=str(record.get("prompt") or ""))
        verdict = await guard.run("output", [("assistant", str(record["response"]))], ctx)
    else:
        items, _, ctx = input_items(record, chat="messages" in record)
        verdict = await guard.run("input", items, ctx)
    text = "\n".join(verdict.texts) if verdict.decision != "block" else ""
    return {**record, "decision": verdict.decision, "rules": verdict.rules(), "text": text}


def offline_guard(guard: Guard) -> Guard:
    guard.input = [c for c in guard.input if c.name != "rate_limit"]
    return guard


def run_check(guard: Guard, src: Path, out: Path, progress: Any = None) -> Counter[str]:
    """Check every line of ``src`` into ``out``; returns the count of each decision (and of each rule)."""
    offline_guard(guard)
    records = list(_lines(src))  # validate the whole file before writing anything
    counts: Counter[str] = Counter()

    async def go() -> None:
        tmp = out.with_name(out.name + ".part")
        with tmp.open("w", encoding="utf-8") as f:
            for _, record in records:
                result = await check_record(guard, record)
                counts["decision:" + result["decision"]] += 1
                for r in result["rules"]:
                    counts["rule:" + r["id"]] += 1
                f.write(json.dumps(result, ensure_ascii=False) + "\n")
                if progress is not None:
                    progress()
        tmp.replace(out)

    try:
        asyncio.run(go())
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc}", "pass a writable path with --output") from None
    counts["records"] = len(records)
    return counts
