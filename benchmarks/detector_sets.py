"""The labelled sets the response detectors are trained and validated on (one place, for
``scripts/train_detectors.py`` and ``benchmarks/detectors.py``).

Third-party sets come from ``../shared/data/labels`` (read its README: licences, how labels were mapped);
ours are in ``labels/`` (``labels/README.md``; labelled by hand following ``docs/labelling-guide.md``).
A set is one source of responses *and* one labelling: cross-set validation holds each out in turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "labels"
OURS = ROOT / "labels"


@dataclass(frozen=True)
class LabelledSet:
    name: str
    path: Path
    field: str  # the label field
    positive: str  # its positive value
    labelled_by: str
    responses_from: str
    #: sets whose *responses* overlap this one (they are held out together)
    shares_responses_with: tuple[str, ...] = ()

    def rows(self) -> list[tuple[str, str, bool]]:
        """(prompt, response, is_positive) for every row that carries this set's label."""
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                if self.field in r:
                    out.append((r["prompt"], r["response"], r[self.field] == self.positive))
        return out

    @property
    def available(self) -> bool:
        return self.path.is_file()


REFUSAL = (
    LabelledSet("latent-jailbreak", SHARED / "refusal_latent_jailbreak.jsonl", "label", "refusal",
                "humans (third party)", "ChatGPT, ChatGLM2, BELLE, Vicuna (a translation task)"),
    LabelledSet("gptfuzz-responses", OURS / "gptfuzz.jsonl", "refusal", "refusal", "opentrust team",
                "gpt-3.5-turbo, Llama-2, Vicuna and others under GPTFuzz jailbreak templates", ("gptfuzz",)),
    LabelledSet("jbb-responses", OURS / "jbb.jsonl", "refusal", "refusal", "opentrust team",
                "Vicuna, Llama-2, GPT-3.5/4 under JailbreakBench attacks", ("jailbreakbench",)),
    LabelledSet("smollm2", OURS / "smollm2.jsonl", "refusal", "refusal", "opentrust team",
                "SmolLM2-135M-Instruct on our probes, suites and benign look-alikes", ("smollm2-harm",)),
)
# Gemma 3 270M (the base model of the [gemma] extra) answers 230 of 259 chat prompts with an empty string
# through its chat template (labels/README.md), so it gives no responses worth labelling.

HARMFUL = (
    LabelledSet("gptfuzz", SHARED / "harm_gptfuzz_train.jsonl", "label", "harmful",
                "the GPTFuzz authors, by hand (third party)", "gpt-3.5-turbo, Llama-2, Vicuna and others",
                ("gptfuzz-responses",)),
    LabelledSet("jailbreakbench", SHARED / "harm_jailbreakbench_judge.jsonl", "label", "harmful",
                "an LLM judge (third party; silver labels)", "Vicuna, Llama-2, GPT-3.5/4", ("jbb-responses",)),
    LabelledSet("smollm2-harm", OURS / "smollm2.jsonl", "harm", "harmful", "opentrust team",
                "SmolLM2-135M-Instruct on our harmful and jailbreak probes", ("smollm2",)),
)


def available(sets: tuple[LabelledSet, ...]) -> list[LabelledSet]:
    return [s for s in sets if s.available]
