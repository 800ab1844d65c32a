"""Builders for model folders used by the openness tests (real files, written by code)."""

from __future__ import annotations

import json
import struct
from importlib.metadata import distribution
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MOT = REPO / ".." / "shared" / "data" / "mot"


def mit_text() -> str:
    """A real MIT licence text: the one rich ships in its dist-info."""
    dist = distribution("rich")
    lic = next(f for f in dist.files or [] if f.name.upper().startswith("LICENSE"))
    return Path(str(dist.locate_file(lic))).read_text(encoding="utf-8")


def write_safetensors(path: Path, n: int = 4) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * (4 * n))


CARD = """---
license: {license}
datasets:
- example/corpus
base_model: example/base
model-index:
- name: tiny
  results:
  - task: {{type: text-classification}}
    dataset: {{name: example-eval, type: example/eval}}
    metrics:
    - {{type: accuracy, value: 0.91}}
---

# Tiny model

## Intended uses
Classifying short support tickets into five queues for internal routing only.

## Limitations
Trained on English text only; accuracy drops on long documents and other languages.
"""


def build_folder(root: Path, level: int, license: str = "mit") -> Path:
    """A folder meant to reach MOF class ``level`` (3, 2 or 1; 0 = weights only, no card)."""
    root.mkdir(parents=True, exist_ok=True)
    write_safetensors(root / "model.safetensors")
    (root / "config.json").write_text(json.dumps({"architectures": ["TinyForCausalLM"], "model_type": "tiny"}))
    if level == 0:
        return root
    (root / "LICENSE").write_text(mit_text())
    (root / "README.md").write_text(CARD.format(license=license))
    (root / "modeling_tiny.py").write_text("# SPDX-License-Identifier: MIT\n\"\"\"The tiny architecture.\"\"\"\n")
    (root / "DATA_CARD.md").write_text("---\nlicense: cc-by-4.0\n---\n# Data card\nSources, filtering and splits.\n")
    (root / "technical_report.md").write_text("# Technical report\nCapabilities and usage.\n")
    if level <= 2:
        (root / "train.py").write_text("# SPDX-License-Identifier: Apache-2.0\nprint('train')\n")
        (root / "inference.py").write_text("print('infer')\n")
        (root / "evaluate.py").write_text("print('eval')\n")
        (root / "eval").mkdir(exist_ok=True)
        (root / "eval" / "test.jsonl").write_text('{"text": "hello", "label": 1}\n')
        (root / "requirements.txt").write_text("numpy\n")
    if level <= 1:
        (root / "data").mkdir(exist_ok=True)
        (root / "data" / "train.jsonl").write_text('{"text": "hi"}\n')
        (root / "preprocess.py").write_text("print('clean')\n")
        write_safetensors(root / "checkpoint-100" / "model.safetensors")
        (root / "paper-2401.00001.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    return root
