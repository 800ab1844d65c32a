"""Per-entity precision, recall and F1 of `opentrust data`'s personal-data recognisers on labelled text we wrote.

    .venv/bin/python benchmarks/data_pii_eval.py                       # dev and held-out sets
    .venv/bin/python benchmarks/data_pii_eval.py tests/data/datascan/pii_heldout.jsonl

Each line of a set is ``{"text": ..., "entities": [[ENTITY, value], ...]}`` (EMAIL, PHONE, CREDIT_CARD, IBAN,
US_SSN, UK_NINO, IP_ADDRESS). The text goes through the same scanner as ``opentrust data`` (TextScanner: the
prefilter windows, then ``opentrust.detectors.pii``). An item is a true positive when the entity and the value
(whitespace-trimmed) match a labelled item of that text; a reported item that matches none is a false positive;
a labelled item nobody reported is a false negative. Intervals: Wilson 95% on precision (n = reported) and
recall (n = labelled), from opentrust.stats.

``pii_dev.jsonl`` was written while the recognisers were built; ``pii_heldout.jsonl`` was written after they
were frozen (at the commit named in its first line's ``frozen_at``) and was never used to change them.
Presidio's default analyzer is compared when ``presidio_analyzer`` and its spaCy model import (not offline here).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SETS = [REPO / "tests" / "data" / "datascan" / "pii_dev.jsonl", REPO / "tests" / "data" / "datascan" / "pii_heldout.jsonl"]
#: the labelled entity types; URL, STREET_ADDRESS and PERSON (pattern-only) are not labelled in these sets
STRUCTURED = {"EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "UK_NINO", "IP_ADDRESS"}
PRESIDIO = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN",
            "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS", "UK_NINO": "UK_NINO"}


def load(path: Path) -> list[dict]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            if "text" in d:
                rows.append(d)
    return rows


def ours(text: str) -> list[tuple[str, str]]:
    from opentrust.datascan.textscan import TextScanner

    sc = TextScanner(secrets=False)
    hits = sc.add(0, "text", text) + sc.flush()
    return [(h.label, h.value.strip()) for h in hits if h.label in STRUCTURED]


def presidio() -> object | None:
    try:
        from presidio_analyzer import AnalyzerEngine

        engine = AnalyzerEngine()

        def run(text: str) -> list[tuple[str, str]]:
            return [(PRESIDIO[r.entity_type], text[r.start:r.end].strip()) for r in engine.analyze(text, language="en")
                    if r.entity_type in PRESIDIO]
        return run
    except Exception as exc:  # noqa: BLE001 - not installed, or no spaCy model (it would download one)
        print(f"Presidio: not runnable offline ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})")
        return None


def score(rows: list[dict], find) -> dict[str, Counter]:  # type: ignore[no-untyped-def]
    per: dict[str, Counter] = {}
    for row in rows:
        gold = Counter((e, v.strip()) for e, v in row["entities"])
        got = Counter(find(row["text"]))
        for (e, v), k in (gold | got).items():
            c = per.setdefault(e, Counter())
            tp = min(gold[(e, v)], got[(e, v)])
            c["tp"] += tp
            c["fn"] += gold[(e, v)] - tp
            c["fp"] += got[(e, v)] - tp
    return per


def table(name: str, per: dict[str, Counter]) -> dict:
    from opentrust.stats import wilson_interval

    out = {}
    print(f"\n{name}")
    print(f"  {'entity':12s} {'labelled':>8s} {'reported':>8s}  {'precision [95% CI]':24s} {'recall [95% CI]':24s} F1")
    total = Counter()
    for e in sorted(per) + ["ALL"]:
        c = total if e == "ALL" else per[e]
        if e != "ALL":
            total.update(c)
        rep, lab = c["tp"] + c["fp"], c["tp"] + c["fn"]
        p = c["tp"] / rep if rep else None
        r = c["tp"] / lab if lab else None
        f1 = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
        pci = wilson_interval(c["tp"], rep) if rep else None
        rci = wilson_interval(c["tp"], lab) if lab else None
        fmt = lambda v, ci: "-" if v is None else f"{v:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"  # noqa: E731
        print(f"  {e:12s} {lab:8d} {rep:8d}  {fmt(p, pci):24s} {fmt(r, rci):24s} {'-' if f1 is None else f'{f1:.2f}'}")
        out[e] = {"labelled": lab, "reported": rep, "tp": c["tp"], "precision": p, "precision_ci": pci,
                  "recall": r, "recall_ci": rci, "f1": f1}
    return out


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or [p for p in SETS if p.exists()]
    pres = presidio()
    report = {}
    for path in paths:
        rows = load(path)
        report[path.name] = {"opentrust": table(f"opentrust data on {path.name} ({len(rows)} texts)", score(rows, ours))}
        if pres is not None:
            report[path.name]["presidio"] = table(f"Presidio default analyzer on {path.name}", score(rows, pres))
    out = REPO / "benchmarks" / "results" / "data_pii_eval.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
