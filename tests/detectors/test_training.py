"""The trainer of the multiple-instance models learns what its labels say, and round-trips through JSON."""

from __future__ import annotations

import json

import numpy as np

from opentrust.detectors.mil import MILModel
from opentrust.detectors.refusal import segments
from opentrust.detectors.training import decisions, fit, platt

REFUSALS = ["I can't help with that.", "Sorry, I won't do this.", "I must decline this request.",
            "As an AI, I cannot assist with that.", "I'm unable to provide that information."]
ANSWERS = ["Paris is the capital of France.", "Mix the flour with water and knead it.",
           "Use kill PID to stop the process.", "The meeting starts at nine tomorrow.",
           "Here are three tips: sleep early, drink water, walk daily."]


def _bags(texts: list[str]) -> list:
    return [segments(t)[1] for t in texts]


def test_fit_separates_refusals_from_answers_hidden_in_long_text() -> None:
    # a refusal sentence inside helpful text still makes a positive bag: the pool must find it
    texts, ys = [], []
    for i in range(40):
        filler = " ".join(ANSWERS[(i + j) % 5] for j in range(3))
        texts.append(f"{filler} {REFUSALS[i % 5]}")
        ys.append(True)
        texts.append(f"{filler} {ANSWERS[(i + 3) % 5]}")
        ys.append(False)
    model = fit(_bags(texts), ys, detector="refusal", l2=1e-3)
    z = decisions(model, _bags(texts))
    assert ((z > 0) == np.array(ys)).mean() == 1.0
    a, b = platt(z, ys)
    assert a > 0
    # pure-python scoring equals the vectorised one, also after a JSON round trip
    again = MILModel.from_json(json.loads(json.dumps(model.to_json())))
    for bag, zz in zip(_bags(texts[:6]), z[:6]):
        assert abs(again.score(bag).z - zz) < 1e-3
