"""SQLite store (WAL): runs, cached samples, findings, measurements, file fingerprints.

The sample cache is what makes every command resumable: each completed sample is committed on its own,
keyed by (target fingerprint, request hash, sample index), so a run killed at any moment loses at most
the samples in flight and never duplicates one (the key is the primary key).
Schema changes are named, append-only migrations recorded in ``_migrations``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

from opentrust.errors import UserError

DEFAULT_DB = Path(".opentrust") / "opentrust.db"


def _m001_initial(db: sqlite3.Connection) -> None:
    _statements(
        db,
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY, command TEXT NOT NULL, target TEXT NOT NULL, fingerprint TEXT NOT NULL,
            parameters TEXT NOT NULL, param_hash TEXT NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT, status TEXT NOT NULL, report TEXT
        );
        CREATE INDEX runs_resume ON runs (command, fingerprint, param_hash, status);
        CREATE TABLE samples (
            fingerprint TEXT NOT NULL, request_hash TEXT NOT NULL, sample_index INTEGER NOT NULL,
            seed INTEGER, request TEXT NOT NULL, text TEXT NOT NULL, prompt_tokens INTEGER,
            completion_tokens INTEGER, latency_s REAL, finish_reason TEXT, run_id TEXT, created_at TEXT NOT NULL,
            PRIMARY KEY (fingerprint, request_hash, sample_index)
        );
        CREATE TABLE findings (
            id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, check_name TEXT NOT NULL, rule_id TEXT NOT NULL,
            severity TEXT NOT NULL, body TEXT NOT NULL
        );
        CREATE TABLE measurements (
            id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, check_name TEXT NOT NULL, name TEXT NOT NULL,
            value REAL, body TEXT NOT NULL
        );
        CREATE TABLE fingerprints (
            path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL
        );
        """
    )


def _statements(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it COMMITs first, which would break the migration's transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


# Append only: never edit or reorder a migration that has shipped.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_initial", _m001_initial),
]


def default_db_path() -> Path:
    return Path(os.environ.get("OPENTRUST_DB") or DEFAULT_DB)


class Store:
    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path else default_db_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot open the store at {self.path}: {exc}",
                            "pass a writable path with --db PATH") from exc
        self._lock = threading.Lock()
        self.migrate()

    # -- schema ---------------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        with self._lock:
            self.db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
            done = {row[0] for row in self.db.execute("SELECT name FROM _migrations")}
            applied = []
            for name, fn in MIGRATIONS:
                if name in done:
                    continue
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    fn(self.db)
                    self.db.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (name,))
                    self.db.execute("COMMIT")
                except Exception:
                    self.db.execute("ROLLBACK")
                    raise
                applied.append(name)
            return applied

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _exec(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self.db.execute(sql, tuple(args))

    # -- runs -----------------------------------------------------------------------------------------
    def start_run(self, command: str, target: str, fingerprint: str, parameters: dict[str, Any]) -> tuple[str, bool]:
        """Start a run, or resume the unfinished one with the same command, target and parameters.

        Returns (run_id, resumed).
        """
        params = json.dumps(parameters, sort_keys=True, default=str)
        import hashlib

        param_hash = hashlib.sha256(params.encode()).hexdigest()
        row = self._exec(
            "SELECT id FROM runs WHERE command=? AND fingerprint=? AND param_hash=? AND status='running' "
            "ORDER BY started_at DESC LIMIT 1", (command, fingerprint, param_hash)).fetchone()
        if row:
            return row[0], True
        run_id = uuid.uuid4().hex[:16]
        from opentrust.report.model import utc_now

        self._exec("INSERT INTO runs (id, command, target, fingerprint, parameters, param_hash, started_at, status)"
                   " VALUES (?,?,?,?,?,?,?, 'running')",
                   (run_id, command, target, fingerprint, params, param_hash, utc_now()))
        return run_id, False

    def finish_run(self, run_id: str, status: str, report_json: str | None = None) -> None:
        from opentrust.report.model import utc_now

        self._exec("UPDATE runs SET status=?, finished_at=?, report=? WHERE id=?",
                   (status, utc_now(), report_json, run_id))

    def run(self, run_id: str) -> dict[str, Any] | None:
        cur = self._exec("SELECT * FROM runs WHERE id=?", (run_id,))
        row = cur.fetchone()
        return dict(zip([c[0] for c in cur.description], row)) if row else None

    def save_results(self, run_id: str, check: str, findings: list[Any], measurements: list[Any]) -> None:
        """Replace a check's findings and measurements for a run (idempotent on resume)."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM findings WHERE run_id=? AND check_name=?", (run_id, check))
            self.db.execute("DELETE FROM measurements WHERE run_id=? AND check_name=?", (run_id, check))
            self.db.executemany(
                "INSERT INTO findings (run_id, check_name, rule_id, severity, body) VALUES (?,?,?,?,?)",
                [(run_id, check, f.rule_id, f.severity.value, f.model_dump_json()) for f in findings])
            self.db.executemany(
                "INSERT INTO measurements (run_id, check_name, name, value, body) VALUES (?,?,?,?,?)",
                [(run_id, check, m.name, m.value, m.model_dump_json()) for m in measurements])
            self.db.execute("COMMIT")

    # -- samples --------------------------------------------------------------------------------------
    def get_sample(self, fingerprint: str, request_hash: str, index: int) -> dict[str, Any] | None:
        cur = self._exec("SELECT * FROM samples WHERE fingerprint=? AND request_hash=? AND sample_index=?",
                         (fingerprint, request_hash, index))
        row = cur.fetchone()
        return dict(zip([c[0] for c in cur.description], row)) if row else None

    def put_sample(self, fingerprint: str, request_hash: str, index: int, request_json: str,
                   completion: Any, run_id: str | None) -> None:
        from opentrust.report.model import utc_now

        # OR IGNORE: a sample computed twice (two processes racing) is kept once, the first one wins.
        self._exec(
            "INSERT OR IGNORE INTO samples (fingerprint, request_hash, sample_index, seed, request, text,"
            " prompt_tokens, completion_tokens, latency_s, finish_reason, run_id, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (fingerprint, request_hash, index, completion.seed, request_json, completion.text,
             completion.prompt_tokens, completion.completion_tokens, completion.latency_s,
             completion.finish_reason, run_id, utc_now()))

    def count_samples(self, fingerprint: str | None = None) -> int:
        if fingerprint:
            return self._exec("SELECT count(*) FROM samples WHERE fingerprint=?", (fingerprint,)).fetchone()[0]
        return self._exec("SELECT count(*) FROM samples").fetchone()[0]

    # -- fingerprints ---------------------------------------------------------------------------------
    def cached_fingerprint(self, path: str, size: int, mtime_ns: int) -> str | None:
        row = self._exec("SELECT sha256 FROM fingerprints WHERE path=? AND size=? AND mtime_ns=?",
                         (path, size, mtime_ns)).fetchone()
        return row[0] if row else None

    def save_fingerprint(self, path: str, size: int, mtime_ns: int, sha256: str) -> None:
        self._exec("INSERT OR REPLACE INTO fingerprints VALUES (?,?,?,?)", (path, size, mtime_ns, sha256))
