"""Audit check: the datasets shipped inside a model folder — their card, licences and benchmark contamination
(``opentrust data`` on those files). Skipped when the folder ships no data files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from opentrust.checks.base import Check, CheckContext

if TYPE_CHECKING:
    from opentrust.report.model import Section
    from opentrust.target import Target

DATA_SUFFIXES = (".jsonl", ".parquet", ".arrow", ".csv", ".tsv", ".jsonl.gz", ".jsonl.zst", ".csv.gz")
MAX_WALK = 5000


def shipped_data(folder: Path) -> tuple[list[Path], Path | None]:
    """Data files and a data card (data_card.md, dataset_card.md, datasheet.md) inside a model folder."""
    from opentrust.openness.evidence import DATA_CARD_FILE

    files: list[Path] = []
    card = None
    for n, p in enumerate(sorted(folder.rglob("*"))):
        if n > MAX_WALK:
            break
        if p.is_symlink() or not p.is_file() or any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        if p.name.lower().endswith(DATA_SUFFIXES) and p.name != "data_config.json":
            files.append(p)
        elif DATA_CARD_FILE.match(p.name) and card is None:
            card = p
    return files, card


class DataCheck(Check):
    name = "data"
    title = "Datasets shipped with the model (card, licences, contamination)"
    order = 35

    def skip_reason(self, target: "Target") -> str | None:
        if target.kind != "folder" or target.path is None:
            return "only a model folder can ship datasets"
        files, _ = shipped_data(target.path)
        return None if files else "the model folder ships no dataset files"

    async def run(self, ctx: CheckContext) -> "Section":
        from opentrust.datascan.card import assess_card, assess_licences, card_findings
        from opentrust.datascan.report import section
        from opentrust.datascan.run import Options, _plain, scan_data

        assert ctx.target.path is not None
        folder = ctx.target.path
        files, card_path = shipped_data(folder)
        ctx.progress("data: shipped datasets", 0, 1)
        result = scan_data(files, Options(pii=False, secrets=False, duplicates=False))
        rel = str(card_path.relative_to(folder)) if card_path else None
        card = assess_card(card_path, rel, {}, None) if card_path else {
            "path": None, "croissant": None, "fields": [], "present": 0, "required": 0, "missing": [],
            "completeness": 0.0}
        licenses, lic_findings = assess_licences(card_path, rel, [], {}, None, {})
        result["card"] = card
        result["licenses"] = licenses
        extra = [_plain(f) for f in card_findings(card, folder=True) + lic_findings]
        for f in extra:
            if f["rule_id"] == "DATA-CARD-MISSING":
                f["message"] = "the model folder ships data files but no data card (data_card.md / datasheet.md)"
        result["findings"].extend(extra)
        ctx.progress("data: shipped datasets", 1, 1)
        sec = section(result)
        sec.title = self.title
        sec.parameters = {"files": [str(p.relative_to(folder)) for p in files], "card": rel}
        return sec
