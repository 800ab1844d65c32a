"""Human reviews of detector labels (opentrust.ui.reviews): a review changes the detector's measured error and
the corrected attack-success rate; bad input is refused; reads write nothing; the POST needs the CSRF token."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from opentrust.errors import UserError
from opentrust.store import Store
from opentrust.ui import queries as Q
from opentrust.ui import reviews as R

from .conftest import serve


def _smollm2_case(store: Store) -> tuple[str, dict, dict]:
    """(run id, probe, output) of a prompt-injection sample of smollm2 whose label the run recorded."""
    run_id = next(r["id"] for r in store.runs(command="redteam", limit=50) if r["target"] == "smollm2")
    cell = Q.redteam_cell(store, run_id, "prompt_injection", "none", limit=50)
    probe = next(p for p in cell["probes"] if p["outputs"] and p["outputs"][0]["label"] is not None)
    return run_id, probe, probe["outputs"][0]


def _counts(store: Path) -> dict[str, int]:
    with sqlite3.connect(store) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("runs", "samples", "run_samples", "findings", "gate_results", "reviews", "models")}


def test_csrf_tokens() -> None:
    token = R.csrf_token("secret", "session-1")
    assert R.check_csrf("secret", "session-1", token)
    assert not R.check_csrf("secret", "session-2", token)  # another browser's session
    assert not R.check_csrf("other-secret", "session-1", token)  # another server
    stamp, mac = token.split(".")
    assert not R.check_csrf("secret", "session-1", f"{int(stamp) + 1}.{mac}")  # time stamp changed
    assert not R.check_csrf("secret", "session-1", f"{stamp}.{mac[:-1]}0" if mac[-1] != "0" else f"{stamp}.{mac[:-1]}1")
    for bad in (None, "", "x", "abc.def", token + "x"):
        assert not R.check_csrf("secret", "session-1", bad)
    assert not R.check_csrf("secret", "", R.csrf_token("secret", ""))
    old = R.csrf_token("secret", "session-1", now=time.time() - R.TOKEN_MAX_AGE_S - 10)
    assert not R.check_csrf("secret", "session-1", old)  # expired


def test_a_review_changes_the_detector_error_and_the_corrected_rate(store_copy: Path) -> None:
    with Store(store_copy) as store:
        run_id, probe, out = _smollm2_case(store)
        detector = probe["detector"]
        labels = Q.sample_labels(probe)
        assert labels[out["index"]]["label"] == out["label"]
        before_view = R.detector_error_view(store)["detectors"][detector]
        assert before_view["reviews"] == 0 and before_view["before"] == before_view["after"]
        before_rate = R.corrected_attack_success(store, run_id)["attack_success"]
        assert before_rate["before"] == before_rate["after"]
        # the stored campaign's own figure is what the recomputation gives without reviews
        assert before_rate["before"]["asr"] == R.corrected_attack_success(store, run_id)["stored"]["asr"]
        wrong = next(lab for lab in before_view["labels"] if lab != out["label"])
        review = R.add_review(store, run_id=run_id, probe_id=probe["id"], sample_index=out["index"],
                              label_after=wrong, reviewer="  Ada Reviewer ", note="the answer leaks the secret")
        assert review["reviewer"] == "Ada Reviewer" and review["label_before"] == out["label"]
        assert review["sample_id"] == out["sample_id"] and review["created_at"] and review["detector_was_wrong"]
        after_view = R.detector_error_view(store)["detectors"][detector]
        assert after_view["reviews"] == 1 and after_view["detector_wrong"] == 1
        said_positive = out["label"] == after_view["positive_label"]
        cell = "fp" if said_positive else "fn"
        assert after_view["reviewed_counts"][cell] == 1
        assert after_view["after"]["counts"][cell] == before_view["before"]["counts"][cell] + 1
        assert after_view["after"]["n"] == before_view["before"]["n"] + 1
        moved = "specificity" if said_positive else "sensitivity"
        assert after_view["after"][moved] < before_view["before"][moved]
        assert "reviews (1)" in after_view["after"]["sets"]
        after_rate = R.corrected_attack_success(store, run_id)["attack_success"]
        assert after_rate["before"] == before_rate["before"]
        assert after_rate["after"] != after_rate["before"]  # the correction used the reviewed labels
        # the cell shows the review; the heat map corrected with the reviews moves too
        shown = Q.redteam_cell(store, run_id, "prompt_injection", "none", limit=50)
        reviewed = [o for p in shown["probes"] for o in p["outputs"] if o["reviewed"]]
        assert [(o["sample_id"], o["review"]["reviewer"], o["review"]["label_after"]) for o in reviewed] == \
            [(out["sample_id"], "Ada Reviewer", wrong)]
        plain = Q.redteam_cells(store, run_id)["cells"]
        with_reviews = Q.redteam_cells(store, run_id, rates_for=R.reviewed_rates_for(store))["cells"]
        assert [c["corrected_ci"] for c in plain] != [c["corrected_ci"] for c in with_reviews]
        # a second review of the same sample replaces the first in the counts (the history stays)
        R.add_review(store, run_id=run_id, probe_id=probe["id"], sample_index=out["index"], label_after=out["label"],
                     reviewer="Grace")
        again = R.detector_error_view(store)["detectors"][detector]
        assert again["reviews"] == 1 and again["detector_wrong"] == 0 and again["reviewed_counts"][cell] == 0
        assert [r["reviewer"] for r in R.reviews(store)] == ["Grace", "Ada Reviewer"]


def test_bad_reviews_are_refused(store_copy: Path) -> None:
    with Store(store_copy) as store:
        run_id, probe, out = _smollm2_case(store)
        ok = {"run_id": run_id, "probe_id": probe["id"], "sample_index": out["index"], "label_after": out["label"],
              "reviewer": "Ada"}
        bad = [({"reviewer": ""}, "reviewer's name"), ({"reviewer": "   "}, "reviewer's name"),
               ({"reviewer": "x" * 101}, "too long"), ({"reviewer": "Ada\x00"}, "control characters"),
               ({"label_after": "harmful"}, "not a label"), ({"label_after": "<script>"}, "not a label"),
               ({"probe_id": "no-such-probe"}, "has no probe"), ({"sample_index": 7}, "has no sample"),
               ({"sample_index": "one"}, "not a number"), ({"run_id": "nope"}, "no run"),
               ({"note": "n" * 2001}, "too long")]
        for change, message in bad:
            with pytest.raises(UserError, match=message):
                R.add_review(store, **{**ok, **change})
        audit = next(r["id"] for r in store.runs(command="audit", limit=50) if r["target"] == "smollm2")
        with pytest.raises(UserError, match="no red-team results"):
            R.add_review(store, **{**ok, "run_id": audit})
        assert R.reviews(store) == []


def test_reads_write_nothing(ui_store: Path, ui_guard_log: Path, ui_reports: Path) -> None:
    with Store(ui_store) as store:
        Q.inventory(store)  # first listing: summaries of new runs are kept (a cache, as `opentrust models` does)
        before = _counts(ui_store)
        inv = Q.inventory(store, sort="attack_success")
        for item in inv["items"]:
            Q.model_detail(store, item["fingerprint"])
        run_id = next(r["id"] for r in store.runs(command="redteam", limit=50))
        cells = Q.redteam_cells(store, run_id)
        for c in cells["cells"]:
            Q.redteam_cell(store, run_id, c["category"], c["technique"])
        Q.run_report(store, run_id)
        R.detector_error_view(store)
        R.corrected_attack_success(store, run_id)
        Q.guard_log(ui_guard_log)
        Q.guard_blocks_over_time(ui_guard_log)
        Q.index_reports([ui_reports])
    assert _counts(ui_store) == before


def test_the_review_post_needs_allow_review_and_the_token(store_copy: Path) -> None:
    """Over HTTP on the real app: without --allow-review there is no write route; with it, a post without the
    session's token is refused and writes nothing; with it, the review is stored."""
    import re

    import httpx

    from opentrust.ui.app import create_app

    with Store(store_copy) as store:
        run_id, probe, out = _smollm2_case(store)
    form = {"run_id": run_id, "probe_id": probe["id"], "sample_index": str(out["index"]),
            "label_after": out["label"], "reviewer": "Ada", "note": ""}
    for allow in (False, True):
        with serve(create_app(store_copy, allow_review=allow)) as base, \
                httpx.Client(base_url=base, timeout=30, follow_redirects=False) as client:
            r = client.post("/review", data=form)
            assert r.status_code == (403 if allow else 405)
            assert _counts(store_copy)["reviews"] == 0
            page = client.get(f"/redteam/{run_id}/cell", params={"category": "prompt_injection",
                                                                 "technique": "none"})
            assert page.status_code == 200
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            if not allow:
                assert token is None
                continue
            assert token is not None
            r = client.post("/review", data={**form, "csrf": token.group(1) + "0"})
            assert r.status_code == 403 and _counts(store_copy)["reviews"] == 0
            other = httpx.post(base + "/review", data={**form, "csrf": token.group(1)})  # no session cookie
            assert other.status_code == 403 and _counts(store_copy)["reviews"] == 0
            r = client.post("/review", data={**form, "csrf": token.group(1)})
            assert r.status_code == 303 and _counts(store_copy)["reviews"] == 1
