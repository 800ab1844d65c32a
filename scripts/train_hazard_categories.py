"""Train the hazard-category model (``opentrust.detectors.hazard``) shipped in the package.

    .venv/bin/python scripts/train_hazard_categories.py     # writes src/opentrust/data/detectors/hazard_categories.json

Data, all ours: the red-team catalogue's harmful requests (``redteam/probes/harmful_<category>.yaml``, 16 per
category, labelled by the file they are in), each alone and joined with SmolLM2's answer to it
(``labels/smollm2.jsonl``, rows ``smollm2-harm.<category>.NN``). No third-party set: ``../shared`` holds no
category labels besides JailbreakBench's, which is kept for measuring (``benchmarks/guard_hazards.py``).

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


def matrix(texts: list[str]):
    from scipy.sparse import csr_matrix

    data, ind, ptr = [], [], [0]
    for t in texts:
        f = features(t)
        ind += list(f)
        data += list(f.values())
        ptr.append(len(ind))
    return csr_matrix((data, ind, ptr), shape=(len(texts), N_HASHED))


def main() -> int:
    from sklearn.linear_model import LogisticRegression

    data = rows()
    classes = list(HAZARDS)
    X = matrix([t for t, _, _ in data])
    y = np.array([classes.index(c) for _, c, _ in data])
    groups = sorted({g for _, _, g in data})
    rng = np.random.default_rng(15)
    fold_of = {g: int(f) for g, f in zip(groups, rng.permutation(len(groups)) % 4)}
    fold = np.array([fold_of[g] for _, _, g in data])
    alone = np.array(["\n" not in t and not g.startswith("lexicon:") for t, _, g in data])
    pair = np.array(["\n" in t for t, _, _ in data])
    correct = np.zeros(len(data), dtype=bool)
    for k in range(4):
        train = (fold != k) | np.array([g.startswith("lexicon:") for _, _, g in data])
        clf = LogisticRegression(C=C, max_iter=2000).fit(X[train], y[train])
        correct[fold == k] = clf.predict(X[fold == k]) == y[fold == k]
    print(f"grouped 4-fold accuracy: requests alone {correct[alone].mean():.3f} (n={alone.sum()}), "
          f"request + SmolLM2 answer {correct[pair].mean():.3f} (n={pair.sum()})")
    clf = LogisticRegression(C=C, max_iter=2000).fit(X, y)
    used = sorted(set(X.indices.tolist()))
    weights = {str(i): [round(float(w), 4) for w in clf.coef_[:, i]] for i in used}
    OUT.write_text(json.dumps({"classes": classes, "bias": [round(float(b), 4) for b in clf.intercept_],
                               "weights": weights}, separators=(",", ":"), sort_keys=True))
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(used):,} features)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
