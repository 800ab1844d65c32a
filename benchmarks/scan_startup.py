"""Per-invocation cost of `opentrust scan` on one small file vs picklescan (target: under 0.3 s wall).

    .venv/bin/python benchmarks/scan_startup.py [N]

Pre-commit hooks and CI steps call a scanner once per file, so start-up dominates. Both tools scan the same
small benign pickle and the same small malicious one, N times each after a warm-up run, interleaved (so
machine load affects both alike); prints min and median wall time, CPU time (user+sys, less sensitive to other load) and the
ratio opentrust / picklescan. picklescan is taken from its own venv (/work/bench-venvs/picklescan,
``pip install picklescan==1.0.5``). ``OPENTRUST_SRC=/other/checkout/src`` times another version's sources
with this venv (how the before/after figures were made).
"""

from __future__ import annotations

import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENVS = Path(os.environ.get("OPENTRUST_BENCH_VENVS", "/work/bench-venvs"))


class _Evil:
    def __reduce__(self):  # harmless if ever loaded: prints nothing, runs `true`
        return os.system, ("true",)


#: as installed tools run: byte-compiled modules may be written and reused (a shell that sets
#: PYTHONDONTWRITEBYTECODE would otherwise make every run recompile the editable checkout's sources)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(cmd: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(n: int = 20) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="scan-startup-"))
    files = {"benign": tmp / "small.pkl", "malicious": tmp / "evil.pkl"}
    files["benign"].write_bytes(pickle.dumps({"weights": [0.5] * 64, "name": "tiny"}))
    files["malicious"].write_bytes(pickle.dumps(_Evil()))
    exe = [str(REPO / ".venv" / "bin" / "opentrust")]
    if os.environ.get("OPENTRUST_SRC"):  # another checkout's sources (e.g. a commit before this benchmark)
        ENV["PYTHONPATH"] = os.environ["OPENTRUST_SRC"]
        exe = [sys.executable, "-m", "opentrust"]
    tools = {"opentrust scan": [*exe, "scan"], "opentrust scan --format json": [*exe, "scan", "--format", "json"]}
    ps = VENVS / "picklescan" / "bin" / "picklescan"
    if ps.exists():
        tools["picklescan -p"] = [str(ps), "-p"]
    else:
        print(f"  ! picklescan not installed in {VENVS / 'picklescan'}: ratios left out")
    for cmd in tools.values():  # warm-up: writes byte code once, fills the OS file cache
        _run([*cmd, str(files["benign"])])
    floor = [_run([sys.executable, "-c", "pass"])[0] for _ in range(5)]
    print(f"python -c pass (floor): min {min(floor) * 1000:.0f} ms\n")
    print(f"{'file':<10} {'tool':<30} {'min wall':>9} {'median wall':>12} {'median cpu':>11} {'x picklescan':>13}")
    for label, path in files.items():
        times: dict[str, list[tuple[float, float]]] = {t: [] for t in tools}
        for _ in range(n):
            for tool, cmd in tools.items():  # interleaved: load changes hit every tool alike
                times[tool].append(_run([*cmd, str(path)]))
        ref = statistics.median(w for w, _ in times["picklescan -p"]) if "picklescan -p" in times else None
        for tool, rows in times.items():
            walls = [w for w, _ in rows]
            med = statistics.median(walls)
            ratio = f"{med / ref:.2f}x" if ref else "-"
            print(f"{label:<10} {tool:<30} {min(walls) * 1000:>6.0f} ms {med * 1000:>9.0f} ms "
                  f"{statistics.median(c for _, c in rows) * 1000:>8.0f} ms {ratio:>13}")
    print(f"\n(n={n} per tool and file; target for opentrust: median wall under 300 ms)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
