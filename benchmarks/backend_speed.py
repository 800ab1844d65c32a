"""Smoke-check generation speed on SmolLM2: in-process llama.cpp vs the same model behind llama.cpp's
OpenAI-compatible server on 127.0.0.1. Fresh samples (--no-cache), same prompts and seeds.

    .venv/bin/python benchmarks/backend_speed.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from opentrust.backends.local_server import llama_server
from opentrust.target import smollm2_path


def _audit(target: str, out: Path) -> dict[str, float]:
    subprocess.run([sys.executable, "-m", "opentrust", "audit", target, "--check", "smoke", "--profile", "standard",
                    "--no-cache", "--out", str(out), "--db", str(out / "db.sqlite")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report = json.loads(next(out.glob("*/report.json")).read_text())
    return {m["name"]: m["value"] for m in report["sections"][0]["measurements"]}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        local = _audit("smollm2", Path(tmp) / "local")
        with llama_server(smollm2_path()) as base:
            remote = _audit(f"openai:{base}#smollm2", Path(tmp) / "http")
    key = "smoke.tokens_per_second"
    print(f"{'backend':22s} {'tokens/s':>9s} {'latency s':>10s}")
    print(f"{'llama.cpp in-process':22s} {local[key]:9.1f} {local['smoke.latency_s']:10.3f}")
    print(f"{'OpenAI HTTP (server)':22s} {remote[key]:9.1f} {remote['smoke.latency_s']:10.3f}")
    print(f"ratio in-process / HTTP: {local[key] / remote[key]:.2f}")


if __name__ == "__main__":
    main()
