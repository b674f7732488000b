"""The decision log in PostgreSQL, for institutions whose engines run on many hosts.

Every host appends to one chain. A write is one transaction that locks the chain's head row
(``SELECT ... FOR UPDATE``), appends its records after it and moves it: a second writer, on
any host, waits on that row lock until the first commits, then links to the new head. So the
chain stays linear without any coordination between hosts but the database's own row lock. The
body is stored as ``text``, not ``jsonb``: the hash is over the exact text.

Opening an existing log only looks for its tables; a missing one is created under an advisory
lock, so that hosts starting at once do not race. Opened ``read_only``, every transaction of the
connection is read-only (``default_transaction_read_only``): nothing is created or changed,
whatever is asked of it.

A new log's first record is its genesis (seq 0, see ``_record``), written with the tables. A log
made before genesis records (no ``logged_at`` column) is not written to (``log_legacy``).

Needs ``psycopg`` 3 (``pip install 'zxpolicy[postgres]'``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from .._errors import LogError
from ._record import LogRecord, StoredRecord, chain, genesis_row, is_head
from ._store import redacted

_COLUMNS = "seq, decision_id, at, logged_at, body, prev_hash, hash"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class PostgresLog:
    """A log in two tables, ``{name}_decisions`` and ``{name}_head``, created when missing (see
    ``open_log`` for the other arguments). Raises ``LogError`` naming the URL (without its
    password) when the database cannot be reached or the log cannot be set up."""

    def __init__(
        self, dsn: str, *, name: str = "zxpolicy", timeout: float = 5.0, read_only: bool = False, durable: bool = True
    ) -> None:
        if not _NAME.match(name):
            raise ValueError(f"log name `{name}`: lowercase letters, digits and `_`, starting with a letter")
        try:
            import psycopg
        except ImportError:
            raise LogError(
                "log_driver_missing",
                "PostgreSQL 决策日志需要 psycopg：pip install 'zxpolicy[postgres]'",
                "a PostgreSQL log needs psycopg: pip install 'zxpolicy[postgres]'",
            ) from None
        self._psycopg = psycopg
        self._dsn = dsn
        self._shown = redacted(dsn)
        self._timeout = timeout
        self.read_only = read_only
        ms = int(timeout * 1000)
        options = [f"-c lock_timeout={ms}", f"-c statement_timeout={ms}"]
        if read_only:
            options.append("-c default_transaction_read_only=on")
        elif not durable:
            options.append("-c synchronous_commit=off")
        self._options = " ".join(options)
        self._decisions, self._head = f"{name}_decisions", f"{name}_head"
        self._lock = threading.Lock()
        self._conn: Any = None
        try:
            with self._lock:
                conn = self._connection()
                if not read_only and self._missing(conn):
                    self._create(conn)
                if not read_only and not self._has_logged_at(conn):
                    raise LogError(
                        "log_legacy",
                        f"决策日志`{self._shown}`由早期版本写成（无创世记录、无写入时间列），不再写入；请启用新日志并归档此日志",
                        f"the log `{self._shown}` was made by an earlier version (no genesis record, no write-time "
                        "column) and is not written to; start a new log and archive this one",
                    )
        except psycopg.Error as exc:
            self.close()
            raise self._error("log_unopenable", "无法打开", "cannot open", exc) from None
        except LogError:
            self.close()
            raise

    def _create(self, conn: Any) -> None:
        with conn.transaction():
            # hosts starting at once must not race to create the tables
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._head,))
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._decisions} (seq bigint PRIMARY KEY, decision_id text NOT NULL,"
                " at text NOT NULL, logged_at text NOT NULL, body text NOT NULL, prev_hash text NOT NULL,"
                " hash text NOT NULL)"
            )
            conn.execute(f"CREATE INDEX IF NOT EXISTS {self._decisions}_at ON {self._decisions} (at)")
            conn.execute(f"CREATE INDEX IF NOT EXISTS {self._decisions}_logged_at ON {self._decisions} (logged_at)")
            conn.execute(f"CREATE INDEX IF NOT EXISTS {self._decisions}_decision_id ON {self._decisions} (decision_id)")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._head} (id int PRIMARY KEY CHECK (id = 1),"
                " seq bigint NOT NULL, hash text NOT NULL)"
            )
            if conn.execute(f"SELECT count(*) FROM {self._head}").fetchone()[0] == 0:  # not made meanwhile
                g = genesis_row()
                conn.execute(
                    f"INSERT INTO {self._decisions} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (g.seq, g.decision_id, g.at, g.logged_at, g.body, g.prev_hash, g.hash),
                )
                conn.execute(f"INSERT INTO {self._head} VALUES (1, 0, %s)", (g.hash,))

    def _missing(self, conn: Any) -> tuple[str, ...]:
        with conn.transaction():
            found = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL", (self._decisions, self._head)
            ).fetchone()
        return tuple(t for t, there in zip((self._decisions, self._head), found, strict=True) if not there)

    def _has_logged_at(self, conn: Any) -> bool:
        with conn.transaction():
            found = conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = %s AND column_name = 'logged_at'", (self._decisions,),
            ).fetchone()
        return found is not None

    def _connect(self) -> Any:
        return self._psycopg.connect(self._dsn, connect_timeout=max(1, int(self._timeout)), options=self._options)

    def _connection(self) -> Any:
        """The connection, opened again when the last one broke (the server restarted, ...)."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    def _error(self, code: str, zh: str, en: str, exc: BaseException) -> LogError:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        return LogError(code, f"{zh}决策日志`{self._shown}`：{detail}", f"{en} the log `{self._shown}`: {detail}")

    def write(self, record: LogRecord) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[LogRecord]) -> None:
        if self.read_only:
            raise LogError("log_read_only", f"决策日志`{self._shown}`以只读方式打开，不能写入",
                            f"the log `{self._shown}` is open read-only")
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(f"SELECT seq, hash FROM {self._head} WHERE id = 1 FOR UPDATE")
                    seq, prev = cur.fetchone()
                    rows = chain(list(records), seq, prev)
                    cur.executemany(
                        f"INSERT INTO {self._decisions} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        [(s.seq, s.decision_id, s.at, s.logged_at, s.body, s.prev_hash, s.hash) for s in rows],
                    )
                    if rows:
                        cur.execute(f"UPDATE {self._head} SET seq = %s, hash = %s WHERE id = 1", (rows[-1].seq, rows[-1].hash))
            finally:
                if conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
                    conn.rollback()

    def _read(self, statement: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One read, in a transaction of its own; a failure is a ``LogError`` naming the log."""
        with self._lock:
            try:
                conn = self._connection()
                with conn.transaction():
                    return list(conn.execute(statement, args).fetchall())
            except self._psycopg.Error as exc:
                raise self._error("log_unreadable", "无法读取", "cannot read", exc) from None

    def head(self) -> tuple[int, str]:
        found = self._read(f"SELECT seq, hash FROM {self._head} WHERE id = 1")
        if len(found) != 1 or not is_head(found[0]):
            raise LogError("missing_head", f"决策日志`{self._shown}`没有链头", f"the log `{self._shown}` has no chain head")
        return int(found[0][0]), str(found[0][1])

    def layout(self) -> tuple[tuple[str, ...], bool]:
        with self._lock:
            try:
                conn = self._connection()
                missing = self._missing(conn)
                if self._decisions not in missing and not self._has_logged_at(conn):
                    missing += ("decisions.logged_at",)  # a log made before genesis records
            except self._psycopg.Error as exc:
                raise self._error("log_unreadable", "无法读取", "cannot read", exc) from None
        if self._head in missing:
            return missing, False
        try:
            found = self._read(f"SELECT seq, hash FROM {self._head}")
        except LogError:  # a table of that name, but not the chain's head
            return missing, False
        return missing, len(found) == 1 and is_head(found[0])

    def count(self, start: str | None = None, end: str | None = None) -> int:
        where, args = _range(start, end, everything=False)
        return int(self._read(f"SELECT count(*) FROM {self._decisions}{where}", args)[0][0])

    def rows(self, start: str | None = None, end: str | None = None) -> Iterator[StoredRecord]:
        where, args = _range(start, end)
        # a connection of its own, with a server-side cursor: a large log is read in batches
        try:
            with self._connect() as reader:
                with reader.cursor(name="zxpolicy_rows") as cur:
                    cur.itersize = 2000
                    cur.execute(f"SELECT {_COLUMNS} FROM {self._decisions}{where} ORDER BY seq", args)
                    for row in cur:
                        yield StoredRecord(*row)
        except self._psycopg.Error as exc:
            raise self._error("log_unreadable", "无法读取", "cannot read", exc) from None

    def find(self, decision_id: str) -> StoredRecord | None:
        found = self._read(f"SELECT {_COLUMNS} FROM {self._decisions} WHERE decision_id = %s ORDER BY seq LIMIT 1", (decision_id,))
        return StoredRecord(*found[0]) if found else None

    def row_at(self, seq: int) -> StoredRecord | None:
        found = self._read(f"SELECT {_COLUMNS} FROM {self._decisions} WHERE seq = %s", (seq,))
        return StoredRecord(*found[0]) if found else None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


def _range(start: str | None, end: str | None, everything: bool = True) -> tuple[str, tuple[str, ...]]:
    """The records written in ``[start, end)``, decisions only; or every row (the genesis too)."""
    if start is None or end is None:
        return ("", ()) if everything else (" WHERE seq > 0", ())
    return " WHERE logged_at >= %s AND logged_at < %s AND seq > 0", (start, end)
