"""What every result file shares: ``schema_version`` and ``kind``, and the check that a model declares
everything a writer put in it (the drift test runs it over real outputs)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class Part(BaseModel):
    """A block inside a result. Unknown fields are kept (a newer minor version may add some) and can be listed
    with ``undeclared``: the writers of this version must not produce any."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, serialize_by_alias=True)

    # Read like the dicts these blocks were before they had models: ``part["key"]`` and ``part.get("key")``
    # take the JSON field name (``"class"``, ``"pass"``), so code written against the JSON keeps working.
    def _field_for(self, key: str) -> str | None:
        fields = type(self).model_fields
        if key in fields:
            return key
        return next((name for name, f in fields.items() if f.alias == key), None)

    def __getitem__(self, key: str) -> Any:
        name = self._field_for(key)
        if name is not None:
            return getattr(self, name)
        if self.model_extra and key in self.model_extra:
            return self.model_extra[key]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


class ExecutorInfo(Part):
    """Where a run's samples were drawn (``--executor``). Never part of the run's identity: the same seeds give
    the same result on every executor, and a run resumes on another with its cached samples."""

    name: str = Field("local", description="local or ray")
    address: str | None = Field(None, description="The Ray cluster's address, or local for an instance started by "
                                                  "the command.")
    workers: int | None = Field(None, description="Ray workers (actors) that generated.")
    retried: int = Field(0, description="Samples sent again to another worker after theirs died.")
    nodes: list[dict[str, Any]] = Field(default_factory=list, description="Per node: node, host, workers, samples, "
                                                                          "seconds, per_s.")
    worker_processes: list[dict[str, Any]] = Field(default_factory=list, description="Per worker alive at the end: "
                                                   "node, pid, model_loads (1: loaded once, reused for every sample).")


class ResultBase(Part):
    """The envelope every opentrust JSON output has at its top level (its other fields are the kind's own)."""

    schema_version: str = Field(description="Version of this kind's schema (major.minor); a new major version "
                                            "is incompatible, a new minor version only adds fields.")
    kind: str = Field(description="What produced the result: audit, scan, test, redteam or openness.")
    #: the schema_version the file had when ``read_result`` upgraded it (None: read as written)
    _upgraded_from: str | None = PrivateAttr(default=None)

    @property
    def upgraded_from(self) -> str | None:
        return self._upgraded_from


def undeclared(model: Any, at: str = "") -> list[str]:
    """Paths of fields present in ``model`` (recursively) that its class does not declare."""
    out: list[str] = []
    if isinstance(model, BaseModel):
        for name in (model.model_extra or {}):
            out.append(f"{at}.{name}" if at else name)
        for name in type(model).model_fields:
            out.extend(undeclared(getattr(model, name), f"{at}.{name}" if at else name))
    elif isinstance(model, (list, tuple)):
        for i, item in enumerate(model):
            out.extend(undeclared(item, f"{at}[{i}]"))
    elif isinstance(model, dict):
        for key, item in model.items():
            out.extend(undeclared(item, f"{at}.{key}"))
    return out
