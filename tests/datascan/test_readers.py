"""The streaming readers: every format yields the same rows; damage is reported with the rows read before it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from opentrust.datascan.readers import DataReadError, discover, identify, iter_rows
from tests.datascan.conftest import planted_rows, write_arrow_stream, write_csv, write_jsonl, write_parquet


def _texts(path: Path, fields: list[str] | None = None) -> list[str]:
    f = identify(path)
    return [dict(r.fields).get("text", "") for r in iter_rows(f, fields)]


@pytest.mark.parametrize("name", ["d.jsonl", "d.jsonl.gz", "d.json", "d.csv", "d.tsv", "d.parquet", "d.arrow",
                                  "d.jsonl.zst", "noext"])
def test_every_format_yields_the_same_rows(tmp_path: Path, name: str) -> None:
    rows = planted_rows(40)
    path = tmp_path / name
    if name.endswith(".zst"):
        import zstandard

        path.write_bytes(zstandard.ZstdCompressor().compress(
            "".join(json.dumps(r) + "\n" for r in rows).encode()))
    elif name in ("d.jsonl", "d.jsonl.gz", "noext"):
        write_jsonl(path, rows)
    elif name == "d.json":
        path.write_text(json.dumps(rows))
    elif name == "d.csv":
        write_csv(path, rows)
    elif name == "d.tsv":
        write_csv(path, rows, "\t")
    elif name == "d.parquet":
        write_parquet(path, rows)
    else:
        write_arrow_stream(path, rows)
    f = identify(path)
    assert f.format == {"d.jsonl": "jsonl", "d.jsonl.gz": "jsonl", "d.json": "json", "d.csv": "csv", "d.tsv": "tsv",
                        "d.parquet": "parquet", "d.arrow": "arrow", "d.jsonl.zst": "jsonl", "noext": "jsonl"}[name]
    assert _texts(path) == [r["text"] for r in rows]


def test_nested_fields_are_named_by_path_and_field_selects(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", planted_rows(4))
    row = next(iter_rows(identify(path)))
    names = [n for n, _ in row.fields]
    assert names == ["text", "messages[0].role", "messages[0].content"]
    row = next(iter_rows(identify(path), ["messages"]))
    assert [n for n, _ in row.fields] == ["messages[0].role", "messages[0].content"]
    jl = write_jsonl(tmp_path / "d.jsonl", [{"a": {"b": "x", "n": 4155550132}, "c": ["y", 1]}])
    assert next(iter_rows(identify(jl))).fields == [("a.b", "x"), ("a.n", "4155550132"), ("c[0]", "y")]


def test_a_truncated_gzip_keeps_the_rows_before_the_damage(tmp_path: Path) -> None:
    full = write_jsonl(tmp_path / "full.jsonl.gz", planted_rows(3000))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    seen = []
    with pytest.raises(DataReadError) as err:
        for row in iter_rows(identify(cut)):
            seen.append(row.index)
    assert "truncated" in str(err.value) and err.value.rows == len(seen) > 100
    assert seen == list(range(len(seen)))


def test_a_damaged_parquet_is_a_read_error_not_a_crash(tmp_path: Path) -> None:
    good = write_parquet(tmp_path / "good.parquet", planted_rows(200))
    data = good.read_bytes()
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(data[:4] + b"\x00" * (len(data) - 12) + data[-8:])  # pages zeroed, footer kept
    with pytest.raises(DataReadError, match="Parquet"):
        list(iter_rows(identify(bad)))


def test_bad_jsonl_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a"}\n{not json\n{"text": "b"}\n{"score": NaN, "text": "c", "n": 123456789012}\n')
    bad: list[tuple[int, str]] = []
    assert [r.fields for r in iter_rows(identify(path), None, bad)] == [
        [("text", "a")], [("text", "b")], [("text", "c"), ("n", "123456789012")]]
    assert [i for i, _ in bad] == [1] and bad[0][1].startswith("not JSON: Expecting property name")
    # msgspec decodes the lines when installed; what it refuses (NaN, a damaged line) is json's to read or reject
    from opentrust.datascan.readers import _fast_loads

    assert _fast_loads() is not json.loads


def test_a_truncated_json_array_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(planted_rows(10))[:-300])
    with pytest.raises(DataReadError, match="JSON"):
        list(iter_rows(identify(path)))


def test_folders_skip_binary_files_and_set_aside_card_and_licence(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# card\n")
    (tmp_path / "LICENSE").write_text("MIT\n")
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "notes.txt").write_text("one\ntwo\n")
    with gzip.open(tmp_path / "x.gz", "wb") as fh:
        fh.write(b'{"text": "hi"}\n{"text": "there"}\n')
    got = {f.rel: f.format for f in discover([tmp_path])}
    assert got == {"README.md": "card", "LICENSE": "license", "blob.bin": "binary", "notes.txt": "text",
                   "x.gz": "jsonl"}


def test_a_large_jsonl_streams_in_flat_memory(tmp_path: Path) -> None:
    """~60 MB of JSONL read row by row: the peak traced Python allocation stays far below the file size."""
    import tracemalloc

    path = tmp_path / "big.jsonl"
    line = json.dumps({"text": "lorem ipsum dolor sit amet " * 40}) + "\n"
    with open(path, "w") as fh:
        for _ in range(55_000):
            fh.write(line)
    tracemalloc.start()
    n = sum(1 for _ in iter_rows(identify(path)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == 55_000
    assert path.stat().st_size > 55e6 and peak < 8e6
