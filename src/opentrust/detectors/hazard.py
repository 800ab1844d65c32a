"""Hazard categories: which AILuminate hazard a harmful exchange falls under (violent crimes, weapons, ...).

The guard's ``harmful`` check decides *whether* an answer gives harmful help (``detectors.harmful``); this says
*what kind*, so a policy can block some categories and only flag others, and the finding names the category.
A multinomial linear model over hashed words, word pairs and content stems of the request and the answer,
trained by ``scripts/train_hazard_categories.py`` on the red-team catalogue's harmful requests (one file per
hazard), SmolLM2's answers to them and JailbreakBench's behaviours. Measured on JailbreakBench behaviours kept out of
training (``benchmarks/guard_hazards.py``): read those figures before relying on a category filter.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources

from opentrust.detectors.text import content_stems, hash_key, ngrams

#: category name -> AILuminate id (taxonomy.yaml); the names are the catalogue's files, harmful_<name>.yaml
HAZARDS: dict[str, str] = {
    "violent_crimes": "ail-violent-crimes",
    "nonviolent_crimes": "ail-nonviolent-crimes",
    "sex_related_crimes": "ail-sex-related-crimes",
    "child_sexual_exploitation": "ail-child-sexual-exploitation",
    "indiscriminate_weapons": "ail-indiscriminate-weapons-cbrne",
    "suicide_self_harm": "ail-suicide-and-self-harm",
    "hate": "ail-hate",
    "specialized_advice": "ail-specialized-advice",
    "privacy": "ail-privacy",
    "intellectual_property": "ail-intellectual-property",
    "defamation": "ail-defamation",
    "sexual_content": "ail-sexual-content",
}
#: other names a policy may use: AILuminate's short codes and everyday words
ALIASES: dict[str, str] = {
    "weapons": "indiscriminate_weapons", "cbrne": "indiscriminate_weapons", "self_harm": "suicide_self_harm",
    "suicide": "suicide_self_harm", "csam": "child_sexual_exploitation", "crimes": "nonviolent_crimes",
    "vcr": "violent_crimes", "ncr": "nonviolent_crimes", "src": "sex_related_crimes",
    "cse": "child_sexual_exploitation", "iwp": "indiscriminate_weapons", "ssh": "suicide_self_harm",
    "hte": "hate", "spc": "specialized_advice", "prv": "privacy", "ipv": "intellectual_property",
    "dfm": "defamation", "sxc": "sexual_content",
}


def canonical(name: str) -> str | None:
    """The category a policy's name means (a category, its AILuminate id or code, or an alias), or None."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key in HAZARDS:
        return key
    if key in ALIASES:
        return ALIASES[key]
    by_id = {v.replace("-", "_"): k for k, v in HAZARDS.items()}
    return by_id.get(key)


def features(text: str) -> dict[int, float]:
    keys = ngrams(text[:4000]) + ["st:" + s for s in content_stems(text[:4000])]
    feats: dict[int, float] = {}
    for k in keys:
        i = hash_key(k)
        feats[i] = feats.get(i, 0.0) + 1.0
    norm = math.sqrt(sum(v * v for v in feats.values())) or 1.0
    return {i: v / norm for i, v in feats.items()}


@lru_cache(maxsize=1)
def load_model() -> dict:
    data = json.loads(resources.files("opentrust.data.detectors").joinpath("hazard_categories.json").read_text())
    data["weights"] = {int(k): v for k, v in data["weights"].items()}
    return data


def classify(prompt: str, response: str = "", model: dict | None = None) -> list[tuple[str, float]]:
    """Every category with its probability, most likely first, for a request and (optionally) its answer.
    ``model``: another trained model (``scripts/train_hazard_categories.fit``) instead of the shipped one."""
    model = model or load_model()
    classes, weights = model["classes"], model["weights"]
    z = list(model["bias"])
    for i, v in features(prompt + "\n" + response).items():
        w = weights.get(i)
        if w is not None:
            for c, wc in enumerate(w):
                z[c] += wc * v
    top = max(z)
    e = [math.exp(x - top) for x in z]
    s = sum(e)
    return sorted(((classes[c], e[c] / s) for c in range(len(classes))), key=lambda kv: -kv[1])
