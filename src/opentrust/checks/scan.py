"""The audit's artifact scan: every file of the target, by content, never executed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentrust.checks.base import Check, CheckContext

if TYPE_CHECKING:
    from opentrust.report.model import Section
    from opentrust.target import Target


class ScanCheck(Check):
    name = "scan"
    title = "Artifact scan (pickle, torch, numpy, joblib, Keras, ONNX, safetensors, GGUF, code, archives)"
    order = 20

    def skip_reason(self, target: "Target") -> str | None:
        return "endpoints have no files to scan" if target.kind == "endpoint" or target.path is None else None

    def parameters(self, ctx: CheckContext) -> dict[str, object]:
        return {"path": str(ctx.target.path), "seconds_per_file": 60.0}

    async def run(self, ctx: CheckContext) -> "Section":
        import asyncio

        from opentrust.findings import Measurement
        from opentrust.report.model import Section, Table
        from opentrust.scan.dispatch import scan_paths
        from opentrust.scan.report import sorted_findings, to_json_dict

        assert ctx.target.path is not None
        result = await asyncio.to_thread(scan_paths, [ctx.target.path],
                                         progress=lambda d, c, t: ctx.progress(d, c, t))
        findings = sorted_findings(result.findings)
        for f in findings:
            f.check = self.name
        worst = findings[0].severity.value if findings else None
        summary = (f"{len(result.files)} file(s) scanned in {result.seconds:.2f} s: "
                   + (f"{len(findings)} finding(s), worst {worst}." if findings else "no findings."))
        return Section(
            check=self.name, title=self.title, status="findings" if findings else "ok", summary=summary,
            findings=findings,
            measurements=[
                Measurement(name="scan.files", value=float(len(result.files)), unit="files", label="Files scanned"),
                Measurement(name="scan.bytes_read", value=float(result.bytes_read), unit="bytes",
                            label="Bytes inspected", method="headers and pickle streams only, never tensor data"),
                Measurement(name="scan.seconds", value=result.seconds, unit="s", label="Scan time"),
            ],
            tables=[Table(title="Files", columns=["file", "format", "findings", "worst", "seconds"],
                          rows=[[r.path, r.format, r.findings, r.max_severity or "-", r.seconds]
                                for r in result.files])],
            facts={"files": len(result.files), "formats": sorted({r.format for r in result.files})},
            data={"scan": to_json_dict(result)},
        )
