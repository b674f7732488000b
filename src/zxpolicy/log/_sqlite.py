"""The decision log in a SQLite file: stdlib ``sqlite3``, WAL, one transaction per write.

The chain must stay linear however many threads and processes write. A write takes SQLite's
write lock first (``BEGIN IMMEDIATE``), then reads the chain's head, appends and moves the head,
and commits: no two writers can link to the same record. Within a process the one connection is
also guarded by a lock, as ``sqlite3`` connections are not safe to share between threads.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from ._record import GENESIS, LogRecord, StoredRecord, chain

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY,
    decision_id TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_at ON decisions (at);
CREATE TABLE IF NOT EXISTS chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
"""

_COLUMNS = "seq, decision_id, at, body, prev_hash, hash"


class SqliteLog:
    """A log in one SQLite file, created when missing. ``timeout``: seconds a write waits for
    another writer's lock before it fails (and an allowed query becomes a deny). ``durable``:
    each write reaches the disk before the decision is returned (``synchronous = FULL``, an
    fsync per write); False keeps it through a crash of the process but not of the machine, for
    a fraction of the latency."""

    def __init__(self, path: str | Path, *, timeout: float = 5.0, durable: bool = True) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        # autocommit mode (isolation_level None): the transactions below are explicit
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            self._conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a decision that was granted is on disk before the host acts on it
            self._conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self._conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            self._conn.execute("INSERT OR IGNORE INTO chain_head VALUES (1, 0, ?)", (GENESIS,))
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.close()
            raise

    def write(self, record: LogRecord) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[LogRecord]) -> None:
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                seq, prev = c.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
                rows = chain(list(records), seq, prev)
                c.executemany(
                    f"INSERT INTO decisions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    [(s.seq, s.decision_id, s.at, s.body, s.prev_hash, s.hash) for s in rows],
                )
                if rows:
                    c.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (rows[-1].seq, rows[-1].hash))
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise

    def head(self) -> tuple[int, str]:
        with self._lock:
            row = self._conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def count(self, start: str | None = None, end: str | None = None) -> int:
        where, args = _range(start, end)
        with self._lock:
            return int(self._conn.execute(f"SELECT count(*) FROM decisions{where}", args).fetchone()[0])

    def rows(self, start: str | None = None, end: str | None = None) -> Iterator[StoredRecord]:
        where, args = _range(start, end)
        # a connection of its own: reading a large log must not hold up the writers' lock
        reader = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            for row in reader.execute(f"SELECT {_COLUMNS} FROM decisions{where} ORDER BY seq", args):
                yield StoredRecord(*row)
        finally:
            reader.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _range(start: str | None, end: str | None) -> tuple[str, tuple[str, ...]]:
    if start is None or end is None:
        return "", ()
    return " WHERE at >= ? AND at < ?", (start, end)
