"""The console's tables in the decision log's database: made by numbered migrations beside the
log's own tables, on SQLite and PostgreSQL, with errors that name the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from zxpolicy import ConsoleError
from zxpolicy.console import open_console_db
from zxpolicy.log import open_log, verify_chain

from ..conftest import POLICIES
from ..live._helpers import pg_database  # noqa: F401  (a fixture: a fresh PostgreSQL database)


@pytest.fixture(params=["sqlite", "postgres"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A decision log's target: a SQLite file, or a PostgreSQL database of its own (the log's
    tables and the console's have fixed names)."""
    if request.param == "sqlite":
        return str(tmp_path / "decisions.db")
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
def db(log: str) -> Iterator[object]:
    opened = open_console_db(log)
    try:
        yield opened
    finally:
        opened.close()


def raw(log: str, statement: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """A statement run behind the console's back, as someone with database access would."""
    if log.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(log, autocommit=True) as conn:
            cur = conn.execute(statement.replace("?", "%s"), args)
            return list(cur.fetchall()) if cur.description else []
    with sqlite3.connect(log) as conn:
        return list(conn.execute(statement, args).fetchall())


def tables(log: str) -> set[str]:
    if log.startswith("postgresql://"):
        return {str(r[0]) for r in raw(log, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    return {str(r[0]) for r in raw(log, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_the_tables_are_made_beside_the_log_and_leave_it_intact(log: str) -> None:
    import zxpolicy

    written = open_log(log, durable=False)
    engine = zxpolicy.load(POLICIES, log=written)
    engine.check("u-query-east1", {"kind": "credit_report", "level": "ordinary", "org": "east-1", "id": "r1"}, "legal")
    written.close()
    db = open_console_db(log)
    db.close()
    made = tables(log)
    assert {f"zxpolicy_console_{t}" for t in ("users", "sessions", "review", "audit", "heads", "meta")} <= made
    assert made & {"decisions", "zxpolicy_decisions"}  # the log's own table (SQLite's, PostgreSQL's name) is there
    reading = open_log(log, read_only=True)
    try:
        assert verify_chain(reading).ok
    finally:
        reading.close()


def test_migrations_are_numbered_and_reopening_applies_none_again(log: str) -> None:
    open_console_db(log).close()
    assert raw(log, "SELECT value FROM zxpolicy_console_meta WHERE key = 'schema_version'") == [("1",)]
    open_console_db(log).close()  # the tables exist: nothing is made twice, nothing fails
    assert raw(log, "SELECT count(*) FROM zxpolicy_console_meta") == [(1,)]


def test_a_newer_schema_is_refused(log: str) -> None:
    open_console_db(log).close()
    raw(log, "UPDATE zxpolicy_console_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ConsoleError) as err:
        open_console_db(log)
    assert err.value.code == "console_db_too_new"
    assert "99" in err.value.message and "upgrade zxpolicy" in err.value.message_en


def test_a_log_in_a_missing_folder_is_refused_naming_it(tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "decisions.db"
    with pytest.raises(ConsoleError) as err:
        open_console_db(target)
    assert err.value.code == "console_db_unreachable"
    assert str(target) in err.value.message and str(target) in err.value.message_en


def test_an_unreachable_postgres_is_refused_without_its_password() -> None:
    with pytest.raises(ConsoleError) as err:
        open_console_db("postgresql://nobody:secret@127.0.0.1:1/none", timeout=1)
    assert err.value.code == "console_db_unreachable"
    assert "secret" not in err.value.message_en and "secret" not in err.value.message
    assert "127.0.0.1:1" in err.value.message_en


def test_the_store_tables_and_the_console_tables_share_one_database(tmp_path: Path) -> None:
    """The connection class is the store's, generalised: one file may hold both sets of tables,
    each with its own meta table and migrations."""
    from zxpolicy.store import init_store

    path = tmp_path / "both.db"
    init_store(f"sqlite:///{path}").close()
    open_console_db(path).close()
    made = tables(str(path))
    assert {"zxpolicy_store_meta", "zxpolicy_store_history", "zxpolicy_console_meta", "zxpolicy_console_review"} <= made
    assert raw(str(path), "SELECT value FROM zxpolicy_store_meta") == [("1",)]
