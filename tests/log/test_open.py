"""Opening a log: what cannot be opened is a ``LogError`` naming the path (a PostgreSQL URL without
its password), one line and exit 2 on the command line; opening an existing SQLite log never
needs the write lock, so any number of processes can start at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bench import log_write
from zxpolicy import LogError, ZxpolicyError
from zxpolicy.cli import main
from zxpolicy.log import open_log
from zxpolicy.log._postgres import PostgresLog
from zxpolicy.log._store import redacted

from ..conftest import POLICIES, REPO
from ._fixtures import Backend, backend, many_records, postgres_backend  # noqa: F401  (fixtures)

PROCESSES = 12


def _open_at_once(path: str, barrier: Any, results: Any) -> None:
    """One process: wait for the others, then open the log as an engine would, and read-only."""
    try:
        barrier.wait(timeout=60)
        store = open_log(path, timeout=0.05)  # a write lock would be waited for 50 ms at most
        n = store.count()
        store.close()
        reader = open_log(path, read_only=True, timeout=0.05)
        reader.close()
        results.put(f"ok {n}")
    except BaseException as exc:  # noqa: BLE001  (reported, not raised: the parent says which failed and why)
        results.put(f"{type(exc).__name__}: {exc}")


def test_twelve_processes_open_one_log_at_once_while_a_write_is_held(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    store = open_log(db)
    store.write_many(many_records(10))
    store.close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write, open all the while
    holder.execute("UPDATE chain_head SET seq = seq")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_open_at_once, args=(str(db), barrier, results)) for _ in range(PROCESSES)]
    try:
        for p in procs:
            p.start()
        said = sorted(results.get(timeout=120) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        assert holder.in_transaction  # the write lock was held throughout
        # ... and a write would indeed have waited for it
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            sqlite3.connect(db, timeout=0.05, isolation_level=None).execute("BEGIN IMMEDIATE")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        for p in procs:
            if p.is_alive():
                p.kill()
    assert said == ["ok 10"] * PROCESSES


@pytest.fixture
def bad_paths(tmp_path: Path) -> dict[str, Path]:
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("this is not a database, it is a text file long enough to be read as one\n" * 20)
    (tmp_path / "folder.db").mkdir()
    return {
        "directory": tmp_path / "folder.db",
        "missing-parent": tmp_path / "no" / "such" / "dir" / "d.db",
        "not-a-database": not_a_db,
    }


@pytest.mark.parametrize("read_only", [False, True], ids=["write", "read-only"])
@pytest.mark.parametrize("which", ["directory", "missing-parent", "not-a-database"])
def test_a_path_that_cannot_be_a_log_is_a_log_error_naming_it(bad_paths: dict[str, Path], which: str, read_only: bool) -> None:
    path = bad_paths[which]
    with pytest.raises(LogError) as exc:
        open_log(path, read_only=read_only)
    assert isinstance(exc.value, ZxpolicyError) and f"`{path}`" in str(exc.value)
    assert f"`{path}`" in exc.value.message  # type: ignore[attr-defined]  # and in Chinese
    assert "\n" not in str(exc.value)
    assert not (path.parent / "no").exists() or which != "missing-parent"  # no directory made for it


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line and not line.startswith("policy: ")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("which", ["directory", "missing-parent", "not-a-database", "none"])
@pytest.mark.parametrize("command", ["verify", "daily-check", "monthly-report"])
def test_the_log_commands_say_it_in_one_line_and_exit_2(bad_paths: dict[str, Path], tmp_path: Path, which: str, command: str) -> None:
    path = bad_paths.get(which, tmp_path / "none.db")
    extra = {
        "verify": [],
        "daily-check": ["--date", "2026-11-27", "--policy", str(POLICIES)],
        "monthly-report": ["--month", "2026-11", "--policy", str(POLICIES)],
    }[command]
    runner = CliRunner()
    for lang, words in (("zh", "决策日志"), ("en", "log")):
        r = runner.invoke(main, ["log", command, str(path), *extra, "--lang", lang])
        assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
        line = _one_line(r.stderr)
        assert f"`{path}`" in line and words in line and "Traceback" not in r.output and r.stdout == ""
    assert not (tmp_path / "none.db").exists()  # reading creates no log


def test_check_with_a_log_that_cannot_be_opened_is_one_line(bad_paths: dict[str, Path]) -> None:
    r = CliRunner().invoke(main, ["check", "--log", str(bad_paths["directory"]), str(REPO / "examples" / "query-allowed.json")])
    assert r.exit_code == 2 and f"`{bad_paths['directory']}`" in _one_line(r.stderr)


def test_a_postgres_log_that_cannot_be_reached_names_the_url_without_its_password() -> None:
    url = "postgresql://auditor:s3cret-pw@127.0.0.1:1/zx?sslmode=disable&password=other-secret"
    with pytest.raises(LogError) as exc:
        open_log(url, timeout=1)
    text = str(exc.value)
    assert "postgresql://auditor:***@127.0.0.1:1/zx?sslmode=disable&password=***" in text
    assert "s3cret" not in text and "other-secret" not in text and "\n" not in text
    with pytest.raises(LogError):
        PostgresLog(url, timeout=1, read_only=True)
    r = CliRunner().invoke(main, ["log", "verify", url])
    assert r.exit_code == 2 and "s3cret" not in r.output and "127.0.0.1:1" in _one_line(r.stderr)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:p@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgres://h:5432/db?password=x&user=u", "postgres://h:5432/db?password=***&user=u"),
        ("postgresql://u:p:q@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:p@[::1:5432/db", "postgresql://***"),
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_the_benchmark_measures_a_log_that_is_not_durable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_write.main(["10", "--sqlite", str(tmp_path / "d.db")])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("sqlite: check with log median ")
    assert lines[1].startswith("sqlite (durable=False): check with log median ") and lines[1].endswith("(ok)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.db"]  # the second log was a temporary file


def test_a_postgres_log_that_is_not_durable_commits_without_waiting(postgres_backend: Backend) -> None:
    backend = postgres_backend
    assert backend.dsn is not None
    label = backend.label()
    fast, durable = PostgresLog(backend.dsn, name=label, durable=False), PostgresLog(backend.dsn, name=label)
    try:
        fast.write_many(many_records(3))
        ask = "SELECT setting, source FROM pg_settings WHERE name = 'synchronous_commit'"
        assert fast._connection().execute(ask).fetchone() == ("off", "client")  # set for the log's session
        assert durable._connection().execute(ask).fetchone()[1] != "client"  # the server's own
        fast._connection().rollback()
        durable._connection().rollback()
        assert durable.count() == 3
    finally:
        fast.close()
        durable.close()
