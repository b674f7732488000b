"""The console's tables, in the decision log's database.

The console keeps its accounts, sessions, the daily review's ledger and its own audit trail
beside the decision log they speak of: in the log's SQLite file, or in its PostgreSQL database
(``postgresql://…``, the same URL ``zxpolicy serve --log`` takes). Its tables are prefixed
``zxpolicy_console_`` and never touch the log's own; they are made by numbered migrations
(``MIGRATIONS``), through the policy store's connection class (``zxpolicy.store.Db``), which
takes the write lock of these tables alone (SQLite's is the file's; PostgreSQL's an advisory
lock of the prefix).

    users     one row per console account: its argon2id hash, when it was set
    sessions  sha256 of each session token (never the token), its CSRF token, its times
    review    the daily review's ledger: outcomes and sign-offs, hash-chained
    audit     every page view and action, hash-chained apart from the ledger
    heads     the last entry of each chain, so that entries cut off its end are found
"""

from __future__ import annotations

from pathlib import Path

from .._errors import ConsoleError
from ..store import Db, DbSchema, Migrations, is_postgres

__all__ = ["MIGRATIONS", "PREFIX", "ConsoleDb", "open_console_db"]

PREFIX = "zxpolicy_console"

# The columns of a chained table: the look-up columns repeat what the body says.
_CHAIN_COLUMNS = (
    " seq BIGINT PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, day TEXT NOT NULL, who TEXT NOT NULL,"
    " body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL"
)

# Each migration: its number and its statements. Never edit one that has shipped: add the next.
MIGRATIONS: Migrations = (
    (1, (
        f"CREATE TABLE IF NOT EXISTS {PREFIX}_users ("
        " user_id TEXT PRIMARY KEY, hash TEXT NOT NULL, changed_at TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {PREFIX}_sessions ("
        " token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, csrf TEXT NOT NULL,"
        " created_at TEXT NOT NULL, seen_at TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {PREFIX}_sessions_user ON {PREFIX}_sessions (user_id)",
        f"CREATE TABLE IF NOT EXISTS {PREFIX}_review ({_CHAIN_COLUMNS})",
        f"CREATE INDEX IF NOT EXISTS {PREFIX}_review_day ON {PREFIX}_review (day, kind)",
        f"CREATE TABLE IF NOT EXISTS {PREFIX}_audit ({_CHAIN_COLUMNS})",
        f"CREATE INDEX IF NOT EXISTS {PREFIX}_audit_at ON {PREFIX}_audit (at)",
        f"CREATE TABLE IF NOT EXISTS {PREFIX}_heads (chain TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL)",
    )),
)

TABLES = DbSchema(PREFIX, MIGRATIONS, ConsoleError, "console_db", ("控制台数据库", "console database"))


class ConsoleDb:
    """The console's tables, open. Made by ``open_console_db``; safe to share between threads
    (one connection behind a lock, reopened when it broke)."""

    def __init__(self, db: Db, log: str) -> None:
        self.db = db
        self.log = log  # as it may be shown: a PostgreSQL URL without its password

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ConsoleDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_console_db(log: str | Path, *, timeout: float = 5.0) -> ConsoleDb:
    """The console's tables in the database of the decision log ``log`` (a SQLite path, or a
    ``postgresql://`` URL), made or brought to the latest migration when they are not.

    A SQLite file that does not exist is made, as ``zxpolicy.log.open_log`` does (its folder
    must exist). Raises ``ConsoleError`` (``console_db_unreachable``, ``console_db_too_new``,
    ``console_db_unwritable``, ...) naming the log."""
    text = str(log)
    if is_postgres(text):
        url, shown = text, None
    else:
        path = Path(text)
        if not text or path.is_dir() or not path.parent.is_dir():
            raise ConsoleError("console_db_unreachable", f"决策日志`{text}`不是可用的文件路径（其目录须已存在）",
                               f"the decision log `{text}` is not a usable file path (its folder must exist)")
        url, shown = f"sqlite:///{path}", text
    db = Db(url, create=True, timeout=timeout, tables=TABLES, shown=shown)
    try:
        db.migrate()
    except BaseException:
        db.close()
        raise
    return ConsoleDb(db, db.shown)
