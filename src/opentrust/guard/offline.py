"""``opentrust guard check``: the gateway's checks over recorded traffic (JSONL), without a server.

Each input line is ``{"messages": [...]}`` (a chat request: input checks), ``{"prompt": "..."}`` (input checks)
or ``{"response": "..."}`` (output checks; an optional ``prompt`` and ``system`` give the output checks their
context). Each output line is the input plus ``decision`` (allow, block, redact or flag), ``rules`` (the ids
that fired, with action and score) and ``text`` (the checked text after redaction; chat messages joined by
newlines). ``rate_limit`` does not apply offline (there is no clock of the recorded traffic). An interrupted
run resumes: results go to ``OUT.part`` line by line, and a rerun with the same policy keeps those that
match the input.
"""

from __future__ import annotations

import asyncio
import hashlib
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

    tmp = out.with_name(out.name + ".part")
    stamp = out.with_name(out.name + ".part.policy")  # results under another policy are not resumed
    policy_hash = hashlib.sha256(guard.policy.model_dump_json().encode()).hexdigest()
    same = stamp.exists() and stamp.read_text().strip() == policy_hash
    done = _resume(tmp, records) if same else []
    if not same:
        tmp.write_bytes(b"")
        stamp.write_text(policy_hash)

    async def go() -> None:
        with tmp.open("a", encoding="utf-8") as f:
            for i, (_, record) in enumerate(records):
                if i < len(done):
                    result = done[i]
                else:
                    result = await check_record(guard, record)
                    f.write(json.dumps(result, ensure_ascii=False) + "\n")
                    f.flush()
                counts["decision:" + result["decision"]] += 1
                for r in result["rules"]:
                    counts["rule:" + r["id"]] += 1
                if progress is not None:
                    progress()
        tmp.replace(out)
        stamp.unlink(missing_ok=True)

    try:
        asyncio.run(go())
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc}", "pass a writable path with --output") from None
    counts["records"] = len(records)
    counts["resumed"] = len(done)
    return counts


def _resume(tmp: Path, records: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The results an interrupted run left in ``OUT.part`` that still match the input, line for line; the part
    file is cut back to them (a half-written last line is dropped)."""
    if not tmp.exists():
        return []
    done: list[dict[str, Any]] = []
    keep = 0
    with tmp.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n") or len(done) >= len(records):
                break
            try:
                result = json.loads(raw)
            except ValueError:
                break
            record = records[len(done)][1]
            if not isinstance(result, dict) or any(result.get(k) != v for k, v in record.items()):
                break
            done.append(result)
            keep += len(raw)
    with tmp.open("r+b") as f:
        f.truncate(keep)
    return done
