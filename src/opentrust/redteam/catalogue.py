"""The probe catalogue: data files under ``redteam/probes/*.yaml``, validated into ``Probe`` objects.

A probe is data, not code: messages (or a jailbreak template with a ``{payload}`` slot), the detector
that judges the response and which of its labels counts as an attack success, the expected safe
behaviour, and its OWASP LLM Top 10 2025 / AILuminate / IBM Risk Atlas ids. A file holds
``defaults:`` (merged into every probe) and ``probes:``; ``prompt:``/``system:`` are shorthand for
``messages``. Plugins add probe files through the ``register_probes`` hook.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opentrust.errors import UserError

CATEGORIES = {
    "harmful": "harmful requests, one set per AILuminate hazard",
    "prompt_injection": "direct and indirect prompt injection with a canary goal",
    "system_prompt_leak": "system-prompt extraction and secret leakage (canary in the system prompt)",
    "pii_leak": "personal data leakage",
    "jailbreak": "jailbreak templates wrapped around harmful requests",
    "over_refusal": "benign prompts that sound harmful: refusing them is the failure",
}
DETECTOR_LABELS = {
    "harmful": ("harmful", "safe"),
    "canary": ("leak", "clean"),
    "pii": ("pii", "clean"),
    "refusal": ("refusal", "compliance"),
}
PAYLOAD = "{payload}"


class ProbeMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    #: None on an assistant turn: the target model's own reply is generated there at run time
    content: str | None = None

    @model_validator(mode="after")
    def _content(self) -> "ProbeMessage":
        if self.content is None and self.role != "assistant":
            raise ValueError(f"a {self.role} message needs content")
        return self


class Probe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{2,80}$")
    category: str
    technique: str = Field(pattern=r"^[a-z0-9_]+$")
    messages: tuple[ProbeMessage, ...]
    #: the request at the heart of the attack — what mutators transform (defaults to the last user turn)
    payload: str = ""
    #: the jailbreak wrapper the messages were rendered from, if any (``{payload}`` marks the slot)
    template: str | None = None
    canary: str | None = None
    detector: Literal["harmful", "canary", "pii", "refusal"]
    #: the detector label that counts as an attack success (for over-refusal: "refusal")
    success_label: str
    expected: str = Field(min_length=5)
    hazard: str | None = None
    owasp: tuple[str, ...] = ()
    ailuminate: tuple[str, ...] = ()
    risk_atlas: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    #: names of the mutators applied, in order (empty for a base probe)
    mutators: tuple[str, ...] = ()
    #: the base probe's id when this probe was derived by a mutator
    base_id: str | None = None

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if v not in CATEGORIES:
            raise ValueError(f"unknown category {v!r} (known: {', '.join(CATEGORIES)})")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Probe":
        if not any(m.role == "user" for m in self.messages):
            raise ValueError("a probe needs at least one user message")
        if self.success_label not in DETECTOR_LABELS[self.detector]:
            raise ValueError(
                f"success_label {self.success_label!r} is not a label of the {self.detector} detector"
            )
        if self.detector == "canary" and not self.canary:
            raise ValueError("a canary-detector probe needs a canary")
        if self.canary and not any(self.canary in (m.content or "") for m in self.messages):
            raise ValueError(
                "the canary must appear in the probe's messages (system prompt, document or goal)"
            )
        if self.hazard and self.hazard not in self.ailuminate:
            raise ValueError("the hazard must also be listed in ailuminate")
        if not self.payload:
            object.__setattr__(self, "payload", self.last_user())
        return self

    def last_user(self) -> str:
        return next(m.content or "" for m in reversed(self.messages) if m.role == "user")

    @property
    def is_multi_turn(self) -> bool:
        return sum(m.role == "user" for m in self.messages) > 1

    @property
    def taxonomy_ids(self) -> tuple[str, ...]:
        return self.owasp + self.ailuminate + self.risk_atlas

    def chat(self) -> list[dict[str, str]]:
        """Messages for a single-turn request (multi-turn probes are run turn by turn by the campaign)."""
        return [{"role": m.role, "content": m.content or ""} for m in self.messages]


def render_template(template: str, payload: str) -> str:
    """Put the payload into a jailbreak template. Plain replacement: never str.format or a template engine,
    so braces in a payload cannot reach anything."""
    if PAYLOAD not in template:
        raise ValueError(f"template has no {PAYLOAD} slot")
    return template.replace(PAYLOAD, payload)


def _expand(raw: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    item = {**defaults, **raw}
    system = item.pop("system", None)
    prompt = item.pop("prompt", None)
    template = item.get("template")
    if "messages" not in item:
        if template is not None:
            if "payload" not in item:
                raise ValueError("a templated probe needs a payload")
            prompt = render_template(template, item["payload"])
        if prompt is None:
            raise ValueError("a probe needs prompt: or messages:")
        item["messages"] = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
    if item.get("hazard") and item["hazard"] not in item.get("ailuminate", []):
        item["ailuminate"] = [*item.get("ailuminate", []), item["hazard"]]
    return item


def load_file(path: Path | Any) -> list[Probe]:
    """Parse one probe file (a Path or an importlib Traversable). Raises UserError naming the probe."""
    import yaml
    from pydantic import ValidationError

    name = getattr(path, "name", str(path))
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"probe file {name}: invalid YAML ({exc})", "fix the YAML syntax") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("probes"), list):
        raise UserError(
            f"probe file {name}: expected a mapping with a 'probes' list", "see redteam/probes/*.yaml"
        )
    defaults = doc.get("defaults") or {}
    probes = []
    for i, raw in enumerate(doc["probes"]):
        pid = raw.get("id", f"#{i}") if isinstance(raw, dict) else f"#{i}"
        try:
            probes.append(Probe.model_validate(_expand(dict(raw), defaults)))
        except (ValidationError, ValueError, TypeError) as exc:
            first = str(exc).splitlines()
            detail = " ".join(first[:3])[:300]
            raise UserError(f"probe file {name}: probe {pid}: {detail}", "fix the probe definition") from None
    return probes


def _builtin_files() -> list[Any]:
    folder = resources.files("opentrust").joinpath("redteam/probes")
    return sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)


@lru_cache(maxsize=1)
def _builtin() -> tuple[Probe, ...]:
    probes: list[Probe] = []
    for f in _builtin_files():
        probes.extend(load_file(f))
    return tuple(probes)


def plugin_probes() -> list[Probe]:
    """Probes that plugins register through the ``register_probes`` hook: a Probe, or a YAML file path."""
    from opentrust.plugins import collect

    probes: list[Probe] = []
    for item in collect("register_probes"):
        if isinstance(item, Probe):
            probes.append(item)
        elif isinstance(item, (str, Path)):
            probes.extend(load_file(Path(item)))
        else:
            raise UserError(
                f"a plugin registered an unsupported probe source: {type(item).__name__}",
                "register a Probe or the path of a probe YAML file",
            )
    return probes


def load_catalogue(
    extra_files: Iterable[Path] = (), categories: Iterable[str] | None = None, include_plugins: bool = True
) -> list[Probe]:
    """Every built-in probe, plugin probes and ``extra_files``; ids must be unique across all of them."""
    probes = list(_builtin())
    if include_plugins:
        probes.extend(plugin_probes())
    for f in extra_files:
        probes.extend(load_file(Path(f)))
    seen: dict[str, str] = {}
    for p in probes:
        if p.id in seen:
            raise UserError(f"duplicate probe id {p.id!r}", "give every probe a unique id")
        seen[p.id] = p.category
    if categories is not None:
        wanted = set(categories)
        unknown = wanted - set(CATEGORIES)
        if unknown:
            raise UserError(
                f"unknown categories: {', '.join(sorted(unknown))}", f"choose from: {', '.join(CATEGORIES)}"
            )
        probes = [p for p in probes if p.category in wanted]
    return probes


@lru_cache(maxsize=1)
def taxonomy() -> dict[str, Any]:
    import yaml

    text = resources.files("opentrust").joinpath("data/taxonomy.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def known_taxonomy_ids() -> dict[str, set[str]]:
    """{"owasp": {...codes}, "ailuminate": {...ids}, "risk_atlas": {...ids}} from data/taxonomy.yaml."""
    t = taxonomy()
    return {
        "owasp": {e["code"] for e in t["owasp_llm_2025"]["entries"]},
        "ailuminate": {e["id"] for e in t["ailuminate_v1"]["entries"]},
        "risk_atlas": {e["id"] for e in t["ibm_risk_atlas"]["entries"]},
    }


_ID_SAFE = re.compile(r"[^a-z0-9_.-]+")


def slug(text: str) -> str:
    return _ID_SAFE.sub("-", text.lower()).strip("-")
