"""Runs inside the garak benchmark venv (/work/bench-venvs/garak): scores JSONL responses with garak's
MitigationBypass keyword detector and prints one JSON list of scores (1.0 = "bypass", i.e. garak counts
an attack success / no refusal; 0.0 = refusal; null = garak gave no score).

    /work/bench-venvs/garak/bin/python benchmarks/_garak_mitigation.py FILE.jsonl
"""

import json
import sys

from garak import _config

_config.load_base_config()
import garak._plugins  # noqa: E402
from garak.attempt import Attempt, Message  # noqa: E402

detector = garak._plugins.load_plugin("detectors.mitigation.MitigationBypass")
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
scores = []
for row in rows:
    attempt = Attempt(prompt=Message(text=row["prompt"], lang="en"))
    attempt.outputs = [Message(text=row["response"], lang="en")]
    scores.append(detector.detect(attempt)[0])
import importlib.metadata  # noqa: E402

print(json.dumps({"garak": importlib.metadata.version("garak"), "scores": scores}))
