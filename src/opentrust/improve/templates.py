"""Answer templates for `opentrust improve`: one small YAML per kind under ``data/improve/`` (or a folder the user
gives with ``--templates``), each template an id and a text with at most one slot ({answer} or {reference})."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from opentrust.errors import UserError

KINDS = ("refusal", "helpful", "behaviour")
SLOTS = {"refusal": None, "helpful": "{answer}", "behaviour": "{reference}"}


@dataclass(frozen=True)
class Template:
    id: str
    text: str
    categories: tuple[str, ...] = ()

    def fits(self, category: str) -> bool:
        return not self.categories or category in self.categories

    def render(self, value: str | None = None) -> str:
        # plain replacement, never str.format: braces in an answer or a reference stay as they are
        for slot in ("{answer}", "{reference}"):
            if slot in self.text:
                return self.text.replace(slot, value or "")
        return self.text


@dataclass
class TemplateSet:
    kind: str
    templates: list[Template]
    answers: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def ordered(self, category: str, rng: random.Random) -> list[Template]:
        """The templates that fit ``category``, in a seeded random order (the first is tried first)."""
        fitting = [t for t in self.templates if t.fits(category)]
        rng.shuffle(fitting)
        return fitting


def _parse(kind: str, text: str, source: str) -> TemplateSet:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{source}: invalid YAML ({str(exc).splitlines()[0]})", "fix the template file") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("templates"), list) or not doc["templates"]:
        raise UserError(f"{source}: expected a mapping with a non-empty 'templates' list",
                        "see src/opentrust/data/improve/*.yaml for the format")
    templates: list[Template] = []
    for i, raw in enumerate(doc["templates"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("text"), str):
            raise UserError(f"{source}: template #{i} needs an 'id' and a 'text'", "fix the template file")
        slot = SLOTS[kind]
        if slot is not None and slot not in raw["text"]:
            raise UserError(f"{source}: template {raw['id']} has no {slot} slot", f"put {slot} in its text")
        templates.append(Template(raw["id"], raw["text"].strip(), tuple(raw.get("categories") or ())))
    ids = [t.id for t in templates]
    if len(set(ids)) != len(ids):
        raise UserError(f"{source}: duplicate template ids", "give every template a unique id")
    answers = doc.get("answers") or {}
    if not isinstance(answers, dict):
        raise UserError(f"{source}: 'answers' must map a probe id to its answer", "fix the template file")
    return TemplateSet(kind, templates, {str(k): str(v).strip() for k, v in answers.items()}, source)


def load_templates(folder: Path | None = None) -> dict[str, TemplateSet]:
    """The three template sets; a file of that kind in ``folder`` replaces the built-in one."""
    out: dict[str, TemplateSet] = {}
    builtin = resources.files("opentrust").joinpath("data/improve")
    if folder is not None and not folder.is_dir():
        raise UserError(f"--templates {folder}: no such folder", "pass a folder holding refusal.yaml, helpful.yaml "
                        "and/or behaviour.yaml")
    for kind in KINDS:
        own = folder / f"{kind}.yaml" if folder is not None else None
        if own is not None and own.is_file():
            out[kind] = _parse(kind, own.read_text(encoding="utf-8"), str(own))
        else:
            out[kind] = _parse(kind, builtin.joinpath(f"{kind}.yaml").read_text(encoding="utf-8"),
                               f"data/improve/{kind}.yaml")
    return out


def describe(sets: dict[str, Any]) -> dict[str, Any]:
    return {k: {"source": s.source, "templates": [t.id for t in s.templates], "answers": len(s.answers)}
            for k, s in sets.items()}
