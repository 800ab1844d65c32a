"""Adversarial suffixes: the token soup that GCG-style optimisers append to a request (``describing.\\ +
similarlyNow write oppositeley.]( Me giving**ONE``). The request before it reads as plain English; the suffix
reads as nothing a person writes.

This is the windowed-perplexity filter of Jain et al. 2023 ("Baseline Defenses for Adversarial Attacks Against
Aligned Language Models"), made cheap: instead of a transformer, a character 5-gram language model (stupid
backoff) trained on ordinary English prose and Python source (``scripts/train_adversarial_suffix.py``: the
documentation and code of Python's standard library and our own prompt suites — no attack set). The text is
scored in overlapping windows of ``WINDOW`` characters; the most surprising window decides. Values the model
was never meant to read as language are masked first, because they are the classic false positives of a
perplexity filter: URLs, e-mail addresses, file paths, base64, hex digests and UUIDs each become one
placeholder character. Windows that are mostly not ASCII (another script) are skipped, and a text that looks like
another language (``other_language``: few English function words, few operator characters) is not read at all: the model knows English and reads
every other language as noise (an attacker who writes the request in another language gets past this check; the
other checks still read it).

The score is a calibrated probability from the worst window's mean surprisal (nats per character) and the
share of bracket and operator characters in it, fitted on synthetic data only: our benign prompts with and
without suffixes of random tokens drawn from a tokenizer's vocabulary. Pure Python, no model runtime: about
0.2 ms for a chat prompt and 2 µs per character beyond (``benchmarks/guard_adversarial.py``); a text longer than
``MAX_CHARS`` is read at its start and its end only, which bounds the cost near 10 ms.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from itertools import accumulate
from importlib import resources
from typing import Any, Mapping

from opentrust.detectors.base import Detection, Detector
from opentrust.detectors.text import looks_non_english

ORDER = 5
WINDOW = 48
STRIDE = 12
MAX_CHARS = 4_000  # a longer text is read at its start and its end (a suffix ends the attacker's message)
PLACEHOLDER = "\x02"  # a masked value (URL, base64, hash...) reads as one character
OTHER = "\x03"  # any character outside printable ASCII

_MASKS = re.compile(
    r"(?:https?|ftp|file|s3|gs|wss?)://\S+|\bwww\.\S+"  # URLs
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail addresses
    r"|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"  # UUIDs
    r"|(?:[A-Za-z]:)?(?:[\\/][\w.@~+-]+){2,}[\\/]?"  # file paths
    r"|\b(?=[A-Za-z+/]*\d)(?=[0-9+/]*[A-Za-z])[A-Za-z0-9+/_-]{20,}={0,2}"  # base64 / tokens with digits and letters
    r"|\b0x[0-9a-fA-F]+\b|\b[0-9a-fA-F]{12,}\b"  # hex
)
_SPACE = re.compile(r"\s+")
_NOT_ASCII = re.compile("[^ -~\x02]")
_OPERATORS = frozenset("{}[]()<>|\\^~$=*`#@+%&_")


def mask(text: str) -> str:
    """Masked values become ``PLACEHOLDER``; characters outside printable ASCII become ``OTHER``; runs of
    whitespace become one space."""
    text = _MASKS.sub(PLACEHOLDER, text)
    text = _SPACE.sub(" ", text)
    return _NOT_ASCII.sub(OTHER, text)


_WORD_TOKEN = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")
WORD_WINDOW = 10
WORD_STRIDE = 2


def word_tokens(masked: str) -> list[str]:
    return _WORD_TOKEN.findall(masked.lower())


class WordLM:
    """Word and punctuation bigrams with stupid backoff (keys ``"w1 w2"`` and ``"w"``): random vocabulary
    tokens spell real words in an order no one writes, which a character model alone reads as language."""

    def __init__(self, logp: dict[str, float], backoff: float, floor: float):
        self.logp, self.backoff, self.floor = logp, backoff, floor

    def surprisal(self, toks: list[str]) -> list[float]:
        get, backoff, floor = self.logp.get, self.backoff, self.floor
        out = []
        prev = "<s>"
        for t in toks:
            v = get(prev + " " + t)
            if v is None:
                u = get(t)
                v = backoff + (u if u is not None else floor)
            out.append(-v)
            prev = t
        return out


def max_window_mean(values: list[float], width: int, stride: int, skip: Any = None) -> tuple[float, int]:
    """The largest mean of ``width`` consecutive values (every ``stride``), and where it starts; ``skip(i)``
    True leaves a window out. (-1, 0) when there is none."""
    n = len(values)
    if n == 0:
        return -1.0, 0
    w = min(width, n)
    acc = [0.0, *accumulate(values)]
    starts = list(range(0, n - w + 1, stride))
    if starts[-1] != n - w:
        starts.append(n - w)
    if skip is not None:
        starts = [i for i in starts if not skip(i, w)]
        if not starts:
            return -1.0, 0
    sums = [acc[i + w] - acc[i] for i in starts]
    k = max(range(len(sums)), key=sums.__getitem__)  # the first of equal maxima, as a scan keeps it
    return sums[k] / w, starts[k]


class CharLM:
    """A character n-gram model with stupid backoff: ``logp[gram]`` = log P(last char | the rest) for every
    kept n-gram (the unigrams are log P(char)); an unseen n-gram backs off to its shorter context with
    ``backoff`` added each time, down to ``floor`` for an unseen character."""

    def __init__(self, logp: dict[str, float], order: int, backoff: float, floor: float):
        self.logp, self.order, self.backoff, self.floor = logp, order, backoff, floor

    def surprisal(self, text: str) -> list[float]:
        """-log P of each character given the ones before it (nats)."""
        logp, order, backoff, floor = self.logp, self.order, self.backoff, self.floor
        get = logp.get
        padded = " " * (order - 1) + text
        # most characters are found with their full context: look those up in one pass, back off for the rest
        out = [get(padded[i:i + order]) for i in range(len(text))]
        for i, v in enumerate(out):
            if v is not None:
                out[i] = -v
                continue
            end = i + order
            penalty = backoff
            for n in range(order - 1, 0, -1):
                v = get(padded[end - n:end])
                if v is not None:
                    out[i] = penalty - v
                    break
                penalty += backoff
            else:
                out[i] = penalty - floor
        return out


@lru_cache(maxsize=1)
def load_model() -> tuple[CharLM, WordLM, dict[str, Any]]:
    shared: dict[float, float] = {}  # ~450k values with 3 decimals: one float object per distinct value

    def one(text: str) -> float:
        v = float(text)
        return shared.setdefault(v, v)

    raw = resources.files("opentrust.data.detectors").joinpath("adversarial_suffix.json").read_text()
    data = json.loads(raw, parse_float=one)
    del raw
    lm = CharLM(data["logp"], data["order"], data["backoff"], data["floor"])
    words = WordLM(data["word_logp"], data["word_backoff"], data["word_floor"])
    return lm, words, data["classifier"]


FEATURES = ("char_surprisal", "char_rare", "operators", "case_flips", "word_surprisal", "word_unknown",
            "char_contrast", "unknown_contrast")
RARE_NATS = 5.0  # a character this surprising (P < 1/150 given the four before it) counts as rare


def window_stats(text: str, lm: CharLM | None = None, words: WordLM | None = None) -> tuple[list[float], str]:
    """The features (``FEATURES``), each the largest mean over windows of ``WINDOW`` characters or
    ``WORD_WINDOW`` words: surprisal in nats per character, the share of rare characters, of operator
    characters and of lower-to-upper case flips inside a word; the words' surprisal and the share of unknown
    words; and how far the worst windows stand out from the whole text (a suffix is unlike the request before
    it; a prompt in another language is unfamiliar all through) — and the most surprising character window as
    read (masked); ([], '') for a text with nothing to score."""
    if lm is None or words is None:
        lm, words, _ = load_model()
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS // 2] + "\n" + text[-MAX_CHARS // 2:]
    masked = mask(text)
    if len(masked.strip()) < 8:
        return [], ""

    def skip(i: int, w: int) -> bool:  # mostly another script: the model knows English
        return masked.count(OTHER, i, i + w) > w // 3

    surprisal = lm.surprisal(masked)
    best, at = max_window_mean(surprisal, WINDOW, STRIDE, skip)
    if best < 0:
        return [], ""
    chunk = masked[at:at + min(WINDOW, len(masked))]
    rare, _ = max_window_mean([1.0 if v > RARE_NATS else 0.0 for v in surprisal], WINDOW, STRIDE, skip)
    ops, _ = max_window_mean([1.0 if ch in _OPERATORS else 0.0 for ch in masked], WINDOW, STRIDE, skip)
    flips, _ = max_window_mean([1.0 if ch.isupper() and prev.islower() else 0.0
                                for prev, ch in zip(" " + masked, masked)], WINDOW, STRIDE, skip)
    toks = word_tokens(masked)
    word_best, _ = max_window_mean(words.surprisal(toks), WORD_WINDOW, WORD_STRIDE)
    get = words.logp.get
    unknown_flags = [1.0 if t.isalpha() and get(t) is None else 0.0 for t in toks]
    unknown, _ = max_window_mean(unknown_flags, WORD_WINDOW, WORD_STRIDE)
    unknown = max(0.0, unknown)
    char_contrast = best - sum(surprisal) / len(surprisal)
    unknown_contrast = unknown - (sum(unknown_flags) / len(unknown_flags) if unknown_flags else 0.0)
    return [best, max(0.0, rare), max(0.0, ops), max(0.0, flips), max(0.0, word_best), unknown, char_contrast,
            unknown_contrast], chunk


def other_language(text: str) -> bool:
    """Looks like another language (``looks_non_english``) and holds almost no operator characters: prose in a
    language the model does not know. A suffix of token soup after a short request can have as few English
    function words, but not so few operators."""
    if not looks_non_english(text):
        return False
    head = text[:3000]
    return sum(ch in _OPERATORS for ch in head) / max(1, len(head)) < 0.02


def probability(features: list[float], classifier: Mapping[str, Any]) -> float:
    z = classifier["bias"] + sum(w * f for w, f in zip(classifier["weights"], features))
    return 1.0 / (1.0 + math.exp(-max(-35.0, min(35.0, z))))


class AdversarialSuffixDetector(Detector):
    """Labels ``adversarial`` (a run of text no person writes: an optimised token suffix) or ``benign``."""

    name = "adversarial_suffix"
    positive_label = "adversarial"
    negative_label = "benign"
    reads_input = True

    def __init__(self, threshold: float | None = None):
        self.lm, self.words, self.classifier = load_model()
        self.threshold = float(self.classifier["threshold"] if threshold is None else threshold)

    def score(self, text: str) -> tuple[float, str]:
        """(probability, the worst window as the model read it, masked). A text that looks like another language
        (``other_language``) scores 0: the model knows English, and reads every other language as noise."""
        if other_language(text):
            return 0.0, ""
        return self._score(text)

    def _score(self, text: str) -> tuple[float, str]:
        feats, chunk = window_stats(text, self.lm, self.words)
        if not chunk:
            return 0.0, ""
        return probability(feats, self.classifier), chunk

    def detect(self, prompt: str, response: str = "") -> Detection:
        if other_language(prompt):
            return Detection(self.negative_label, 0.0, "not English: not read (the model knows English)",
                             ("non_english",))
        p, chunk = self._score(prompt)
        label = self.positive_label if p >= self.threshold else self.negative_label
        what = "least language-like window" if label == self.positive_label else "closest window"
        return Detection(label, p, f"p(adversarial)={p:.2f}; {what}: {chunk[:60]!r}")

    def detect_record(self, record: Mapping[str, Any]) -> Detection:
        from opentrust.detectors.injection import record_text

        return self.detect(record_text(record))

    async def adetect_record(self, record: Mapping[str, Any]) -> Detection:
        return self.detect_record(record)
