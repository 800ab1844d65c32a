"""CycloneDX 1.6 AI bill of materials (ML-BOM) built with ``cyclonedx-python-lib``.

The library builds and serialises the BOM (component, hashes, licences, references, properties) but has
no model for ``modelCard`` yet (commented out in its ``component.py``), so the model card is added to the
serialised JSON and the whole document is then checked with the library's own strict 1.6 JSON schema
validator before it is returned: we never emit a BOM that does not validate.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from opentrust.findings import Measurement
    from opentrust.openness.assess import OpennessResult
    from opentrust.store import Store

MODEL_REF = "model"


class AIBOMError(Exception):
    """The BOM we built does not validate (a bug in opentrust)."""


def build_aibom(result: "OpennessResult", *, store: "Store | None" = None,
                measurements: Iterable["Measurement"] = (), validate: bool = True) -> dict[str, Any]:
    from cyclonedx.contrib.hash.factories import HashTypeFactory
    from cyclonedx.model import ExternalReference, ExternalReferenceType, Property, XsUri
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    from opentrust._version import __version__
    from opentrust.target import file_sha256

    ev = result.evidence
    card = ev.card
    cl = result.classification
    files = []
    for path in ev.weights:
        digest = file_sha256(path, store)
        rel = path.name if ev.kind == "gguf" else str(path.relative_to(ev.location))
        files.append(Component(name=rel, type=ComponentType.FILE, bom_ref=f"file:{rel}",
                               hashes=[HashTypeFactory().from_hashlib_alg("sha256", digest)]))
    model_hashes = list(files[0].hashes) if len(files) == 1 else []
    refs = []
    for key in ("source_url", "repository", "huggingface"):
        url = card.get(key)
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            refs.append(ExternalReference(type=ExternalReferenceType.DISTRIBUTION if key != "repository"
                                          else ExternalReferenceType.VCS, url=XsUri(url)))
    licence = result.release.licenses.get("distribution")
    props = [
        Property(name="opentrust:mof:class", value=str(cl.mof_class)),
        Property(name="opentrust:mof:label", value=cl.label),
        *[Property(name=f"opentrust:mof:progress:class{k}", value=f"{v:.1f}") for k, v in sorted(cl.progress.items())],
        Property(name="opentrust:osaid:verdict", value=result.osaid["verdict"]),
    ]
    for c in result.components:
        props.append(Property(name=f"opentrust:mof:component:{c['id']}", value=f"{c['name']}: {c['status']}"
                              + (f" ({c['license']})" if c["license"] else "")))
    model = Component(
        name=str(card.get("name") or ev.name), type=ComponentType.MACHINE_LEARNING_MODEL, bom_ref=MODEL_REF,
        version=str(card["version"]) if card.get("version") else None,
        publisher=str(card["producer"]) if card.get("producer") else None,
        description=f"{cl.label}; {result.osaid['summary']} ({result.osaid['definition']})",
        hashes=model_hashes, licenses=_licenses(licence), external_references=refs, properties=props,
        components=files if len(files) > 1 else None,
    )
    bom = Bom()
    bom.metadata.component = model
    bom.metadata.tools.components.add(Component(name="opentrust", version=__version__,
                                                type=ComponentType.APPLICATION))
    doc = json.loads(JsonV1Dot6(bom).output_as_string())
    doc["metadata"]["component"]["modelCard"] = _model_card(result, list(measurements))
    if validate:
        problem = validation_error(doc)
        if problem:
            raise AIBOMError(f"the AI BOM does not validate against CycloneDX 1.6: {problem}")
    return doc


def add_measurements(doc: dict[str, Any], measurements: Iterable["Measurement"]) -> dict[str, Any]:
    """Add measured results (e.g. every section of an audit report) to the model card's performance metrics.

    Audit runs the openness check before the behaviour checks, so the BOM in the openness section cannot
    know their numbers yet; ``opentrust audit`` (or any reporter) can call this with
    ``report`` measurements when it writes ``aibom.cdx.json``. Returns the validated document.
    """
    card = doc["metadata"]["component"].setdefault("modelCard", {})
    metrics = card.setdefault("quantitativeAnalysis", {}).setdefault("performanceMetrics", [])
    metrics.extend(_metric(m) for m in measurements if m.value is not None)
    problem = validation_error(doc)
    if problem:
        raise AIBOMError(f"the AI BOM does not validate against CycloneDX 1.6: {problem}")
    return doc


def _metric(m: "Measurement") -> dict[str, Any]:
    entry: dict[str, Any] = {"type": m.name, "value": f"{m.value:g}"}
    if m.interval:
        entry["confidenceInterval"] = {"lowerBound": f"{m.interval[0]:g}", "upperBound": f"{m.interval[1]:g}"}
    if m.n:
        entry["slice"] = f"n={m.n}"
    return entry


def validation_error(doc: dict[str, Any]) -> str | None:
    """None when ``doc`` is valid CycloneDX 1.6 JSON (strict schema shipped in cyclonedx-python-lib)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(doc))
    return None if error is None else str(error)[:500]


def _licenses(licence: str | None) -> list[Any]:
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
    from cyclonedx.spdx import is_supported_id

    from opentrust.openness import licenses as lic

    if not licence:
        return []
    if any(op in licence for op in (" AND ", " OR ", " WITH ")) and lic.describe(licence).category != "unknown":
        return [LicenseExpression(licence)]
    if is_supported_id(licence):
        return [DisjunctiveLicense(id=licence)]
    info = lic.describe(licence)
    return [DisjunctiveLicense(name=info.name or licence)]


def _model_card(result: "OpennessResult", measurements: list["Measurement"]) -> dict[str, Any]:
    card = result.evidence.card
    params: dict[str, Any] = {}
    task = card.get("pipeline_tag") or card.get("type")
    if task:
        params["task"] = str(task)
    arch = card.get("architecture") or card.get("gguf_architecture")
    if arch:
        params["modelArchitecture"] = str(arch)
    if card.get("gguf_architecture"):
        params["architectureFamily"] = str(card["gguf_architecture"])
    datasets = card.get("datasets")
    if isinstance(datasets, list) and datasets:
        params["datasets"] = [{"type": "dataset", "name": str(d)} for d in datasets[:100]]
    metrics = []
    for m in card.get("metrics") or []:
        metrics.append({"type": str(m.get("metric") or "metric"), "value": str(m.get("value")),
                        **({"slice": str(m["dataset"])} if m.get("dataset") else {})})
    metrics.extend(_metric(m) for m in measurements if m.value is not None)
    out: dict[str, Any] = {}
    if params:
        out["modelParameters"] = params
    if metrics:
        out["quantitativeAnalysis"] = {"performanceMetrics": metrics[:200]}
    considerations: dict[str, Any] = {}
    if card.get("intended_use"):
        considerations["useCases"] = [str(card["intended_use"])[:2000]]
    if card.get("limitations"):
        considerations["technicalLimitations"] = [str(card["limitations"])[:2000]]
    restricted = [r for lic_entry in result.licenses for r in lic_entry.get("restrictions", [])]
    if restricted:
        considerations["ethicalConsiderations"] = [
            {"name": f"licence restriction ({r['kind']})", "mitigationStrategy": r["text"]} for r in restricted[:20]]
    if considerations:
        out["considerations"] = considerations
    out["properties"] = [
        {"name": "opentrust:mof:class", "value": str(result.classification.mof_class)},
        {"name": "opentrust:osaid:verdict", "value": result.osaid["verdict"]},
        *[{"name": "opentrust:evidence", "value": f"{c['name']}: {c['status']} — {c['evidence'][0]['detail']}"}
          for c in result.components if c["status"] != "missing"][:40],
    ]
    return out
