"""Human review of detector labels (``opentrust ui --allow-review``), the UI's only write action.

A reviewer looks at one red-team sample and says what its true label is (the detector's label was right, or
it was wrong). The review is kept in the store's ``reviews`` table (migration 004) with who made it and when.

A reviewed sample is a labelled case for its detector: the detector's label against the human's adds one to
its true/false positives/negatives. ``reviewed_error_rates`` adds these to the detector's measured confusion
counts (``redteam.correction.error_rates``: the held-out validation sets), so the sensitivity and specificity,
and through them the Rogan–Gladen / Lang–Reiczigel corrected attack-success rates, change after a review.
The newest review of a sample counts; earlier ones stay in the table as history.

Caveat, shown with the figures: reviewed samples are the ones people chose to look at, not a random sample of
the detector's inputs, so they can bias Se and Sp (typically towards the errors people noticed).

CSRF: the POST carries ``csrf_token(secret, session)``, an HMAC-SHA256 of the session id and a time stamp
under the server's secret (stdlib ``hmac``; no dependency), checked by ``check_csrf`` (constant-time compare,
expiry).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from opentrust.clock import utc_now
from opentrust.errors import UserError

MAX_REVIEWER = 100
MAX_NOTE = 2000
TOKEN_MAX_AGE_S = 8 * 3600


# -- CSRF --------------------------------------------------------------------------------------------------------
def csrf_token(secret: str | bytes, session: str, now: float | None = None) -> str:
    """A token binding ``session`` (the browser's session id) to this server's ``secret``: ``TIME.HMAC``."""
    stamp = str(int(time.time() if now is None else now))
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, f"{session}|{stamp}".encode(), hashlib.sha256).hexdigest()
    return f"{stamp}.{mac}"


def check_csrf(secret: str | bytes, session: str, token: str | None, max_age_s: float = TOKEN_MAX_AGE_S,
               now: float | None = None) -> bool:
    """Whether ``token`` was made by ``csrf_token`` for this session and secret, and is not older than
    ``max_age_s`` (nor from the future)."""
    if not token or not session or "." not in token:
        return False
    stamp, _, mac = token.partition(".")
    if not stamp.isdigit():
        return False
    expected = csrf_token(secret, session, now=float(stamp)).partition(".")[2]
    if not hmac.compare_digest(mac, expected):
        return False
    age = (time.time() if now is None else now) - int(stamp)
    return -60 <= age <= max_age_s


# -- reviews -----------------------------------------------------------------------------------------------------
def _clean_reviewer(reviewer: Any) -> str:
    name = str(reviewer or "").strip()
    if not name:
        raise UserError("a review needs the reviewer's name", "fill in 'reviewer' (who you are)")
    if len(name) > MAX_REVIEWER or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UserError("the reviewer's name is too long or holds control characters",
                        f"use a plain name of at most {MAX_REVIEWER} characters")
    return name


def add_review(store: Any, *, run_id: str, probe_id: str, sample_index: int, label_after: str, reviewer: str,
               note: str | None = None) -> dict[str, Any]:
    """Record a human's label for one sample of a red-team run and return the review.

    ``label_after``: the true label, one of the detector's labels (e.g. refusal / compliance). The detector's
    label (``label_before``) is taken from the run's record, never from the form. Bad input raises ``UserError``
    (the web layer answers 400 with its message)."""
    from opentrust.redteam.catalogue import DETECTOR_LABELS
    from opentrust.ui.queries import _plan_probes, _request_hash, _samples_by_prompt, _samples_of, redteam_records, \
        sample_labels

    reviewer = _clean_reviewer(reviewer)
    note = (str(note).strip() or None) if note is not None else None
    if note is not None and len(note) > MAX_NOTE:
        raise UserError("the note is too long", f"keep it under {MAX_NOTE} characters")
    try:
        index = int(sample_index)
    except (TypeError, ValueError):
        raise UserError(f"sample index {sample_index!r} is not a number", "review a sample listed in a cell") from None
    run, doc, probes = redteam_records(store, run_id)
    probe = next((p for p in probes if p["id"] == probe_id), None)
    if probe is None:
        raise UserError(f"run {run_id} has no probe {probe_id!r}", "review a sample listed in a cell")
    detector = probe["detector"]
    labels = DETECTOR_LABELS.get(detector)
    if labels is None:
        raise UserError(f"the {detector} detector has no labels to review", "review a red-team sample")
    if label_after not in labels:
        raise UserError(f"{label_after!r} is not a label of the {detector} detector",
                        f"use one of: {', '.join(labels)}")
    known = sample_labels(probe)
    if index not in known:
        raise UserError(f"probe {probe_id} has no sample {index} in run {run_id}", "review a sample listed in a cell")
    before = known[index]["label"]
    if before is None:
        raise UserError(f"the run did not record the detector's label of sample {index} of {probe_id}",
                        "review a sample whose label the cell shows")
    plan, settings = _plan_probes(run, doc)
    sample_id = None
    if probe_id in plan:
        key = _request_hash(store, run["fingerprint"], plan[probe_id], settings)
        rows = _samples_of(store, run_id, run["fingerprint"], key) if key else []
    else:
        rows = []
    rows = rows or _samples_by_prompt(store, run_id, probe.get("prompt") or "")
    sample_id = next((r["id"] for r in rows if int(r["sample_index"]) == index), None)
    from opentrust.redteam.correction import error_rates

    positive = error_rates(detector).positive_label or labels[0]
    created = utc_now()
    cur = store._exec(
        "INSERT INTO reviews (sample_id, run_id, probe_id, sample_index, detector, positive_label, label_before, "
        "label_after, reviewer, created_at, note) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (sample_id, run_id, probe_id, index, detector, positive, before, label_after, reviewer, created, note))
    return {"id": int(cur.lastrowid or 0), "sample_id": sample_id, "run_id": run_id, "probe_id": probe_id,
            "sample_index": index, "detector": detector, "positive_label": positive, "label_before": before,
            "label_after": label_after, "reviewer": reviewer, "created_at": created, "note": note,
            "detector_was_wrong": before != label_after}


def reviews(store: Any, *, detector: str | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Reviews, newest first."""
    from opentrust.ui.queries import _paging

    limit, offset = _paging(limit, offset)
    where, args = ("WHERE detector=? ", [detector]) if detector else ("", [])
    return store._rows(f"SELECT * FROM reviews {where}ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                       [*args, limit, offset])


def review_counts(store: Any, detector: str) -> dict[str, int]:
    """The confusion counts the reviews of ``detector`` add (for its positive label): the newest review of
    each sample counts once (a sample is its store row, else its run, probe and index)."""
    rows = store._rows(
        "SELECT label_before, label_after, positive_label FROM reviews WHERE id IN (SELECT max(id) FROM reviews "
        "WHERE detector=? GROUP BY CASE WHEN sample_id IS NOT NULL THEN 's' || sample_id "
        "ELSE 'c' || run_id || char(31) || probe_id || char(31) || sample_index END)", (detector,))
    counts = {"tp": 0, "fp": 0, "tn": 0, "fn": 0, "reviews": len(rows), "corrected": 0}
    for r in rows:
        said = r["label_before"] == r["positive_label"]
        truth = r["label_after"] == r["positive_label"]
        counts[{(True, True): "tp", (True, False): "fp", (False, True): "fn", (False, False): "tn"}[(said, truth)]] += 1
        counts["corrected"] += r["label_before"] != r["label_after"]
    return counts


def reviewed_error_rates(store: Any, detector: str) -> Any:
    """The detector's measured error rates (``correction.error_rates``) with the reviewed samples added as
    labelled cases: an ``ErrorRates`` whose sets include "reviews (N)" when there are any."""
    from dataclasses import replace

    from opentrust.redteam.correction import error_rates

    measured = error_rates(detector)
    c = review_counts(store, detector)
    if not c["reviews"]:
        return measured
    return replace(measured, tp=measured.tp + c["tp"], fp=measured.fp + c["fp"], tn=measured.tn + c["tn"],
                   fn=measured.fn + c["fn"], sets=(*measured.sets, f"reviews ({c['reviews']})"),
                   labelled_by="; ".join(x for x in (measured.labelled_by, "opentrust ui reviewers") if x))


def reviewed_rates_for(store: Any) -> Any:
    """``rates_for(detector, success_label)`` with the reviews added (for ``queries.redteam_cells`` and
    ``corrected_attack_success``)."""
    from opentrust.redteam.catalogue import DETECTOR_LABELS

    cache: dict[str, Any] = {}

    def rates_for(detector: str, success_label: str) -> Any:
        if detector not in cache:
            cache[detector] = reviewed_error_rates(store, detector)
        er = cache[detector]
        return er.for_label(success_label, er.positive_label or DETECTOR_LABELS[detector][0])

    return rates_for


def detector_error_view(store: Any, detectors: list[str] | None = None) -> dict[str, Any]:
    """Per detector: Se and Sp with 95% Clopper–Pearson intervals from the measured sets alone ("before") and
    with the reviews added ("after"), the reviews' own counts, and how many reviews disagreed with the
    detector. ``detectors``: default the red-team detectors."""
    from opentrust.redteam.catalogue import DETECTOR_LABELS
    from opentrust.redteam.correction import error_rates

    out: dict[str, Any] = {}
    for name in detectors or sorted(DETECTOR_LABELS):
        try:
            before = error_rates(name)
        except UserError:
            continue
        after = reviewed_error_rates(store, name)
        counts = review_counts(store, name)
        out[name] = {"positive_label": before.positive_label, "labels": list(DETECTOR_LABELS[name]),
                     "before": before.to_json(), "after": after.to_json(), "reviews": counts["reviews"],
                     "reviewed_counts": {k: counts[k] for k in ("tp", "fp", "tn", "fn")},
                     "detector_wrong": counts["corrected"]}
    return {"detectors": out,
            "caveat": "reviewed samples are those people chose to look at, not a random sample: they can bias Se "
                      "and Sp towards the errors people noticed"}


def corrected_attack_success(store: Any, run_id: str) -> dict[str, Any]:
    """A red-team run's overall attack-success and over-refusal rates corrected with the measured error rates
    ("before") and with the reviews added ("after"), recomputed from its probe records."""
    from opentrust.redteam.results import OVER_REFUSAL
    from opentrust.ui.queries import _estimate, measured_rates, redteam_records

    _, doc, probes = redteam_records(store, run_id)
    attacks = [p for p in probes if p["category"] != OVER_REFUSAL]
    over = [p for p in probes if p["category"] == OVER_REFUSAL]
    after = reviewed_rates_for(store)
    return {"run_id": run_id, "stored": (doc.get("summary") or {}).get("attack_success"),
            "attack_success": {"before": _estimate(attacks, measured_rates), "after": _estimate(attacks, after)},
            "over_refusal": {"before": _estimate(over, measured_rates), "after": _estimate(over, after)}
            if over else None}
