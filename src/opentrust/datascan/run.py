"""One pass over a dataset: read each file as a stream of rows and feed every check from the same rows.

The result is a plain dict, the JSON of ``opentrust data --format json`` (``opentrust.results.data.DataResult``
reads it back). Memory stays flat: rows are dropped once scanned; findings kept in full are capped per rule and
entity (the counts are always complete); the duplicate and contamination indexes are bounded (see their
modules).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from opentrust._version import __version__
from opentrust.datascan import ngrams
from opentrust.datascan.readers import DataFile, DataReadError, Row, discover, iter_rows

SCHEMA_VERSION = "1.0"
MAX_FINDINGS_PER_LABEL = 100  # findings listed per (rule, entity or kind, file); counts are complete
MAX_BAD_ROW_EXAMPLES = 5
PREVIEW_ROWS = 5
CONTAMINATION_BATCH = 2048
LICENCE_FIELDS = {"license", "licence", "license_name", "licenses", "licence_name"}
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")

PII_SEVERITY = {"CREDIT_CARD": "high", "IBAN": "high", "US_SSN": "high", "UK_NINO": "high", "EMAIL": "medium",
                "PHONE": "medium", "STREET_ADDRESS": "medium", "PERSON": "low", "LOCATION": "low",
                "IP_ADDRESS": "low", "URL": "info"}
PII_REMEDY = ("remove or pseudonymise personal data before training or publishing (opentrust data --redact-preview "
              "shows the redacted rows), or document the legal basis in the card's 'Personal and sensitive "
              "information' section")
SECRET_REMEDY = "revoke the credential now (it is in the data), then remove it from every copy of the dataset"


@dataclass
class Options:
    fields: list[str] | None = None
    sample: int | None = None  # scan a seeded random sample of this many rows of each file
    seed: int = 0  # the sample's seed (each file's sample is drawn with "seed:path")
    against: list[str] = field(default_factory=list)
    builtin_benchmarks: bool = True
    redact_preview: bool = False
    pii: bool = True
    secrets: bool = True
    duplicates: bool = True
    contamination: bool = True
    max_findings_per_label: int = MAX_FINDINGS_PER_LABEL


def _rows_for_against(path: Path) -> Iterator[tuple[str, int, str]]:
    for f in discover([path]):
        if f.skipped:
            continue
        try:
            for row in iter_rows(f):
                text = "\n".join(t for _, t in row.fields)
                if text:
                    yield f.rel, row.index, text
        except DataReadError:
            continue


def scan_data(paths: list[Path], opts: Options | None = None,
              progress: Callable[[str, int, int], None] | None = None, executor: Any = None) -> dict[str, Any]:
    """``executor``: on Ray (``opentrust.executor``), each file's personal-data and secrets pass (the costly part)
    runs as a task; duplicates and contamination need every row in one index, so the driver reads the rows again
    for them. The result is the same as the local one."""
    opts = opts or Options()
    t_start = time.perf_counter()
    from opentrust.datascan.card import (assess_card, assess_licences, card_findings, read_croissant)
    from opentrust.datascan.contamination import ContaminationIndex, builtin_benchmarks, load_against
    from opentrust.datascan.duplicates import Deduplicator
    from opentrust.datascan.textscan import TextScanner, redact

    files = discover(paths)
    findings: list[dict[str, Any]] = []
    listed: Counter[tuple[str, str, str]] = Counter()
    omitted = 0
    pii_counts: Counter[str] = Counter()
    secret_counts: Counter[str] = Counter()
    rows_with_pii = 0
    rows_with_secrets = 0
    notes: list[str] = []
    row_licences: Counter[str] = Counter()
    preview: list[dict[str, Any]] = []

    benchmarks = []
    if opts.contamination:
        if opts.builtin_benchmarks:
            benchmarks.extend(builtin_benchmarks())
        for spec in opts.against:
            benchmarks.append(load_against(spec, _rows_for_against))
    index = ContaminationIndex(benchmarks) if benchmarks else None
    dedup = Deduplicator() if opts.duplicates else None
    scanner = TextScanner(pii=opts.pii, secrets=opts.secrets)

    def add_finding(f: dict[str, Any], label: str) -> None:
        nonlocal omitted
        key = (f["rule_id"], label, f.get("path") or "")
        if listed[key] >= opts.max_findings_per_label:
            omitted += 1
            return
        listed[key] += 1
        findings.append(f)

    file_entries: list[dict[str, Any]] = []
    data_files = [f for f in files if not f.skipped]
    remote: dict[int, dict[str, Any]] | None = None
    remote_chars = 0
    if executor is not None and executor.name != "local":
        remote = {}
        # absolute paths: a task runs in its worker's own folder (the files are at the same path on every node)
        jobs = [(replace(f, path=f.path.absolute()), opts, n) for n, f in enumerate(files) if not f.skipped]
        for done in executor.map(text_pass, jobs):
            remote[done["n_file"]] = done
            if progress:
                progress("data: personal data and secrets", len(remote), len(jobs))
        quiet = TextScanner(pii=False, secrets=False)
    for n_file, f in enumerate(files):
        entry: dict[str, Any] = {"path": f.rel, "format": f.format, "compression": f.compression, "rows": 0,
                                 "bytes": f.size, "text_chars": 0, "seconds": 0.0, "skipped": f.skipped,
                                 "note": f.note or None, "error": None, "sampled": False,
                                 "rows_read": None}
        file_entries.append(entry)
        if f.skipped:
            if f.format in ("binary", "unknown"):
                notes.append(f"{f.rel}: {f.note}")
            continue
        if progress:
            progress(f"data: {f.rel}", data_files.index(f), len(data_files))
        t0 = time.perf_counter()
        bad: list[tuple[int, str]] = []
        pending: list[tuple[int, int, list[int]]] = []
        last_pii_row = last_secret_row = -1
        preview_rows: dict[int, list[tuple[str, str]]] = {}
        row_hits: dict[int, list[Any]] = {}
        chars_before = scanner.chars

        def handle(hits: list[Any]) -> None:
            nonlocal last_pii_row, last_secret_row, rows_with_pii, rows_with_secrets
            for h in hits:
                if h.row in preview_rows:
                    row_hits.setdefault(h.row, []).append(h)
                if h.category == "pii":
                    pii_counts[h.label] += 1
                    if h.row != last_pii_row:
                        rows_with_pii += 1
                        last_pii_row = h.row
                    add_finding({"rule_id": f"DATA-PII-{h.label}", "severity": PII_SEVERITY.get(h.label, "medium"),
                                 "title": f"personal data: {h.label}", "path": f.rel, "row": h.row,
                                 "column": h.field, "start": h.start, "end": h.end, "entity": h.label, "kind": None,
                                 "evidence": h.excerpt, "remedy": PII_REMEDY,
                                 "message": f"{h.label} in row {h.row}, field '{h.field}', characters "
                                            f"{h.start}-{h.end}"}, h.label)
                else:
                    secret_counts[h.label] += 1
                    if h.row != last_secret_row:
                        rows_with_secrets += 1
                        last_secret_row = h.row
                    add_finding({"rule_id": "DATA-SECRET", "severity": "critical" if h.label == "private_key" else "high",
                                 "title": f"secret: {h.label}", "path": f.rel, "row": h.row, "column": h.field,
                                 "start": h.start, "end": h.end, "entity": None, "kind": h.label,
                                 "evidence": h.excerpt, "remedy": SECRET_REMEDY,
                                 "message": f"{h.label} in row {h.row}, field '{h.field}', characters "
                                            f"{h.start}-{h.end} (value starts {h.value[:4]}…)"}, h.label)

        if remote is not None:  # the text pass ran on the cluster: its hits, in the order the local pass finds them
            r = remote[n_file]
            if dedup is not None or index is not None:
                read_rows(f, n_file, opts, quiet, lambda hits: None, dedup, index, pending, Counter(), [], {})
            preview_rows.update(r["preview"])  # before the hits: they redact the preview
            handle(r["hits"])
            bad[:], rows, error = r["bad"], r["rows"], r["error"]
            row_licences.update(r["row_licences"])
            entry["rows_read"], entry["sampled"] = r["rows_read"], r["sampled"]
            remote_chars += r["chars"]
        else:
            rows, error, entry["rows_read"], entry["sampled"] = read_rows(
                f, n_file, opts, scanner, handle, dedup, index, pending, row_licences, bad, preview_rows)
        if error is not None:
            entry["error"] = str(error)
            findings.append({"rule_id": "DATA-READ-ERROR", "severity": "high", "title": "damaged or truncated file",
                             "path": f.rel, "row": error.rows or rows, "column": None, "start": None, "end": None,
                             "entity": None, "kind": None, "evidence": "", "message": str(error),
                             "remedy": "the rows after the damage were not scanned: re-create or re-download the "
                                       "file and scan it again"})
        handle(scanner.flush())
        if index is not None and pending:
            index.add_batch(pending)
        if bad:
            findings.append({"rule_id": "DATA-BAD-ROWS", "severity": "low", "title": "rows that could not be parsed",
                             "path": f.rel, "row": bad[0][0], "column": None, "start": None, "end": None,
                             "entity": None, "kind": None,
                             "evidence": "; ".join(f"row {i}: {why[:120]}" for i, why in bad[:MAX_BAD_ROW_EXAMPLES]),
                             "message": f"{len(bad)} row(s) skipped as unreadable", "remedy": "fix or drop those rows"})
        for i, fields in preview_rows.items():
            hits_by_field: dict[str, list[Any]] = {}
            for h in row_hits.get(i, []):
                hits_by_field.setdefault(h.field, []).append(h)
            preview.append({"path": f.rel, "row": i,
                            "fields": {name: redact(text, hits_by_field.get(name, []))[:2000] for name, text in fields}})
        entry["rows"] = rows
        entry["text_chars"] = scanner.chars - chars_before + (r["chars"] if remote is not None else 0)
        entry["seconds"] = round(time.perf_counter() - t0, 4)

    # -- card and licences (folders) -----------------------------------------------------------------------
    card = licenses = None
    for root in paths:
        if not root.is_dir():
            continue
        card_file = next((f for f in files if f.format == "card" and f.path.parent == root), None)
        if card_file is None:
            card_file = next((f for f in files if f.format == "card"), None)
        croissant, croissant_rel = read_croissant(root)
        card = assess_card(card_file.path if card_file else None, card_file.rel if card_file else None,
                           croissant, croissant_rel)
        if card_file is None and croissant_rel is None:
            card = {"path": None, "croissant": None, "fields": [], "present": 0, "required": 0, "missing": [],
                    "completeness": 0.0}
        for cf in card_findings(card, folder=True):
            findings.append(_plain(cf))
        licence_files = [(f.path, f.rel) for f in files if f.format == "license"]
        licenses, lic_findings = assess_licences(card_file.path if card_file else None,
                                                 card_file.rel if card_file else None, licence_files, croissant,
                                                 croissant_rel, dict(row_licences))
        findings.extend(_plain(x) for x in lic_findings)
        break  # one dataset folder per run (the first): several folders are several datasets
    if licenses is None and row_licences:
        licenses, lic_findings = assess_licences(None, None, [], {}, None, dict(row_licences))
        findings.extend(_plain(x) for x in lic_findings if x["rule_id"] != "DATA-LICENSE-MISSING")

    # -- duplicates and contamination -------------------------------------------------------------------------
    duplicates = None
    if dedup is not None:
        st = dedup.result()
        rel = [f.rel for f in files]
        duplicates = {
            "rows": st.rows, "exact": st.exact, "exact_rate": _rate(st.exact, st.rows),
            "near": st.near, "near_rate": _rate(st.near, st.near_checked), "near_checked": st.near_checked,
            "method": {"exact": "BLAKE2b of lower-cased, whitespace-collapsed row text",
                       "near": f"MinHash ({_dd().NUM_PERM} values, word {_dd().SHINGLE}-grams), LSH {_dd().BANDS}x"
                               f"{_dd().ROWS}, estimated Jaccard >= {_dd().THRESHOLD}",
                       "min_tokens": _dd().MIN_TOKENS},
            "indexed": {"exact": st.exact_indexed, "near": st.near_indexed},
            "examples": {
                "exact": [{"first": _loc(a, rel), "duplicate": _loc(b, rel)} for a, b in st.exact_examples],
                "near": [{"first": _loc(a, rel), "duplicate": _loc(b, rel), "jaccard": j}
                         for a, b, j in st.near_examples]},
        }
        if st.exact or st.near:
            sev = "low" if _rate(st.exact + st.near, st.rows) < 0.05 else "medium"
            findings.append({"rule_id": "DATA-DUPLICATES", "severity": sev, "title": "duplicate rows",
                             "path": None, "row": None, "column": None, "start": None, "end": None, "entity": None,
                             "kind": None, "evidence": "", "remedy": "deduplicate before training; duplicates weigh "
                                                                     "their content more and leak across splits",
                             "message": f"{st.exact} exact and {st.near} near-duplicate rows of {st.rows}"})
    contamination: list[dict[str, Any]] = []
    if index is not None:
        rel = [f.rel for f in files]
        contamination = index.summary()
        for c in contamination:
            for ex in c["examples"]:
                ex["path"] = rel[ex.pop("file")] if ex.get("file") is not None else None
            flagged = max(c["gpt3_13gram"]["contaminated"], c["palm_8gram_70"]["contaminated"],
                          c["llama2_token"]["dirty"])
            if flagged:
                ex = c["examples"][0] if c["examples"] else {}
                findings.append({
                    "rule_id": "DATA-CONTAMINATION", "severity": "high",
                    "title": f"benchmark items of {c['benchmark']} appear in the data", "path": ex.get("path"),
                    "row": ex.get("row"), "column": None, "start": None, "end": None, "entity": None, "kind": None,
                    "evidence": ", ".join(e["item"] for e in c["examples"]),
                    "message": f"{c['benchmark']}: GPT-3 {c['gpt3_13gram']['n']}-gram {c['gpt3_13gram']['contaminated']}"
                               f", PaLM 70% of 8-grams {c['palm_8gram_70']['contaminated']}, Llama 2 dirty "
                               f"{c['llama2_token']['dirty']} of {c['checked_items']} items",
                    "remedy": "remove the overlapping rows before training, or do not report results on this "
                              "benchmark for a model trained on this data"})

    total_chars = scanner.chars + remote_chars
    mb = total_chars / 1e6
    findings.sort(key=lambda x: (SEVERITY_ORDER.index(x["severity"]), x["path"] or "", x["row"] or 0,
                                 x["start"] or 0))
    by_sev = {s: 0 for s in SEVERITY_ORDER}
    for f_ in findings:
        by_sev[f_["severity"]] += 1
    seconds = round(time.perf_counter() - t_start, 3)
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "kind": "data", "tool": {"name": "opentrust", "version": __version__},
        "paths": [str(p) for p in paths],
        "parameters": {"fields": opts.fields, "sample": opts.sample, "seed": opts.seed, "against": opts.against,
                       "builtin_benchmarks": opts.builtin_benchmarks},
        "files": file_entries,
        "findings": findings,
        "pii": {"counts": dict(pii_counts.most_common()), "per_mb": {k: round(v / mb, 3) if mb else None
                                                                     for k, v in pii_counts.most_common()},
                "rows_with_pii": rows_with_pii, "mb_scanned": round(mb, 3)},
        "secrets": {"counts": dict(secret_counts.most_common()), "rows_with_secrets": rows_with_secrets},
        "duplicates": duplicates,
        "contamination": contamination,
        "licenses": licenses,
        "card": card,
        "notes": notes,
        "summary": {"files": len([f for f in files if not f.skipped]), "skipped": len([f for f in files if f.skipped]),
                    "rows": sum(e["rows"] for e in file_entries), "bytes": sum(e["bytes"] for e in file_entries),
                    "seconds": seconds, "mb_per_s": round(mb / seconds, 2) if seconds else None,
                    "findings_by_severity": by_sev, "findings_omitted": omitted},
    }
    if opts.redact_preview:
        result["preview"] = preview
    return result


def read_rows(f: DataFile, n_file: int, opts: Options, scanner: Any, handle: Callable[[list[Any]], None], dedup: Any,
              index: Any, pending: list[tuple[int, int, list[int]]], row_licences: Counter[str],
              bad: list[tuple[int, str]], preview_rows: dict[int, list[tuple[str, str]]],
              ) -> tuple[int, DataReadError | None, int | None, bool]:
    """Feed every row of ``f`` (or its seeded sample) to the checks. Returns (rows scanned, the read error that
    ended the file early or None, rows read when sampling, whether it was sampled)."""
    rows = 0
    seen: int | None = None
    sampled = False
    try:
        source: Iterable[Row] = iter_rows(f, opts.fields, bad)
        late_error: DataReadError | None = None
        if opts.sample is not None:  # a seeded random sample of the file's rows, scanned in file order
            source, seen, late_error = reservoir(source, opts.sample, random.Random(f"{opts.seed}:{f.rel}"))
            sampled = seen > opts.sample
        for row in source:
            rows += 1
            # kept before the row is scanned: a long field is scanned at once, and its hits must redact the preview
            if opts.redact_preview and len(preview_rows) < PREVIEW_ROWS and row.fields:
                preview_rows[row.index] = list(row.fields)
            _scan_row(row, n_file, scanner, handle, dedup, index, pending, row_licences, opts)
            if index is not None and len(pending) >= CONTAMINATION_BATCH:
                index.add_batch(pending)
                pending.clear()
        if late_error is not None:
            raise late_error
    except DataReadError as exc:
        return rows, exc, seen, sampled
    return rows, None, seen, sampled


def text_pass(job: tuple[DataFile, Options, int]) -> dict[str, Any]:
    """One file's personal-data and secrets pass, as a Ray task runs it (``scan_data`` with an executor): the hits
    in the order the local pass finds them, and what the file entry needs. Plain data: it crosses machines."""
    from opentrust.datascan.textscan import TextScanner

    f, opts, n_file = job
    scanner = TextScanner(pii=opts.pii, secrets=opts.secrets)
    hits: list[Any] = []
    bad: list[tuple[int, str]] = []
    preview: dict[int, list[tuple[str, str]]] = {}
    licences: Counter[str] = Counter()
    rows, error, seen, sampled = read_rows(f, n_file, opts, scanner, hits.extend, None, None, [], licences, bad,
                                           preview)
    hits.extend(scanner.flush())
    return {"n_file": n_file, "hits": hits, "rows": rows, "error": error, "rows_read": seen, "sampled": sampled,
            "bad": bad, "preview": preview, "row_licences": licences, "chars": scanner.chars}


def reservoir(rows: Iterable[Row], n: int, rng: random.Random) -> tuple[list[Row], int, DataReadError | None]:
    """A uniform random sample of ``n`` of ``rows`` (Vitter's algorithm R over the stream: every row is read, at
    most ``n`` are held), in file order, with how many rows were read and the read error that ended the stream
    early, if any (the sample is then drawn from the rows before it)."""
    sample: list[Row] = []
    seen = 0
    error = None
    try:
        for row in rows:
            if seen < n:
                sample.append(row)
            else:
                j = rng.randrange(seen + 1)
                if j < n:
                    sample[j] = row
            seen += 1
    except DataReadError as exc:
        error = exc
    sample.sort(key=lambda r: r.index)
    return sample, seen, error


def _dd() -> Any:
    from opentrust.datascan import duplicates

    return duplicates


_LICENCE_NAMES: dict[str, bool] = {}  # field name -> is a licence column (field names repeat every row)


def _scan_row(row: Row, n_file: int, scanner: Any, handle: Callable[[list[Any]], None], dedup: Any, index: Any,
              pending: list[tuple[int, int, list[int]]], row_licences: Counter[str], opts: Options) -> None:
    hits = scanner.add_fields(row.index, row.fields)
    if hits:
        handle(hits)
    for name, text in row.fields:
        is_licence = _LICENCE_NAMES.get(name)
        if is_licence is None:
            is_licence = name.lower() in LICENCE_FIELDS
            if len(_LICENCE_NAMES) < 10_000:  # bounded: indexed names (tokens[12345]) need not repeat
                _LICENCE_NAMES[name] = is_licence
        if is_licence and len(text) < 200 and len(row_licences) < 1000:
            row_licences[text.strip()] += 1
    if dedup is None and index is None:
        return
    joined = "\n".join(t for _, t in row.fields)
    toks = ngrams.token_hashes(ngrams.TOKEN.findall(joined.lower()))
    if dedup is not None:
        dedup.add(n_file, row.index, joined, toks)
    if index is not None and len(toks) >= 8:
        pending.append((n_file, row.index, toks))


def _rate(k: int, n: int) -> float | None:
    return round(k / n, 5) if n else None


def _loc(loc: Any, rel: list[str]) -> dict[str, Any]:
    return {"path": rel[loc.file], "row": loc.row}


def _plain(f: dict[str, Any]) -> dict[str, Any]:
    return {"rule_id": f["rule_id"], "severity": f["severity"], "title": f["title"], "path": f.get("path"),
            "row": None, "column": None, "start": None, "end": None, "entity": None, "kind": None,
            "evidence": f.get("evidence", ""), "message": f["message"], "remedy": f["remedy"]}


def failed(result: dict[str, Any], threshold: Any) -> bool:
    if threshold is None:
        return False
    rank = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
    return any(rank[f["severity"]] >= threshold.rank for f in result["findings"])
