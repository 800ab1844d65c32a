"""The JSON of `opentrust data --format json` (README documents each field). The scan writes a plain dict;
this model reads it back (``opentrust.read_result``) and the drift test holds the two together."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field

from opentrust.results.base import Part, ResultBase

SCHEMA_VERSION = "1.0"


class Tool(Part):
    name: str = "opentrust"
    version: str


class DataFileEntry(Part):
    path: str = Field(description="File path relative to the scanned folder.")
    format: str = Field(description="jsonl, json, csv, tsv, parquet, arrow, text; card, license (read by those "
                                    "checks), binary or unknown (skipped).")
    compression: Optional[str] = Field(description="gzip, zstd, bz2, xz or null.")
    rows: int
    bytes: int = Field(description="Size on disk.")
    text_chars: int = Field(description="Characters of text scanned.")
    seconds: float
    skipped: bool
    note: Optional[str] = None
    error: Optional[str] = Field(None, description="Why reading stopped early (truncated or damaged file).")
    sampled: bool = Field(False, description="True when --sample scanned a random sample of the file's rows "
                                             "(fewer than it holds).")
    rows_read: Optional[int] = Field(None, description="With --sample: the rows read to draw the sample from "
                                                       "(every row of the file; 'rows' were scanned).")


class DataFinding(Part):
    rule_id: str
    severity: Literal["critical", "high", "medium", "low", "info"]
    title: str
    message: str
    path: Optional[str]
    row: Optional[int] = Field(description="0-based row (JSONL line, CSV record, array element, batch row).")
    column: Optional[str] = Field(description="The field: column name or JSON path such as messages[1].content.")
    start: Optional[int] = Field(description="Character offset of the item within the field's text.")
    end: Optional[int]
    entity: Optional[str] = Field(description="Personal data type: EMAIL, PHONE, CREDIT_CARD, IBAN, US_SSN, "
                                              "UK_NINO, IP_ADDRESS...")
    kind: Optional[str] = Field(description="Secret kind (the rule of opentrust.detectors.secrets).")
    evidence: str = Field(description="The text around the item with every item found there redacted.")
    remedy: str


class PiiBlock(Part):
    counts: dict[str, int]
    per_mb: dict[str, Optional[float]]
    rows_with_pii: int
    mb_scanned: float


class SecretsBlock(Part):
    counts: dict[str, int]
    rows_with_secrets: int


class DuplicatesBlock(Part):
    rows: int
    exact: int
    exact_rate: Optional[float]
    near: int
    near_rate: Optional[float] = Field(description="Near duplicates among the rows long enough to check.")
    near_checked: int
    method: dict[str, Any]
    indexed: dict[str, int]
    examples: dict[str, list[dict[str, Any]]]


class ContaminationEntry(Part):
    benchmark: str
    source: str
    items: int
    checked_items: int
    too_short: int
    gpt3_13gram: dict[str, Any]
    palm_8gram_70: dict[str, Any]
    llama2_token: dict[str, Any]
    examples: list[dict[str, Any]]


class LicensesBlock(Part):
    found: list[dict[str, Any]]
    spdx: list[str]
    conflicts: list[dict[str, Any]]
    non_commercial: list[str]
    no_derivatives: list[str]
    open: bool


class CardBlock(Part):
    path: Optional[str]
    croissant: Optional[str]
    fields: list[dict[str, Any]]
    present: int
    required: int
    missing: list[str]
    completeness: float


class DataSummary(Part):
    files: int
    skipped: int
    rows: int
    bytes: int
    seconds: float
    mb_per_s: Optional[float]
    findings_by_severity: dict[str, int]
    findings_omitted: int = Field(description="Findings not listed (each rule and entity lists at most 100; the "
                                              "counts in pii and secrets are complete).")


class DataResult(ResultBase):
    """The result of `opentrust data`."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["data"] = "data"
    tool: Tool
    paths: list[str]
    parameters: dict[str, Any]
    files: list[DataFileEntry]
    findings: list[DataFinding]
    pii: PiiBlock
    secrets: SecretsBlock
    duplicates: Optional[DuplicatesBlock]
    contamination: list[ContaminationEntry]
    licenses: Optional[LicensesBlock]
    card: Optional[CardBlock]
    notes: list[str]
    summary: DataSummary
    preview: Optional[list[dict[str, Any]]] = Field(None, description="--redact-preview: the first rows of each "
                                                                      "file, redacted.")
