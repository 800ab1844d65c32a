"""Input detectors for the guard: prompt injection and jailbreak attempts in what goes *into* a model.

- ``prompt_injection`` — text that tries to take over the model's instructions: "ignore the previous
  instructions", fake system or role markup, orders addressed to "the AI" inside a document, an e-mail, a web
  page or a tool's output, requests to reveal the system prompt or send data somewhere.
- ``jailbreak`` — framing that tries to switch the model's safety off: personas without rules (DAN, EvilBot),
  refusal suppression, forced compliant openings, hypothetical or fictional wrappers, false authority, and
  adversarial suffixes (the punctuation soup of GCG-style attacks).

Both are the multiple-instance linear model of ``detectors.mil`` over the input's sentences — one injected
sentence in a long, harmless document is what decides, as one refusing sentence decides for the refusal
detector — with the hashed n-grams of ``detectors.text`` and the cues below (a cue is a pattern of the
attack's *language*, which carries to wording the model never saw better than n-grams do). Inputs are
NFKC-normalised and stripped of zero-width characters first, so spacing tricks do not hide a cue.

Trained by ``scripts/train_guard_detectors.py`` on sets we assembled and wrote (``labels/guard/``); measured
on a held-out set written after the models were frozen and on third-party attack prompts
(``benchmarks/guard_detectors.py``). Pure Python: a few hundred dictionary lookups and regex searches per
sentence, well under a millisecond for a chat prompt.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Mapping

from opentrust.detectors.base import Detection, Detector
from opentrust.detectors.text import EXTRA, N_HASHED, add_cues, hashed, ngrams, sentences, tokens

#: how much of an input is read, and in how many sentences (a guard reads all of a retrieved document)
MAX_CHARS = 100_000
MAX_SENTENCES = 1000
WINDOW = 300  # a run-on "sentence" longer than this is read in overlapping windows
NGRAM_SCALE = 0.7


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_AI = r"(?:ai|a\.i\.|assistant|language model|llm|chat ?bot|gpt|model|bot|agent|copilot)s?"
INPUT_CUES: dict[str, re.Pattern[str]] = {
    "override": _re(
        r"\b(?:ignore|disregard|forget|skip|override|bypass|drop|abandon|cancel)\b.{0,30}?\b(?:previous|prior|above|"
        r"earlier|preceding|original|initial|system|all|any|your|the|these|those|other)\b.{0,25}?\b(?:instructions?|"
        r"prompts?|rules?|directions?|guidelines?|directives?|context|task|request|programming|constraints?|orders?)\b"
        r"|\b(?:instructions?|rules?|prompt)s? (?:above|before) (?:are|is|were|was) (?:void|cancel+ed|obsolete|a test|"
        r"fake|no longer)"),
    "new_instruction": _re(
        r"\b(?:new|real|actual|updated|true|only|secret|hidden|additional) (?:instructions?|task|rules?|objective|"
        r"goal|directive|mission|orders?)\b|\bfrom now on\b|\binstead,? (?:you|write|output|reply|respond|say|print|"
        r"answer|tell)\b|\byour (?:new|real|only|actual|true) (?:task|job|instruction|goal|purpose|role)\b"),
    "to_ai": _re(
        r"\b(?:note|message|instructions?|reminder|memo|attention|p\.?s\.?|command|request)\s+(?:to|for)\s+(?:the\s+|any\s+"
        r"|all\s+)?(?:reading\s+)?" + _AI + r"\b|\b(?:dear|hey|attention|hello|hi)\s+" + _AI + r"\b|\bif you are an? "
        r"(?:ai|language model|llm|assistant|bot)\b|\b(?:any|every|all) " + _AI + r"\b(?: reading| that reads| "
        r"processing| summari[sz]ing)?|\b" + _AI + r"(?: reading this| reviewers?| readers?| summari[sz]ers?)\b|^\W*(?:"
        + _AI + r")\s*[:,]"),
    "role_markup": _re(
        r"<\|?/?(?:system|im_start|im_end|assistant|user|endoftext|sys)\|?>|\[/?(?:inst|sys|system)\]|<</?sys>>|"
        r"(?:^|\n|\s)#{2,}\s*(?:system|instruction|new instruction|admin)\b|\b(?:begin|end|start)\s+(?:of\s+)?"
        r"(?:system|user|admin|developer)(?:\s+(?:prompt|message|input|mode))?\b|</(?:text|document|data|context|"
        r"input|user|email|content)>|^\W*(?:system|admin|developer|root)\s*(?:override|message|note|prompt)?\s*:"),
    "output_order": _re(
        r"\b(?:output|print|reply|respond|answer|say|write|return|type|display|repeat)\b(?: only| just| exactly| "
        r"back)?(?: with)? (?:the (?:word|string|phrase|code|text|token)|exactly|verbatim|only)\b|\band nothing else\b"
        r"|\b(?:must|should|shall|will) (?:only )?(?:output|reply|respond|answer|say|print|consist|be) (?:only |with |"
        r"exactly )?(?:the|with|of)?\b.{0,40}\b(?:regardless|no matter|only)\b|\bregardless of (?:the|any|what)"),
    "exfiltrate": _re(
        r"\b(?:reveal|print|repeat|show|leak|output|disclose|dump|share|tell me|give me|recite|spell)\b.{0,30}?"
        r"\b(?:system prompt|initial prompt|hidden prompt|instructions|configuration|config|secret|password|api ?key|"
        r"credentials?|everything above|conversation history|context window|developer message|prompt above)\b"
        r"|\b(?:send|forward|post|upload|transmit|e-?mail|exfiltrate)\b.{0,40}?\b(?:to|at)\s+(?:https?://|www\.|"
        r"\S+@\S+\.\w+)|!\[[^\]]*\]\(https?://[^)]*(?:\?|=)|\b(?:forward|send)\b.{0,30}\b(?:password|inbox|"
        r"credentials|contacts|files|tokens?)\b"),
    "tool_hijack": _re(
        r"\b(?:call|invoke|run|execute|use)\b.{0,20}\b(?:tool|function|api|command|plugin)\b.{0,40}\b(?:delete|"
        r"transfer|send|wire|rm -rf|drop table|purchase|pay)\b|\b(?:delete|wipe|erase) (?:all|every)\b.{0,30}"
        r"\b(?:files|emails|records|data|users)\b|\btransfer \$?\d"),
    "persona": _re(
        r"\b(?:you are|you're|act as|pretend(?: to be| you are| that you are)?|role-?play as|play the role of|"
        r"become|you will be|simulate|imagine you are)\b.{0,40}\b(?:dan|evil|unfiltered|uncensored|amoral|"
        r"unrestricted|jailbroken|no (?:rules|limits|restrictions|filters|guidelines|morals|ethics)|without "
        r"(?:rules|limits|restrictions|filters|morals|ethics)|villain|criminal|hacker|aim|stan|dude|developer mode|"
        r"godmode|god mode|anti-?gpt|betterdan|opposite)\b|\bstay in character\b|\bdeveloper mode\b|\bdo anything now\b"
        r"|\bjailbr(?:eak|oken)\b|\b(?:dan|aim|stan|dude)\b\s*[:,]"),
    "no_rules": _re(
        r"\b(?:no|without|free (?:of|from)|beyond|ignore|ignores|ignoring|doesn't have|does not have|never follows?)"
        r"\s+(?:any\s+)?(?:ethical|moral|safety|content)?\s*(?:rules|limits|limitations|restrictions|filters|"
        r"guidelines|policies|morals|ethics|censorship|boundaries|constraints)\b|\bunfiltered\b|\buncensored\b|"
        r"\bamoral\b|\bnever (?:refuses|says no|declines)\b"),
    "refusal_suppression": _re(
        r"\b(?:never|don't|do not|without|no|not allowed to|must not|cannot|can't|won't)\s+(?:ever\s+)?(?:refuse|"
        r"refusing|refusals?|apologi[sz]e|apologi[sz]ing|apologies|disclaimers?|warnings?|warn|moraliz|moralis|"
        r"lectur|caveats?|say (?:you )?(?:can't|cannot|are unable)|decline|saying no|mention (?:ethics|legality|"
        r"safety))|\b(?:the words?|using) ['\"](?:sorry|cannot|unable|however|can't)['\"]"),
    "forced_opening": _re(
        r"\b(?:begin|start|open|prefix|preface)\s+(?:your|the|each|every)?\s*(?:reply|response|answer|output|"
        r"message)s?\s+with\b|\b(?:reply|respond|answer)\s+(?:starting|beginning)\s+with\b|\bmust (?:start|begin) "
        r"with\b|\bfirst (?:words?|line) (?:of your (?:reply|response|answer) )?(?:must|should) be\b"),
    "hypothetical": _re(
        r"\bhypothetic(?:al|ally)\b|\bpurely (?:theoretical|fictional|academic|hypothetical)|\btheoretically\b|"
        r"\bthought experiment\b|\bin a (?:fictional|hypothetical|parallel|alternate) (?:world|universe|story|"
        r"setting)\b|\bimagine (?:there (?:were|are) no|a world where|you (?:had|have) no)\b|\bno consequences\b|"
        r"\bfor (?:a|my) (?:novel|story|screenplay|movie|book|game|fiction)\b.{0,60}\b(?:realistic|accurate|detailed|"
        r"exact|step|technical)|\bin character\b"),
    "authority": _re(
        r"\b(?:i am|i'm|this is|we are|as)\s+(?:a |an |the |your )?(?:\w+ ){0,2}(?:admin|administrator|developer|"
        r"creator|owner|openai|anthropic|safety team|red team|police|officer|doctor|researcher|law enforcement|"
        r"government|sysadmin|operator|ceo)\b.{0,60}\b(?:authori[sz]ed|permitted|allowed|clearance|override|"
        r"exempt|emergency|don't apply|do not apply|need this|requires? you)\b|\b(?:authori[sz]ed|permitted|"
        r"allowed|cleared) to (?:comply|receive|answer|bypass|ignore|disclose)\b|\b(?:rules|guidelines|policies|"
        r"restrictions) (?:don't|do not|no longer) apply\b|\bsafety (?:is|has been|are) (?:disabled|off|turned off|"
        r"lifted)\b|\bauthori[sz]ed (?:red[- ]team|test|penetration|security test)\b"),
    "dual_answer": _re(
        r"\b(?:two|2|both|dual) (?:responses|answers|replies|outputs|ways)\b|\b(?:normal|classic) (?:response|"
        r"output)\b.{0,80}\b(?:jailbr|unfiltered|dan|developer mode)|\[🔓|🔒"),
    "encoded": _re(
        r"\b(?:decode|decipher|translate from|reverse|unscramble|rot13|base64|hex)\b.{0,40}\b(?:then|and)\s+"
        r"(?:follow|execute|do|obey|carry out|perform|answer)\b|\b(?:follow|execute|obey) (?:the )?(?:decoded|hidden|"
        r"encoded)\b"),
    "hidden_text": _re(
        r"\b(?:hidden|invisible|white|zero-width|tiny|small print|alt) (?:text|font|instructions?|comment|note)\b|"
        r"<!--|\bdisplay:\s*none\b|\bfont-size:\s*0"),
}
INPUT_CUE_NAMES = tuple(INPUT_CUES)
assert len(INPUT_CUES) <= 24  # dense slots N_HASHED + EXTRA + i, below the symbol features

#: segment features past the cues: GCG-style adversarial suffixes read as punctuation and mixed-case soup
SYMBOL_SLOT = EXTRA + 26
MIXED_SLOT = EXTRA + 27
_SYMBOLS = frozenset("{}[]()<>|\\^~$=*`")
_MIXED = re.compile(r"[a-z]{2,}[A-Z][a-z]+[A-Z]?|[A-Za-z]+[({\[|]{1,2}[A-Za-z]|\.\]\(|\){2,}")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff\u00ad"))


def clean(text: str) -> str:
    """NFKC (full-width and styled letters to plain ones), no zero-width or soft-hyphen characters."""
    return unicodedata.normalize("NFKC", text[:MAX_CHARS]).translate(_ZERO_WIDTH)


def segment_texts(text: str) -> list[str]:
    out: list[str] = []
    for s in sentences(clean(text), limit=MAX_SENTENCES, max_chars=0):
        if len(s) <= WINDOW:
            out.append(s)
        else:
            out.extend(s[i:i + WINDOW] for i in range(0, len(s) - WINDOW // 3, 2 * WINDOW // 3))
    return out or [""]


def segment_features(segment: str) -> dict[int, float]:
    toks = tokens(segment)
    feats = hashed(ngrams(segment, toks), NGRAM_SCALE)
    add_cues(feats, [1.0 if p.search(segment) else 0.0 for p in INPUT_CUES.values()], EXTRA)
    if segment:
        symbols = sum(ch in _SYMBOLS for ch in segment) / len(segment)
        if symbols > 0.02:
            feats[N_HASHED + SYMBOL_SLOT] = min(symbols * 10, 1.5)
        mixed = len(_MIXED.findall(segment))
        if mixed:
            feats[N_HASHED + MIXED_SLOT] = min(mixed / 2, 1.5)
    return feats


def segments(text: str) -> tuple[list[str], list[dict[int, float]]]:
    texts = segment_texts(text)
    return texts, [segment_features(s) for s in texts]


def record_text(record: Mapping[str, Any]) -> str:
    """What an input detector reads from a JSONL record: ``prompt``, or the contents of ``messages`` (every
    role: a tool message or a pasted document is where indirect injections hide)."""
    messages = record.get("messages")
    if isinstance(messages, list):
        parts = []
        for m in messages:
            content = m.get("content") if isinstance(m, dict) else None
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):  # OpenAI content parts
                parts += [p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "\n".join(parts)
    return str(record.get("prompt", ""))


class InputDetector(Detector):
    """A detector of attacks in a model's *input*: ``detect(prompt, response)`` judges ``prompt`` (the
    response is ignored); ``detect_record`` reads ``prompt`` or ``messages``."""

    model_name = ""
    positive_label = ""
    negative_label = "benign"
    reads_input = True
    what = ""

    def __init__(self, threshold: float | None = None):
        from opentrust.detectors.mil import load_model

        self.model = load_model(self.model_name)
        self.threshold = self.model.threshold if threshold is None else threshold

    def score(self, text: str) -> tuple[float, str]:
        """(calibrated probability, the deciding sentence)."""
        texts, feats = segments(text)
        scored = self.model.score(feats)
        return scored.probability, texts[scored.top]

    def detect(self, prompt: str, response: str = "") -> Detection:
        p, top = self.score(prompt)
        label = self.positive_label if p >= self.threshold else self.negative_label
        what = f"most {self.what} sentence" if label == self.positive_label else f"closest to {self.what}"
        return Detection(label, p, f"p({self.positive_label})={p:.2f}; {what}: {top[:100]!r}")

    def detect_record(self, record: Mapping[str, Any]) -> Detection:
        return self.detect(record_text(record))

    async def adetect_record(self, record: Mapping[str, Any]) -> Detection:
        return self.detect_record(record)


class PromptInjectionDetector(InputDetector):
    name = "prompt_injection"
    model_name = "prompt_injection"
    positive_label = "injection"
    what = "injection-like"


class JailbreakDetector(InputDetector):
    name = "jailbreak"
    model_name = "jailbreak"
    positive_label = "jailbreak"
    what = "jailbreak-like"
