"""Reading, labelling and writing the JSONL files of `opentrust detect` (kept out of the command module so
the CLI starts fast and the red-team campaign can reuse it)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from opentrust.detectors.base import Detector, DetectorError
from opentrust.errors import UserError

MAX_LINE_BYTES = 10 * 1024 * 1024  # a line larger than this is not a model response


def read_records(path: Path, required: tuple[str, ...] = (), input_only: bool = False) -> list[dict[str, Any]]:
    """Parse and validate every line; a bad line is a one-line UserError naming its number. ``input_only``
    (an input detector's lines): a ``prompt`` string or a chat ``messages`` list, no response needed."""
    if not path.is_file():
        raise UserError(f"{path}: no such file", 'pass a JSONL file with one {"prompt", "response"} per line')
    records: list[dict[str, Any]] = []
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if len(raw) > MAX_LINE_BYTES:
                raise UserError(
                    f"{path}:{number}: line longer than {MAX_LINE_BYTES} bytes",
                    "split the response or check that this is the right file",
                )
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise UserError(
                    f"{path}:{number}: not valid JSON ({exc})",
                    'each line must be one JSON object like {"prompt": "…", "response": "…"}',
                ) from None
            if not isinstance(record, dict):
                raise UserError(
                    f"{path}:{number}: expected a JSON object, got {type(record).__name__}",
                    'each line must be one JSON object like {"prompt": "…", "response": "…"}',
                )
            if input_only:
                if not isinstance(record.get("prompt"), str) and not isinstance(record.get("messages"), list):
                    raise UserError(
                        f"{path}:{number}: neither a string 'prompt' nor a 'messages' list",
                        'each line needs "prompt": "…" or a chat request\'s "messages": [{"role": …, "content": …}]',
                    )
            for field in () if input_only else ("prompt", "response"):
                if not isinstance(record.get(field), str):
                    raise UserError(
                        f"{path}:{number}: field {field!r} is missing or not a string",
                        'each line needs string fields "prompt" and "response"',
                    )
            for field in required:
                if record.get(field) in (None, ""):
                    raise UserError(
                        f"{path}:{number}: field {field!r} is missing",
                        f'add "{field}" to every line, or pass it as an option (see --help)',
                    )
            records.append(record)
    if not records:
        raise UserError(f"{path}: no records", "the file is empty; add one JSON object per line")
    return records


async def run_detector(
    detector: Detector, records: list[dict[str, Any]], progress: Callable[[str, int, int], None] | None = None
) -> list[dict[str, Any]]:
    """Label each record. A detector that cannot decide on a line (unparseable judge verdict) yields
    label "error" for that line; a judge that is unreachable stops the run with its one-line error."""
    out = []
    try:
        for i, record in enumerate(records, start=1):
            try:
                detection = await detector.adetect_record(record)
                out.append({**record, **detection.as_dict()})
            except DetectorError as exc:
                if exc.fatal:
                    raise
                out.append({**record, "label": "error", "score": None, "reason": exc.one_line()})
            if progress:
                progress(f"detect {detector.name}", i, len(records))
    finally:
        close = getattr(detector, "aclose", None)
        if close is not None:
            await close()
    return out


def write_records(records: list[dict[str, Any]], output: Path | None) -> None:
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if output is None:
        sys.stdout.write(lines)
        sys.stdout.flush()
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(lines, encoding="utf-8")


def summary_table(detector: Detector, records: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    counts = Counter(r["label"] for r in records)
    table = Table(title=f"detect {detector.name}: {len(records)} line(s)")
    table.add_column("label")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    order = [detector.positive_label, detector.negative_label, "error"]
    for label in order + sorted(set(counts) - set(order)):
        if counts.get(label):
            table.add_row(label, str(counts[label]), f"{counts[label] / len(records):.0%}")
    return table


def evaluate_records(detector: Detector, records: list[dict[str, Any]], path: Path, console: Any) -> dict[str, Any]:
    """Run the detector on labelled lines and print its accuracy table (``detect --evaluate``).

    Each line's ``label`` is the detector's own label word (e.g. ``refusal`` / ``compliance``) or a
    true/false value for the positive label. Lines the detector could not judge are counted apart."""
    import asyncio

    from opentrust.detectors.evaluate import evaluation, evaluation_table, gold_label

    truths = []
    for number, record in enumerate(records, start=1):
        truth = gold_label(record["label"], detector.positive_label, detector.negative_label)
        if truth is None:
            raise UserError(
                f"{path}: line {number}: label {record['label']!r} is neither {detector.positive_label!r} nor "
                f"{detector.negative_label!r}",
                f"label each line {detector.positive_label} or {detector.negative_label} (or true/false)",
            )
        truths.append(truth)
    unlabelled = [{k: v for k, v in r.items() if k != "label"} for r in records]
    judged = asyncio.run(run_detector(detector, unlabelled))
    scored = [(j["label"] == detector.positive_label, float(j["score"]), t)
              for j, t in zip(judged, truths) if j["label"] != "error"]
    if not scored:
        raise UserError(f"{path}: the detector could not judge any line", "check the judge with a few lines first")
    result = evaluation(detector.positive_label, scored)
    result["errors"] = len(records) - len(scored)
    console.print(evaluation_table(detector.name, result))
    if result["errors"]:
        console.print(f"{result['errors']} line(s) could not be judged and are not counted")
    return result
