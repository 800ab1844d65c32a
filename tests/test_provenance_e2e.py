"""A real llama.cpp server restarted with other weights under the same URL and model name must not replay the
first model's answers (issue 11: a server restarted with Gemma 3 under SmolLM2's alias used to serve every
sample from SmolLM2's cache)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import free_port, run_cli

pytestmark = pytest.mark.slow

SUITE = """
cases:
  - id: capital
    prompt: "What is the capital of France? Answer in one word."
    sampling: {max_tokens: 8}
    require: {max_samples: 2}
    assert:
      - {type: contains, value: Paris}
"""


def _test(suite: Path, base: str, db: Path, *extra: str) -> dict:
    r = run_cli("test", str(suite), "-m", f"openai:{base}#shared-alias", "--format", "json", "--db", str(db), *extra)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def test_swapped_weights_behind_the_same_name_are_not_replayed(tmp_path: Path) -> None:
    from opentrust.backends.local_server import llama_server
    from opentrust.target import gemma3_path, smollm2_path

    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    db = tmp_path / "store.db"
    port = free_port()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"swap-server-{os.getpid()}.log", "w")
    with log, llama_server(smollm2_path(), alias="shared-alias", port=port, log=log) as base:
        first = _test(suite, base, db)
        again = _test(suite, base, db)
        pinned = _test(suite, base, db, "--model-id", "release-1")
    assert (first["suite"]["generated"], first["suite"]["reused"]) == (2, 0)
    assert (again["suite"]["generated"], again["suite"]["reused"]) == (0, 2)  # same weights: the cache works
    assert (pinned["suite"]["generated"], pinned["suite"]["reused"]) == (2, 0)  # a pin is another identity

    with open(log.name, "a") as log2, llama_server(gemma3_path(), alias="shared-alias", port=port, log=log2) as base2:
        assert base2 == base  # the same URL and the same model name
        swapped = _test(suite, base2, db)
        swapped_pinned = _test(suite, base2, db, "--model-id", "release-1")

    # new weights: nothing replayed from SmolLM2's cache
    assert (swapped["suite"]["generated"], swapped["suite"]["reused"]) == (2, 0)
    assert swapped["model"]["fingerprint"] != first["model"]["fingerprint"]
    # the user's pin says "same model": they asked for the old answers, and get them
    assert (swapped_pinned["suite"]["generated"], swapped_pinned["suite"]["reused"]) == (0, 2)

    with sqlite3.connect(db) as con:
        fingerprints = {r[0] for r in con.execute("SELECT DISTINCT fingerprint FROM samples")}
        texts = dict(con.execute("SELECT fingerprint, group_concat(text, '|') FROM samples GROUP BY fingerprint"))
    assert fingerprints == {first["model"]["fingerprint"], swapped["model"]["fingerprint"],
                            pinned["model"]["fingerprint"]}
    assert texts[first["model"]["fingerprint"]] != texts[swapped["model"]["fingerprint"]]

    # the store's inventory and `opentrust history` show one endpoint with two models behind it over time
    hist = run_cli("history", f"openai:{base}#shared-alias", "--db", str(db), "--format", "json")
    assert hist.returncode == 0, hist.stderr
    listed = json.loads(hist.stdout)
    assert {m["fingerprint"] for m in listed["models"]} == fingerprints
    assert sum(len(m["runs"]) for m in listed["models"]) == 5
