"""Precision and recall of opentrust's detectors on the team-written labelled sets, and of garak's
MitigationBypass keyword detector on the same refusal set.

    .venv/bin/python benchmarks/detectors.py [--judge openai:http://127.0.0.1:8080/v1#model] [--no-write]

Sets: tests/data/detectors/<detector>.jsonl (the development set, looked at while building the
detector) and <detector>_holdout.jsonl (written after the detector was frozen; never tuned on).
Every line: {"prompt", "response", "expected", ...}. garak runs from /work/bench-venvs/garak when it
is installed there; otherwise it is skipped with a message. garak's full dependency resolution did not
finish in 30 minutes here (torch, transformers, langchain, cloud SDKs...), and its keyword detector needs
none of that, so the benchmark venv holds garak's own code with only the modules that path imports:

    python3 -m venv /work/bench-venvs/garak
    /work/bench-venvs/garak/bin/pip install --no-deps garak==0.17.1
    /work/bench-venvs/garak/bin/pip install pyyaml xdg-base-dirs colorama

Writes the measured confusion counts to src/opentrust/data/detectors/error_rates.json (with the date
and set sizes) — the red-team campaign carries them into its attack-success intervals
(opentrust.redteam.correction).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "tests/data/detectors"
OUT = ROOT / "src/opentrust/data/detectors/error_rates.json"
GARAK_PY = Path("/work/bench-venvs/garak/bin/python")
DETECTORS = ("refusal", "canary", "harmful", "pii")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def confusion(predicted_pos: list[bool], expected_pos: list[bool]) -> dict[str, int]:
    c = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    for p, e in zip(predicted_pos, expected_pos, strict=True):
        c[("t" if p == e else "f") + ("p" if p else "n")] += 1
    return c


def metrics(c: dict[str, int]) -> dict[str, float]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    spec = c["tn"] / (c["tn"] + c["fp"]) if c["tn"] + c["fp"] else float("nan")
    n = sum(c.values())
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f1, 4),
        "specificity": round(spec, 4),
        "accuracy": round((c["tp"] + c["tn"]) / n, 4) if n else float("nan"),
        "n": n,
    }


def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b[k] for k in b}


def garak_scores(path: Path) -> tuple[str, list[float | None]] | None:
    if not GARAK_PY.exists():
        return None
    proc = subprocess.run(
        [str(GARAK_PY), str(ROOT / "benchmarks/_garak_mitigation.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        print(f"garak failed on {path.name}: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["garak"], out["scores"]


def row(name: str, subset: str, m: dict[str, float], seconds: float | None = None) -> str:
    t = f"{seconds * 1000 / m['n']:8.2f}" if seconds is not None else "       -"
    return (
        f"{name:34s} {subset:8s} {m['n']:5d} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f} "
        f"{m['specificity']:6.3f} {t}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judge", help="also measure the harmful detector with this judge target")
    ap.add_argument("--no-write", action="store_true", help="do not update error_rates.json")
    args = ap.parse_args()

    from opentrust.detectors import get_detector

    print(
        f"{'detector':34s} {'set':8s} {'n':>5s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'spec.':>6s} {'ms/line':>8s}"
    )
    results: dict[str, dict] = {}
    garak_report = {}
    configs = [(d, d, {}) for d in DETECTORS]
    if args.judge:
        configs.append(("harmful+judge", "harmful", {"judge": args.judge}))
    for label, name, options in configs:
        detector = get_detector(name, **options)
        entry: dict = {"positive_label": detector.positive_label, "sets": {}}
        total: dict[str, int] = {}
        for subset, suffix in (("dev", ""), ("holdout", "_holdout")):
            path = SETS / f"{name}{suffix}.jsonl"
            if not path.exists():
                continue
            rows = load(path)
            t0 = time.perf_counter()
            predicted = [detector.detect_record(r).label == detector.positive_label for r in rows]
            seconds = time.perf_counter() - t0
            expected = [r["expected"] == detector.positive_label for r in rows]
            c = confusion(predicted, expected)
            total = add(total, c)
            entry["sets"][subset] = {"file": str(path.relative_to(ROOT)), "counts": c, **metrics(c)}
            print(row(f"opentrust {label}", subset, metrics(c), seconds))
            if name == "refusal" and not options:
                g = garak_scores(path)
                if g is None:
                    garak_report[subset] = None
                    continue
                version, scores = g
                # garak: 1.0 = mitigation bypassed (no refusal); treat None (no text) as no bypass
                g_pred = [not (s is not None and s >= 0.5) for s in scores]
                gc = confusion(g_pred, expected)
                garak_report[subset] = {"garak": version, "counts": gc, **metrics(gc)}
                print(row(f"garak {version} MitigationBypass", subset, metrics(gc)))
        entry["all"] = {"counts": total, **metrics(total)}
        print(row(f"opentrust {label}", "all", metrics(total)))
        results[label] = entry
    if not GARAK_PY.exists():
        print(
            "garak: not installed in /work/bench-venvs/garak — skipped "
            "(see this script's docstring for the two pip commands)"
        )
    else:
        for subset, g in garak_report.items():
            ours = results["refusal"]["sets"][subset]
            if g:
                errs_g = g["counts"]["fp"] + g["counts"]["fn"]
                errs_o = ours["counts"]["fp"] + ours["counts"]["fn"]
                print(
                    f"refusal ({subset}): garak misjudges {errs_g}/{g['n']} responses, opentrust {errs_o}/{ours['n']}"
                    f" → {errs_g / max(errs_o, 1):.1f}x fewer errors; garak counts {g['counts']['fn']} of "
                    f"{g['counts']['tp'] + g['counts']['fn']} genuine refusals as attack successes, opentrust "
                    f"{ours['counts']['fn']}"
                )
    if not args.no_write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "format": "opentrust-detector-error-rates/1",
            "date": dt.date.today().isoformat(),
            "produced_by": "benchmarks/detectors.py",
            "note": "counts are for each detector's positive label; the campaign uses 'all' "
            "(dev + holdout) with opentrust.redteam.correction",
            "detectors": {k: v for k, v in results.items() if "+judge" not in k},
            "garak_mitigation_bypass": garak_report or None,
        }
        OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
