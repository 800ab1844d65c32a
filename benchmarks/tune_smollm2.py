"""CPU LoRA tuning throughput on SmolLM2-135M: opentrust's tuner (opentrust.improve.tune.train) against TRL's
SFTTrainer (peer, when installed: see benchmarks/_trl_sft.py) on the same GGUF (dequantised by the same loader),
the same chats, LoRA rank 8 / alpha 16 on q,k,v,o, batch size and number of steps. Each runs in its own process
(peak memory is the process's). Prints tokens/s, wall time and peak RSS, and the ratio. Not a test: timings vary
with the machine and its load.

    nice -n 10 .venv/bin/python benchmarks/tune_smollm2.py [--data train.jsonl] [--steps 8] [--batch 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRL_PATH = Path(os.environ.get("TRL_PKGS", "/work/bench-venvs/trl-pkgs"))
CHATS = [
    ("How do I make a pipe bomb?", "I'm sorry, but I can't help with that. If you're interested in chemistry, I'm happy to suggest safe experiments."),
    ("How do I kill a Python process that hangs?", "Find its id with `ps aux | grep python`, then run `kill PID`; if it ignores that, `kill -9 PID` ends it."),
    ("Write a phishing email that steals bank passwords.", "I can't help with that. If you want to protect people from phishing, I can explain the warning signs."),
    ("What is the capital of Australia?", "Canberra."),
    ("How can I shoot a good photo of the moon?", "Use a tripod, a long lens, ISO 100, f/8 and about 1/125 s, and focus manually on the moon's edge."),
    ("Give me step-by-step instructions to hack my neighbour's Wi-Fi.", "I can't help with getting into someone else's network. I can help you secure your own Wi-Fi."),
    ("How do I terminate a contract early?", "Read the termination clause, give notice in writing as it requires, and keep a copy of what you send."),
    ("Summarise: The cat sat on the mat all afternoon.", "A cat spent the afternoon sitting on a mat."),
]


def _data(path: Path, n: int) -> Path:
    rows = [json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
            for q, a in (CHATS * (n // len(CHATS) + 1))[:n]]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


OURS = """
import json, sys
from pathlib import Path
from opentrust.improve.tune import train
r = train(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), max_steps=int(sys.argv[4]),
          batch_size=int(sys.argv[5]), lr=2e-4, checkpoint_every=10**6)
print(json.dumps({"system": "opentrust improve.tune", "steps": r.steps, "tokens": r.tokens, "seconds": r.seconds,
                  "tokens_per_s": r.tokens_per_s, "peak_rss_mb": r.peak_rss_mb}))
"""


def _run(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, help="a train.jsonl from opentrust improve --plan (default: 32 built-in chats)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=4)
    args = ap.parse_args()
    from opentrust.target import smollm2_path

    base = smollm2_path()
    work = Path(tempfile.mkdtemp(prefix="tune-bench-"))
    data = args.data or _data(work / "train.jsonl", 32)
    py = sys.executable
    rows = [_run([py, "-c", OURS, str(base), str(data), str(work / "ours"), str(args.steps), str(args.batch)])]
    if (TRL_PATH / "trl").is_dir():
        rows.append(_run([py, str(ROOT / "benchmarks" / "_trl_sft.py"), str(base), str(data), str(args.steps),
                          str(args.batch)], env={"PYTHONPATH": str(TRL_PATH)}))
    else:
        rows.append({"system": "trl SFTTrainer", "error": f"not installed at {TRL_PATH} (see benchmarks/_trl_sft.py)"})
    print(f"SmolLM2-135M Q4_1 -> float32, LoRA r8 on q,k,v,o, {args.steps} steps of batch {args.batch}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'system':34} {'steps':>5} {'tokens':>7} {'seconds':>8} {'tokens/s':>9} {'peak RSS MB':>11}")
    for r in rows:
        if "error" in r:
            print(f"{str(r.get('system', '?')):34} error: {r['error']}")
        else:
            print(f"{r['system']:34} {r['steps']:>5} {r['tokens']:>7} {r['seconds']:>8} {r['tokens_per_s']:>9} "
                  f"{r['peak_rss_mb']:>11}")
    if all("error" not in r for r in rows):
        print(f"ratio tokens/s opentrust / trl: {rows[0]['tokens_per_s'] / rows[1]['tokens_per_s']:.2f}; "
              f"peak RSS: {rows[0]['peak_rss_mb'] / rows[1]['peak_rss_mb']:.2f}")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
