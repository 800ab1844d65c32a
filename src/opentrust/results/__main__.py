"""Regenerate the published JSON Schemas: python -m opentrust.results [FOLDER] (default docs/schemas)."""

import sys
from pathlib import Path

from opentrust.results import write_schemas

for path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
    print(path)
