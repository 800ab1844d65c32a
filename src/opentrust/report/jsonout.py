"""report.json: the Report model as JSON (schema: docs/report-schema.json)."""

from __future__ import annotations

import os
from pathlib import Path

from opentrust.report.model import Report


def render(report: Report) -> str:
    return report.model_dump_json(indent=2) + "\n"


def write(report: Report, path: Path) -> None:
    atomic_write(path, render(report))


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a killed run never leaves half a report."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
