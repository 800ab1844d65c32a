"""State the gateway's worker processes share (``guard serve --workers N``): rate-limit buckets and metrics.

Both live in one folder beside the audit log (``<log>.workers/``), which the parent empties before it starts
the workers:

- ``ratelimit.sqlite``: one token bucket per (rule, client) in SQLite (WAL, no fsync: a bucket need not survive
  a crash). Taking a token is one ``BEGIN IMMEDIATE`` transaction, so two workers never both spend the last
  token. A bucket idle long enough to be full again is deleted (it is the same as no row).
- ``metrics-<pid>.json``: each worker writes its counters and histograms there every second (and when it
  answers a scrape); ``/metrics`` on any worker sums every worker's file, its own taken live. A worker that
  exits leaves its file, so counters never go down; the numbers of the others are at most a second old.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

STATE_SUFFIX = ".workers"


def state_dir(log_path: Path) -> Path:
    return log_path.with_name(log_path.name + STATE_SUFFIX)


def reset(folder: Path) -> None:
    """An empty state folder for a new set of workers (the previous run's buckets and metrics are gone)."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in folder.iterdir():
        if p.is_file() and (p.name.startswith(("metrics-", "ratelimit.sqlite"))):
            p.unlink()


class SharedBuckets:
    """Token buckets in SQLite, shared by every process that opens the same file."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self._takes = 0

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE IF NOT EXISTS buckets (rule TEXT NOT NULL, client TEXT NOT NULL, "
                       "tokens REAL NOT NULL, last REAL NOT NULL, PRIMARY KEY (rule, client))")
            self._local.db = db
        return db

    def take(self, rule: str, client: str, rate: float, burst: float) -> bool:
        """Spend one token of (rule, client)'s bucket (``rate`` tokens a second up to ``burst``); False when empty."""
        db = self._db()
        now = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT tokens, last FROM buckets WHERE rule = ? AND client = ?",
                             (rule, client)).fetchone()
            tokens = burst if row is None else min(burst, row[0] + max(0.0, now - row[1]) * rate)
            ok = tokens >= 1.0
            db.execute("INSERT OR REPLACE INTO buckets VALUES (?, ?, ?, ?)",
                       (rule, client, tokens - 1.0 if ok else tokens, now))
            self._takes += 1
            if self._takes % 1000 == 0:  # full again: the same as no bucket
                db.execute("DELETE FROM buckets WHERE last < ?", (now - burst / rate - 1.0,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return ok


class MetricsFiles:
    """Each worker's metrics snapshot in the shared folder, and the sum over all of them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.own = folder / f"metrics-{os.getpid()}.json"

    def write(self, snapshot: dict[str, Any]) -> None:
        tmp = self.own.with_suffix(".tmp")
        tmp.write_text(json.dumps(snapshot), encoding="utf-8")
        os.replace(tmp, self.own)

    def others(self) -> list[dict[str, Any]]:
        out = []
        for p in sorted(self.folder.glob("metrics-*.json")):
            if p == self.own:
                continue
            try:
                out.append(json.loads(p.read_text(encoding="utf-8")))
            except (OSError, ValueError):  # being replaced right now: the next scrape has it
                continue
        return out
