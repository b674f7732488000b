"""The decision log in a SQLite file: stdlib ``sqlite3``, WAL, one transaction per write.

The chain must stay linear however many threads and processes write. A write takes SQLite's
write lock first (``BEGIN IMMEDIATE``), then reads the chain's head, appends and moves the head,
and commits: no two writers can link to the same record. Within a process the one connection is
also guarded by a lock, as ``sqlite3`` connections are not safe to share between threads.

Opening an existing log only reads (its tables and journal mode are looked at, not set), so any
number of processes can start at once, even while another holds the write lock; only a new file
is set up, under the write lock.

Opened ``read_only``, nothing is ever written, created or locked for writing: that is how
``verify`` and the reports read a log, a read-only copy included. A log that some connection has
open in WAL mode has its ``-wal`` file beside it: it is read with SQLite's ``mode=ro``, which sees
what is in the WAL. Without one, nothing has the log open, and ``mode=ro`` would still create the
``-wal`` and ``-shm`` files (and fail in a read-only directory): the file is read ``immutable``,
which creates nothing and takes no locks; should the file change while it is read (an engine
opened it meanwhile and checkpointed), the read fails rather than trust what it read.

A new log's first record is its genesis (seq 0, see ``_record``). A log made by a zxpolicy before
genesis records (no ``logged_at`` column) is not written to: an engine opening it fails with
``log_legacy``, and ``verify`` reports it; start a new log and keep the old one archived.

A log file deleted or replaced while it is open (its device and inode no longer those opened) is
unavailable: every write fails, so a decision that must be recorded is denied, rather than going
to a file that no longer has a name.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from .._errors import LogError
from ._record import LogRecord, StoredRecord, chain, genesis_row, is_head

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY,
    decision_id TEXT NOT NULL,
    at TEXT NOT NULL,
    logged_at TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_at ON decisions (at);
CREATE INDEX IF NOT EXISTS decisions_logged_at ON decisions (logged_at);
CREATE INDEX IF NOT EXISTS decisions_decision_id ON decisions (decision_id);
CREATE TABLE IF NOT EXISTS chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
"""

_TABLES = ("decisions", "chain_head")
_COLUMNS = "seq, decision_id, at, logged_at, body, prev_hash, hash"
_LEGACY = "decisions.logged_at"  # what a log made before genesis records lacks


class SqliteLog:
    """A log in one SQLite file, created when missing (see ``open_log`` for the arguments).

    Raises ``LogError`` naming the path when the file cannot be opened as a log."""

    def __init__(self, path: str | Path, *, timeout: float = 5.0, durable: bool = True, read_only: bool = False) -> None:
        self.path = Path(path)
        # where the file is, whatever the process's working directory later: what is checked
        # before each write is that this name still leads to the file opened
        self._where = Path(os.path.abspath(self.path))
        self.read_only = read_only
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._unchanged: tuple[int, int, int] | None = None  # immutable: the file as it was opened
        _openable(self.path, read_only)
        try:
            if read_only:
                self._uri, self._unchanged = _reader(self._where)
                self._conn = self._connect_reader()
                self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # is it a database at all
            else:
                self._uri = self._where.as_uri() + "?mode=ro"  # rows() reads beside the writer
                # autocommit mode (isolation_level None): the transactions below are explicit
                self._conn = sqlite3.connect(self._where, timeout=timeout, isolation_level=None, check_same_thread=False)
                self._set_up(durable)
            self._identity = _identity(self._where)
        except sqlite3.Error as exc:
            if self._conn is not None:
                self._conn.close()
            raise _cannot_open(self.path, exc) from None

    def _connect_reader(self) -> sqlite3.Connection:
        return sqlite3.connect(self._uri, uri=True, timeout=self._timeout, isolation_level=None, check_same_thread=False)

    def _set_up(self, durable: bool) -> None:
        c = self._connection()
        # FULL: a decision that was granted is on disk before the host acts on it
        c.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        if _has_tables(c):
            if not _has_logged_at(c):
                raise _legacy(self.path)
            if c.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                c.execute("PRAGMA journal_mode = WAL")  # a log made otherwise; one made here is WAL already
            return  # an existing log: opening it took no write lock
        if c.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            c.execute("PRAGMA journal_mode = WAL")
        c.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)
            if c.execute("SELECT count(*) FROM chain_head").fetchone()[0] == 0:  # no other process made it meanwhile
                g = genesis_row()
                c.execute(f"INSERT INTO decisions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (g.seq, g.decision_id, g.at, g.logged_at, g.body, g.prev_hash, g.hash))
                c.execute("INSERT INTO chain_head VALUES (1, 0, ?)", (g.hash,))
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:  # only while __init__ has not finished
            raise LogError("log_closed", f"决策日志`{self.path}`未打开", f"the log `{self.path}` is not open")
        return self._conn

    def _check_same_file(self) -> None:
        """The file opened is still the one at ``path``: not deleted, not replaced."""
        if _identity(self._where) != self._identity:
            raise LogError(
                "log_replaced",
                f"决策日志`{self.path}`在打开期间被删除或替换；请将日志放回原处后重启",
                f"the log `{self.path}` was deleted or replaced while open; restart with the log in place",
            )

    def write(self, record: LogRecord) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[LogRecord]) -> None:
        if self.read_only:
            raise LogError("log_read_only", f"决策日志`{self.path}`以只读方式打开，不能写入",
                            f"the log `{self.path}` is open read-only")
        with self._lock:
            self._check_same_file()
            c = self._connection()
            c.execute("BEGIN IMMEDIATE")
            try:
                seq, prev = c.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
                rows = chain(list(records), seq, prev)
                c.executemany(
                    f"INSERT INTO decisions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(s.seq, s.decision_id, s.at, s.logged_at, s.body, s.prev_hash, s.hash) for s in rows],
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
            try:
                found = self._connection().execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchall()
            except sqlite3.Error as exc:
                raise _cannot_read(self.path, exc) from None
        if len(found) != 1 or not is_head(found[0]):
            raise LogError("missing_head", f"决策日志`{self.path}`没有链头", f"the log `{self.path}` has no chain head")
        return int(found[0][0]), str(found[0][1])

    def layout(self) -> tuple[tuple[str, ...], bool]:
        with self._lock:
            try:
                c = self._connection()
                names = {row[0] for row in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            except sqlite3.Error as exc:
                raise _cannot_read(self.path, exc) from None
            missing = tuple(t for t in _TABLES if t not in names)
            if "decisions" not in missing and not _has_logged_at(c):
                missing += (_LEGACY,)
            if "chain_head" in missing:
                return missing, False
            try:
                found = c.execute("SELECT seq, hash FROM chain_head").fetchall()
            except sqlite3.Error:  # a table of that name, but not the chain's head
                return missing, False
        return missing, len(found) == 1 and is_head(found[0])

    def count(self, start: str | None = None, end: str | None = None) -> int:
        where, args = _range(start, end, everything=False)
        with self._lock:
            try:
                return int(self._connection().execute(f"SELECT count(*) FROM decisions{where}", args).fetchone()[0])
            except sqlite3.Error as exc:
                raise _cannot_read(self.path, exc) from None

    def rows(self, start: str | None = None, end: str | None = None) -> Iterator[StoredRecord]:
        where, args = _range(start, end)
        # a connection of its own: reading a large log must not hold up the writers' lock
        try:
            reader = self._connect_reader()
        except sqlite3.Error as exc:
            raise _cannot_read(self.path, exc) from None
        try:
            try:
                for row in reader.execute(f"SELECT {_COLUMNS} FROM decisions{where} ORDER BY seq", args):
                    yield StoredRecord(*row)
            except sqlite3.Error as exc:
                raise _cannot_read(self.path, exc) from None
            if self._unchanged is not None and _stamp(self._where) != self._unchanged:
                raise LogError(
                    "log_changed",
                    f"决策日志`{self.path}`在读取期间被改动（有引擎打开了它）；请重新读取",
                    f"the log `{self.path}` changed while it was read (an engine opened it); read it again",
                )
        finally:
            reader.close()

    def find(self, decision_id: str) -> StoredRecord | None:
        return self._one(f"SELECT {_COLUMNS} FROM decisions WHERE decision_id = ? ORDER BY seq LIMIT 1", (decision_id,))

    def row_at(self, seq: int) -> StoredRecord | None:
        return self._one(f"SELECT {_COLUMNS} FROM decisions WHERE seq = ?", (seq,))

    def _one(self, statement: str, args: tuple[object, ...]) -> StoredRecord | None:
        with self._lock:
            try:
                row = self._connection().execute(statement, args).fetchone()
            except sqlite3.Error as exc:
                raise _cannot_read(self.path, exc) from None
        return None if row is None else StoredRecord(*row)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


def _openable(path: Path, read_only: bool) -> None:
    """Say plainly why ``path`` cannot be a log, where SQLite would say "unable to open"."""
    if path.is_dir():
        raise LogError("log_unopenable", f"无法打开决策日志`{path}`：这是一个目录",
                        f"cannot open the log `{path}`: it is a directory")
    if read_only and not path.exists():
        raise LogError("log_missing", f"没有决策日志`{path}`", f"no log at `{path}`")
    if not read_only and not path.exists() and not path.parent.is_dir():
        raise LogError("log_unopenable", f"无法打开决策日志`{path}`：其所在目录不存在",
                        f"cannot open the log `{path}`: its directory does not exist")


def _reader(path: Path) -> tuple[str, tuple[int, int, int] | None]:
    """How to read ``path`` without writing anything (see the module's docstring): the URI, and
    for an immutable read the file's stamp, to check that it did not change meanwhile."""
    uri = path.as_uri()
    if os.path.exists(f"{path}-wal"):
        return uri + "?mode=ro", None
    return uri + "?mode=ro&immutable=1", _stamp(path)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _cannot_open(path: Path, exc: sqlite3.Error) -> LogError:
    return LogError("log_unopenable", f"无法打开决策日志`{path}`：{exc}", f"cannot open the log `{path}`: {exc}")


def _cannot_read(path: Path, exc: sqlite3.Error) -> LogError:
    return LogError("log_unreadable", f"无法读取决策日志`{path}`：{exc}", f"cannot read the log `{path}`: {exc}")


def _range(start: str | None, end: str | None, everything: bool = True) -> tuple[str, tuple[str, ...]]:
    """The records written in ``[start, end)``, decisions only; or every row (the genesis too)."""
    if start is None or end is None:
        return ("", ()) if everything else (" WHERE seq > 0", ())
    return " WHERE logged_at >= ? AND logged_at < ? AND seq > 0", (start, end)


def _has_logged_at(c: sqlite3.Connection) -> bool:
    return any(row[1] == "logged_at" for row in c.execute("PRAGMA table_info(decisions)"))


def _legacy(path: Path) -> LogError:
    return LogError(
        "log_legacy",
        f"决策日志`{path}`由早期版本写成（无创世记录、无写入时间列），不再写入；请启用新日志并归档此日志",
        f"the log `{path}` was made by an earlier version (no genesis record, no write-time column) and is not "
        "written to; start a new log and archive this one",
    )


def _has_tables(c: sqlite3.Connection) -> bool:
    names = {row[0] for row in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return set(_TABLES) <= names


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino
