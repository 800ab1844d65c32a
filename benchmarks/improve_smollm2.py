"""The whole `opentrust improve` loop on SmolLM2 on this machine (issue 18's benchmark; not a timed test).

1. red-team SmolLM2 with a profile (default quick): the failures to learn from;
2. `opentrust improve smollm2 --from redteam.json`: plan -> CPU LoRA training -> re-test of base and tuned model
   on the held-out probe families and the control suites (over-refusal, factual QA, instruction following);
3. print the training cost (examples, tokens, tokens/s, wall time, peak memory) and the before/after table, and
   write everything to benchmarks/results/improve_smollm2.json.

Each step is a real `opentrust` command in a subprocess, timed from outside; peak memory is the largest resident
set of any child process (getrusage RUSAGE_CHILDREN) and, for training, TuneResult.peak_rss_mb. Reruns with the
same --workdir resume: the red-team and re-test answers come from the store's sample cache, training from its
checkpoints (delete the folder for a cold run).

Target (issue 18): a significant reduction of red-team attack success on held-out probe families, no significant
regression on the control suites, within 60 minutes on 2 CPU cores.

Peers: InstructLab (the issue's reference point) is on PyPI (instructlab 0.26.1), but its training path needs its
own model download and a multi-GB dependency tree; it is not run here (offline machine, shared CPUs), so no ratio
is claimed against it.

    .venv/bin/python benchmarks/improve_smollm2.py                      # quick profile, defaults
    .venv/bin/python benchmarks/improve_smollm2.py --max-steps 60 --categories harmful,jailbreak
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(args: list[str], cwd: Path, quiet: bool = False) -> tuple[float, int]:
    """Run one opentrust command; (seconds, exit code). Its progress goes to our stderr."""
    start = time.perf_counter()
    print("$ opentrust " + " ".join(args), file=sys.stderr, flush=True)
    proc = subprocess.run([sys.executable, "-m", "opentrust", *args], cwd=cwd,
                          stdout=subprocess.DEVNULL if quiet else None)
    return time.perf_counter() - start, proc.returncode


def peak_children_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "opentrust-improve-smollm2")
    ap.add_argument("--profile", default="quick", help="red-team profile (quick, standard)")
    ap.add_argument("--categories", default=None, help="improve --categories (default: every failed category)")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--rank", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--samples", type=int, default=None, help="answers per re-tested item and model")
    ap.add_argument("--controls", default=None, help="improve --controls (default: all three)")
    ap.add_argument("--heldout", type=float, default=None, help="improve --heldout (share of families held out)")
    ap.add_argument("--retain", action="store_true", help="improve --retain (helpful answers to benign probes too)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None,
                    help="default: benchmarks/results/improve_smollm2<settings>.json, one file per setting")
    a = ap.parse_args()
    work = a.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    db = work / "ot.db"
    start = time.perf_counter()
    rt_s, rc = run(["redteam", "smollm2", "--profile", a.profile, "--format", "json", "--out", str(work / "redteam.json"),
                    "--db", str(db), "--fail-on", "none", "--seed", str(a.seed)], work, quiet=True)
    if rc != 0:
        print(f"red-team failed (exit {rc})", file=sys.stderr)
        return rc
    rt_peak = peak_children_mb()
    # one folder per setting: training checkpoints belong to one set of data and options
    tag = "".join(f"-{k}{v}" for k, v in (("c", a.categories), ("e", a.epochs), ("r", a.rank), ("lr", a.lr),
                                          ("s", a.max_steps), ("h", a.heldout), ("retain", "" if a.retain else None))
                  if v is not None)
    folder = work / f"improve{tag.replace(',', '+')}"
    args = ["improve", "smollm2", "--from", str(work / "redteam.json"), "--db", str(db), "--out", str(folder),
            "--seed", str(a.seed)]
    for flag, value in (("--categories", a.categories), ("--epochs", a.epochs), ("--rank", a.rank), ("--lr", a.lr),
                        ("--max-steps", a.max_steps), ("--samples", a.samples), ("--controls", a.controls),
                        ("--heldout", a.heldout)):
        if value is not None:
            args += [flag, str(value)]
    if a.retain:
        args.append("--retain")
    imp_s, rc = run(args, work)
    total = time.perf_counter() - start
    if rc != 0:
        print(f"improve failed (exit {rc})", file=sys.stderr)
        return rc
    doc = json.loads((folder / "before_after.json").read_text())
    t = doc.get("training") or {}
    cores = len(os.sched_getaffinity(0))
    summary = {
        "machine": {"cpus": cores, "load_avg_1m_at_end": round(os.getloadavg()[0], 2)},
        "command": " ".join(["python", "benchmarks/improve_smollm2.py", *sys.argv[1:]]),
        "redteam": {"profile": a.profile, "seconds": round(rt_s, 1), "peak_rss_mb": round(rt_peak, 1)},
        "plan": {"train": doc["plan"]["examples"]["train"], "heldout": doc["plan"]["examples"]["heldout"],
                 "families": {k: len(v) for k, v in doc["plan"]["families"].items()}},
        "training": {k: t.get(k) for k in ("examples", "tokens", "assistant_tokens", "steps", "seconds", "tokens_per_s",
                                           "peak_rss_mb", "loss_first", "loss_last")},
        "improve_seconds": round(imp_s, 1), "retest_seconds": doc["summary"]["retest_s"],
        "peak_rss_mb_any_child": round(peak_children_mb(), 1),
        "wall_seconds": round(total, 1), "within_60_min": total <= 3600,
        "categories": [{k: r[k] for k in ("category", "kind", "n", "before", "after", "difference", "p_value",
                                          "p_adjusted", "test", "verdict")} for r in doc["categories"]],
        "target_met": doc["summary"]["target_met"],
        "tuned": doc["tuned"]["spec"],
        "report": str(folder / "before_after.html"),
    }
    a.out = a.out or REPO / "benchmarks" / "results" / f"improve_smollm2{tag.replace(',', '+')}.json"
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\nmachine: {cores} CPUs (load {summary['machine']['load_avg_1m_at_end']} at the end)")
    print(f"red-team ({a.profile}): {rt_s:.0f} s; plan: {summary['plan']['train']} training / "
          f"{summary['plan']['heldout']} held-out examples ({summary['plan']['families']} families)")
    print(f"training: {t.get('examples')} examples, {t.get('tokens')} tokens ({t.get('assistant_tokens')} with loss), "
          f"{t.get('steps')} steps, {t.get('seconds')} s, {t.get('tokens_per_s')} tokens/s, peak "
          f"{t.get('peak_rss_mb')} MB; loss {t.get('loss_first')} -> {t.get('loss_last')}")
    print(f"improve (plan + training + re-test): {imp_s:.0f} s, of which re-test {doc['summary']['retest_s']} s; "
          f"peak memory of any step {summary['peak_rss_mb_any_child']} MB")
    print(f"whole loop: {total / 60:.1f} min ({'within' if total <= 3600 else 'over'} the 60 min target)\n")
    head = f"{'category':<24}{'kind':<9}{'n':>4}  {'before':<18}{'after':<18}{'difference':<22}{'p':>8}  verdict"
    print(head)
    print("-" * len(head))
    for r in doc["categories"]:
        def pct(x: dict) -> str:
            return "—" if x["rate"] is None else f"{x['rate']:.0%} [{x['ci'][0]:.0%}, {x['ci'][1]:.0%}]"
        d = r["difference"]
        diff = "—" if d["estimate"] is None else f"{d['estimate']:+.0%} [{d['ci'][0]:+.0%}, {d['ci'][1]:+.0%}]"
        p = "—" if r["p_value"] is None else f"{r['p_value']:.2g}"
        print(f"{r['category']:<24}{r['kind']:<9}{r['n']:>4}  {pct(r['before']):<18}{pct(r['after']):<18}{diff:<22}"
              f"{p:>8}  {r['verdict']}")
    print(f"\ntarget met (a target category improved, nothing regressed): {doc['summary']['target_met']}")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
