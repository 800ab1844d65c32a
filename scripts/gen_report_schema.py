"""Regenerate the published JSON Schemas from the result models (tests fail when they drift):
docs/schemas/<kind>.schema.json for every kind (audit, scan, test, redteam, openness) and docs/report-schema.json
(the audit's, at the path earlier releases published it)."""

from pathlib import Path

from opentrust.results import schema_text, write_schemas

DOCS = Path(__file__).resolve().parent.parent / "docs"

if __name__ == "__main__":
    for path in write_schemas(DOCS / "schemas"):
        print(f"wrote {path}")
    (DOCS / "report-schema.json").write_text(schema_text("audit"))
    print(f"wrote {DOCS / 'report-schema.json'}")
