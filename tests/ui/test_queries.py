"""The UI's data layer (opentrust.ui.queries) on a store filled by real runs (tests/ui/conftest.py)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest

from opentrust.errors import UserError
from opentrust.store import Store
from opentrust.ui import queries as Q

from .conftest import MALICIOUS, MALICIOUS_TARGET


@pytest.fixture()
def store(ui_store: Path):
    with Store(ui_store) as s:
        yield s


def _by_name(items: list[dict]) -> dict[str, dict]:
    return {i["names"][0]: i for i in items}


def test_inventory_lists_every_model_with_its_figures(store: Store) -> None:
    inv = Q.inventory(store)
    assert inv["total"] == 3
    models = _by_name(inv["items"])
    assert set(models) == {"smollm2", "gemma3-270m", MALICIOUS_TARGET}
    for name in ("smollm2", "gemma3-270m"):
        m = models[name]
        assert m["mof_class"] in {"I", "II", "III", "unclassified"}
        assert m["scan_status"] in {"clean", "low", "medium", "high", "critical"}
        assert m["licence"]
        a = m["attack_success"]
        assert 0 <= a["ci"][0] <= a["rate"] <= a["ci"][1] <= 1
        p = m["pass_rate"]
        assert p["cases"] == 3 and 0 <= p["rate"] <= 1
        assert m["gate_status"] in {"pass", "fail", "conditional"}
        assert m["last_audit"]["run_id"] and m["latest"]["audit"] is not None
        assert m["last_run_at"] >= m["first_seen"]
    fake = models[MALICIOUS_TARGET]
    assert fake["mof_class"] is None and fake["scan_status"] is None and fake["gate_status"] is None
    assert fake["over_refusal"]["rate"] is not None
    json.dumps(inv)  # JSON-ready


def test_inventory_filters_sorts_and_pages(store: Store) -> None:
    assert [i["names"] for i in Q.inventory(store, q="gemma")["items"]] == [["gemma3-270m"]]
    assert Q.inventory(store, q="no-such-model")["total"] == 0
    fp = _by_name(Q.inventory(store)["items"])["smollm2"]["fingerprint"]
    assert [i["fingerprint"] for i in Q.inventory(store, q=fp[:12])["items"]] == [fp]
    assert Q.inventory(store, q="%")["total"] == 0  # LIKE wildcards are taken literally
    # figure filters: "none" is a model without that figure
    assert [i["names"][0] for i in Q.inventory(store, mof="none")["items"]] == [MALICIOUS_TARGET]
    assert [i["names"][0] for i in Q.inventory(store, gate="none")["items"]] == [MALICIOUS_TARGET]
    smol = _by_name(Q.inventory(store)["items"])["smollm2"]
    scanned = Q.inventory(store, scan=smol["scan_status"])
    assert "smollm2" in [i["names"][0] for i in scanned["items"]] and scanned["total"] < 3
    assert Q.inventory(store, scan="critical", gate="pass", mof="III")["total"] <= 2
    # sorting by name both ways; by a figure, models without it last either way
    names = [i["names"][0] for i in Q.inventory(store, sort="name", desc=False)["items"]]
    assert names == sorted(names, key=str.lower)
    assert [i["names"][0] for i in Q.inventory(store, sort="name", desc=True)["items"]] == names[::-1]
    for desc in (True, False):
        ranked = Q.inventory(store, sort="mof", desc=desc)["items"]
        assert ranked[-1]["names"][0] == MALICIOUS_TARGET
    # paging: the total stays, the page moves
    first, second = (Q.inventory(store, limit=1, offset=o) for o in (0, 1))
    assert first["total"] == second["total"] == 3
    assert first["items"][0]["fingerprint"] != second["items"][0]["fingerprint"]
    assert Q.inventory(store, limit=2, offset=2, sort="name", desc=False)["items"][0]["names"][0] == names[2]
    with pytest.raises(UserError, match="unknown sort"):
        Q.inventory(store, sort="password")
    with pytest.raises(UserError, match="out of range"):
        Q.inventory(store, limit=0)
    with pytest.raises(UserError):
        Q.inventory(store, offset=-1)


def test_model_detail_has_trend_series_with_intervals(store: Store) -> None:
    smol = _by_name(Q.inventory(store)["items"])["smollm2"]
    d = Q.model_detail(store, smol["fingerprint"])
    assert d["model"]["fingerprint"] == smol["fingerprint"]
    commands = sorted(r["command"] for r in d["runs"])
    assert commands == ["audit", "redteam", "redteam", "test"] and d["runs_total"] == 4
    attack = d["series"]["attack_success"]
    assert len(attack) == 2 and attack[0]["at"] <= attack[1]["at"]  # oldest first, two campaigns
    assert attack[0]["value"] == attack[1]["value"]  # the second reused the first's samples
    for point in attack + d["series"]["pass_rate"]:
        assert point["low"] <= point["value"] <= point["high"]
    assert len(d["series"]["pass_rate"]) == 1 and d["series"]["over_refusal"] == []
    latency = d["series"]["latency"]
    assert len(latency) == 3 and all(p["value"] > 0 and p["low"] <= p["value"] <= p["high"] for p in latency)
    assert d["licences"] and d["licences"][0]["id"]
    assert d["findings_run_id"] == smol["last_audit"]["run_id"]
    assert d["gates"] and d["gates"][0]["policy"]
    page = Q.model_detail(store, smol["fingerprint"], limit=1, offset=1)
    assert len(page["runs"]) == 1 and page["runs"][0]["id"] == d["runs"][1]["id"]
    json.dumps(d)
    with pytest.raises(UserError, match="no model"):
        Q.model_detail(store, "0" * 64)


def test_run_report_reads_the_stored_result(store: Store) -> None:
    audit_id = _by_name(Q.inventory(store)["items"])["gemma3-270m"]["last_audit"]["run_id"]
    r = Q.run_report(store, audit_id)
    assert r["kind"] == "audit" and r["run"]["id"] == audit_id and "report" not in r["run"]
    assert {s["check"] for s in r["result"]["sections"]} >= {"scan", "openness"}
    json.dumps(r)
    with pytest.raises(UserError, match="no run"):
        Q.run_report(store, "nope")


def _redteam_run(store: Store, target: str) -> str:
    return next(r["id"] for r in store.runs(command="redteam", limit=50) if r["target"] == target)


def test_redteam_cells_and_drill_down_to_the_outputs(store: Store) -> None:
    run_id = _redteam_run(store, "smollm2")
    cells = Q.redteam_cells(store, run_id)
    assert cells["categories"] == ["prompt_injection"] and cells["techniques"][0] == "none"
    assert sum(c["probes"] for c in cells["cells"]) == cells["probes"] == 12
    for c in cells["cells"]:
        assert c["rate"] == round(c["successes"] / c["samples"], 4)
        assert c["corrected_ci"][0] <= c["corrected_asr"] <= c["corrected_ci"][1]
    cell = cells["cells"][0]
    drill = Q.redteam_cell(store, run_id, cell["category"], cell["technique"], limit=50)
    assert drill["total"] == cell["probes"] == len(drill["probes"])
    texts = {}
    for p in drill["probes"]:
        assert p["matched"] == "request" and len(p["outputs"]) == p["draws"] == 1
        out = p["outputs"][0]
        assert out["label"] in {"leak", "clean", "refusal", "compliance", "harmful", "safe"}
        assert out["attack_success"] == (out["label"] == p["success_label"]) and out["reviewed"] is False
        texts[out["sample_id"]] = out["output"]
    # the outputs are the stored samples' text, read by primary key
    with sqlite3.connect(store.path) as db:
        for sid, text in texts.items():
            assert db.execute("SELECT text FROM samples WHERE id=?", (sid,)).fetchone()[0] == text
    page = Q.redteam_cell(store, run_id, cell["category"], cell["technique"], limit=1, offset=1)
    assert [p["id"] for p in page["probes"]] == [drill["probes"][1]["id"]]
    with pytest.raises(UserError, match="no probes in the cell"):
        Q.redteam_cell(store, run_id, "harmful", "rot13")
    audit_id = _by_name(Q.inventory(store)["items"])["smollm2"]["last_audit"]["run_id"]
    with pytest.raises(UserError, match="no red-team results"):
        Q.redteam_cells(store, audit_id)


def test_an_audits_heat_map_opens_down_to_the_outputs_kept_verbatim(store: Store) -> None:
    """The fake target's audit (red-team check): the cells come from the probe records the audit keeps, the
    outputs from the samples of requests rebuilt from the audit's plan; the malicious text is kept as it is (the
    page escapes it)."""
    run_id = next(r["id"] for r in store.runs(command="audit", limit=50) if r["target"] == MALICIOUS_TARGET)
    cells = Q.redteam_cells(store, run_id)
    assert set(cells["categories"]) == {"harmful", "jailbreak", "over_refusal", "prompt_injection"}
    assert cells["probes"] == sum(c["probes"] for c in cells["cells"]) == \
        Q.run_report(store, run_id)["result"]["sections"][0]["data"]["summary"]["probes"]
    outputs = []
    for c in cells["cells"]:
        drill = Q.redteam_cell(store, run_id, c["category"], c["technique"], limit=100)
        assert all(p["matched"] == "request" for p in drill["probes"])  # the exact request of every probe
        outputs += [o["output"] for p in drill["probes"] for o in p["outputs"]]
    assert len(outputs) == cells["probes"] and all(o == MALICIOUS for o in outputs)


def test_page_queries_never_scan_samples(store: Store) -> None:
    """Every statement the page queries run, explained: samples is only reached through an index."""
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    try:
        inv = Q.inventory(store)
        Q.inventory(store, sort="attack_success", scan="clean")
        smol = _by_name(inv["items"])["smollm2"]
        Q.model_detail(store, smol["fingerprint"])
        run_id = _redteam_run(store, "smollm2")
        cell = Q.redteam_cells(store, run_id)["cells"][0]
        Q.redteam_cell(store, run_id, cell["category"], cell["technique"])
    finally:
        store.db.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert any("samples" in s for s in selects)
    with sqlite3.connect(store.path) as db:
        for sql in selects:
            plan = " | ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
            assert not re.search(r"\bSCAN (samples|s)\b(?! USING)", plan), (sql, plan)
            assert not re.search(r"\bSCAN (run_samples|rs)\b(?! USING)", plan), (sql, plan)


def test_guard_log_and_blocks_over_time(ui_guard_log: Path) -> None:
    log = Q.guard_log(ui_guard_log)
    assert log["verify"]["intact"] and log["verify"]["records"] == log["total"] >= 5
    assert [i["seq"] for i in log["items"]] == sorted((i["seq"] for i in log["items"]), reverse=True)
    decisions = {i["decision"] for i in log["items"]}
    assert "block" in decisions and decisions - {"block"}
    blocked = Q.guard_log(ui_guard_log, rule="input.prompt_injection")
    assert blocked["total"] == 2 and all(any(r["id"] == "input.prompt_injection" for r in i["rules"])
                                         for i in blocked["items"])
    assert Q.guard_log(ui_guard_log, decision="block", verify=False)["verify"] is None
    assert Q.guard_log(ui_guard_log, since="2999-01-01")["total"] == 0
    page = Q.guard_log(ui_guard_log, limit=2, offset=1)
    assert [i["seq"] for i in page["items"]] == [i["seq"] for i in log["items"][1:3]]
    over = Q.guard_blocks_over_time(ui_guard_log, bucket="minute")
    assert sum(over["rules"]["input.prompt_injection"]) == 2 and len(over["rules"]["input.prompt_injection"]) == \
        len(over["buckets"])
    assert over["totals"]["block"] >= 2
    with pytest.raises(UserError, match="unknown bucket"):
        Q.guard_blocks_over_time(ui_guard_log, bucket="year")
    with pytest.raises(UserError, match="no guard log"):
        Q.guard_log(ui_guard_log.parent / "missing.db")


def test_guard_log_shows_a_broken_chain(ui_guard_log: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "g.db"
    shutil.copy(ui_guard_log, copy)
    shutil.copy(str(ui_guard_log) + ".head", str(copy) + ".head")
    with sqlite3.connect(copy) as db:  # edit a record behind the triggers' back
        db.execute("DROP TRIGGER decisions_no_update")
        db.execute("UPDATE decisions SET decision='allow' WHERE seq=(SELECT min(seq) FROM decisions "
                   "WHERE decision='block')")
    v = Q.guard_log(copy)["verify"]
    assert not v["intact"] and any("edited" in p for p in v["problems"])


def test_index_reports_reads_results_and_skips_the_rest(ui_reports: Path, store: Store, tmp_path: Path) -> None:
    found = Q.index_reports([ui_reports])
    assert sorted(r["target"] for r in found) == ["gemma3-270m", "smollm2"]
    fingerprints = {m["fingerprint"] for m in Q.inventory(store)["items"]}
    assert all(r["kind"] == "audit" and r["fingerprint"] in fingerprints and r["created"] for r in found)
    # not results, too big, a link, broken JSON: skipped
    (tmp_path / "other.json").write_text('{"hello": 1}')
    (tmp_path / "broken.json").write_text("{")
    os.symlink(ui_reports / "smollm2" / "report.json", tmp_path / "link.json")
    (tmp_path / "copy.json").write_text((ui_reports / "smollm2" / "report.json").read_text())
    found = Q.index_reports([tmp_path], max_bytes=1500 + (ui_reports / "smollm2" / "report.json").stat().st_size)
    assert [Path(r["path"]).name for r in found] == ["copy.json"]
    assert Q.index_reports([tmp_path], max_bytes=1000) == []
    with pytest.raises(UserError, match="not a folder"):
        Q.index_reports([tmp_path / "missing"])


def test_warm_summaries_keeps_the_figures_of_new_runs(store_copy: Path) -> None:
    with Store(store_copy) as store:
        expected = Q.inventory(store)["items"]
        runs = store._exec("SELECT count(*) FROM runs WHERE status='done' AND command != 'gate'").fetchone()[0]
        store._exec("DELETE FROM inventory")
        assert Q.warm_summaries(store) == runs and Q.warm_summaries(store) == 0
        assert store._exec("SELECT count(*) FROM inventory").fetchone()[0] == runs
        assert Q.inventory(store)["items"] == expected


def test_the_app_computes_missing_inventory_figures_at_start_up(ui_store: Path, tmp_path: Path) -> None:
    """A store whose runs have no kept summaries (older runs, or many new ones) gets them in the background when
    the app starts, before any page asks: the first inventory page then reads them instead of computing them."""
    import time

    from starlette.testclient import TestClient

    from opentrust.ui.app import create_app

    db = tmp_path / "copy.db"
    src, dst = sqlite3.connect(ui_store), sqlite3.connect(db)
    src.backup(dst)  # a consistent copy of the WAL database
    src.close()
    dst.close()
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM inventory")
        summarised = c.execute("SELECT count(*) FROM runs WHERE status='done' AND command IN ('audit', 'redteam', "
                               "'test') AND typeof(report) != 'null'").fetchone()[0]
    assert summarised
    with TestClient(create_app(db)):  # starts the app (its lifespan); no page is requested
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with sqlite3.connect(db) as c:
                kept = c.execute("SELECT count(*) FROM inventory").fetchone()[0]
            if kept >= summarised:
                break
            time.sleep(0.2)
    assert kept >= summarised
