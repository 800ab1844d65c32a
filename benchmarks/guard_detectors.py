"""Precision and recall of the guard's input detectors (prompt_injection, jailbreak) on the held-out set, with
95% bootstrap intervals; recall at a 1% false-positive rate; the false-positive rate on over-refusal probes; and
the time per prompt. Also PII and secrets per entity type on labels/guard/pii_secrets.jsonl and, with Faker on
the path, on values made by Faker's providers (third-party formats, seven locales), and how often the
``harmful`` output check flags SmolLM2's answers to benign requests (labels/smollm2.jsonl).

    .venv/bin/python benchmarks/guard_detectors.py [--json out.json]

Data (none of it used in training or threshold choice):
- ``labels/guard/heldout.jsonl`` — written by the opentrust team *after* the shipped models were frozen
  (injections direct and hidden in documents, e-mails, web pages and tool output; jailbreak framings; benign
  prompts, including ones that sound like attacks, and documents that give orders to people);
- the over-refusal probes (``redteam/probes/over_refusal.yaml``) and the over-refusal suite: benign prompts that
  sound dangerous; kept out of the training set on purpose;
- ``labels/guard/pii_secrets.jsonl`` — lines with the exact personal-data and secret values they contain
  (and hard negatives: order numbers, versions, placeholders, documentation keys).

Peers (llm-guard, Prompt Guard 2, NeMo Guardrails) are not installable offline here (they need model downloads
from a hub): their published figures are quoted in the README, not measured on these sets.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opentrust.detectors import get_detector  # noqa: E402
from opentrust.detectors.evaluate import with_intervals  # noqa: E402

HELDOUT = ROOT / "labels/guard/heldout.jsonl"
PII_SET = ROOT / "labels/guard/pii_secrets.jsonl"


def fmt(m: dict, key: str) -> str:
    v = m[key]
    return f"{v['value']:.3f} [{v['ci'][0]:.2f}, {v['ci'][1]:.2f}]"


def over_refusal_prompts() -> list[str]:
    probes = yaml.safe_load((ROOT / "src/opentrust/redteam/probes/over_refusal.yaml").read_text())["probes"]
    suite = yaml.safe_load((ROOT / "src/opentrust/evals/suites/over-refusal.yaml").read_text())
    out = [p["prompt"] for p in probes]
    for case in suite["cases"]:
        out += [v["q"] for v in case.get("vars", [])]
    return out


def input_detectors(report: dict) -> None:
    rows = [json.loads(x) for x in HELDOUT.read_text().splitlines() if x.strip()]
    probes = over_refusal_prompts()
    for name, positive in (("prompt_injection", "injection"), ("jailbreak", "jailbreak")):
        det = get_detector(name)
        scored = []
        t0 = time.process_time()
        for r in rows:
            scored.append(det.score(r["text"])[0])
        cpu_ms = (time.process_time() - t0) * 1000 / len(rows)
        scores = np.array(scored)
        labels = np.array([r["label"] for r in rows])
        keep = (labels == positive) | (labels == "benign")
        gold = labels[keep] == positive
        s = scores[keep]
        m = with_intervals(s >= det.threshold, gold)
        benign_scores = np.sort(s[~gold])
        # the threshold with at most 1% of benign held-out prompts above it
        k = int(np.floor(0.01 * len(benign_scores)))
        t1 = benign_scores[len(benign_scores) - 1 - k] + 1e-9 if len(benign_scores) else 1.0
        at1 = with_intervals(s >= t1, gold)
        probe_scores = np.array([det.score(p)[0] for p in probes])
        fp_probe = with_intervals(probe_scores >= det.threshold, np.zeros(len(probes), dtype=bool))
        per_channel = {}
        for ch in sorted({r["channel"] for r, k_ in zip(rows, keep) if k_ and r["label"] == positive}):
            idx = [i for i, r in enumerate(rows) if r["label"] == positive and r["channel"] == ch]
            per_channel[ch] = {"n": len(idx), "caught": int((scores[idx] >= det.threshold).sum())}
        fp_rows = [rows[i]["text"][:90] for i in np.flatnonzero(keep) if labels[i] == "benign"
                   and scores[i] >= det.threshold]
        report[name] = {"threshold": det.threshold, "held_out": m, "recall_at_1pct_fpr": at1["recall"],
                        "threshold_at_1pct_fpr": float(t1), "over_refusal_fpr": {
                            "n": len(probes), "fp": int((probe_scores >= det.threshold).sum()),
                            "specificity": fp_probe["specificity"]},
                        "per_channel_recall": per_channel, "cpu_ms_per_prompt": round(cpu_ms, 3),
                        "false_positives": fp_rows}
        print(f"\n{name} (threshold {det.threshold}): held-out n={m['n']} ({int(gold.sum())} {positive}, "
              f"{int((~gold).sum())} benign)")
        print(f"  precision {fmt(m, 'precision')}  recall {fmt(m, 'recall')}  f1 {fmt(m, 'f1')}  "
              f"false-positive rate {1 - m['specificity']['value']:.3f}")
        print(f"  recall at 1% false positives on benign held-out (threshold {t1:.3f}): {fmt(at1, 'recall')}")
        print(f"  over-refusal probes (benign, sound dangerous): {int((probe_scores >= det.threshold).sum())}/"
              f"{len(probes)} flagged")
        print("  recall by channel: " + ", ".join(f"{c} {v['caught']}/{v['n']}" for c, v in per_channel.items()))
        print(f"  CPU per prompt: {cpu_ms:.2f} ms")
        for t in fp_rows:
            print(f"  false positive: {t!r}")
    # the default policy blocks when either fires
    inj, jb = get_detector("prompt_injection"), get_detector("jailbreak")
    fired = np.array([inj.detect(r["text"]).label == "injection" or jb.detect(r["text"]).label == "jailbreak"
                      for r in rows])
    gold = np.array([r["label"] != "benign" for r in rows])
    m = with_intervals(fired, gold)
    probe_fired = sum(inj.detect(p).label == "injection" or jb.detect(p).label == "jailbreak" for p in probes)
    report["default_input_policy"] = {"held_out": m, "over_refusal_blocked": int(probe_fired), "over_refusal_n":
                                      len(probes)}
    print(f"\ndefault input policy (block if either fires): precision {fmt(m, 'precision')}  recall "
          f"{fmt(m, 'recall')}; over-refusal probes blocked {probe_fired}/{len(probes)}")


def faker_rows(n_per_locale: int = 60, seed: int = 15) -> list[dict]:
    """Sentences holding values that Faker's providers make (third-party generators of each locale's formats:
    e-mail, phone, card, IBAN, US SSN, IPv4/IPv6) among Faker values that are not personal data of these kinds
    (ISBN, EAN, dates, postcodes, UUIDs, hashes, prices, licence plates): the false-positive bait. The sentence
    frames are ours; the values and their formats are not."""
    from faker import Faker

    rows = []
    for locale in ("en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "it_IT", "es_ES"):
        fk = Faker(locale)
        fk.seed_instance(seed)
        for i in range(n_per_locale):
            ents = [("email", fk.email()), ("credit_card", fk.credit_card_number()), ("iban", fk.iban()),
                    ("ip_address", fk.ipv4_public() if i % 2 else fk.ipv6())]
            phone = fk.phone_number()
            if "x" not in phone.lower():  # extensions are not part of the number
                ents.append(("phone", phone))
            if locale == "en_US":
                ents.append(("ssn", fk.ssn()))
            bait = [fk.isbn13(), fk.ean13(), fk.date(), fk.postcode(), fk.uuid4(), fk.sha256()[:16],
                    f"{fk.pyfloat(left_digits=4, right_digits=2, positive=True)} EUR", fk.license_plate()]
            fk.random.shuffle(ents)
            parts = [f"{k.replace('_', ' ')}: {v}" for k, v in ents] + [f"ref {b}" for b in bait]
            fk.random.shuffle(parts)
            rows.append({"text": f"Record {i} for {fk.name()} — " + "; ".join(parts) + ".",
                         "entities": [{"kind": k, "value": v} for k, v in ents]})
    return rows


def pii_secrets(report: dict, rows: list[dict] | None = None, name: str = PII_SET.name,
                normalise: bool = False) -> None:
    """Per-entity precision and recall; ``normalise``: values compared on their letters and digits only (a
    recogniser may leave out a bracket or a leading +)."""
    from opentrust.detectors.pii import find_pii
    from opentrust.detectors.secrets import find_secrets

    if rows is None:
        if not PII_SET.exists():
            print(f"\n{PII_SET} not found: PII/secrets per-entity figures skipped")
            return
        rows = [json.loads(x) for x in PII_SET.read_text().splitlines() if x.strip()]

    def key(kind: str, value: str) -> tuple[str, str]:
        return (kind, "".join(c for c in value if c.isalnum()).lower() if normalise else value)
    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    fn: dict[str, int] = defaultdict(int)
    misses = []
    for r in rows:
        found = {key(m.kind, m.value) for m in find_pii(r["text"])}
        found |= {key("secret", m.value) for m in find_secrets(r["text"])}
        want = {key(e["kind"], e["value"]) for e in r.get("entities", [])}
        for e in want:
            if e in found:
                tp[e[0]] += 1
            else:
                fn[e[0]] += 1
                misses.append(("missed", e, r["text"][:80]))
        for e in found - want:
            fp[e[0]] += 1
            misses.append(("extra", e, r["text"][:80]))
    from opentrust.stats import wilson_interval

    print(f"\nPII and secrets on {name} ({len(rows)} lines): {'letters and digits' if normalise else 'exact value'} "
          "matches")
    print(f"  {'kind':14s} {'tp':>3s} {'fp':>3s} {'fn':>3s}  {'precision [95% CI]':24s} recall [95% CI]")
    out = {}
    for kind in sorted(set(tp) | set(fp) | set(fn)):
        p_lo, p_hi = wilson_interval(tp[kind], tp[kind] + fp[kind]) if tp[kind] + fp[kind] else (0.0, 1.0)
        r_lo, r_hi = wilson_interval(tp[kind], tp[kind] + fn[kind]) if tp[kind] + fn[kind] else (0.0, 1.0)
        p = tp[kind] / (tp[kind] + fp[kind]) if tp[kind] + fp[kind] else float("nan")
        rc = tp[kind] / (tp[kind] + fn[kind]) if tp[kind] + fn[kind] else float("nan")
        out[kind] = {"tp": tp[kind], "fp": fp[kind], "fn": fn[kind], "precision": [p, p_lo, p_hi],
                     "recall": [rc, r_lo, r_hi]}
        print(f"  {kind:14s} {tp[kind]:3d} {fp[kind]:3d} {fn[kind]:3d}  {p:.2f} [{p_lo:.2f}, {p_hi:.2f}]"
              f"{'':8s} {rc:.2f} [{r_lo:.2f}, {r_hi:.2f}]")
    for what, e, text in misses[:12]:
        print(f"  {what}: {e[0]} {e[1]!r} in {text!r}")
    if len(misses) > 12:
        print(f"  ... and {len(misses) - 12} more")
    report["pii_secrets" if name == PII_SET.name else f"pii_{name}"] = out


#: answers of SmolLM2 to benign requests in labels/smollm2.jsonl (hand-labelled for refusal; none is harmful
#: compliance, since none answers a harmful request): what an output check sees on ordinary traffic
BENIGN_ORIGINS = {"plain requests (suites, conversation)": ("conventions", "suite:factual-qa",
                                                             "suite:instruction-following", "suite:json-output"),
                  "benign look-alikes of dangerous requests": ("borderline_benign", "probe:over_refusal",
                                                               "suite:over-refusal")}


def harmful_on_benign_answers(report: dict) -> None:
    """Why ``harmful`` is not in the default policy: the built-in model judges answers *to harmful requests*
    (all of its training and validation rows are), so on ordinary traffic it calls most helpful answers harmful."""
    from opentrust.stats import wilson_interval

    rows = [json.loads(x) for x in (ROOT / "labels/smollm2.jsonl").read_text().splitlines() if x.strip()]
    detector = get_detector("harmful")
    print("\nharmful (output check) on answers to benign requests (labels/smollm2.jsonl; threshold "
          f"{detector.threshold}): flagged as harmful")
    out = {}
    for name, origins in BENIGN_ORIGINS.items():
        picked = [r for r in rows if r["origin"] in origins]
        flagged = sum(detector.detect(r["prompt"], r["response"]).label == "harmful" for r in picked)
        lo, hi = wilson_interval(flagged, len(picked))
        out[name] = {"n": len(picked), "flagged": flagged, "rate": [flagged / len(picked), lo, hi]}
        print(f"  {name:44s} {flagged:3d} / {len(picked):3d} = {flagged / len(picked):.2f} [{lo:.2f}, {hi:.2f}]")
    report["harmful_on_benign_answers"] = out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    report: dict = {}
    input_detectors(report)
    pii_secrets(report)
    try:  # third-party values: Faker (pip install faker; not a dependency of opentrust)
        pii_secrets(report, faker_rows(), "faker", normalise=True)
    except ImportError:
        print("\nfaker is not installed: the per-entity figures on Faker's values are skipped (pip install faker)")
    harmful_on_benign_answers(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float))


if __name__ == "__main__":
    main()
