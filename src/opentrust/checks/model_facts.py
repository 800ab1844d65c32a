"""Model facts from GGUF metadata: architecture, size, quantization, context, licence, chat template."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from opentrust.checks.base import Check, CheckContext
from opentrust.findings import Finding, Location, Measurement, Severity

if TYPE_CHECKING:
    from opentrust.report.model import Section
    from opentrust.target import Target


def human_count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


class ModelFactsCheck(Check):
    name = "model_facts"
    title = "Model facts (GGUF metadata)"
    order = 10

    def skip_reason(self, target: "Target") -> str | None:
        return None if target.gguf_path else "no GGUF file: facts are read from GGUF metadata"

    async def run(self, ctx: CheckContext) -> "Section":
        from opentrust.formats.gguf import read_gguf
        from opentrust.report.model import Section, Table

        path = ctx.target.gguf_path
        assert path is not None
        g = read_gguf(path)
        template = g.get("tokenizer.chat_template")
        tokens = g.get("tokenizer.ggml.tokens")
        licence = g.get("general.license")
        facts = {
            "name": g.get("general.name"),
            "architecture": g.architecture,
            "parameters": g.parameter_count,
            "parameters_human": human_count(g.parameter_count),
            "size_label": g.get("general.size_label"),
            "quantization": g.file_type_name,
            "tensor_types": g.tensor_type_histogram(),
            "context_length": g.arch_key("context_length"),
            "embedding_length": g.arch_key("embedding_length"),
            "block_count": g.arch_key("block_count"),
            "license": licence,
            "license_link": g.get("general.license.link"),
            "chat_template": template is not None,
            "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest() if isinstance(template, str) else None,
            "chat_template_chars": len(template) if isinstance(template, str) else None,
            "tokenizer": g.get("tokenizer.ggml.model"),
            "vocab_size": getattr(tokens, "count", None),
            "gguf_version": g.version,
            "tensor_count": len(g.tensors),
            "metadata_keys": len(g.metadata),
            "file_bytes": g.file_size,
        }
        findings: list[Finding] = []
        loc = Location(path=str(path))
        if not licence:
            findings.append(Finding(
                rule_id="OT-FACTS-NO-LICENSE", severity=Severity.low, check=self.name, location=loc,
                title="No licence in the GGUF metadata",
                message="general.license is absent: the file itself does not say under which terms it may be used.",
                remedy="Find the licence in the model's source repository; `opentrust openness` reports it."))
        if template is None:
            findings.append(Finding(
                rule_id="OT-FACTS-NO-CHAT-TEMPLATE", severity=Severity.medium, check=self.name, location=loc,
                title="No chat template in the GGUF metadata",
                message="tokenizer.chat_template is absent: chat runtimes fall back to a guessed format, "
                        "which changes the model's behaviour.",
                remedy="Use a GGUF converted with its chat template, or pass the template explicitly."))
        for p in g.problems:
            findings.append(Finding(
                rule_id=f"OT-GGUF-{p.code.upper()}", severity=Severity.medium, check=self.name,
                title=f"GGUF structure: {p.code}", message=p.message,
                location=Location(path=str(path), offset=p.offset, key=p.key),
                remedy="Re-convert or re-download the file; `opentrust scan` gives details."))
        summary = (f"{facts['name'] or path.name}: {facts['architecture']} with {facts['parameters_human']} "
                   f"parameters, {facts['quantization'] or 'unknown'} quantization, context "
                   f"{facts['context_length']}, licence {licence or 'not stated'}, chat template "
                   f"{'present' if template is not None else 'absent'}.")
        shown = {k: v for k, v in facts.items() if k not in ("tensor_types", "parameters_human")}
        return Section(
            check=self.name, title=self.title, status="findings" if findings else "ok", summary=summary,
            findings=findings, facts=shown,
            measurements=[
                Measurement(name="model.parameters", value=float(g.parameter_count), unit="parameters",
                            label="Parameters", method="sum of tensor element counts"),
                Measurement(name="model.file_bytes", value=float(g.file_size), unit="bytes", label="File size"),
            ],
            tables=[Table(title="Tensor types", columns=["type", "tensors"],
                          rows=[[k, v] for k, v in facts["tensor_types"].items()])],
            parameters={"path": str(path)},
            data={"facts": facts, "chat_template": template if isinstance(template, str) else None},
        )
