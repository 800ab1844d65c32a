"""Train the hazard-category model (``opentrust.detectors.hazard``) shipped in the package.

    .venv/bin/python scripts/train_hazard_categories.py     # writes src/opentrust/data/detectors/hazard_categories.json

Data: the red-team catalogue's harmful requests (``redteam/probes/harmful_<category>.yaml``, 16 per category,
labelled by the file they are in), each alone and joined with SmolLM2's answer to it (``labels/smollm2.jsonl``,
rows ``smollm2-harm.<category>.NN``), our lexicon below, and JailbreakBench's behaviours (``../shared`` labels: the
goal and up to three judged-harmful attack prompt + answer pairs each; a JailbreakBench category that may be k of
ours gives each of them the rows with weight 1/k). ``benchmarks/guard_hazards.py`` measures what the
JailbreakBench rows add on behaviours kept out of training.

Prints the accuracy of 4-fold cross-validation grouped by request (a request and its answer fall on the same
side), then fits on everything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opentrust.detectors.hazard import HAZARDS, features  # noqa: E402
from opentrust.detectors.text import N_HASHED  # noqa: E402

OUT = ROOT / "src/opentrust/data/detectors/hazard_categories.json"
C = 10.0
#: the words of each hazard, written by us from AILuminate's definitions of the categories: always in training,
#: they give each category its everyday vocabulary beyond 16 requests
LEXICON = {
    "violent_crimes": "murder kill killing attack assault stab shoot shooting kidnap kidnapping torture strangle "
                      "ambush beat up hurt injure violence terrorist terrorism massacre hostage hitman poison "
                      "someone animal cruelty",
    "nonviolent_crimes": "steal theft fraud scam phishing hack hacking malware ransomware launder money laundering "
                         "counterfeit forge forgery shoplift tax evasion embezzle bribe smuggle drugs dealing "
                         "burglary break into car insurance fraud identity theft credit card skimming piracy",
    "sex_related_crimes": "rape sexual assault grope molest sex trafficking prostitution pimp coerce sex "
                          "non-consensual revenge porn upskirt voyeur drug her drink date rape sextortion",
    "child_sexual_exploitation": "child minor underage 12-year-old 14-year-old kid groom grooming pedophile "
                                 "sexual images of children teen nude minors exploitation",
    "indiscriminate_weapons": "bomb explosive explosives nerve agent sarin vx anthrax ricin smallpox bioweapon "
                              "biological weapon chemical weapon radiological dirty bomb nuclear uranium enrich "
                              "plutonium pathogen weaponize mass casualties toxin gas attack",
    "suicide_self_harm": "suicide kill myself end my life self-harm cut myself overdose pills starve anorexia "
                         "bulimia hang myself painless way to die self injury",
    "hate": "racist slur hate speech inferior race ethnic group religion muslims jews black people immigrants gay "
            "transgender women are dehumanize supremacy nazi discrimination insult mock group",
    "specialized_advice": "medical diagnosis dosage prescription legal advice lawsuit financial advice invest "
                          "stocks election voting ballot polling dose medication treatment cure without a doctor "
                          "lawyer tax",
    "privacy": "home address phone number personal data dox doxx track location stalk spy on private "
               "information social security number find where someone lives surveillance leak records",
    "intellectual_property": "copyright pirate torrent crack license key drm bypass copy book lyrics full text "
                             "paywall trademark counterfeit brand plagiarize patent download movies free",
    "defamation": "defamatory false claims rumor lie about reputation slander libel accuse falsely fake scandal "
                  "article claiming politician celebrity ceo affair fabricated",
    "sexual_content": "erotic explicit sex scene porn pornographic nude sexual story sexting adult content "
                      "orgasm graphic sexual fetish lewd",
}


def rows() -> list[tuple[str, str, str]]:
    """(text, category, group)"""
    answers: dict[str, str] = {}
    for line in (ROOT / "labels/smollm2.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["id"].startswith("smollm2-harm."):
            answers[r["id"][len("smollm2-"):]] = r["response"]
    out = [(words, name, f"lexicon:{name}") for name, words in LEXICON.items()]
    for name in HAZARDS:
        path = ROOT / f"src/opentrust/redteam/probes/harmful_{name}.yaml"
        for probe in yaml.safe_load(path.read_text(encoding="utf-8"))["probes"]:
            out.append((probe["prompt"], name, probe["id"]))
            if probe["id"] in answers:
                out.append((probe["prompt"] + "\n" + answers[probe["id"]], name, probe["id"]))
    return out


#: JailbreakBench category -> the AILuminate categories (ours) it may be; None: no counterpart (not used)
JBB_MAPPING: dict[str, set[str] | None] = {
    "Harassment/Discrimination": {"hate", "defamation"},
    "Malware/Hacking": {"nonviolent_crimes"},
    "Physical harm": {"violent_crimes", "indiscriminate_weapons", "suicide_self_harm"},
    "Economic harm": {"nonviolent_crimes", "specialized_advice"},
    "Fraud/Deception": {"nonviolent_crimes"},
    "Disinformation": {"defamation", "specialized_advice"},
    "Sexual/Adult content": {"sexual_content", "sex_related_crimes", "child_sexual_exploitation"},
    "Privacy": {"privacy"},
    "Expert advice": {"specialized_advice"},
    "Government decision-making": None,
}
SHARED_JBB = ROOT.parent / "shared/data/labels/harm_jailbreakbench_judge.jsonl"
PAIRS_PER_BEHAVIOUR = 3


def jbb_behaviours() -> dict[str, dict]:
    """JailbreakBench's behaviours with a counterpart among ours: behaviour -> goal, JBB category, our candidate
    categories, and up to three judged-harmful (attack prompt, answer) pairs, in file order."""
    import re

    out: dict[str, dict] = {}
    for line in SHARED_JBB.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        m = re.search(r"behavior=([^,]+),category=([^,]+),goal=['\"](.*)['\"]\)$", r["source"])
        behaviour, category, goal = m.groups()
        if not JBB_MAPPING.get(category):
            continue
        b = out.setdefault(behaviour, {"goal": goal, "category": category, "ours": sorted(JBB_MAPPING[category]),
                                       "pairs": []})
        if r["label"] == "harmful" and len(b["pairs"]) < PAIRS_PER_BEHAVIOUR:
            b["pairs"].append((r["prompt"], r["response"]))
    return out


def jbb_rows(behaviours: dict[str, dict]) -> list[tuple[str, str, str, float]]:
    """Training rows from JailbreakBench behaviours: the goal alone and each harmful pair; a JailbreakBench category
    that may be k of ours gives each of them the row with weight 1/k (its true one is among them)."""
    rows = []
    for name, b in behaviours.items():
        texts = [b["goal"]] + [p + "\n" + a for p, a in b["pairs"]]
        for c in b["ours"]:
            rows += [(t, c, f"jbb:{name}", 1.0 / len(b["ours"])) for t in texts]
    return rows


def matrix(texts: list[str]):
    from scipy.sparse import csr_matrix

    data, ind, ptr = [], [], [0]
    for t in texts:
        f = features(t)
        ind += list(f)
        data += list(f.values())
        ptr.append(len(ind))
    return csr_matrix((data, ind, ptr), shape=(len(texts), N_HASHED))


def fit(data: list[tuple], classes: list[str] | None = None) -> dict:
    """A model (the shipped file's shape, weights keyed by int) from (text, category, group[, weight]) rows."""
    from sklearn.linear_model import LogisticRegression

    classes = classes or list(HAZARDS)
    X = matrix([r[0] for r in data])
    y = np.array([classes.index(r[1]) for r in data])
    w = np.array([r[3] if len(r) > 3 else 1.0 for r in data])
    clf = LogisticRegression(C=C, max_iter=3000).fit(X, y, sample_weight=w)
    used = sorted(set(X.indices.tolist()))
    return {"classes": classes, "bias": [round(float(b), 4) for b in clf.intercept_],
            "weights": {i: [round(float(v), 4) for v in clf.coef_[:, i]] for i in used}}


def cv_accuracy(ours: list[tuple], extra: list[tuple]) -> tuple[float, int, float, int]:
    """Grouped 4-fold accuracy on our requests alone and on request + SmolLM2 answer; the lexicon and ``extra``
    rows are always on the training side."""
    from opentrust.detectors.hazard import classify

    groups = sorted({g for _, _, g in ours})
    rng = np.random.default_rng(15)
    fold_of = {g: int(f) for g, f in zip(groups, rng.permutation(len(groups)) % 4)}
    hits: dict[str, list[bool]] = {"alone": [], "pair": []}
    for k in range(4):
        train = [r for r in ours if fold_of[r[2]] != k or r[2].startswith("lexicon:")]
        model = fit(train + extra)
        for text, cat, g in ours:
            if fold_of[g] == k and not g.startswith("lexicon:"):
                hits["pair" if "\n" in text else "alone"].append(classify(text, model=model)[0][0] == cat)
    a, p = hits["alone"], hits["pair"]
    return float(np.mean(a)), len(a), float(np.mean(p)), len(p)


def main() -> int:
    ours = rows()
    extra = jbb_rows(jbb_behaviours())
    acc_a, n_a, acc_p, n_p = cv_accuracy(ours, extra)
    print(f"grouped 4-fold accuracy: requests alone {acc_a:.3f} (n={n_a}), request + SmolLM2 answer {acc_p:.3f} "
          f"(n={n_p}); JailbreakBench rows always in training: {len(extra)}")
    model = fit(ours + extra)
    OUT.write_text(json.dumps({**model, "weights": {str(k): v for k, v in model["weights"].items()}},
                              separators=(",", ":"), sort_keys=True))
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(model['weights']):,} features)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
