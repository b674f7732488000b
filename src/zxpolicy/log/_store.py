"""The decision log's interfaces, and opening a log by its path or URL.

An engine needs one method of a log, ``write`` (``zxpolicy.decide.DecisionLog``): any object with
it will do. The stores here (SQLite, PostgreSQL) also chain, read and verify what they keep.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..decide import DecisionLog, LogRecord
from ._record import StoredRecord


class LogStore(DecisionLog, Protocol):
    """A hash-chained log: written in order, read back in order."""

    def write_many(self, records: Sequence[LogRecord]) -> None:
        """Write records in one transaction (all or none), in order."""

    def head(self) -> tuple[int, str]:
        """The sequence number and hash of the last record written (0 and the genesis record's
        hash when no decision was written).
        Raises ``LogError`` when the log has no head (see ``layout``)."""

    def layout(self) -> tuple[tuple[str, ...], bool]:
        """What ``verify`` looks at before the records: the names of the log's tables that are
        missing (``decisions.logged_at`` for a log made before genesis records), and whether the
        chain's head is there (one row, a sequence number and a hash)."""

    def count(self, start: str | None = None, end: str | None = None) -> int:
        """How many decision records (the genesis not counted), or how many were written (their
        ``logged_at``) with ``start <= logged_at < end`` (UTC texts, see ``utc_text``)."""

    def rows(self, start: str | None = None, end: str | None = None) -> Iterator[StoredRecord]:
        """Every row in sequence order, the genesis (seq 0) first; or the decision records
        written with ``start <= logged_at < end``."""

    def find(self, decision_id: str) -> StoredRecord | None:
        """The record of a decision id (the genesis's: the log id), or None."""

    def row_at(self, seq: int) -> StoredRecord | None:
        """The record at ``seq``, or None."""

    def close(self) -> None: ...


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """A PostgreSQL URL as it may be shown: its password (in the user part or the query) hidden."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            if ":" in user:
                netloc = f"{user.partition(':')[0]}:***@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in pairs], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return url.split("://", 1)[0] + "://***"  # cannot be taken apart: show none of it


def open_log(target: str | Path, *, timeout: float = 5.0, read_only: bool = False, durable: bool = True) -> LogStore:
    """A log by its SQLite path, or its PostgreSQL URL (``postgresql://...``; needs the
    ``zxpolicy[postgres]`` extra). A SQLite log is created when missing, a PostgreSQL log's tables
    likewise.

    ``timeout``: seconds a write waits for a lock before failing. ``read_only``: open it only to
    read (``verify`` and the reports): nothing is created or changed, the log must exist, and a
    read-only copy will do; every write raises ``LogError``. ``durable`` (SQLite): each write
    reaches the disk before the decision is returned (an fsync per write); False keeps the writes
    through a crash of the process but not of the machine, for a fraction of the latency (on
    PostgreSQL: ``synchronous_commit = off`` for the log's writes).

    Raises ``LogError``, naming the path (or the URL, without its password), when the log cannot
    be opened. Opening never takes the write lock of an existing log."""
    text = str(target)
    if is_postgres(text):
        from ._postgres import PostgresLog

        return PostgresLog(text, timeout=timeout, read_only=read_only, durable=durable)
    from ._sqlite import SqliteLog

    return SqliteLog(text, timeout=timeout, read_only=read_only, durable=durable)
