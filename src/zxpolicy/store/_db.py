"""The store's one connection, to SQLite or PostgreSQL, and the few places their SQL differs.

The store's SQL is written once, with ``?`` placeholders; for PostgreSQL they become ``%s``. A
write is one transaction that holds the store's write lock: SQLite's (``BEGIN IMMEDIATE``), or
on PostgreSQL a transaction-level advisory lock, so that two publishes on two hosts cannot both
link to the same history entry. Schema changes are numbered migrations (``MIGRATIONS``), applied
in order under that lock; the number reached is kept in the ``meta`` table.

``Db`` serves any set of tables described by a ``DbSchema`` (their prefix, which also names the
meta table, the write lock and the NOTIFY channel; their migrations; the error raised and how
the database is named in it): the compliance console keeps its tables in the decision log's
database with the same class and tables of its own prefix.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import StoreError, ZxpolicyError

__all__ = ["CHANNEL", "MIGRATIONS", "STORE_TABLES", "Db", "DbSchema", "Migrations", "redacted", "store_path"]

PREFIX = "zxpolicy_store"
CHANNEL = PREFIX  # PostgreSQL NOTIFY channel: an entry was appended to the history

# Each migration: its number and its statements, in order.
Migrations = tuple[tuple[int, tuple[str, ...]], ...]

# Each migration: its number and its statements. Never edit one that has shipped: add the next.
MIGRATIONS: Migrations = (
    (1, (
        f"CREATE TABLE IF NOT EXISTS {PREFIX}_history ("
        " seq BIGINT PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, revision BIGINT NOT NULL,"
        " effective INTEGER NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {PREFIX}_history_kind ON {PREFIX}_history (kind, revision)",
        f"CREATE INDEX IF NOT EXISTS {PREFIX}_history_effective ON {PREFIX}_history (effective, seq)",
    )),
)
LATEST = MIGRATIONS[-1][0]


@dataclass(frozen=True)
class DbSchema:
    """One set of tables that a ``Db`` serves.

    ``prefix`` starts every table's name and names the meta table (``{prefix}_meta``), the
    PostgreSQL write lock and NOTIFY channel, so that two sets of tables in one database lock
    and notify apart. ``error(code, message, message_en)`` makes the error raised, whose code is
    ``{code}_unreachable``, ``{code}_unreadable``, ``{code}_unwritable``, ``{code}_too_new``, ...;
    ``noun`` (Chinese, English) names the database in its messages."""

    prefix: str
    migrations: Migrations
    error: Callable[[str, str, str], ZxpolicyError]
    code: str
    noun: tuple[str, str]

    @property
    def latest(self) -> int:
        return self.migrations[-1][0]


STORE_TABLES = DbSchema(PREFIX, MIGRATIONS, StoreError, "store", ("策略库", "store"))


def redacted(url: str) -> str:
    """The URL as it may be shown: a PostgreSQL URL's password hidden; a SQLite URL as it is."""
    from ..log import redacted as hide

    return hide(url) if is_postgres(url) else url


def store_path(url: str) -> Path | None:
    """``sqlite:///rel.db`` → ``rel.db``, ``sqlite:////abs/x.db`` → ``/abs/x.db``; None for other URLs."""
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") and len(url) > len("sqlite:///") else None


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class Db:
    """One connection (reopened when it broke), guarded by a lock: ``sqlite3`` and ``psycopg``
    connections are not to be shared by threads at once."""

    def __init__(
        self, url: str, *, create: bool, timeout: float = 5.0, tables: DbSchema = STORE_TABLES, shown: str | None = None
    ) -> None:
        """``url``: ``sqlite:///PATH`` or ``postgresql://…``; ``shown``: how messages name the
        database (by default the URL without its password)."""
        self.url, self.shown, self.timeout = url, shown if shown is not None else redacted(url), timeout
        self.tables = tables
        self.postgres = is_postgres(url)
        self.path = store_path(url)
        zh, en = tables.noun
        if not self.postgres and self.path is None:
            raise tables.error(f"{tables.code}_url_invalid", f"{zh}地址`{self.shown}`无效：应为 sqlite:///路径 或 postgresql://…",
                               f"{en} URL `{self.shown}` is not valid: expected sqlite:///PATH or postgresql://…")
        if self.path is not None and not create and not self.path.is_file():
            raise tables.error(f"{tables.code}_unreachable", f"{zh}`{self.shown}`不存在", f"the {en} `{self.shown}` does not exist")
        self._lock = threading.RLock()
        self._conn: Any = None
        self._listener: Any = None
        self._psycopg: Any = None
        if self.postgres:
            try:
                import psycopg
            except ImportError:
                raise tables.error(f"{tables.code}_driver_missing", f"PostgreSQL {zh}需要 psycopg：pip install 'zxpolicy[postgres]'",
                                   f"a PostgreSQL {en} needs psycopg: pip install 'zxpolicy[postgres]'") from None
            self._psycopg = psycopg
        with self._lock:
            self._connection()

    # -- connections ------------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.postgres:
            return self._psycopg.connect(self._conninfo(timeouts=True))
        assert self.path is not None
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def _conninfo(self, *, timeouts: bool) -> str:
        """The URL's parameters (its own ``options``, such as a ``search_path``, kept), with a
        connect timeout, and for the working connection lock and statement timeouts."""
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params: dict[str, Any] = dict(conninfo_to_dict(self.url))
        params.setdefault("connect_timeout", max(1, int(self.timeout)))
        if timeouts:
            ms = int(self.timeout * 1000)
            params["options"] = f"{params.get('options') or ''} -c lock_timeout={ms} -c statement_timeout={ms}".strip()
        return str(make_conninfo("", **params))

    def _connection(self) -> Any:
        try:
            if self._conn is None or (self.postgres and (self._conn.closed or self._conn.broken)):
                self._conn = self._connect()
            return self._conn
        except Exception as exc:
            self._conn = None
            raise self.error("unreachable", "无法连接", "cannot reach", exc) from None

    def error(self, code: str, zh: str, en: str, exc: BaseException) -> ZxpolicyError:
        """The tables' error ``{code}_{code}``, naming the database and what the driver said."""
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        noun_zh, noun_en = self.tables.noun
        return self.tables.error(f"{self.tables.code}_{code}", f"{zh}{noun_zh}`{self.shown}`：{detail}",
                                 f"{en} the {noun_en} `{self.shown}`: {detail}")

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def _failed(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the database's (and so the connection may be gone)."""
        if isinstance(exc, sqlite3.Error):
            return True
        return self.postgres and isinstance(exc, self._psycopg.Error)

    # -- reading and writing ----------------------------------------------------------------

    def read(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One read, in a transaction of its own."""
        with self._lock:
            conn = self._connection()
            try:
                if self.postgres:
                    with conn.transaction():
                        return list(conn.execute(self._sql(statement), tuple(args)).fetchall())
                return list(conn.execute(statement, tuple(args)).fetchall())
            except Exception as exc:
                if not self._failed(exc):
                    raise
                self._drop()
                raise self.error("unreadable", "无法读取", "cannot read", exc) from None

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A transaction holding the tables' write lock; committed when the block ends (rolled
        back when it raises)."""
        with self._lock:
            conn = self._connection()
            try:
                if self.postgres:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.tables.prefix,))
                        yield Tx(self, conn)
                else:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield Tx(self, conn)
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
            except ZxpolicyError:
                raise
            except Exception as exc:
                if not self._failed(exc):
                    raise
                self._drop()
                raise self.error("unwritable", "无法写入", "cannot write", exc) from None

    def migrate(self) -> None:
        """Create the tables, or bring them to the latest migration."""
        meta, latest, (zh, en) = f"{self.tables.prefix}_meta", self.tables.latest, self.tables.noun
        with self.write() as tx:
            tx.execute(f"CREATE TABLE IF NOT EXISTS {meta} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            found = tx.query(f"SELECT value FROM {meta} WHERE key = 'schema_version'")
            reached = int(found[0][0]) if found else 0
            if reached > latest:
                raise self.tables.error(
                    f"{self.tables.code}_too_new", f"{zh}`{self.shown}`的表结构（第 {reached} 版）比本软件新；请升级 zxpolicy",
                    f"the {en} `{self.shown}` has schema version {reached}, newer than this zxpolicy knows; upgrade zxpolicy")
            for number, statements in self.tables.migrations:
                if number > reached:
                    for statement in statements:
                        tx.execute(statement)
            if reached == 0:
                tx.execute(f"INSERT INTO {meta} (key, value) VALUES ('schema_version', ?)", (str(latest),))
            elif reached < latest:
                tx.execute(f"UPDATE {meta} SET value = ? WHERE key = 'schema_version'", (str(latest),))

    def schema_version(self) -> int:
        """The migration the tables are at; 0 when there are none."""
        meta = f"{self.tables.prefix}_meta"
        if self.postgres:
            there = self.read("SELECT to_regclass(?) IS NOT NULL", (meta,))[0][0]
        else:
            there = bool(self.read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (meta,)))
        if not there:
            return 0
        found = self.read(f"SELECT value FROM {meta} WHERE key = 'schema_version'")
        return int(found[0][0]) if found else 0

    # -- following changes ------------------------------------------------------------------

    def wait(self, timeout: float, head: int, current_head: Any) -> bool:
        """Block up to ``timeout`` seconds for a change. PostgreSQL: a NOTIFY on the prefix (on a
        connection of its own, so that waiting holds no lock). SQLite: the head polled. Raises
        the tables' error when the connection is lost."""
        if not self.postgres:
            deadline = time.monotonic() + timeout
            while True:
                if current_head() != head:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                time.sleep(min(0.05, left))
        try:
            if self._listener is None or self._listener.closed or self._listener.broken:
                self._listener = self._psycopg.connect(self._conninfo(timeouts=False), autocommit=True)
                self._listener.execute(f"LISTEN {self.tables.prefix}")
                if current_head() != head:  # appended before LISTEN took hold
                    return True
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                return True
            return False
        except Exception as exc:
            if not self._failed(exc):
                raise
            self._close_listener()
            raise self.error("unreachable", "连接中断：", "lost the connection to", exc) from None

    def _drop(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
        except Exception:
            pass
        self._conn = None

    def _close_listener(self) -> None:
        try:
            if self._listener is not None:
                self._listener.close()
        except Exception:
            pass
        self._listener = None

    def close(self) -> None:
        with self._lock:
            self._drop()
            self._close_listener()


class Tx:
    """The statements of one write transaction."""

    def __init__(self, db: Db, conn: Any) -> None:
        self._db, self._conn = db, conn

    def execute(self, statement: str, args: Sequence[Any] = ()) -> None:
        self._conn.execute(self._db._sql(statement), tuple(args))

    def query(self, statement: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._conn.execute(self._db._sql(statement), tuple(args)).fetchall())

    def notify(self) -> None:
        """Tell every host listening that the tables grew (PostgreSQL sends it at commit)."""
        if self._db.postgres:
            self._conn.execute(f"NOTIFY {self._db.tables.prefix}")
