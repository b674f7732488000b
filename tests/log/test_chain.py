"""The hash chain: 10,000 decisions, then edited, deleted, inserted or reordered in the database
directly; ``verify`` names the first bad record each time, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from zxpolicy.cli import main
from zxpolicy.log import GENESIS, LogRecord, StoredRecord, open_log, verify_chain
from zxpolicy.log._record import chain_hash

from ._fixtures import Backend, backend, many_records  # noqa: F401  (a fixture)

N = 10_000
_masters: dict[str, str] = {}
_records: list[LogRecord] = []


@pytest.fixture
def log(backend: Backend) -> tuple[Backend, str]:  # noqa: F811
    """A fresh copy of one 10,000-record log of this backend (written once per session)."""
    key = backend.name + str(backend.root or backend.dsn)
    if key not in _masters:
        if not _records:
            _records.extend(many_records(N))
        label = backend.label()
        store = backend.open(label)
        store.write_many(_records)
        store.close()
        _masters[key] = label
    return backend, backend.clone(_masters[key])


def _id(b: Backend, label: str, seq: int) -> str:
    return str(b.sql(label, "SELECT decision_id FROM {d} WHERE seq = ?", (seq,))[0][0])


def _finding(b: Backend, label: str):  # type: ignore[no-untyped-def]
    """verify's verdict; on SQLite, `zxpolicy log verify` must name the same record."""
    store = b.open(label)
    try:
        v = verify_chain(store)
    finally:
        store.close()
    if b.name == "sqlite":
        r = CliRunner().invoke(main, ["log", "verify", b.target(label), "--json"])
        assert r.exit_code == (0 if v.ok else 1)
        f = json.loads(r.stdout)["finding"]
        assert (f and (f["seq"], f["code"], f["decision_id"])) == (v.finding and (v.finding.seq, v.finding.code, v.finding.decision_id))
    return v


def _shift_up(b: Backend, label: str, from_seq: int) -> None:
    """seq += 1 from ``from_seq`` on, in two steps so that no two rows share a key midway."""
    b.sql(label, "UPDATE {d} SET seq = -(seq + 1) WHERE seq >= ?", (from_seq,))
    b.sql(label, "UPDATE {d} SET seq = -seq WHERE seq < 0")


def test_an_intact_log_verifies(log: tuple[Backend, str]) -> None:
    b, label = log
    seen: list[int] = []

    def progress(rows: Iterator[StoredRecord], total: int) -> Iterator[StoredRecord]:
        seen.append(total)  # a bar would be told the total, then follow the records
        for row in rows:
            seen.append(row.seq)
            yield row

    store = b.open(label)
    v = verify_chain(store, progress=progress)
    store.close()
    assert seen == [N, *range(0, N + 1)]  # the genesis record (seq 0) first
    assert v.ok and v.status == "intact" and v.records == N and v.head_seq == N
    assert b.sql(label, "SELECT hash FROM {d} WHERE seq = ?", (N,))[0][0] == v.head_hash
    assert b.sql(label, "SELECT prev_hash FROM {d} WHERE seq = 0")[0][0] == GENESIS
    genesis = b.sql(label, "SELECT hash, decision_id FROM {d} WHERE seq = 0")[0]
    assert b.sql(label, "SELECT prev_hash FROM {d} WHERE seq = 1")[0][0] == genesis[0]
    assert v.log_id == genesis[1]


def test_an_edited_record_is_named(log: tuple[Backend, str]) -> None:
    b, label = log
    body = b.sql(label, "SELECT body FROM {d} WHERE seq = 4321")[0][0]
    edited = json.dumps({**json.loads(body), "purpose": "legal"}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    b.sql(label, "UPDATE {d} SET body = ? WHERE seq = 4321", (edited,))
    f = _finding(b, label).finding
    assert f is not None and (f.seq, f.code, f.decision_id) == (4321, "edited", _id(b, label, 4321))


def test_an_edited_record_with_its_hash_recomputed_breaks_the_next_link(log: tuple[Backend, str]) -> None:
    b, label = log
    body, prev = b.sql(label, "SELECT body, prev_hash FROM {d} WHERE seq = 4321")[0]
    edited = body.replace('"allowed":false', '"allowed":true')
    b.sql(label, "UPDATE {d} SET body = ?, hash = ? WHERE seq = 4321", (edited, chain_hash(prev, edited)))
    f = _finding(b, label).finding
    assert f is not None and (f.seq, f.code) == (4322, "unlinked")
    assert "record 4321" in f.message_en and "第4321条" in f.message


def test_an_edited_time_column_is_caught(log: tuple[Backend, str]) -> None:
    b, label = log
    b.sql(label, "UPDATE {d} SET at = ? WHERE seq = 77", ("2026-11-28T02:00:00.000000+00:00",))
    f = _finding(b, label).finding
    assert f is not None and (f.seq, f.code) == (77, "edited")


def test_a_deleted_record_is_named(log: tuple[Backend, str]) -> None:
    b, label = log
    b.sql(label, "DELETE FROM {d} WHERE seq = 5000")
    f = _finding(b, label).finding
    assert f is not None and (f.seq, f.code) == (5000, "deleted")
    assert _id(b, label, 5001) in f.message_en and _id(b, label, 5001) in f.message


def test_a_deleted_record_with_the_rest_renumbered_is_caught(log: tuple[Backend, str]) -> None:
    b, label = log
    gone = _id(b, label, 5000)
    b.sql(label, "DELETE FROM {d} WHERE seq = 5000")
    b.sql(label, "UPDATE {d} SET seq = -(seq - 1) WHERE seq > 5000")
    b.sql(label, "UPDATE {d} SET seq = -seq WHERE seq < 0")
    b.sql(label, "UPDATE {h} SET seq = seq - 1")
    f = _finding(b, label).finding
    assert f is not None and (f.seq, f.code) == (5000, "unlinked")
    assert f.decision_id != gone


def test_the_last_records_deleted_are_caught_by_the_head(log: tuple[Backend, str]) -> None:
    b, label = log
    b.sql(label, "DELETE FROM {d} WHERE seq > ?", (N - 2,))
    f = _finding(b, label).finding
    assert f is not None and (f.seq, f.code) == (N - 1, "head")


def test_an_inserted_record_is_named(log: tuple[Backend, str]) -> None:
    b, label = log
    # a forged record put in at 6000, chained correctly to 5999: only the next link shows it
    prev = b.sql(label, "SELECT hash FROM {d} WHERE seq = 5999")[0][0]
    original = json.loads(b.sql(label, "SELECT body FROM {d} WHERE seq = 6000")[0][0])
    forged = {**original, "decision_id": "f" * 32, "resource_id": "forged"}
    body = json.dumps(forged, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    _shift_up(b, label, 6000)
    b.sql(label, "INSERT INTO {d} (seq, decision_id, at, logged_at, body, prev_hash, hash) VALUES (6000, ?, ?, ?, ?, ?, ?)",
          (forged["decision_id"], forged["at"], forged["logged_at"], body, prev, chain_hash(prev, body)))
    f = _finding(b, label).finding
    assert f is not None and (f.seq, f.code, f.decision_id) == (6000, "inserted", forged["decision_id"])


def test_a_record_appended_by_hand_is_named(log: tuple[Backend, str]) -> None:
    b, label = log
    b.sql(label, "INSERT INTO {d} SELECT ?, decision_id, at, logged_at, body, prev_hash, hash FROM {d} WHERE seq = 10", (N + 1,))
    f = _finding(b, label).finding
    assert f is not None and (f.seq, f.code) == (N + 1, "unlinked")


def test_reordered_records_are_named(log: tuple[Backend, str]) -> None:
    b, label = log
    moved = _id(b, label, 7001)
    b.sql(label, "UPDATE {d} SET seq = -1 WHERE seq = 7000")
    b.sql(label, "UPDATE {d} SET seq = 7000 WHERE seq = 7001")
    b.sql(label, "UPDATE {d} SET seq = 7001 WHERE seq = -1")
    f = _finding(b, label).finding
    assert f is not None and (f.seq, f.decision_id, f.code) == (7000, moved, "unlinked")


def test_an_anchor_catches_a_rewritten_chain(log: tuple[Backend, str]) -> None:
    b, label = log
    anchor = (9000, b.sql(label, "SELECT hash FROM {d} WHERE seq = 9000")[0][0])
    # record 101 edited and every hash after it recomputed, the head too, as someone who knows
    # the scheme would: the chain is valid again, only the hash kept elsewhere shows it
    rows = b.sql(label, "SELECT seq, body FROM {d} WHERE seq >= 100 ORDER BY seq")
    prev = b.sql(label, "SELECT prev_hash FROM {d} WHERE seq = 100")[0][0]
    updates = []
    for seq, body in rows:
        if seq == 101:  # a denied record (every tenth has no consent)
            body = body.replace('"allowed":false', '"allowed":true')
        digest = chain_hash(prev, body)
        updates.append((body, prev, digest, seq))
        prev = digest
    b.sql_many(label, "UPDATE {d} SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?", updates)
    b.sql(label, "UPDATE {h} SET hash = ?", (prev,))
    store = b.open(label)
    try:
        assert verify_chain(store).ok
        f = verify_chain(store, anchor=anchor).finding
    finally:
        store.close()
    assert f is not None and (f.seq, f.code) == (9000, "anchor")


def test_cli_names_the_record(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    store = open_log(db)
    store.write_many(many_records(200))
    store.close()
    runner = CliRunner()
    ok = runner.invoke(main, ["log", "verify", str(db), "--lang", "en"])
    assert ok.exit_code == 0, ok.output
    assert "200 records" in ok.stdout
    head = ok.stdout.split("head ")[1].strip()
    assert runner.invoke(main, ["log", "verify", str(db), "--anchor", head]).exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM decisions WHERE seq = 150")
    conn.close()
    bad = runner.invoke(main, ["log", "verify", str(db), "--json"])
    assert bad.exit_code == 1
    data = json.loads(bad.stdout)
    assert data["ok"] is False and data["finding"]["seq"] == 150 and data["finding"]["code"] == "deleted"
    assert list(data["finding"]) == ["code", "message", "message_en", "seq", "decision_id"]
    assert "第150条被删除" in data["finding"]["message"] and "record 150 was deleted" in data["finding"]["message_en"]
    zh = runner.invoke(main, ["log", "verify", str(db)])
    assert zh.exit_code == 1 and "第150条被删除" in zh.stdout
    en = runner.invoke(main, ["log", "verify", str(db), "--lang", "en"])
    assert en.exit_code == 1 and "TAMPERED: record 150 was deleted" in en.stdout
    assert runner.invoke(main, ["log", "verify", str(tmp_path / "none.db")]).exit_code == 2
    assert runner.invoke(main, ["log", "verify", str(db), "--anchor", "12:abc"]).exit_code == 2


def test_verify_since_checks_only_what_came_after_a_verified_head(log: tuple[Backend, str]) -> None:
    from zxpolicy.log import verify_since

    b, label = log
    store = b.open(label)
    try:
        known = (7000, b.sql(label, "SELECT hash FROM {d} WHERE seq = 7000")[0][0])
        assert verify_since(store, *known) == store.head() == (N, verify_chain(store).head_hash)
        assert verify_since(store, *store.head()) == store.head()  # nothing new
        assert verify_since(store, *known, limit=N - 7001) is None  # too many to read one by one
        assert verify_since(store, 7000, "0" * 64) is None  # not the record verified: the chain was rewritten
        assert verify_since(store, N + 1, "0" * 64) is None  # past the head: its tail was cut

        # an edit after the verified record is not vouched for; one before it is not read here
        body = b.sql(label, "SELECT body FROM {d} WHERE seq = 8000")[0][0]
        edited = json.dumps({**json.loads(body), "purpose": "legal"}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        b.sql(label, "UPDATE {d} SET body = ? WHERE seq = 8000", (edited,))
        assert verify_since(store, *known) is None
        assert verify_since(store, 8500, b.sql(label, "SELECT hash FROM {d} WHERE seq = 8500")[0][0]) == store.head()
        b.sql(label, "UPDATE {d} SET body = ? WHERE seq = 8000", (body,))
        assert verify_since(store, *known) == store.head()
        b.sql(label, "DELETE FROM {d} WHERE seq = 9000")
        assert verify_since(store, *known) is None
    finally:
        store.close()
