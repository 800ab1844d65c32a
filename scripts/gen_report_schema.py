"""Regenerate docs/report-schema.json from the Report model (a test fails when it drifts)."""

import json
from pathlib import Path

from opentrust.report.model import json_schema

OUT = Path(__file__).resolve().parent.parent / "docs" / "report-schema.json"

if __name__ == "__main__":
    OUT.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
