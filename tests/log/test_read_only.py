"""``zxpolicy log verify`` and the reports only read: they open the log read-only, change and create
nothing (no ``-wal``/``-shm`` beside a copy that had none, no table, no journal mode), work on a
read-only copy, and report a missing table or head, or a body that is not a record, as a finding
rather than an exception."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from zxpolicy import LogError
from zxpolicy.cli import main
from zxpolicy.log import StoredRecord, open_log, verify_chain
from zxpolicy.log._postgres import PostgresLog
from zxpolicy.log._record import chain_hash

from ..conftest import POLICIES
from ._fixtures import Backend, backend, many_records, postgres_backend  # noqa: F401  (fixtures)

N = 60
COUNTS = ["--count", "illegal_provision=0", "--count", "misuse=0", "--count", "report_leak=0"]


def _make_log(path: Path, n: int = N) -> Path:
    store = open_log(path)
    store.write_many(many_records(n))
    store.close()  # the last connection: SQLite checkpoints and removes the -wal and -shm
    assert sorted(os.listdir(path.parent)) == [path.name]
    return path


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _commands(db: Path) -> list[list[str]]:
    return [
        ["log", "verify", str(db)],
        ["log", "verify", str(db), "--json"],
        ["log", "daily-check", str(db), "--date", "2026-11-27", "--policy", str(POLICIES), "--csv"],
        ["log", "monthly-report", str(db), "--month", "2026-11", "--policy", str(POLICIES), *COUNTS],
    ]


def _run(args: list[str]) -> Result:
    r = CliRunner().invoke(main, args)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    assert "Traceback" not in r.output
    return r


@pytest.fixture
def read_only_copy(tmp_path: Path) -> Iterator[Path]:
    """A log copied into a folder, the file and the folder then made read-only."""
    (tmp_path / "live").mkdir()
    db = _make_log(tmp_path / "live" / "d.db")
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy(db, folder / "d.db")
    os.chmod(folder / "d.db", stat.S_IRUSR | stat.S_IRGRP)
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield folder / "d.db"
    finally:
        os.chmod(folder, stat.S_IRWXU)


def test_the_read_commands_change_nothing_of_a_read_only_copy(read_only_copy: Path) -> None:
    before = _files(read_only_copy.parent)
    for args in _commands(read_only_copy):
        r = _run(args)
        assert r.exit_code in (0, 1), (args, r.output)
        assert _files(read_only_copy.parent) == before, args  # no byte changed, no -wal or -shm made
    verdict = json.loads(_run(_commands(read_only_copy)[1]).stdout)
    assert verdict["ok"] and verdict["records"] == N
    store = open_log(read_only_copy, read_only=True)
    try:
        assert verify_chain(store).ok and store.count() == N
        assert _files(read_only_copy.parent) == before  # while it is open: no -wal or -shm beside it
        with pytest.raises(LogError, match="read-only"):
            store.write_many(many_records(1))
    finally:
        store.close()
    assert _files(read_only_copy.parent) == before


def test_a_copy_with_its_wal_is_read_whole_and_left_as_it_was(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    _make_log(live, 20)
    writer = sqlite3.connect(live)
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # the newest records stay in the -wal
    store = open_log(live)
    store.write_many(many_records(15))
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in ("", "-wal", "-shm"):
        shutil.copy(f"{live}{suffix}", copy / f"d.db{suffix}")
    store.close()
    writer.close()
    assert (copy / "d.db-wal").stat().st_size > 0
    main_file, wal = (copy / "d.db").read_bytes(), (copy / "d.db-wal").read_bytes()
    r = _run(["log", "verify", str(copy / "d.db"), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["records"] == 35
    assert (copy / "d.db").read_bytes() == main_file and (copy / "d.db-wal").read_bytes() == wal


def _sql(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for s in statements:
            conn.execute(s)
    finally:
        conn.close()


def _tables(db: Path) -> set[str]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def _verify_json(db: Path) -> dict[str, object]:
    r = _run(["log", "verify", str(db), "--json"])
    assert r.exit_code == 1, r.output
    data: dict[str, object] = json.loads(r.stdout)
    return data


@pytest.mark.parametrize("table", ["chain_head", "decisions"])
def test_a_dropped_table_is_a_finding_and_is_not_made_again(tmp_path: Path, table: str) -> None:
    db = _make_log(tmp_path / "d.db")
    _sql(db, f"DROP TABLE {table}")
    before = _files(tmp_path)
    finding = _verify_json(db)["finding"]
    assert isinstance(finding, dict) and finding["code"] == "missing_table"
    assert f"`{table}`" in finding["message_en"] and f"`{table}`" in finding["message"]
    assert table not in _tables(db) and _files(tmp_path) == before
    zh = _run(["log", "verify", str(db)])
    assert zh.exit_code == 1 and "日志缺少数据表" in zh.stdout and len(zh.stdout.strip().splitlines()) == 1


def test_a_database_that_is_not_a_log_is_a_finding(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    _sql(db, "CREATE TABLE accounts (id TEXT)")
    before = _files(tmp_path)
    finding = _verify_json(db)["finding"]
    assert isinstance(finding, dict) and finding["code"] == "missing_table"
    assert "`decisions`, `chain_head`" in finding["message_en"]
    assert _tables(db) == {"accounts"} and _files(tmp_path) == before


@pytest.mark.parametrize(
    "statement", ["DELETE FROM chain_head", "UPDATE chain_head SET hash = CAST(hash AS BLOB)"], ids=["deleted", "blob"]
)
def test_a_missing_head_is_a_finding(tmp_path: Path, statement: str) -> None:
    db = _make_log(tmp_path / "d.db")
    _sql(db, statement)
    data = _verify_json(db)
    finding = data["finding"]
    assert isinstance(finding, dict) and finding["code"] == "missing_head" and finding["seq"] == N
    assert data["records"] == N  # the records were verified: only the head is missing
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT count(*) FROM chain_head").fetchone()[0]
    conn.close()
    assert rows == (0 if statement.startswith("DELETE") else 1)  # not put back


def test_the_journal_mode_is_left_as_it_is(tmp_path: Path) -> None:
    db = _make_log(tmp_path / "d.db")
    _sql(db, "PRAGMA journal_mode = DELETE")
    before = _files(tmp_path)
    for args in _commands(db):
        assert _run(args).exit_code in (0, 1)
    conn = sqlite3.connect(db)
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    assert mode == "delete" and _files(tmp_path) == before


def _rehashed(b: Backend, label: str, seq: int, body: object) -> None:
    """Put ``body`` in record ``seq`` with its hash recomputed (a BLOB is hashed as its text)."""
    prev = b.sql(label, "SELECT prev_hash FROM {d} WHERE seq = ?", (seq,))[0][0]
    text = body.decode() if isinstance(body, bytes) else str(body)
    b.sql(label, "UPDATE {d} SET body = ?, hash = ? WHERE seq = ?", (body, chain_hash(prev, text), seq))


def _body(b: Backend, label: str, seq: int) -> dict[str, object]:
    data: dict[str, object] = json.loads(b.sql(label, "SELECT body FROM {d} WHERE seq = ?", (seq,))[0][0])
    return data


def _verdict(b: Backend, label: str):  # type: ignore[no-untyped-def]
    store = PostgresLog(b.dsn, name=label, read_only=True) if b.dsn else open_log(b.root / f"{label}.db", read_only=True)  # type: ignore[operator]
    try:
        return verify_chain(store)
    finally:
        store.close()


def _log(b: Backend) -> str:
    label = b.label()
    store = b.open(label)
    store.write_many(many_records(N))
    store.close()
    return label


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda body: "not json {", "its body is not JSON"),
        (lambda body: "[1, 2]", "its body is not a JSON object"),
        (lambda body: json.dumps({**body, "v": 2}), "its `v` is 2"),
        (lambda body: json.dumps({k: v for k, v in body.items() if k != "purpose"}), "are not a record's"),
        (lambda body: json.dumps({**body, "extra": 1}), "are not a record's"),
        (lambda body: json.dumps({**body, "codes": 5}), "are not a record's"),
    ],
    ids=["not-json", "not-an-object", "version", "missing-field", "unknown-field", "wrong-type"],
)
def test_a_body_that_is_not_a_record_is_a_finding(backend: Backend, change, says: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    label = _log(backend)
    _rehashed(backend, label, 17, change(_body(backend, label, 17)))
    v = _verdict(backend, label)
    assert v.finding is not None and (v.finding.code, v.finding.seq) == ("bad_body", 17)
    assert says in v.finding.message_en and v.finding.message.startswith("第17条")


def test_a_blob_body_is_a_finding_not_a_traceback(tmp_path: Path) -> None:
    db = _make_log(tmp_path / "d.db")
    _sql(db, "UPDATE decisions SET body = CAST(body AS BLOB) WHERE seq = 23")
    data = _verify_json(db)
    finding = data["finding"]
    assert isinstance(finding, dict) and (finding["code"], finding["seq"]) == ("bad_body", 23)
    assert "stored as BLOB, not text" in finding["message_en"]
    en = _run(["log", "verify", str(db), "--lang", "en"])
    assert en.exit_code == 1 and en.stdout.startswith("TAMPERED: record 23 ")


def test_another_column_that_is_not_text_is_a_finding(tmp_path: Path) -> None:
    db = _make_log(tmp_path / "d.db")
    _sql(db, "UPDATE decisions SET prev_hash = CAST(prev_hash AS BLOB) WHERE seq = 5")
    finding = _verify_json(db)["finding"]
    assert isinstance(finding, dict) and (finding["code"], finding["seq"]) == ("bad_row", 5)
    assert "prev_hash (bytes)" in finding["message_en"]


def test_records_written_while_verifying_are_not_a_finding(backend: Backend) -> None:  # noqa: F811
    label = _log(backend)
    writer = backend.open(label)  # open first: the reader finds the engine's -wal, and reads through it
    reader = PostgresLog(backend.dsn, name=label, read_only=True) if backend.dsn else open_log(backend.root / f"{label}.db", read_only=True)  # type: ignore[operator]
    more = many_records(5)

    def meanwhile(rows: Iterator[StoredRecord], total: int) -> Iterator[StoredRecord]:
        for row in rows:
            if row.seq == 1:  # an engine keeps writing while the log is read
                writer.write_many(more[:3])
            yield row
        writer.write_many(more[3:])

    try:
        v = verify_chain(reader, progress=meanwhile)
    finally:
        reader.close()
        writer.close()
    assert v.ok, v.finding
    assert N <= v.records <= N + 3 and v.head_seq == v.records


def test_a_sqlite_log_opened_read_only_is_never_created(tmp_path: Path) -> None:
    with pytest.raises(LogError, match=f"no log at `{tmp_path / 'none.db'}`"):
        open_log(tmp_path / "none.db", read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_a_postgres_log_opened_read_only_creates_nothing(postgres_backend: Backend) -> None:
    backend = postgres_backend
    assert backend.dsn is not None
    import psycopg

    label = backend.label()
    store = PostgresLog(backend.dsn, name=label, read_only=True)
    try:
        v = verify_chain(store)
        assert v.finding is not None and v.finding.code == "missing_table"
        assert f"`{label}_decisions`, `{label}_head`" in v.finding.message_en
        with pytest.raises(LogError, match="read-only"):
            store.write_many(many_records(1))
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):  # the session itself is read-only
            store._connection().execute(f"CREATE TABLE {label}_x (a int)")
    finally:
        store.close()
    assert backend.sql(label, "SELECT to_regclass(?), to_regclass(?)", (f"{label}_decisions", f"{label}_head")) == [(None, None)]
    whole = _log(backend)
    backend.sql(whole, "DROP TABLE {h}")
    v = _verdict(backend, whole)
    assert v.finding is not None and v.finding.code == "missing_table" and f"`{whole}_head`" in v.finding.message_en
    assert backend.sql(whole, "SELECT to_regclass(?)", (f"{whole}_head",)) == [(None,)]
    backend.sql(whole, "CREATE TABLE {h} (id int PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL)")
    v = _verdict(backend, whole)
    assert v.finding is not None and (v.finding.code, v.finding.seq) == ("missing_head", N)


def test_a_file_read_as_immutable_that_changes_meanwhile_is_not_trusted(tmp_path: Path) -> None:
    db = _make_log(tmp_path / "d.db")  # no engine has it open: it is read `immutable`
    reader = open_log(db, read_only=True)
    try:
        writer = open_log(db)  # an engine starts, writes, and its checkpoint changes the file
        writer.write_many(many_records(5))
        _sql(db, "PRAGMA wal_checkpoint(TRUNCATE)")
        writer.close()
        with pytest.raises(LogError, match="changed while it was read"):
            verify_chain(reader)
    finally:
        reader.close()
    again = open_log(db, read_only=True)
    try:
        assert verify_chain(again).records == N + 5  # read again: whole
    finally:
        again.close()
