"""The decision log in PostgreSQL, for institutions whose engines run on many hosts.

Every host appends to one chain. A write is one transaction that locks the chain's head row
(``SELECT ... FOR UPDATE``), appends its records after it and moves it: a second writer, on
any host, waits on that row lock until the first commits, then links to the new head. So the
chain stays linear without any coordination between hosts but the database's own row lock. The
body is stored as ``text``, not ``jsonb``: the hash is over the exact text.

Needs ``psycopg`` 3 (``pip install 'zxpolicy[postgres]'``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from ._record import GENESIS, LogRecord, StoredRecord, chain

_COLUMNS = "seq, decision_id, at, body, prev_hash, hash"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class PostgresLog:
    """A log in two tables, ``{name}_decisions`` and ``{name}_head``, created when missing."""

    def __init__(self, dsn: str, *, name: str = "zxpolicy", timeout: float = 5.0) -> None:
        if not _NAME.match(name):
            raise ValueError(f"log name `{name}`: lowercase letters, digits and `_`, starting with a letter")
        try:
            import psycopg
        except ImportError:
            raise ImportError("a PostgreSQL log needs psycopg: pip install 'zxpolicy[postgres]'") from None
        self._psycopg = psycopg
        self._dsn = dsn
        self._timeout = timeout
        self._decisions, self._head = f"{name}_decisions", f"{name}_head"
        self._lock = threading.Lock()
        self._conn: Any = None
        with self._lock:
            conn = self._connection()
            with conn.transaction():
                # hosts starting at once must not race to create the tables
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._head,))
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self._decisions} (seq bigint PRIMARY KEY, decision_id text NOT NULL,"
                    " at text NOT NULL, body text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL)"
                )
                conn.execute(f"CREATE INDEX IF NOT EXISTS {self._decisions}_at ON {self._decisions} (at)")
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self._head} (id int PRIMARY KEY CHECK (id = 1),"
                    " seq bigint NOT NULL, hash text NOT NULL)"
                )
                conn.execute(f"INSERT INTO {self._head} VALUES (1, 0, %s) ON CONFLICT DO NOTHING", (GENESIS,))

    def _connection(self) -> Any:
        """The connection, opened again when the last one broke (the server restarted, ...)."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            ms = int(self._timeout * 1000)
            self._conn = self._psycopg.connect(
                self._dsn, connect_timeout=max(1, int(self._timeout)), options=f"-c lock_timeout={ms} -c statement_timeout={ms}"
            )
        return self._conn

    def write(self, record: LogRecord) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[LogRecord]) -> None:
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(f"SELECT seq, hash FROM {self._head} WHERE id = 1 FOR UPDATE")
                    seq, prev = cur.fetchone()
                    rows = chain(list(records), seq, prev)
                    cur.executemany(
                        f"INSERT INTO {self._decisions} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
                        [(s.seq, s.decision_id, s.at, s.body, s.prev_hash, s.hash) for s in rows],
                    )
                    if rows:
                        cur.execute(f"UPDATE {self._head} SET seq = %s, hash = %s WHERE id = 1", (rows[-1].seq, rows[-1].hash))
            finally:
                if conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
                    conn.rollback()

    def head(self) -> tuple[int, str]:
        with self._lock:
            conn = self._connection()
            with conn.transaction():
                row = conn.execute(f"SELECT seq, hash FROM {self._head} WHERE id = 1").fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def count(self, start: str | None = None, end: str | None = None) -> int:
        where, args = _range(start, end)
        with self._lock:
            conn = self._connection()
            with conn.transaction():
                return int(conn.execute(f"SELECT count(*) FROM {self._decisions}{where}", args).fetchone()[0])

    def rows(self, start: str | None = None, end: str | None = None) -> Iterator[StoredRecord]:
        where, args = _range(start, end)
        # a connection of its own, with a server-side cursor: a large log is read in batches
        with self._psycopg.connect(self._dsn, connect_timeout=max(1, int(self._timeout))) as reader:
            with reader.cursor(name="zxpolicy_rows") as cur:
                cur.itersize = 2000
                cur.execute(f"SELECT {_COLUMNS} FROM {self._decisions}{where} ORDER BY seq", args)
                for row in cur:
                    yield StoredRecord(*row)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


def _range(start: str | None, end: str | None) -> tuple[str, tuple[str, ...]]:
    if start is None or end is None:
        return "", ()
    return " WHERE at >= %s AND at < %s", (start, end)
