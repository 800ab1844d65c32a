"""The guard's audit log: every decision, in SQLite (WAL), hash-chained, append-only, written before the response.

Each record holds the time, request id, direction, endpoint, decision, the rules that fired (id, action, score),
the sha256 of the content checked and of the content released, the client (a hash of its key, never the key),
timings, and — only where the policy's ``log.content`` is ``redacted`` — the redacted excerpt. Its ``hash`` is
``sha256(prev_hash + canonical JSON of the record)``, the first record's ``prev_hash`` the log's random genesis
value, so editing a row breaks its hash and deleting one breaks the chain. Triggers refuse UPDATE and DELETE;
a row removed behind their back (or a truncated tail) is found by ``verify``: after each commit the writer
appends ``seq hash`` of the newest record to a side file (``DB.head``), and a log whose rows end before the
head it announced has lost records.

Durability: ``append`` returns only after the transaction holding the record has committed. A single writer
thread commits whatever records are waiting in one transaction (group commit), so many concurrent requests
cost one commit. Several gateway processes may share one log: each transaction reads the newest record under
SQLite's write lock and chains to it. The processes take turns through an OS file lock (``DB.lock``) before they
ask SQLite for its write lock: SQLite's own busy handler polls with sleeps of 1 to 100 ms, a latency tail of that
size whenever two workers commit at once, while a waiter on ``flock`` wakes as soon as the holder lets go. In WAL mode a committed transaction survives a killed process (``kill -9``) with
``synchronous=NORMAL``; ``log.sync: full`` also survives a power cut (an fsync per commit). A record is one
row in one transaction: there is never half a record.

Schema changes are named, append-only migrations, as in ``opentrust.store``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's busy handler alone serialises the writers
    fcntl = None  # type: ignore[assignment]

from opentrust.clock import utc_now
from opentrust.errors import UserError

DEFAULT_LOG = Path(".opentrust") / "guard-log.db"
FIELDS = ("ts", "request_id", "direction", "endpoint", "decision", "rules", "content_sha256", "result_sha256",
          "excerpt", "client", "upstream_status", "guard_ms", "upstream_ms")


def _m001_decisions(db: sqlite3.Connection) -> None:
    for statement in (
        """CREATE TABLE decisions (
            seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, request_id TEXT NOT NULL, direction TEXT NOT NULL,
            endpoint TEXT NOT NULL, decision TEXT NOT NULL, rules TEXT NOT NULL, content_sha256 TEXT,
            result_sha256 TEXT, excerpt TEXT, client TEXT, upstream_status INTEGER, guard_ms REAL,
            upstream_ms REAL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
        "CREATE INDEX decisions_ts ON decisions (ts)",
        "CREATE INDEX decisions_request ON decisions (request_id)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions BEGIN "
        "SELECT RAISE(ABORT, 'the guard log is append-only'); END",
        "CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions BEGIN "
        "SELECT RAISE(ABORT, 'the guard log is append-only'); END",
    ):
        db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('genesis', ?)", (secrets.token_hex(32),))
    db.execute("INSERT INTO meta VALUES ('created_at', ?)", (utc_now(),))


# Append only: never edit or reorder a migration that has shipped.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [("001_decisions", _m001_decisions)]


def sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def record_hash(prev_hash: str, record: dict[str, Any]) -> str:
    canonical = json.dumps({k: record.get(k) for k in FIELDS}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return sha256(prev_hash + "\n" + canonical)


def default_log_path() -> Path:
    return Path(os.environ.get("OPENTRUST_GUARD_LOG") or DEFAULT_LOG)


def connect(path: Path, sync: str = "normal") -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"cannot open the guard log at {path}: {exc}", "pass a writable path with --log DB") from exc
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        if db.execute("SELECT 1 FROM _migrations WHERE name=?", (name,)).fetchone():
            db.execute("COMMIT")
            continue
        try:
            fn(db)
            db.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (name,))
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
    return db


class GuardLog:
    """The writer: ``await log.append(records)`` returns once they are committed (their ``seq`` filled in)."""

    def __init__(self, path: Path, sync: str = "normal"):
        self.path = Path(path)
        self.head_path = Path(str(self.path) + ".head")
        self.db = connect(self.path, sync)
        self.sync = sync
        row = self.db.execute("SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1").fetchone()
        self.genesis = genesis = self.db.execute("SELECT value FROM meta WHERE key='genesis'").fetchone()[0]
        self.seq, self.last_hash = (row[0], row[1]) if row else (0, genesis)
        head = read_head(self.head_path)
        if head is not None and head[0] > self.seq:
            self.db.close()
            raise UserError(f"the guard log {self.path} ends at record {self.seq} but announced record {head[0]}: "
                            "records were deleted", "run `opentrust guard verify-log`, keep the file as evidence and "
                            "start a new log with --log")
        if self.head_path.exists() and self.head_path.stat().st_size:
            with open(self.head_path, "rb") as f:  # a line cut by a crash is ended, never continued
                f.seek(-1, os.SEEK_END)
                cut = f.read(1) != b"\n"
            if cut:
                with open(self.head_path, "a", encoding="utf-8") as f:
                    f.write("\n")
        self._lock_fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600) if fcntl else None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._writer, name="guard-log-writer", daemon=True)
        self._thread.start()
        self.commits = 0

    async def append(self, records: list[dict[str, Any]]) -> list[int]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[int]] = loop.create_future()
        self._queue.put((records, loop, done))
        return await done

    def append_sync(self, records: list[dict[str, Any]]) -> list[int]:
        done: "queue.Queue[Any]" = queue.Queue(maxsize=1)
        self._queue.put((records, None, done))
        result = done.get()
        if isinstance(result, BaseException):
            raise result
        return result

    def _writer(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while True:  # everything waiting goes into the same transaction
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            try:
                results = self._commit([records for records, _, _ in batch])
            except BaseException as exc:  # the requests waiting on it fail (fail closed), the writer goes on
                results = [exc] * len(batch)
            for (_, loop, done), result in zip(batch, results):
                if loop is None:
                    done.put(result)
                else:
                    loop.call_soon_threadsafe(_settle, done, result)

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """This process's turn to write (see the module's note on the file lock); released by the OS if the
        process dies holding it."""
        if self._lock_fd is None:
            yield
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _commit(self, groups: list[list[dict[str, Any]]]) -> list[list[int]]:
        with self._turn():
            self.db.execute("BEGIN IMMEDIATE")  # the write lock: other gateway processes on this log wait here
            try:
                rows, out, seq, last = self._rows(groups)
                self.db.executemany(f"INSERT INTO decisions (seq, {', '.join(FIELDS)}, prev_hash, hash) "
                                    f"VALUES ({', '.join('?' * (len(FIELDS) + 3))})", rows)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.seq, self.last_hash = seq, last
            self.commits += 1
            with open(self.head_path, "a", encoding="utf-8") as f:  # after the commit: a head never runs ahead
                f.write(f"{seq} {last}\n")
        return out

    def _rows(self, groups: list[list[dict[str, Any]]]) -> tuple[list[tuple[Any, ...]], list[list[int]], int, str]:
        """The rows to insert, chained to the newest committed record (read under the write lock, so several
        gateway processes — ``guard serve --workers N`` — extend one chain)."""
        row = self.db.execute("SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1").fetchone()
        seq, last = (row[0], row[1]) if row else (0, self.genesis)
        rows, out = [], []
        for records in groups:
            seqs = []
            for record in records:
                seq += 1
                record = {k: record.get(k) for k in FIELDS}
                record["rules"] = record["rules"] if isinstance(record["rules"], str) else json.dumps(
                    record["rules"] or [], sort_keys=True, separators=(",", ":"))
                h = record_hash(last, record)
                rows.append((seq, *(record[k] for k in FIELDS), last, h))
                last = h
                seqs.append(seq)
            out.append(seqs)
        return rows, out, seq, last

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _settle(done: "asyncio.Future[list[int]]", result: Any) -> None:
    if done.cancelled():
        return
    if isinstance(result, BaseException):
        done.set_exception(result)
    else:
        done.set_result(result)


# -- reading and verifying ---------------------------------------------------------------------------------------
def open_existing(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise UserError(f"no guard log at {path}", "pass the --log DB that `opentrust guard serve` wrote")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        db.execute("SELECT 1 FROM decisions LIMIT 1")
    except sqlite3.Error as exc:
        raise UserError(f"{path} is not a guard log: {exc}", "pass the --log DB that `opentrust guard serve` wrote") \
            from None
    return db


def read(path: Path, since: str | None = None, rule: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Decisions, oldest first; ``since`` an ISO time (or date), ``rule`` a rule id that fired."""
    rows = page(path, since=since, rule=rule, limit=limit)[1][::-1]
    return [{k: v for k, v in r.items() if k != "hash"} for r in rows]


def page(path: Path, since: str | None = None, rule: str | None = None, decision: str | None = None,
         limit: int = 1000, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """(how many decisions match, the ``limit`` of them after the ``offset`` newest), newest first, each with its
    hash; ``decision`` one of allow, flag, redact, block... (the web UI's guard page pages through these)."""
    db = open_existing(path)
    where, args = [], []
    if since:
        where.append("ts >= ?")
        args.append(since)
    if rule:
        where.append("EXISTS (SELECT 1 FROM json_each(decisions.rules) WHERE json_extract(value, '$.id') = ?)")
        args.append(rule)
    if decision:
        where.append("decision = ?")
        args.append(decision)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    try:
        total = db.execute(f"SELECT count(*) FROM decisions{clause}", args).fetchone()[0]
        cur = db.execute(f"SELECT seq, {', '.join(FIELDS)}, hash FROM decisions{clause} ORDER BY seq DESC "
                         "LIMIT ? OFFSET ?", [*args, limit, offset])
        names = [c[0] for c in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        db.close()
    for r in rows:
        r["rules"] = json.loads(r["rules"])
    return total, rows


def verify(path: Path) -> dict[str, Any]:
    """Recompute the chain. ``intact`` is False on an edited row (hash mismatch), a missing row (a gap in seq or
    a broken prev_hash link), or rows missing at the end (the head file names a later record)."""
    db = open_existing(path)
    problems: list[str] = []
    genesis = db.execute("SELECT value FROM meta WHERE key='genesis'").fetchone()
    last = genesis[0] if genesis else ""
    if not genesis:
        problems.append("the genesis value is missing (meta table edited)")
    expected = 1
    count = 0
    hashes: dict[int, str] = {}
    for row in db.execute("SELECT seq, " + ", ".join(FIELDS) + ", prev_hash, hash FROM decisions ORDER BY seq"):
        seq, values, prev, h = row[0], row[1:-2], row[-2], row[-1]
        record = dict(zip(FIELDS, values))
        if seq != expected:
            problems.append(f"records {expected}..{seq - 1} are missing" if seq > expected else f"record {seq} repeated")
        if prev != last:
            problems.append(f"record {seq}: its link to the previous record is broken")
        if record_hash(prev, record) != h:
            problems.append(f"record {seq}: its content does not match its hash (edited)")
        last, expected = h, seq + 1
        hashes[seq] = h
        count += 1
        if len(problems) > 50:
            break
    db.close()
    head_path = Path(str(path) + ".head")
    head = read_head(head_path)
    if head is not None:
        if head[0] > expected - 1:
            problems.append(f"records {expected}..{head[0]} are missing at the end (the head file names record "
                            f"{head[0]})")
        elif hashes.get(head[0]) != head[1]:
            problems.append(f"record {head[0]} differs from the hash the head file recorded")
    elif count:
        problems.append(f"the head file {head_path.name} is missing: deletions at the end cannot be ruled out")
    return {"intact": not problems, "records": count, "last_seq": expected - 1, "head": head[0] if head else None,
            "problems": problems}


def read_head(head_path: Path) -> tuple[int, str] | None:
    """The newest (seq, hash) the writer announced after a commit, from the side file (None without one)."""
    if not head_path.exists():
        return None
    for line in head_path.read_text(encoding="utf-8", errors="replace").splitlines()[::-1]:
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and len(parts[1]) == 64:
            return int(parts[0]), parts[1]
    return None

