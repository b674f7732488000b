"""The decision log in a SQLite file: stdlib ``sqlite3``, WAL, one transaction per write.

The chain must stay linear however many threads and processes write. A write takes SQLite's
write lock first (``BEGIN IMMEDIATE``), then reads the chain's head, appends and moves the head,
and commits: no two writers can link to the same record. Within a process the one connection is
also guarded by a lock, as ``sqlite3`` connections are not safe to share between threads.

Opening an existing log only reads (its tables and journal mode are looked at, not set), so any
number of processes can start at once; only a new file is set up, under the write lock. Opened
``read_only``, the file is opened with SQLite's ``mode=ro`` and nothing is ever written: that is
how ``verify`` and the reports read a log, a read-only copy included. A log file deleted or
replaced while it is open (its device and inode no longer those opened) is unavailable: every
write fails, so a decision that must be recorded is denied, rather than going to a file that no
longer has a name.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from .._errors import LogError
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
    a fraction of the latency. ``read_only``: open for reading only (the file must exist).

    Raises ``LogError`` naming the path when the file cannot be opened as a log."""

    def __init__(self, path: str | Path, *, timeout: float = 5.0, durable: bool = True, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.Lock()
        try:
            if read_only:
                uri = self.path.resolve().as_uri() + "?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
                self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # is it a database at all
            else:
                # autocommit mode (isolation_level None): the transactions below are explicit
                self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
                self._set_up(durable)
            self._identity = _identity(self.path)
        except sqlite3.Error as exc:
            if getattr(self, "_conn", None) is not None:
                self._conn.close()
            raise LogError(f"cannot open the log `{self.path}`: {exc}") from None

    def _set_up(self, durable: bool) -> None:
        c = self._conn
        # FULL: a decision that was granted is on disk before the host acts on it
        c.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        if c.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            c.execute("PRAGMA journal_mode = WAL")  # a new file; an existing log is WAL already
        if _has_tables(c):
            return  # an existing log: opening it took no write lock
        c.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)
            c.execute("INSERT OR IGNORE INTO chain_head VALUES (1, 0, ?)", (GENESIS,))
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    def _check_same_file(self) -> None:
        """The file opened is still the one at ``path``: not deleted, not replaced."""
        if _identity(self.path) != self._identity:
            raise LogError(f"the log `{self.path}` was deleted or replaced while open; restart with the log in place")

    def write(self, record: LogRecord) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[LogRecord]) -> None:
        if self.read_only:
            raise LogError(f"the log `{self.path}` is open read-only")
        with self._lock:
            self._check_same_file()
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


def _has_tables(c: sqlite3.Connection) -> bool:
    names = {row[0] for row in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {"decisions", "chain_head"} <= names


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino
