"""Personal data and secrets in dataset text, through the shared detectors (``opentrust.detectors.pii`` and
``opentrust.detectors.secrets``: one recogniser for the guard gateway and the data scan, not two).

Speed comes from batching and windows, not from weaker checks. Field texts are packed into chunks (fields are
separated by a NUL line no pattern can cross), and one cheap candidate pattern — an ``@``, seven digits close
together, a dotted quad, an IPv6 colon group, two capitals and digits (IBAN, UK NINO) — marks where personal
data could be. Only a window around each candidate, widened to a quiet edge so no number is cut in two, goes
through ``find_pii`` (phone numbers by ``phonenumbers``, Luhn, mod-97…): text with nothing that looks like
personal data costs one regex pass. Secrets run on the whole chunk with the detectors' own keyword prefilters.

URLs, street addresses and person names (after an honorific or a "name:" label) come from the detectors'
pattern-only recognisers (``find_patterns``), run on windows around their own literal cues ("://", "www.", an
honorific, "name", a digit before a capitalised word); they are not validated and their precision and recall
are not measured yet.

Offsets: ``start``/``end`` are character offsets within the field's text.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any, Iterable

from opentrust.detectors.pii import KINDS, PATTERN_PLACEHOLDERS, PLACEHOLDERS, find_patterns, find_pii
from opentrust.detectors.secrets import find_secrets, keyword_set

#: the entity name in data-scan output of each ``find_pii`` kind
ENTITIES = {"email": "EMAIL", "phone": "PHONE", "credit_card": "CREDIT_CARD", "iban": "IBAN", "ssn": "US_SSN",
            "uk_nino": "UK_NINO", "ip_address": "IP_ADDRESS", "url": "URL", "person": "PERSON",
            "location": "LOCATION", "street_address": "STREET_ADDRESS"}
SENSITIVE = {"CREDIT_CARD", "IBAN", "US_SSN", "UK_NINO"}  # high severity: financial and national ids

SEP = "\n\x00\n"  # between packed fields: no personal-data or secret pattern matches across it
CHUNK_CHARS = 45_000  # below find_pii's and find_secrets' own caps
PII_CHUNK = 49_000
# Where personal data could be, found with C-speed scans of a one-byte-per-character mask of the text (ASCII
# digits -> "0", capitals -> "A", lower-case letters -> "a", "@", ":", " ", ".", "-" and "/" kept, the other
# separators a phone number may hold -> "~", any other character -> ","), each scan a simple pattern that sre runs
# fast (an alternation of them is several times slower): "@" (e-mail), a colon group (IPv6: "::" or ":" then at
# most four hex-like characters and another ":", so "at 18:08" is not one), "AA0"/"AA 0" (IBAN and UK NINO
# prefixes), and runs of digits and separators seven long that hold seven digits or a dotted quad and are not a
# date alone ("2024-01-05", "05/01/2024": the same separator twice, as _DATE) — all decided in the regex, so the
# dates, prices, versions and order numbers of ordinary text never reach a Python loop. A run is then kept only
# when a run of seven or more close digits that is not a date, or a dotted quad, is really there.
_SEPARATORS = frozenset(map(ord, " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0().+/-"))  # _SEVEN's [\s().+/-] (Latin-1)
_MASK = bytes(
    ord("0") if chr(i).isdigit() and i < 128 else ord("A") if 65 <= i <= 90 else ord("a") if 97 <= i <= 122
    else i if i in (64, 58, 32, 46, 45, 47) else 126 if i in _SEPARATORS or i == 63 else 44  # 63: "?", what any
    for i in range(256))                                          # non-Latin-1 character (a thin space…) encodes to
_MASK_CUES = (re.compile(rb"@"), re.compile(rb":[0aA./~-]{0,4}:"), re.compile(rb"AA ?0"))
_MASK_NUMBERS = re.compile(  # starts with the literal "0" so sre scans for it fast; the checks look around it
    rb"0(?<!00)(?<!0[ ./~-]0)"  # the first digit of a run only (a run's tail cannot hold what its head does not)
    rb"(?=[ ./~0-]{5})"  # seven characters long at least (most numbers in prose fail here, cheaply)
    # six more ASCII digits, or something like a dotted quad (a superset: _SEVEN decides); a run of six ASCII digits
    # with a non-ASCII digit beside it, which _SEVEN's \d would take, is no longer a candidate (otherwise the same
    # candidates on 424k texts: the bench corpus, the labelled sets, random digit-and-separator strings and dates)
    rb"(?=(?:[ ./~-]*+0){6}|[ ./~0-]*?\.0{1,3}\.0{1,3}\.0)"
    rb"(?!(?:000(?P<a>[./-])00?(?P=a)00?|0?(?P<b>[./-])00?(?P=b)0000)(?![ ./~0-]*0))"  # not a date alone
    rb"[ ./~0-]{5,}0")  # a superset of _SEVEN's matches (ASCII digits)
_MASK_DENSE = re.compile(rb"000|00[ ./~-]00")  # not single digits between dots ("version 1.2.3.4")
_SEVEN = re.compile(r"\d(?:[\s().+/-]{0,3}\d){6,}|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_DATE = re.compile(r"\d{4}([-/.])\d{1,2}\1\d{1,2}|\d{1,2}([-/.])\d{1,2}\2\d{4}")
#: identifier fields ("id", "user_id", "docId", "uuid", "key", "row"…, the last part of a nested name): a bare digit
#: run there ("13-104522", "DOC-2024-0001": digits with '-', '_', '.', '/', ':' and at most a short letter prefix, no
#: space, '+' or parenthesis) is a record id, not a phone number — libphonenumber accepts many such runs as valid
_ID_NAMES = frozenset("id ids uuid guid idx index key pk rowid row hash checksum sha sha1 sha256 md5".split())
_ID_FIELD = re.compile(r"(?:^|[^A-Za-z0-9])[A-Za-z0-9]*(?:[_\- ](?:id|ID|Id)|[a-z0-9](?:Id|ID))$")
_BARE_ID = re.compile(r"[A-Za-z]{0,12}[-_#:/.]?\d[\d_./:-]*")
_NO_PHONE = tuple(k for k in KINDS if k != "phone")
_PAD = 120  # characters of context either side of a candidate
_QUIET = re.compile(r"\s(?=\D{0,3}(?:\s|$))|\n")  # a gap with no digit close after it: a safe window edge


@dataclass
class Hit:
    """One item found in one field of one row."""

    category: str  # "pii" or "secret"
    label: str  # entity (EMAIL, PHONE…) or secret kind (github_token…)
    row: int
    field: str
    start: int
    end: int
    value: str
    excerpt: str  # the text around it, with every item found there redacted


@dataclass
class _Segment:
    row: int
    field: str
    start: int  # where the field's text starts in the chunk
    end: int


def _nothing_fits(bare: str) -> bool:
    """Whether no personal data of any kind fits in a bare id (``_BARE_ID``): fewer than nine digits (a card has
    13 or more, an SSN 9, an IBAN more), fewer than three dots (IPv4) and no colon (IPv6); an e-mail needs "@" and
    a UK NINO ends in a letter, neither of which a bare id has."""
    return ":" not in bare and bare.count(".") < 3 and len(bare) - len(bare.translate(_DROP_DIGITS)) < 9


_DROP_DIGITS = str.maketrans("", "", "0123456789")


def id_field(name: str) -> bool:
    """Whether a field named ``name`` holds identifiers (judged by its last part: ``meta.doc_id`` -> ``doc_id``)."""
    last = re.split(r"[.\]\[]", name.rstrip("]"))[-1] if name else ""
    if "[" in name and name.endswith("]"):
        last = re.split(r"[.\[]", name[: name.rfind("[")])[-1]
    return last.lower() in _ID_NAMES or bool(_ID_FIELD.search(last))


class TextScanner:
    """Collects field texts, scans them a chunk at a time, returns the hits of each flush."""

    def __init__(self, pii: bool = True, secrets: bool = True, regions: Iterable[str] = ("US", "GB", "DE", "FR")):
        self.pii = pii
        self.secrets = secrets
        self.regions = tuple(regions)
        # the queued fields, as parallel lists (no object per field: most fields hold nothing)
        self._parts: list[str] = []
        self._rows: list[int] = []
        self._fields: list[str] = []
        self._starts: list[int] = []
        # bare digit runs in identifier fields: index -> True when no personal data of any kind fits in it, False
        # when only phone numbers are not looked for
        self._no_phone: dict[int, bool] = {}
        self._size = 0
        self.chars = 0
        self._id_fields: dict[str, bool] = {}

    def add(self, row: int, field: str, text: str) -> list[Hit]:
        """Queue one field; returns the hits of a chunk when it fills (else [])."""
        return self.add_fields(row, ((field, text),))

    def add_fields(self, row: int, fields: Iterable[tuple[str, str]]) -> list[Hit]:
        """Queue the (field, text) pairs of one row; returns the hits of the chunks that filled (usually [])."""
        hits: list[Hit] = []
        for field, text in fields:
            n = len(text)
            self.chars += n
            if n > CHUNK_CHARS:  # a long field: scanned alone, in overlapping slices
                hits.extend(self.flush())
                hits.extend(self._scan_long(row, field, text))
                continue
            if self._size + n + 3 > CHUNK_CHARS:  # 3: len(SEP)
                hits.extend(self.flush())
            is_id = self._id_fields.get(field)
            if is_id is None:
                is_id = id_field(field)
                if len(self._id_fields) < 10_000:  # bounded: indexed names (tokens[12345]) need not repeat
                    self._id_fields[field] = is_id
            if is_id and n <= 64 and _BARE_ID.fullmatch(text):
                self._no_phone[len(self._parts)] = _nothing_fits(text)
            self._parts.append(text)
            self._rows.append(row)
            self._fields.append(field)
            self._starts.append(self._size)
            self._size += n + 3
        return hits

    def _scan_long(self, row: int, field: str, text: str) -> list[Hit]:
        hits: list[Hit] = []
        step = CHUNK_CHARS - 2000
        for off in range(0, len(text), step):
            piece = text[off: off + CHUNK_CHARS]
            for h in self._scan(piece, [row], [field], [0], {}):
                if off and h.start < 2000:
                    continue  # seen in the previous slice's overlap
                h.start += off
                h.end += off
                hits.append(h)
        return hits

    def flush(self) -> list[Hit]:
        if not self._parts:
            return []
        text = SEP.join(self._parts)
        queued = (self._rows, self._fields, self._starts, self._no_phone)
        self._parts, self._rows, self._fields, self._starts, self._no_phone, self._size = [], [], [], [], {}, 0
        return self._scan(text, *queued)

    # -- one chunk -----------------------------------------------------------------------------------------
    def _scan(self, text: str, rows: list[int], fields: list[str], starts: list[int],
              no_phone: dict[int, bool]) -> list[Hit]:
        found: list[tuple[str, str, int, int, str]] = []  # (category, label, start, end, value) in chunk
        present = _CHUNK_SET(text) if _CHUNK_SET is not None else None
        if self.pii:
            # short bare ids (nothing fits in them) are blanked in the candidate mask: no window, no find_pii
            blank = [(starts[i], starts[i + 1] - len(SEP) if i + 1 < len(starts) else len(text))
                     for i, nothing in no_phone.items() if nothing]
            for a, b in _windows(text, blank):
                if b <= a:
                    continue
                i = max(0, bisect.bisect_right(starts, b - 1) - 1)  # a window never crosses a field
                mode = no_phone.get(i)
                if mode:
                    continue  # a short bare id: nothing fits in it
                for m in find_pii(text[a:b], self.regions, None if mode is None else _NO_PHONE):
                    found.append(("pii", ENTITIES.get(m.kind, m.kind.upper()), a + m.start, a + m.end, m.value))
            # URLs, street addresses, names after an honorific (pattern only)
            for a, b in _pattern_windows(text) if present is None or _CUE in present else ():
                for m in find_patterns(text[a:b]):
                    found.append(("pii", ENTITIES.get(m.kind, m.kind.upper()), a + m.start, a + m.end, m.value))
        if self.secrets:
            for s in find_secrets(text, present=present):
                found.append(("secret", s.kind, s.start, s.end, s.value))
        if not found:
            return []
        found = _dedupe(found)
        hits: list[Hit] = []
        for k, (category, label, a, b, value) in enumerate(found):
            i = bisect.bisect_right(starts, a) - 1
            if i < 0:
                continue
            end = starts[i + 1] - len(SEP) if i + 1 < len(starts) else len(text)
            seg = _Segment(rows[i], fields[i], starts[i], end)
            if b > seg.end:  # ran past its field (only a private key block can): keep the field's part
                b = seg.end
                value = text[a:b]
            hits.append(Hit(category, label, seg.row, seg.field, a - seg.start, b - seg.start, value,
                            _excerpt(text, seg, a, b, found[max(0, k - 8): k + 8])))
        return hits


def _windows(text: str, blank: Iterable[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Merged [a, b) windows around every candidate, widened to a quiet edge (whitespace with no digit next to
    it) so a number is never cut in two; clipped to the NUL separators between fields."""
    out: list[tuple[int, int]] = []
    n = len(text)
    for pos in _candidates(text, blank):
        if out and pos < out[-1][1]:
            a = out[-1][0]
            out.pop()
        else:
            a = max(0, pos - _PAD)
            if a:
                q = _QUIET.search(text, max(0, a - 60), a + 1)
                a = q.start() if q else max(0, a - 60)
            lo = text.rfind("\x00", a, pos)  # clipped after widening: a wide edge must not reach another field
            if lo >= 0:
                a = lo + 1
        b = min(n, pos + _PAD)
        if b < n:
            q = _QUIET.search(text, b, min(n, b + 80))
            b = q.start() if q else min(n, b + 80)
        hi = text.find("\x00", pos, b)
        if hi >= 0:
            b = hi
        out.append((a, b))
    return out


def _fast_compile(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (``google-re2``: one linear pass however many alternatives) when installed,
    else by ``re`` (the same syntax, the same matches, slower on alternations)."""
    try:
        import re2
    except ImportError:
        return re.compile(pattern)
    return re2.compile(pattern)


# The pattern recognisers' cues in one pass: a URL's scheme or "www.", an honorific, a "name:" / "Name =" label
# (the word alone is common), a digit, a space and a capital ("221B Baker Street", "10 Downing St").
_PATTERN_CUE_SOURCE = r"(://|www\.|WWW\.)|Mr|Ms|Dr|Prof|Miss|Mx|[Nn]ame\s*[:=]|[0-9] [A-Z]"
_PATTERN_CUES = _fast_compile(_PATTERN_CUE_SOURCE)
# One RE2 pass per chunk says which secrets keywords occur and whether any pattern cue does: most chunks hold
# neither, and then neither the secret rules nor the cue scan run (None without google-re2: each runs its own)
_CUE = "<pattern cue>"
_CHUNK_SET = keyword_set(extra={_CUE: _PATTERN_CUE_SOURCE})
_NOT_SPACE = re.compile(r"\S{0,2000}")


def _pattern_windows(text: str) -> list[tuple[int, int]]:
    """Merged windows around the cues of the pattern-only recognisers; a URL's window runs to the next
    whitespace (up to 2,000 characters) so a long URL is read whole."""
    n = len(text)
    spans: list[tuple[int, int]] = []
    for m in _PATTERN_CUES.finditer(text):
        i = m.start()
        if m.group(1):  # a URL: read to its end
            spans.append((max(0, i - 12), _NOT_SPACE.match(text, i).end()))
        else:  # 80 characters each side (past the cue's end: a cue inside this one's match is covered too)
            spans.append((max(0, i - 80), min(n, m.end() + 80)))
    spans.sort()
    out: list[tuple[int, int]] = []
    for a, b in spans:  # (no pattern crosses the NUL line between fields, so windows may)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _candidates(text: str, blank: Iterable[tuple[int, int]] = ()) -> list[int]:
    """Candidate positions, found by two regex scans of the mask (C speed, no Python loop over literals)."""
    mask: Any = text.encode("latin-1", "replace").translate(_MASK)
    if blank:  # spans where nothing can be (short bare ids): no candidate there
        mask = bytearray(mask)
        for a, b in blank:
            mask[a:b] = bytes(b - a)
    found = [m.start() for cue in _MASK_CUES for m in cue.finditer(mask)]
    for m in _MASK_NUMBERS.finditer(mask):  # digit runs that could hold seven close digits or a dotted quad
        if not _MASK_DENSE.search(m.group()):
            continue  # single digits between dots ("version 1.2.3.4") are not read as an address
        for s in _SEVEN.finditer(text, max(0, m.start() - 1), m.end() + 1):
            if not _DATE.fullmatch(s.group(0)):
                found.extend(range(s.start(), s.end(), 100))  # a long run of numbers gets a window per 100
    found.sort()
    return found


def _dedupe(found: list[tuple[str, str, int, int, str]]) -> list[tuple[str, str, int, int, str]]:
    """Overlapping items keep one: a secret wins over personal data inside it (a token is not a phone number),
    and of two personal data items the longer (a card-like run inside an IBAN is the IBAN)."""
    found.sort(key=lambda f: (f[2], 0 if f[0] == "secret" else 1, -(f[3] - f[2])))
    out: list[tuple[str, str, int, int, str]] = []
    for f in found:
        if out and f[2] < out[-1][3]:
            last = out[-1]
            if f[0] == "pii" and (last[0] == "secret" or f[3] - f[2] <= last[3] - last[2]):
                continue
            if f[0] == "pii" and last[0] == "pii":
                out[-1] = f
                continue
        out.append(f)
    return out


_CONTEXT = 40


def _excerpt(text: str, seg: _Segment, a: int, b: int, found: list[tuple[str, str, int, int, str]]) -> str:
    """The field text around [a, b) with every item found in that span replaced by its placeholder."""
    lo = max(seg.start, a - _CONTEXT)
    hi = min(seg.end, b + _CONTEXT)
    pieces: list[str] = []
    pos = lo
    for category, label, s, e, _ in found:
        if e <= lo or s >= hi or s < pos:
            continue
        pieces.append(text[pos:s])
        pieces.append(placeholder(category, label))
        pos = e
    pieces.append(text[pos:hi])
    body = "".join(pieces).replace("\n", " ")
    return ("…" if lo > seg.start else "") + body + ("…" if hi < seg.end else "")


_PH = {ENTITIES[k]: v for k, v in {**PLACEHOLDERS, **PATTERN_PLACEHOLDERS}.items() if k in ENTITIES}


def placeholder(category: str, label: str) -> str:
    if category == "secret":
        return f"[SECRET:{label}]"
    return _PH.get(label, f"[{label}]")


def redact(text: str, hits: list[Hit]) -> str:
    """``text`` (one field) with every hit replaced by its placeholder."""
    out: list[str] = []
    pos = 0
    for h in sorted(hits, key=lambda h: h.start):
        if h.start < pos:
            continue
        out.append(text[pos:h.start])
        out.append(placeholder(h.category, h.label))
        pos = h.end
    out.append(text[pos:])
    return "".join(out)
