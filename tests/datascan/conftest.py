"""Dataset fixtures written by code: every format with personal data and secrets planted at known places."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

#: planted items: (entity or secret kind, value); every one is synthetic (test card numbers, documentation IBAN,
#: an SSN in the valid range that is not issued to anyone we know of, made-up tokens)
PLANTED = [
    ("EMAIL", "maria.keller@example.org"),
    ("PHONE", "+44 20 7946 0958"),
    ("CREDIT_CARD", "4111 1111 1111 1111"),
    ("IBAN", "GB82 WEST 1234 5698 7654 32"),
    ("US_SSN", "219-09-9999"),
    ("IP_ADDRESS", "203.0.113.77"),
    ("github_token", "ghp_" + "Zq8RwT3vYx6PmN2kLs9DfG4hJ7cBv1XaQe5U"),
    ("aws_access_key_id", "AKIA" + "QX7RZK2M4N6P5T3V"),
]
CLEAN = ("The river ran quietly past the old mill, where the miller kept his accounts in a leather book and "
         "counted the sacks of grain each evening before the light failed.")


def planted_rows(n: int = 40) -> list[dict]:
    """``n`` rows; row 3 + 4*i holds planted item i (in field 'text', after a prefix), the rest are clean."""
    rows = []
    for i in range(n):
        rows.append({"id": i, "text": f"{CLEAN} Row {i} of the mill ledger, page {i % 7} ({'x' * (i % 5)}).",
                     "meta": {"source": "synthetic"}})
    for k, (_, value) in enumerate(PLANTED):
        r = 3 + 4 * k
        if r >= n:
            break
        rows[r]["text"] = f"Record {r}: reach the owner via {value} for details. " + CLEAN
    return rows


def expected_hits() -> dict[int, tuple[str, str, int]]:
    """row -> (label, value, start within field 'text')."""
    out = {}
    for k, (label, value) in enumerate(PLANTED):
        r = 3 + 4 * k
        prefix = f"Record {r}: reach the owner via "
        out[r] = (label, value, len(prefix))
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as fh:  # type: ignore[operator]
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    return path


def write_csv(path: Path, rows: list[dict], delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(["id", "text"])
        for r in rows:
            w.writerow([r["id"], r["text"]])
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows],
                      "messages": [[{"role": "user", "content": r["text"]}] for r in rows]})
    pq.write_table(table, path, row_group_size=16)
    return path


def write_arrow_stream(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    table = pa.table({"text": [r["text"] for r in rows]})
    with ipc.new_stream(str(path), table.schema) as w:
        for batch in table.to_batches(max_chunksize=16):
            w.write_batch(batch)
    return path


CARD = """---
pretty_name: Mill Ledger
license: cc-by-nc-4.0
language:
- en
task_categories:
- text-generation
---
# Dataset Card for Mill Ledger

## Dataset Summary
Synthetic ledger entries from an imaginary mill, written for testing data scanners.

## Languages
English text only, written by the maintainers.

## Dataset Structure
Each row has an id, a text field with one ledger entry and a meta object.

### Data Splits
[More Information Needed]

## Personal and Sensitive Information
[More Information Needed]

## Citation Information
Please cite the mill ledger as a synthetic test set made by the opentrust maintainers.
"""


@pytest.fixture
def dataset_folder(tmp_path: Path) -> Path:
    """A Hugging Face-style dataset folder: card (CC-BY-NC-4.0), an MIT LICENSE file (a mismatch), data (the
    validation split repeats ten training rows)."""
    from tests.openness.helpers import mit_text

    folder = tmp_path / "mill-ledger"
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    (folder / "LICENSE").write_text(mit_text(), encoding="utf-8")
    rows = planted_rows()
    write_jsonl(folder / "data" / "train.jsonl", rows)
    write_parquet(folder / "data" / "test.parquet", rows[:20])
    write_jsonl(folder / "data" / "validation.jsonl", rows[:10])  # exact duplicates of train rows 0-9
    return folder
