"""The decision log's interfaces, and opening a log by its path or URL.

An engine needs one method of a log, ``write`` (``zxpolicy.decide.DecisionLog``): any object with
it will do. The stores here (SQLite, PostgreSQL) also chain, read and verify what they keep.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from ..decide import DecisionLog, LogRecord
from ._record import StoredRecord


class LogStore(DecisionLog, Protocol):
    """A hash-chained log: written in order, read back in order."""

    def write_many(self, records: Sequence[LogRecord]) -> None:
        """Write records in one transaction (all or none), in order."""

    def head(self) -> tuple[int, str]:
        """The sequence number and hash of the last record written (0 and GENESIS when empty)."""

    def count(self, start: str | None = None, end: str | None = None) -> int:
        """How many records, or how many with ``start <= at < end`` (UTC texts, see ``utc_text``)."""

    def rows(self, start: str | None = None, end: str | None = None) -> Iterator[StoredRecord]:
        """The records in sequence order, or those with ``start <= at < end``."""

    def close(self) -> None: ...


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def open_log(target: str | Path, *, timeout: float = 5.0) -> LogStore:
    """A log by its SQLite path, or its PostgreSQL URL (``postgresql://...``; needs the
    ``zxpolicy[postgres]`` extra). ``timeout``: seconds a write waits for a lock before failing."""
    text = str(target)
    if is_postgres(text):
        from ._postgres import PostgresLog

        return PostgresLog(text, timeout=timeout)
    from ._sqlite import SqliteLog

    return SqliteLog(text, timeout=timeout)
