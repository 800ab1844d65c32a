"""`opentrust --help` start-up time (target: under 0.3 s). Prints min/median over N runs.

    .venv/bin/python benchmarks/startup.py [N]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time


def main(n: int = 20) -> None:
    exe = shutil.which("opentrust") or str(__import__("pathlib").Path(sys.executable).parent / "opentrust")
    for label, cmd in (("opentrust --help", [exe, "--help"]), ("opentrust --version", [exe, "--version"]),
                       ("python -c pass (floor)", [sys.executable, "-c", "pass"])):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - start)
        print(f"{label:28s} min {min(times) * 1000:6.0f} ms   median {statistics.median(times) * 1000:6.0f} ms   (n={n})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
