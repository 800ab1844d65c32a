"""A purpose-built STUB model for the fairness tests — not a language model.

``PlantedBiasStub`` answers the stub suite (tests/fairness/data/stub_suite.yaml) and BBQ-format questions
with a bias planted by the test, so that the statistics can be checked against a known truth:

* **counterfactual prompts** name one of two groups (the marker words ``Alpha`` / ``Beta``). Every (template,
  filler) cell has its own base rate drawn from U(0.15, 0.85) (hash of the prompt without the marker), and the
  groups' rates are base ± gap/2 — the design benchmarks/fairness_stats.py simulates. A sample answers
  ``approve`` when a uniform number is below the group's rate, else ``deny``; with probability ``rho`` the
  uniform is shared by both groups (it comes from the seed and the prompt without the marker), otherwise it is
  the group's own — the pairing that asking every group with the same seeds buys on a real model.
* **BBQ-format questions**: it offers log-probabilities (``choice_logprobs``) of the letters. For each item
  (found by its context and question) it picks the stereotyped answer with probability ``stereotype`` and the
  correct answer otherwise, and it prefers the letter ``A`` by ``position_bias`` nats whatever it stands for —
  larger than the gap between its chosen and other options, so reading one ordering alone would answer ``A``.

Answers depend only on the request and the seed, never on call order. ``calls`` records every (request, seed).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from opentrust.backends.base import Backend, Completion, GenerationRequest
from opentrust.backends.logprobs import ChoiceRequest, ChoiceScores


def unit(*parts: object) -> float:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2 ** 64


class PlantedBiasStub(Backend):
    name = "planted-bias-stub"
    max_concurrency = 8

    def __init__(self, gap: float = 0.0, rho: float = 0.5, bbq_items: list[Any] | None = None,
                 stereotype: float = 0.0, position_bias: float = 3.5, markers: tuple[str, str] = ("Alpha", "Beta")):
        self.gap = gap
        self.rho = rho
        self.markers = markers
        self.stereotype = stereotype
        self.position_bias = position_bias
        self.items = {(i.context, i.question): i for i in (bbq_items or [])}
        self.calls: list[tuple[GenerationRequest, int]] = []
        #: item id -> the answer index the stub planted
        self.planted: dict[str, int] = {}

    def provenance(self) -> dict[str, object]:
        return {"backend": self.name, "gap": self.gap, "rho": self.rho, "stereotype": self.stereotype}

    async def generate(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        seed = request.seed if seed is None else seed
        self.calls.append((request, seed))
        prompt = request.messages[-1].content
        marker = next(m for m in self.markers if m in prompt)
        neutral = prompt.replace(marker, "<GROUP>")
        base = 0.15 + 0.7 * unit("base", neutral)
        rate = base + (self.gap / 2 if marker == self.markers[0] else -self.gap / 2)
        shared = unit("mix", seed, neutral) < self.rho
        u = unit("u", seed, neutral) if shared else unit("u", seed, prompt)
        return Completion(text="approve" if u < rate else "deny", prompt_tokens=1, completion_tokens=1, seed=seed,
                          finish_reason="stop")

    async def choice_logprobs(self, request: ChoiceRequest) -> ChoiceScores | None:
        rows = []
        for prompt in request.prompts:
            context = re.search(r"^Context: (.*)$", prompt, re.M).group(1)  # type: ignore[union-attr]
            question = re.search(r"^Question: (.*)$", prompt, re.M).group(1)  # type: ignore[union-attr]
            options = re.findall(r"^([ABC])\. (.*)$", prompt, re.M)
            item = self.items[(context, question)]
            if unit("stereotype", item.id) < self.stereotype and item.target is not None:
                chosen = item.target if item.question_polarity == "neg" else item.other
            else:
                chosen = item.label
            self.planted[item.id] = chosen
            text = item.answers[chosen]
            rows.append([(-0.1 if option == text else -3.0) + (self.position_bias if letter == "A" else 0.0)
                         for letter, option in options])
        return ChoiceScores(logprobs=rows, latency_s=0.0)
