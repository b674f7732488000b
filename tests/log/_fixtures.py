"""Logs to test against: a SQLite file, and PostgreSQL when a server can be had.

Tests that take ``backend`` run once per store. Each ``Backend`` opens a fresh log by a label,
runs raw SQL on a log's tables (to tamper with it as someone with database access would), and
clones a log (so that many tests can tamper with one 10,000-record log).
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import zxpolicy
from zxpolicy.log import LogRecord, LogStore
from zxpolicy.log._postgres import PostgresLog
from zxpolicy.log._sqlite import SqliteLog

from ..conftest import AT, POLICIES, consent, report

_labels = itertools.count()


class ListLog:
    """A log that keeps records in memory: to make many records through the engine at once."""

    def __init__(self) -> None:
        self.records: list[LogRecord] = []

    def write(self, record: LogRecord) -> None:
        self.records.append(record)


class WrittenWhenAsked:
    """A store whose records are written at the time their requests claim, as if each check had
    been made then (the engine writes its own clock; the reports select by it)."""

    def __init__(self, store: LogStore) -> None:
        self.store = store

    def write(self, record: LogRecord) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[LogRecord]) -> None:
        self.store.write_many([dataclasses.replace(r, logged_at=r.at) for r in records])


@dataclass
class Backend:
    name: str
    root: Path | None = None  # sqlite: the folder of the files
    dsn: str | None = None  # postgres

    def label(self) -> str:
        return f"log{next(_labels)}"

    def open(self, label: str, timeout: float = 5.0) -> LogStore:
        if self.dsn is not None:
            return PostgresLog(self.dsn, name=label, timeout=timeout)
        assert self.root is not None
        return SqliteLog(self.root / f"{label}.db", timeout=timeout, durable=False)  # fsyncs would only slow the tests

    def target(self, label: str) -> str:
        """What the CLI takes: a path (PostgreSQL logs are tested through the library)."""
        assert self.root is not None
        return str(self.root / f"{label}.db")

    def sql(self, label: str, statement: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``statement`` with ``{d}`` and ``{h}`` for the log's tables and ``?`` for values."""
        if self.dsn is not None:
            import psycopg

            text = statement.format(d=f"{label}_decisions", h=f"{label}_head").replace("?", "%s")
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                cur = conn.execute(text, args)
                return list(cur.fetchall()) if cur.description else []
        import sqlite3

        conn = sqlite3.connect(self.root / f"{label}.db")  # type: ignore[operator]
        try:
            with conn:
                rows = conn.execute(statement.format(d="decisions", h="chain_head"), args).fetchall()
            return list(rows)
        finally:
            conn.close()

    def sql_many(self, label: str, statement: str, rows: list[tuple[Any, ...]]) -> None:
        """``statement`` for each of ``rows``, in one transaction."""
        if self.dsn is not None:
            import psycopg

            text = statement.format(d=f"{label}_decisions", h=f"{label}_head").replace("?", "%s")
            with psycopg.connect(self.dsn) as conn, conn.cursor() as cur:
                cur.executemany(text, rows)
            return
        import sqlite3

        conn = sqlite3.connect(self.root / f"{label}.db")  # type: ignore[operator]
        try:
            with conn:
                conn.executemany(statement.format(d="decisions", h="chain_head"), rows)
        finally:
            conn.close()

    def clone(self, source: str) -> str:
        label = self.label()
        if self.dsn is not None:
            for table in ("decisions", "head"):
                self.sql(label, f"CREATE TABLE {label}_{table} (LIKE {source}_{table} INCLUDING ALL)")
                self.sql(label, f"INSERT INTO {label}_{table} SELECT * FROM {source}_{table}")
        else:
            assert self.root is not None
            shutil.copy(self.root / f"{source}.db", self.root / f"{label}.db")
        return label


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_dsn: str | None) -> Backend:
    if request.param == "postgres":
        if pg_dsn is None:
            pytest.skip("no PostgreSQL server: set ZXPOLICY_TEST_PG_DSN, or install PostgreSQL (.ci/run does)")
        return Backend("postgres", dsn=pg_dsn)
    return Backend("sqlite", root=tmp_path_factory.mktemp("logs"))


@pytest.fixture
def postgres_backend(pg_dsn: str | None) -> Backend:
    """The PostgreSQL backend alone, for what only PostgreSQL has."""
    if pg_dsn is None:
        pytest.skip("no PostgreSQL server: set ZXPOLICY_TEST_PG_DSN, or install PostgreSQL (.ci/run does)")
    return Backend("postgres", dsn=pg_dsn)


def many_records(n: int) -> list[LogRecord]:
    """``n`` decisions made by the engine: queries of many customers over a day, some denied."""
    sink = ListLog()
    engine = zxpolicy.load(POLICIES, log=sink)
    for i in range(n):
        customer = f"c-{i % 97}"
        given = consent(customer=customer) if i % 10 else None  # every tenth has no consent: denied
        engine.check("u-query-east1", report(customer=customer, rid=f"r-{i}"), "loan_review",
                     consent=given, at=AT + timedelta(seconds=i))
    assert len(sink.records) == n
    return sink.records
