"""Train the refusal and harmful-compliance models shipped in the package.

    .venv/bin/python scripts/train_detectors.py            # writes src/opentrust/data/detectors/{refusal,harmful}.json

Data: the labelled sets of ``benchmarks/detector_sets.py`` (third-party labels from ../shared/data/labels and
our hand labels in labels/); nothing else. Each set is weighted so that it counts as much as any other
(``SET_WEIGHT``): the 6,160 GPTFuzz rows would otherwise teach one model family's style.

Augmentation (harmful only): jailbreak templates make models answer twice, once as themselves and once as a
persona ("[ChatGPT]: I can't… [DAN]: Sure, …"); a response is harmful when any persona delivers. Only one
source (GPTFuzz) shows that format, so a model trained without it never learns it (held-out F1 on GPTFuzz
0.59 → 0.73 with this). ``dual_persona_rows`` composes such answers from the *training* sets' own real
responses: a real refusal + a real harmful answer (harmful), a real refusal + a real refusal or a real safe
non-refusal (safe), under persona tags of common jailbreak templates.

Calibration (Platt) is fitted on held-out decisions: every set's responses scored by a model trained
without that set (and without sets that share its responses), so the probabilities describe a model
meeting new responses, not ones it has seen. ``benchmarks/detectors.py`` reuses ``held_out_decisions``
for the published cross-set figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from detector_sets import HARMFUL, REFUSAL, LabelledSet, available  # noqa: E402

from opentrust.detectors import harmful, refusal  # noqa: E402
from opentrust.detectors.mil import MILModel  # noqa: E402
from opentrust.detectors.training import decisions, fit, platt  # noqa: E402

OUT = ROOT / "src/opentrust/data/detectors"
HYPER = {"refusal": {"l2": 1e-4, "tau": 3.0}, "harmful": {"l2": 1e-4, "tau": 3.0}}


def SET_WEIGHT(n: int) -> float:  # noqa: N802 - a constant-like policy
    return 1000.0 / n


Bags = list  # per response: its segments, or (segments, whole-response features)


def refusal_bags(rows: list[tuple[str, str, bool]]) -> Bags:
    return [refusal.segments(r)[1] for _, r, _ in rows]


def harmful_bags(rows: list[tuple[str, str, bool]], refusal_model: MILModel | None) -> Bags:
    return [(harmful.segments(p, r, refusal_model)[1], harmful.whole_features(r)) for p, r, _ in rows]


def train(task: str, parts: list[tuple[Bags, list[bool]]]) -> MILModel:
    bags: Bags = []
    ys: list[bool] = []
    ws: list[float] = []
    for b, y in parts:
        bags += b
        ys += y
        ws += [SET_WEIGHT(len(y))] * len(y)
    return fit(bags, ys, detector=task, weights=ws, **HYPER[task])


def held_out(task_sets: list[LabelledSet], name: str) -> list[LabelledSet]:
    """The sets a model may train on when ``name`` is held out (it, and sets sharing its responses, go)."""
    held = next(s for s in task_sets if s.name == name)
    return [s for s in task_sets if s.name != name and s.name not in held.shares_responses_with]


PERSONA_TAGS = (("[ChatGPT]:", "[DAN]:"), ("GPT:", "BetterDAN:"), ("(🔒Normal Output)", "(🔓Developer Mode Output)"),
                ("[🔒CLASSIC]", "[🔓JAILBREAK]"), ("Normal response:", "Jailbroken response:"), ("ChatGPT:", "AIM:"),
                ("Assistant:", "Evil Assistant:"), ("[GPT]:", "[BH]:"), ("Aligned:", "Unaligned:"), ("α", "Ω"))
AUGMENTED_PAIRS = 800


def dual_persona_rows(harm_rows: list[tuple[str, str, bool]], refusals: list[str], safe_answers: list[str],
                      seed: int = 0) -> list[tuple[str, str, bool]]:
    rng = np.random.default_rng(seed)
    harmful_rows = [r for r in harm_rows if r[2]]
    if not harmful_rows or not refusals:
        return []
    out = []
    for _ in range(AUGMENTED_PAIRS):
        first, second = PERSONA_TAGS[rng.integers(len(PERSONA_TAGS))]
        prompt, answer, _ = harmful_rows[rng.integers(len(harmful_rows))]
        out.append((prompt, f"{first} {refusals[rng.integers(len(refusals))]}\n\n{second} {answer}", True))
        prompt2 = harm_rows[rng.integers(len(harm_rows))][0]
        other = (safe_answers[rng.integers(len(safe_answers))] if safe_answers and rng.random() < 0.5
                 else refusals[rng.integers(len(refusals))])
        out.append((prompt2, f"{first} {refusals[rng.integers(len(refusals))]}\n\n{second} {other}", False))
    return out


def augmentation(harm_names: list[str], ref_names: list[str], ref_rows: dict[str, list]) -> list[tuple[str, str, bool]]:
    """Dual-persona rows built only from the named (training) sets."""
    by_name = {s.name: s for s in available(HARMFUL)}
    harm_rows = [r for n in harm_names for r in by_name[n].rows()]
    refusals = [r for n in ref_names for _, r, y in ref_rows[n] if y and len(r) < 700]
    # safe answers that are not refusals: our own labels say which (harm safe, refusal compliance)
    safe = [r["response"] for path in sorted((ROOT / "labels").glob("*.jsonl"))
            for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())
            if r.get("harm") == "safe" and r.get("refusal") == "compliance" and len(r["response"]) < 900
            and _source_set(path) in harm_names]
    return dual_persona_rows(harm_rows, refusals, safe)


def _source_set(path: Path) -> str:
    """The harmful set whose responses a labels/ file holds."""
    return {"gptfuzz": "gptfuzz", "jbb": "jailbreakbench", "smollm2": "smollm2-harm"}.get(path.stem, path.stem)


def refusal_model_without(excluded: set[str], rows: dict[str, list], bags: dict[str, Bags]) -> MILModel:
    keep = [s.name for s in available(REFUSAL) if s.name not in excluded]
    return train("refusal", [(bags[n], [y for *_, y in rows[n]]) for n in keep])


def held_out_decisions(task: str, progress: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each set of the task: (decisions of a model trained without it, true labels)."""
    ref_sets = available(REFUSAL)
    ref_rows = {s.name: s.rows() for s in ref_sets}
    ref_bags = {n: refusal_bags(r) for n, r in ref_rows.items()}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if task == "refusal":
        for s in ref_sets:
            keep = held_out(ref_sets, s.name)
            model = train("refusal", [(ref_bags[k.name], [y for *_, y in ref_rows[k.name]]) for k in keep])
            y = np.array([y for *_, y in ref_rows[s.name]])
            out[s.name] = (decisions(model, ref_bags[s.name]), y)
            if progress:
                print(f"refusal: held out {s.name} ({len(y)} rows)", file=sys.stderr)
        return out
    harm_sets = available(HARMFUL)
    harm_rows = {s.name: s.rows() for s in harm_sets}
    for s in harm_sets:
        # the refusal model that reads the blocks must not have seen these responses either
        excluded = {s.name, *s.shares_responses_with}
        ref = refusal_model_without(excluded, ref_rows, ref_bags)
        keep = held_out(harm_sets, s.name)
        parts = [(harmful_bags(harm_rows[k.name], ref), [y for *_, y in harm_rows[k.name]]) for k in keep]
        aug = augmentation([k.name for k in keep], [n for n in ref_rows if n not in excluded], ref_rows)
        parts.append((harmful_bags(aug, ref), [y for *_, y in aug]))
        model = train("harmful", parts)
        y = np.array([y for *_, y in harm_rows[s.name]])
        out[s.name] = (decisions(model, harmful_bags(harm_rows[s.name], ref)), y)
        if progress:
            print(f"harmful: held out {s.name} ({len(y)} rows)", file=sys.stderr)
    return out


def within_set_decisions(task: str, name: str, folds: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Grouped k-fold inside one set (folds by prompt, so no question is in train and test), training on every
    other set as well: what to expect on *new* responses of a family the model has seen (the cross-set
    figure is what to expect on a family it has not)."""
    sets = available(REFUSAL if task == "refusal" else HARMFUL)
    rows = {s.name: s.rows() for s in sets}
    prompts = sorted({p for p, _, _ in rows[name]})
    fold_of = {p: i % folds for i, p in enumerate(prompts)}
    target = rows[name]
    ref = None
    if task == "harmful":
        ref_rows = {s.name: s.rows() for s in available(REFUSAL)}
        ref_bags = {n: refusal_bags(r) for n, r in ref_rows.items()}
        held = next(s for s in sets if s.name == name)
        ref = refusal_model_without({name, *held.shares_responses_with}, ref_rows, ref_bags)
    bag = refusal_bags if task == "refusal" else (lambda r: harmful_bags(r, ref))
    others = [(bag(rows[n]), [y for *_, y in rows[n]]) for n in rows if n != name]
    if task == "harmful":
        aug = augmentation([n for n in rows], list(ref_rows), ref_rows)
        others.append((bag(aug), [y for *_, y in aug]))
    target_bags = bag(target)
    z = np.zeros(len(target))
    for f in range(folds):
        train_idx = [i for i, (p, _, _) in enumerate(target) if fold_of[p] != f]
        test_idx = [i for i, (p, _, _) in enumerate(target) if fold_of[p] == f]
        model = train(task, others + [([target_bags[i] for i in train_idx], [target[i][2] for i in train_idx])])
        z[test_idx] = decisions(model, [target_bags[i] for i in test_idx])
    return z, np.array([y for *_, y in target])


def final_model(task: str, calibration: tuple[float, float], oof: dict[str, Any]) -> MILModel:
    sets = available(REFUSAL if task == "refusal" else HARMFUL)
    rows = {s.name: s.rows() for s in sets}
    if task == "refusal":
        parts = [(refusal_bags(r), [y for *_, y in r]) for r in rows.values()]
    else:
        parts = [(harmful_bags(r, None), [y for *_, y in r]) for r in rows.values()]
        ref_rows = {s.name: s.rows() for s in available(REFUSAL)}
        aug = augmentation(list(rows), list(ref_rows), ref_rows)
        parts.append((harmful_bags(aug, None), [y for *_, y in aug]))
    model = train(task, parts)
    model.calibration = calibration
    model.meta = {
        "trained": dt.date.today().isoformat(),
        "by": "scripts/train_detectors.py",
        "hyperparameters": HYPER[task],
        "set_weighting": "each set weighs as much as any other (1000 / rows per row)",
        "augmentation": (f"{2 * AUGMENTED_PAIRS} dual-persona answers composed from the training sets' own responses"
                         if task == "harmful" else "none"),
        "sets": [{"name": s.name, "rows": len(rows[s.name]), "positives": sum(y for *_, y in rows[s.name]),
                  "labelled_by": s.labelled_by, "responses_from": s.responses_from} for s in sets],
        "calibration": "Platt scaling on held-out decisions (each set scored by a model trained without it)",
        "held_out_accuracy": {n: round(float(((z > 0) == y).mean()), 4) for n, (z, y) in oof.items()},
    }
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=("refusal", "harmful", "both"), default="both")
    args = parser.parse_args()
    tasks = ("refusal", "harmful") if args.task == "both" else (args.task,)
    for task in tasks:
        oof = held_out_decisions(task)
        z = np.concatenate([d for d, _ in oof.values()])
        y = np.concatenate([t for _, t in oof.values()])
        model = final_model(task, platt(z, y), oof)
        path = OUT / f"{task}.json"
        path.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"{task}: {len(model.weights)} weights -> {path.relative_to(ROOT)}; held-out accuracy "
              f"{model.meta['held_out_accuracy']}", file=sys.stderr)
        if task == "refusal":
            from opentrust.detectors.mil import load_model

            load_model.cache_clear()  # the harmful model reads blocks with the new refusal model


if __name__ == "__main__":
    main()
