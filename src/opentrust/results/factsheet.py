"""The JSON of `opentrust factsheet TARGET --format json`: a model's factsheet assembled from the evidence in the store,
every statement with the run that produced it and every missing item listed. README (`opentrust factsheet`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from opentrust.results.base import Part, ResultBase

SCHEMA_VERSION = "1.0"


class Source(Part):
    run_id: str | None = Field(description="The store's run that produced the statement (null: the store's model "
                                           "record or a gate evaluation).")
    command: str = Field(description="audit, redteam, test, fairness, compare, gate or store.")
    at: str | None = Field(None, description="When that run started (UTC).")
    path: str | None = Field(None, description="Where in that run's result (an evidence path).")


class Item(Part):
    label: str
    value: Any = Field(None, description="The fact (null when missing).")
    status: Literal["present", "missing", "not observable"] = Field(
        description="present: stated from evidence; missing: no evidence in the store (note says what would give "
                    "it); not observable: opentrust cannot measure it from the model (the provider must state it).")
    source: Source | None = None
    note: str = ""


class FactSection(Part):
    id: str
    title: str
    refs: list[str] = Field(default_factory=list, description="EU AI Act annex items the section answers.")
    items: list[Item]


class ModelIdentity(Part):
    fingerprint: str
    kind: str
    names: list[str]
    first_seen: str | None
    last_seen: str | None


class Factsheet(ResultBase):
    """The result of `opentrust factsheet`."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["factsheet"] = "factsheet"
    model: ModelIdentity
    generated_at: str
    sources: list[Source] = Field(description="Every run the factsheet draws on.")
    sections: list[FactSection]
    missing: list[str] = Field(description="Every item without evidence, as 'section: item'.")
