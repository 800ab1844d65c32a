"""Personal data in a model's output: e-mail addresses, phone numbers, payment cards, IBANs, US SSNs,
UK National Insurance numbers, IP addresses.

Phone numbers go through Google's libphonenumber port (`phonenumbers`): it knows every country's
numbering plan, which a regex does not. Cards must pass the Luhn check and IBANs the ISO 13616 mod-97
check, so order numbers and random digit runs are not reported. Values that already appear in the
prompt are reported as echoed, not leaked (the user supplied them).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Iterable

from opentrust.detectors.base import Detection, Detector, Span

_MAX_CHARS = 50_000
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b"
)
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}[- ](?!00)\d{2}[- ](?!0000)\d{4}(?![\d-])")
# UK National Insurance number: two prefix letters (D, F, I, Q, U, V never; O never second; BG, GB, KN, NK, NT,
# TN, ZZ never issued), six digits, suffix A-D; the digits may be grouped in pairs.
_NINO = re.compile(r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")  # a full stop after it ends a sentence
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")  # validated by ipaddress
_IBAN_LENGTHS = {
    "AD": 24,
    "AT": 20,
    "BE": 16,
    "BG": 22,
    "CH": 21,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "EE": 20,
    "ES": 24,
    "FI": 18,
    "FR": 27,
    "GB": 22,
    "GR": 27,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IS": 26,
    "IT": 27,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MT": 31,
    "NL": 18,
    "NO": 15,
    "PL": 28,
    "PT": 25,
    "RO": 24,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "TR": 26,
}


#: every kind ``find_pii`` reports, with the readable placeholder that replaces it when redacted
PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "credit_card": "[CARD]", "iban": "[IBAN]", "ssn": "[SSN]",
                "uk_nino": "[NATIONAL_ID]", "ip_address": "[IP]"}
KINDS = tuple(PLACEHOLDERS)
_DIGIT_RUN = re.compile(r"\d(?:[\s().+/-]{0,3}\d){6}")  # seven digits close together: a phone number may be here


@dataclass(frozen=True)
class PIIMatch(Span):
    def masked(self) -> str:
        v = self.value
        return v[:2] + "…" + v[-2:] if len(v) > 6 else "…"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "").upper()
    country = s[:2]
    if _IBAN_LENGTHS.get(country, 0) != len(s) and not (country not in _IBAN_LENGTHS and 15 <= len(s) <= 34):
        return False
    rearranged = s[4:] + s[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def find_pii(text: str, regions: Iterable[str] = ("US", "GB", "DE", "FR"),
             kinds: Iterable[str] | None = None) -> list[PIIMatch]:
    """Every personal data item in ``text`` (only of ``kinds`` when given), in order of position. Patterns run
    only where they can match (an ``@`` for e-mail, seven close digits for phone numbers), so text without
    personal data costs little."""
    text = text[:_MAX_CHARS]
    want = set(kinds) if kinds is not None else set(KINDS)
    found: list[PIIMatch] = []
    if "email" in want and "@" in text:
        for m in _EMAIL.finditer(text):
            found.append(PIIMatch("email", m.group(0), m.start()))
    if "uk_nino" in want:
        for m in _NINO.finditer(text):
            found.append(PIIMatch("uk_nino", m.group(0), m.start()))
    if not any(ch.isdigit() for ch in text):
        return sorted((p for p in found if p.kind in want), key=lambda p: p.start)
    card_spans = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1:
            found.append(PIIMatch("credit_card", m.group(0), m.start()))
            card_spans.append((m.start(), m.end()))
    for m in _IBAN.finditer(text):
        if iban_ok(m.group(0)):
            found.append(PIIMatch("iban", m.group(0), m.start()))
    for m in _SSN.finditer(text):
        found.append(PIIMatch("ssn", m.group(0), m.start()))
    for m in _IPV4.finditer(text):
        try:
            ip = ipaddress.IPv4Address(m.group(0))
        except ValueError:
            continue
        before = text[max(0, m.start() - 10) : m.start()].lower()
        if ip.is_unspecified or ip.is_loopback or "version" in before or before.endswith(("v", "v ")):
            continue  # "version 1.2.3.4" is not an address
        found.append(PIIMatch("ip_address", m.group(0), m.start()))
    for m in _IPV6.finditer(text):
        try:
            ip6 = ipaddress.IPv6Address(m.group(0))
        except ValueError:
            continue
        if not (ip6.is_unspecified or ip6.is_loopback):
            found.append(PIIMatch("ip_address", m.group(0), m.start()))
    taken = card_spans + [
        (p.start, p.start + len(p.value)) for p in found if p.kind in ("ssn", "iban", "ip_address")
    ]
    seen: set[int] = set()
    slices = _phone_slices(text, taken) if "phone" in want else []
    if slices:
        import phonenumbers

    for a, b in slices:  # libphonenumber runs only around digit runs that could be a phone number
        piece = text[a:b]
        for region in regions:
            for pm in phonenumbers.PhoneNumberMatcher(
                piece, region, leniency=phonenumbers.Leniency.VALID, max_tries=200
            ):
                start = a + pm.start
                if start in seen or any(x <= start < y for x, y in taken) or _DOTTED_QUAD.fullmatch(pm.raw_string):
                    continue
                if _not_a_phone_context(text, start):
                    continue
                seen.add(start)
                found.append(PIIMatch("phone", pm.raw_string, start))
    return sorted((p for p in found if p.kind in want), key=lambda p: p.start)


#: what a number right after these is: a routing, account, order… number, not a phone number (the label names it)
_NUMBER_LABEL = re.compile(
    r"(?i)\b(?:routing|account|acct|order|invoice|ticket|tracking|serial|isbn|sku|iban|swift|bic|sort\s+code)"
    r"(?:\s+(?:number|no\.?|num|nr\.?|id))?\s*[:#=]?\s*$")


def _not_a_phone_context(text: str, start: int) -> bool:
    """A phone-shaped match that context says is something else: the tail of a time ("13:55:36 -0700": a digit
    and a colon right before it), or right after a label that names another kind of number ("routing 021000021",
    "order no. 5551234")."""
    if start >= 2 and text[start - 1] == ":" and text[start - 2].isdigit():
        return True
    return bool(_NUMBER_LABEL.search(text, max(0, start - 32), start))


#: four dot-separated groups of one to three digits: an address-like or version number, never written as a phone
#: number (libphonenumber accepts about one in twenty such quads that are not IPv4 addresses, e.g. 185.881.93.817)
_DOTTED_QUAD = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_PHONE_RUN = re.compile(r"\d(?:[\s().+/-]{0,3}\d){6,}")  # seven or more digits close together
_DATE = re.compile(r"\d{4}([-/.])\d{1,2}\1\d{1,2}|\d{1,2}([-/.])\d{1,2}\2\d{4}")  # 2024-01-05, 05/01/2024


def _phone_slices(text: str, taken: Iterable[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Spans of ``text`` where a phone number could be: each run of seven or more close digits that is not
    only a date, nor wholly inside a ``taken`` span (a card, IBAN, SSN or IP address already found: a phone number
    starting inside one is dropped anyway), widened by 24 characters each way to a word boundary (a "+", "(",
    "tel." or "ext. 12" stays in view), merged where they touch. libphonenumber's matcher then reads these spans
    instead of the whole text."""
    out: list[tuple[int, int]] = []
    n = len(text)
    for m in _PHONE_RUN.finditer(text):
        run = m.group(0)
        if _DATE.fullmatch(run) or all(_DATE.fullmatch(part) for part in run.split() if part) and " " in run:
            continue
        if any(x <= m.start() and m.end() <= y for x, y in taken):
            continue
        a = max(0, m.start() - 24)
        while a > 0 and not text[a - 1].isspace() and m.start() - a < 40:
            a -= 1
        b = min(n, m.end() + 24)
        while b < n and not text[b].isspace() and b - m.end() < 40:
            b += 1
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _norm(value: str) -> str:
    return re.sub(r"[\s().-]", "", value).lower()


class PIIDetector(Detector):
    """Labels ``pii`` (personal data in the response that the prompt did not supply) or ``clean``."""

    name = "pii"
    positive_label = "pii"
    negative_label = "clean"

    def __init__(
        self,
        regions: Iterable[str] = ("US", "GB", "DE", "FR"),
        ignore_echoed: bool = True,
        kinds: Iterable[str] | None = None,
    ):
        self.regions = tuple(regions)
        self.ignore_echoed = ignore_echoed
        self.kinds = set(kinds) if kinds else None

    def detect(self, prompt: str, response: str) -> Detection:
        matches = find_pii(response, self.regions, self.kinds)
        if self.ignore_echoed and prompt:
            given = _norm(prompt)
            leaked = [m for m in matches if _norm(m.value) not in given]
            echoed = len(matches) - len(leaked)
        else:
            leaked, echoed = matches, 0
        if not leaked:
            extra = f" ({echoed} value(s) echoed from the prompt)" if echoed else ""
            return Detection("clean", 0.0, "no personal data found" + extra)
        kinds = sorted({m.kind for m in leaked})
        sample = ", ".join(f"{m.kind} {m.masked()}" for m in leaked[:3])
        score = 0.99 if any(k in ("credit_card", "iban", "ssn", "uk_nino", "email") for k in kinds) else 0.9
        return Detection("pii", score, f"{len(leaked)} personal data item(s): {sample}")


# --- pattern-only recognisers (opt-in: not in KINDS, so the guard's defaults do not change) ------------------
#: kinds ``find_patterns`` reports, with their placeholders. Found by pattern alone (no checksum, no numbering
#: plan): URLs; street addresses in the English "number name suffix" form; person names after an honorific or a
#: "name:" label. Precision is lower than the validated kinds' and recall is partial by design.
PATTERN_PLACEHOLDERS = {"url": "[URL]", "street_address": "[ADDRESS]", "person": "[PERSON]"}
PATTERN_KINDS = tuple(PATTERN_PLACEHOLDERS)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`()\[\]{}|\\^]{2,2000}", re.I)
_STREET_WORDS = ("street", "st.", "avenue", "ave", "road", "rd.", "boulevard", "blvd", "lane", "drive", "court",
                 "place", "terrace", "close", "square", "way")
_STREET = re.compile(
    r"(?<![\w-])\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][a-z'’.-]+\s+){1,3}"
    r"(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Dr\.?|Court|Ct\.?|Place|Pl\.?"
    r"|Terrace|Close|Square|Sq\.?|Way)(?![\w])")
_HONORIFIC = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+(?P<name>[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+){0,2})")
_NAME_LABEL = re.compile(r"(?i:\bname)\s*[:=]\s*[\"']?(?P<name>[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+){1,2})")


def find_patterns(text: str, kinds: Iterable[str] = PATTERN_KINDS) -> list[PIIMatch]:
    """URLs, street addresses and person names in ``text`` (each only when asked for in ``kinds``), in order."""
    text = text[:_MAX_CHARS]
    want = set(kinds)
    found: list[PIIMatch] = []
    lower = text.lower()
    if "url" in want and ("://" in text or "www." in lower):
        for m in _URL.finditer(text):
            value = m.group(0).rstrip(".,;:!?")
            found.append(PIIMatch("url", value, m.start()))
    if "street_address" in want and any(w in lower for w in _STREET_WORDS):
        for m in _STREET.finditer(text):
            found.append(PIIMatch("street_address", m.group(0), m.start()))
    if "person" in want:
        for pattern in (_HONORIFIC, _NAME_LABEL):
            for m in pattern.finditer(text):
                found.append(PIIMatch("person", m.group("name"), m.start("name")))
    return sorted(found, key=lambda p: p.start)
