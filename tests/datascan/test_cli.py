"""`opentrust data` end to end through the real console entry point."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import jsonschema

from opentrust.results import json_schema, parse_result
from opentrust.results.base import undeclared
from tests.conftest import run_cli, sarif_schema
from tests.datascan.conftest import PLANTED, planted_rows, write_jsonl


def _json(proc) -> dict:
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_dataset_folder_json_reads_back_and_finds_everything(dataset_folder: Path) -> None:
    proc = run_cli("data", str(dataset_folder), "--format", "json", "--no-builtin-benchmarks")
    doc = _json(proc)
    assert proc.returncode == 1  # secrets (high) at the default --fail-on high
    result = parse_result(doc)
    assert result.kind == "data" and undeclared(result) == []
    jsonschema.validate(doc, json_schema("data"))
    files = {f["path"]: f for f in doc["files"]}
    assert files["data/train.jsonl"]["rows"] == 40 and files["data/test.parquet"]["rows"] == 20
    assert files["README.md"]["format"] == "card" and files["LICENSE"]["format"] == "license"
    # personal data: every planted entity, in the JSONL and again in the Parquet's text and messages columns
    assert set(doc["pii"]["counts"]) == {p[0] for p in PLANTED if p[0].isupper()}
    assert set(doc["secrets"]["counts"]) == {"github_token", "aws_access_key_id"}
    email = next(f for f in doc["findings"] if f["entity"] == "EMAIL" and f["path"] == "data/train.jsonl")
    assert (email["row"], email["column"], email["severity"]) == (3, "text", "medium")
    text = planted_rows()[3]["text"]
    assert text[email["start"]:email["end"]] == "maria.keller@example.org"
    assert "maria.keller" not in json.dumps(doc["findings"])  # evidence is redacted
    assert any(f["column"] == "messages[0].content" for f in doc["findings"] if f["path"] == "data/test.parquet")
    assert doc["duplicates"]["exact"] == 10
    assert {e["duplicate"]["path"] for e in doc["duplicates"]["examples"]["exact"]} == {"data/validation.jsonl"}
    # card and licences
    assert doc["card"]["path"] == "README.md" and "personal_data" in doc["card"]["missing"]
    assert doc["licenses"]["spdx"] == ["CC-BY-NC-4.0", "MIT"] and doc["licenses"]["non_commercial"]
    rules = {f["rule_id"] for f in doc["findings"]}
    assert {"DATA-SECRET", "DATA-LICENSE-MISMATCH", "DATA-LICENSE-TERMS", "DATA-CARD-INCOMPLETE",
            "DATA-DUPLICATES", "DATA-PII-CREDIT_CARD"} <= rules


def test_exit_codes_sarif_and_html(dataset_folder: Path, tmp_path: Path) -> None:
    sarif = tmp_path / "d.sarif"
    proc = run_cli("data", str(dataset_folder / "data" / "train.jsonl"), "--format", "sarif", "--out", str(sarif),
                   "--fail-on", "critical", "--no-builtin-benchmarks")
    assert proc.returncode == 0, proc.stderr  # nothing critical: no private key planted
    doc = json.loads(sarif.read_text())
    jsonschema.validate(doc, sarif_schema())
    assert any(r["ruleId"] == "DATA-PII-IBAN" for r in doc["runs"][0]["results"])
    html = tmp_path / "d.html"
    proc = run_cli("data", str(dataset_folder), "--format", "html", "--out", str(html), "--fail-on", "none",
                   "--no-builtin-benchmarks")
    assert proc.returncode == 0 and "<html" in html.read_text()[:500].lower()
    assert "Card fields" in html.read_text() and "maria.keller" not in html.read_text()
    clean = write_jsonl(tmp_path / "clean.jsonl", [{"text": "nothing to see here at all"}] * 2)
    proc = run_cli("data", str(clean), "--format", "json", "--fail-on", "low", "--no-builtin-benchmarks")
    assert proc.returncode == 1 and json.loads(proc.stdout)["duplicates"]["exact"] == 1  # a duplicate is low
    proc = run_cli("data", str(clean), "--fail-on", "high", "--no-builtin-benchmarks")
    assert proc.returncode == 0 and "Summary" in proc.stdout


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    proc = run_cli("data", str(tmp_path / "missing.jsonl"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no such file" in proc.stderr
    proc = run_cli("data", str(tmp_path), "--format", "xml")
    assert proc.returncode == 2 and "unknown format" in proc.stderr
    proc = run_cli("data", str(tmp_path), "--against", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2 and "--against" in proc.stderr and "Traceback" not in proc.stderr


def test_damaged_files_are_findings_not_tracebacks(tmp_path: Path) -> None:
    full = write_jsonl(tmp_path / "full.jsonl.gz", planted_rows(40) * 50)
    (tmp_path / "cut.jsonl.gz").write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    full.unlink()
    (tmp_path / "bad.parquet").write_bytes(b"PAR1" + b"\x00" * 100 + b"PAR1")
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 8)
    proc = run_cli("data", str(tmp_path), "--format", "json", "--no-builtin-benchmarks")
    assert "Traceback" not in proc.stderr
    doc = _json(proc)
    errors = {f["path"]: f for f in doc["findings"] if f["rule_id"] == "DATA-READ-ERROR"}
    assert set(errors) == {"cut.jsonl.gz", "bad.parquet"} and "truncated" in errors["cut.jsonl.gz"]["message"]
    assert {f["path"]: f["rows"] for f in doc["files"]}["cut.jsonl.gz"] > 100
    assert any("blob.bin" in n for n in doc["notes"])


def test_sample_field_preview_and_against(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", planted_rows(40))
    proc = run_cli("data", str(data), "--format", "json", "--sample", "5", "--redact-preview",
                   "--no-builtin-benchmarks")
    doc = _json(proc)
    assert doc["files"][0]["rows"] == 5 and doc["files"][0]["sampled"] and doc["files"][0]["rows_read"] == 40
    sampled = [p["row"] for p in doc["preview"]]  # the preview shows the (first five) scanned rows
    assert len(sampled) == 5 and sampled == sorted(sampled) and doc["parameters"]["seed"] == 0
    planted = {3 + 4 * k: label for k, (label, _) in enumerate(PLANTED)}
    assert sorted(doc["pii"]["counts"].items()) == sorted(
        Counter(planted[r] for r in sampled if r in planted and planted[r].isupper()).items())
    proc = run_cli("data", str(data), "--format", "json", "--redact-preview", "--no-builtin-benchmarks")
    row3 = next(p for p in _json(proc)["preview"] if p["row"] == 3)
    assert "[EMAIL]" in row3["fields"]["text"] and "maria" not in row3["fields"]["text"]
    proc = run_cli("data", str(data), "--format", "json", "--field", "meta", "--no-builtin-benchmarks")
    assert _json(proc)["pii"]["counts"] == {}
    # --against a dataset: the benchmark's rows are in the data
    bench = write_jsonl(tmp_path / "bench.jsonl", [{"question": r["text"]} for r in planted_rows(40)[:10]])
    proc = run_cli("data", str(data), "--format", "json", "--against", str(bench), "--no-builtin-benchmarks",
                   "--fail-on", "none")
    doc = _json(proc)
    (c,) = doc["contamination"]
    assert c["benchmark"] == "data:bench.jsonl" and c["checked_items"] == 10
    assert c["gpt3_13gram"]["contaminated"] == c["palm_8gram_70"]["contaminated"] == c["llama2_token"]["dirty"] == 10
    assert any(f["rule_id"] == "DATA-CONTAMINATION" for f in doc["findings"])


def test_builtin_probes_planted_in_a_dataset_are_found(tmp_path: Path) -> None:
    from opentrust.redteam.catalogue import load_catalogue

    probes = [p for p in load_catalogue(include_plugins=False) if p.category == "prompt_injection"][:3]
    rows = [{"text": r["text"]} for r in planted_rows(30)]
    for i, p in enumerate(probes):
        rows[5 + 7 * i]["text"] = "User said: " + "\n".join(m.content for m in p.messages if m.content)
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    proc = run_cli("data", str(data), "--format", "json", "--fail-on", "none")
    doc = _json(proc)
    pi = next(c for c in doc["contamination"] if c["benchmark"] == "probes:prompt_injection")
    assert pi["llama2_token"]["dirty"] >= 3 and pi["gpt3_13gram"]["contaminated"] >= 3
    assert {e["item"] for e in pi["examples"]} >= {p.id for p in probes}
    assert {e["row"] for e in pi["examples"]} <= {5, 12, 19}  # (they share a 13-word system prompt)
    others = [c for c in doc["contamination"] if c["benchmark"].startswith("suite:")]
    assert all(c["gpt3_13gram"]["contaminated"] == 0 for c in others)


def test_sample_is_a_seeded_random_sample_not_the_first_rows(tmp_path: Path) -> None:
    """--sample N draws N rows at random from the whole file (a reservoir over the stream): not the first N, the
    same rows for the same --seed, other rows for another seed, scanned in file order."""
    data = write_jsonl(tmp_path / "d.jsonl", planted_rows(200))

    def rows(*extra: str) -> list[int]:
        proc = run_cli("data", str(data), "--format", "json", "--sample", "5", "--redact-preview",
                       "--no-builtin-benchmarks", *extra)
        return [p["row"] for p in _json(proc)["preview"]]

    first, again, other = rows(), rows("--seed", "0"), rows("--seed", "7")
    assert first == again and first != other and first != [0, 1, 2, 3, 4] and first == sorted(first)
    assert max(first + other) >= 40  # drawn from the whole file, not a prefix
    proc = run_cli("data", str(data), "--format", "json", "--sample", "500", "--no-builtin-benchmarks")
    f = _json(proc)["files"][0]
    assert (f["rows"], f["rows_read"], f["sampled"]) == (200, 200, False)  # N >= rows: every row


def test_reservoir_draws_each_row_equally_often() -> None:
    import random

    from opentrust.datascan.readers import Row
    from opentrust.datascan.run import reservoir

    counts = Counter()
    for seed in range(2000):
        sample, seen, err = reservoir((Row(i, []) for i in range(20)), 5, random.Random(seed))
        assert seen == 20 and err is None and len(sample) == 5
        counts.update(r.index for r in sample)
    assert all(400 < c < 600 for c in counts.values()), counts  # 500 expected for each row (sd ~19)


def test_gate_reads_a_data_result_under_the_data_root(tmp_path: Path) -> None:
    """`opentrust gate` takes `opentrust data --format json` as evidence (root `data`): a no-secrets rule fails on
    a file with a planted token and passes on clean rows; a rule on the card of a single file is unknown."""
    policy = tmp_path / "p.yml"
    policy.write_text(
        "policy: data\ntier: custom\nrules:\n"
        "  - id: data.no-secrets\n    require: {path: 'data.findings[rule_id=DATA-SECRET]', op: exists, value: false}\n"
        "    severity: deny\n    message: no credentials in the data\n"
        "  - id: data.pii-rows\n    require: {path: data.pii.rows_with_pii, op: le, value: 0}\n"
        "    severity: warn\n    message: no personal data\n"
        "  - id: data.card\n    require: {path: data.card.completeness, op: ge, value: 0.5}\n"
        "    severity: warn\n    message: a card\n")
    verdicts = {}
    for name, rows in (("planted", planted_rows(40)), ("clean", planted_rows(3))):
        data = write_jsonl(tmp_path / f"{name}.jsonl", rows)
        out = tmp_path / f"{name}.json"
        run_cli("data", str(data), "--format", "json", "--out", str(out), "--no-builtin-benchmarks", "--fail-on", "none")
        proc = run_cli("gate", "--policy", str(policy), str(out), "--format", "json", "--no-record")
        doc = json.loads(proc.stdout)
        verdicts[name] = (proc.returncode, doc["verdict"], {r["id"]: r["outcome"] for r in doc["rules"]})
    assert verdicts["planted"] == (1, "fail", {"data.no-secrets": "fail", "data.pii-rows": "warn",
                                                 "data.card": "unknown"})
    assert verdicts["clean"] == (0, "pass", {"data.no-secrets": "pass", "data.pii-rows": "pass",
                                               "data.card": "unknown"})


def test_redacted_preview_of_a_field_longer_than_a_chunk(tmp_path: Path) -> None:
    """A field longer than a scan chunk is scanned the moment it is queued: its hits still redact the preview."""
    long_text = "Write to jane.roe@example.org today. " + ("Ledger notes, nothing personal here. " * 1400)
    assert len(long_text) > 45_000  # textscan.CHUNK_CHARS
    data = write_jsonl(tmp_path / "long.jsonl", [{"text": long_text}, {"text": "short row"}])
    doc = _json(run_cli("data", str(data), "--format", "json", "--redact-preview", "--no-builtin-benchmarks"))
    assert doc["pii"]["counts"] == {"EMAIL": 1}
    preview = json.dumps(doc["preview"])
    assert "jane.roe@example.org" not in preview and "[EMAIL]" in preview
