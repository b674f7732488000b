"""Issue 12: the reports verify the chain first and refuse a tampered log; --no-verify says
UNVERIFIED; the genesis record; anchors; back-dated queries; decision ids; `log show`."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import zxpolicy
from zxpolicy.cli import main
from zxpolicy.log import daily_check, open_log, review_settings, verify_chain
from zxpolicy.log._record import chain_hash

from ..conftest import CST, POLICIES, REPO, consent, report
from ._fixtures import WrittenWhenAsked

DAY = date(2026, 11, 27)
SETTINGS = review_settings(zxpolicy.load(POLICIES).document)
COUNTS = ["--count", "illegal_provision=0", "--count", "misuse=0", "--count", "report_leak=0"]


def _at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


def _day_log(tmp_path: Path) -> Path:
    """Ten queries on 2026-11-27 at 10:00.., every other one without consent (denied: 5)."""
    db = tmp_path / "d.db"
    store = open_log(db)
    engine = zxpolicy.load(POLICIES, log=WrittenWhenAsked(store))
    for i in range(10):
        given = consent(customer=f"c-{i}") if i % 2 else None
        engine.check("u-query-east1", report(customer=f"c-{i}", rid=f"r-{i}"), "loan_review", consent=given, at=_at(10, i))
    store.close()
    return db


def _sql(db: Path, statement: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        with conn:
            return list(conn.execute(statement, args).fetchall())
    finally:
        conn.close()


def _reports(db: Path, *extra: str) -> tuple[object, object]:
    runner = CliRunner()
    daily = runner.invoke(main, ["log", "daily-check", str(db), "--date", "2026-11-27", "--policy", str(POLICIES), *extra])
    monthly = runner.invoke(main, ["log", "monthly-report", str(db), "--month", "2026-11", "--policy", str(POLICIES), *COUNTS, *extra])
    return daily, monthly


def _flip(db: Path) -> int:
    """The first denied record flipped to allowed, its hash recomputed."""
    seq, body, prev = next(r for r in _sql(db, "SELECT seq, body, prev_hash FROM decisions WHERE seq > 0 ORDER BY seq")
                           if '"allowed":false' in str(r[1]))
    edited = str(body).replace('"allowed":false', '"allowed":true')
    _sql(db, "UPDATE decisions SET body = ?, hash = ? WHERE seq = ?", (edited, chain_hash(str(prev), edited), seq))
    return int(seq)  # type: ignore[call-overload]


def _rechain(db: Path) -> None:
    """Every hash recomputed from the genesis on, the head too: a chain valid again."""
    prev = "0" * 64
    for seq, body in _sql(db, "SELECT seq, body FROM decisions ORDER BY seq"):
        digest = chain_hash(prev, str(body))
        _sql(db, "UPDATE decisions SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
        prev = digest
    _sql(db, "UPDATE chain_head SET hash = ?, seq = (SELECT max(seq) FROM decisions)", (prev,))


TAMPERING = {
    "flip_denied_to_allowed": lambda db: _flip(db),
    "delete_a_record": lambda db: _sql(db, "DELETE FROM decisions WHERE seq = 4"),
    "delete_the_genesis": lambda db: _sql(db, "DELETE FROM decisions WHERE seq = 0"),
    "delete_the_first_record": lambda db: _sql(db, "DELETE FROM decisions WHERE seq = 1"),
    "cut_the_tail": lambda db: _sql(db, "DELETE FROM decisions WHERE seq > 8"),
    "edit_the_genesis": lambda db: _sql(db, "UPDATE decisions SET at = '2020-01-01T00:00:00.000000+00:00' WHERE seq = 0"),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_a_tampered_log_refuses_both_reports(tmp_path: Path, how: str) -> None:
    db = _day_log(tmp_path)
    daily, monthly = _reports(db)
    assert daily.exit_code == 1 and monthly.exit_code == 0  # intact: reported (5 denied flagged)
    assert "标记 5 笔" in daily.stdout and "本月情况如上表" in monthly.stdout
    TAMPERING[how](db)
    daily, monthly = _reports(db)
    for r in (daily, monthly):
        assert r.exit_code == 2, r.output
        assert r.stdout == ""
        refusal = r.stderr.splitlines()[-1]
        assert "决策日志校验未通过，不出具报告" in refusal and "第" in refusal
    en, _ = _reports(db, "--lang", "en")
    assert en.exit_code == 2 and "does not verify, no report is made: " in en.stderr


def test_the_refusal_names_the_first_bad_record(tmp_path: Path) -> None:
    db = _day_log(tmp_path)
    seq = _flip(db)
    ident = _sql(db, "SELECT decision_id FROM decisions WHERE seq = ?", (seq + 1,))[0][0]
    daily, _ = _reports(db, "--lang", "en")
    assert f"record {seq + 1} (decision {ident})" in daily.stderr


def test_no_verify_reports_with_a_banner(tmp_path: Path) -> None:
    db = _day_log(tmp_path)
    _flip(db)
    daily, monthly = _reports(db, "--no-verify")
    assert daily.exit_code == 1 and daily.stdout.startswith("未校验")
    assert "标记 4 笔" in daily.stdout  # what the tampered log says, under the banner
    assert monthly.exit_code == 0 and monthly.stdout.startswith("> **未校验")
    en, _ = _reports(db, "--no-verify", "--lang", "en")
    assert en.stdout.startswith("UNVERIFIED")
    js, mjs = _reports(db, "--no-verify", "--json")
    assert json.loads(js.stdout)["verified"] is False and json.loads(mjs.stdout)["verified"] is False
    csv_daily, csv_monthly = _reports(db, "--no-verify", "--csv")
    assert csv_daily.stdout.startswith("未校验") and csv_monthly.stdout.startswith("未校验")
    (tmp_path / "intact").mkdir()
    ok_daily, ok_monthly = _reports(_day_log(tmp_path / "intact"), "--json")
    assert json.loads(ok_daily.stdout)["verified"] is True and json.loads(ok_monthly.stdout)["verified"] is True


def test_the_daily_check_ends_with_the_head_and_verify_takes_it_back(tmp_path: Path) -> None:
    db = _day_log(tmp_path)
    daily, _ = _reports(db)
    last = daily.stdout.strip().splitlines()[-1]
    assert last.startswith("链头")
    head = last.split("：")[-1]
    seq, digest = head.split(":")
    assert int(seq) == 10 and len(digest) == 64
    runner = CliRunner()
    assert runner.invoke(main, ["log", "verify", str(db), "--anchor", head]).exit_code == 0
    anchors = tmp_path / "heads.txt"
    first = _sql(db, "SELECT seq, hash FROM decisions WHERE seq = 3")[0]
    anchors.write_text(f"# signed daily heads\n\n{first[0]}:{first[1]}   # 2026-11-26\n{head}\n", encoding="utf-8")
    ok = runner.invoke(main, ["log", "verify", str(db), "--anchors", str(anchors), "--lang", "en"])
    assert ok.exit_code == 0 and "2 anchors matched" in ok.stdout
    # the chain rewritten with every hash recomputed: valid, but not the anchored one
    _flip(db)
    _rechain(db)
    assert runner.invoke(main, ["log", "verify", str(db)]).exit_code == 0
    caught = runner.invoke(main, ["log", "verify", str(db), "--anchors", str(anchors), "--json"])
    assert caught.exit_code == 1 and json.loads(caught.stdout)["finding"]["code"] == "anchor"


def test_an_anchor_past_the_end_is_a_cut_tail(tmp_path: Path) -> None:
    db = _day_log(tmp_path)
    head = "{}:{}".format(*_sql(db, "SELECT seq, hash FROM chain_head")[0])
    _sql(db, "DELETE FROM decisions WHERE seq > 7")
    _sql(db, "UPDATE chain_head SET seq = 7, hash = (SELECT hash FROM decisions WHERE seq = 7)")
    runner = CliRunner()
    assert runner.invoke(main, ["log", "verify", str(db)]).exit_code == 0  # head moved back too: nothing else shows it
    r = runner.invoke(main, ["log", "verify", str(db), "--anchor", head])
    assert r.exit_code == 1 and "末尾的记录被截去" in r.stdout
    en = runner.invoke(main, ["log", "verify", str(db), "--anchor", head, "--json"])
    assert json.loads(en.stdout)["finding"]["code"] == "cut_tail"


@pytest.mark.parametrize("bad", ["12:abc", "x", "1:" + "g" * 64])
def test_a_bad_anchor_is_one_line_and_exit_2(tmp_path: Path, bad: str) -> None:
    db = _day_log(tmp_path)
    file = tmp_path / "a.txt"
    file.write_text(f"# ok\n{bad}\n", encoding="utf-8")
    for args in (["--anchor", bad], ["--anchors", str(file)]):
        r = CliRunner().invoke(main, ["log", "verify", str(db), *args])
        assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    r = CliRunner().invoke(main, ["log", "verify", str(db), "--anchors", str(file), "--lang", "en"])
    assert f"{file}:2:" in r.stderr


def test_an_empty_log_is_empty_not_intact(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    open_log(db).close()
    store = open_log(db, read_only=True)
    v = verify_chain(store)
    rows = list(store.rows())
    store.close()
    assert v.ok and v.status == "empty" and v.records == 0
    assert [r.seq for r in rows] == [0] and uuid.UUID(rows[0].decision_id) and v.log_id == rows[0].decision_id
    zh = CliRunner().invoke(main, ["log", "verify", str(db)])
    assert zh.exit_code == 0 and zh.stdout.startswith("空日志：没有可核查的记录") and "完好" not in zh.stdout
    en = CliRunner().invoke(main, ["log", "verify", str(db), "--lang", "en", "--json"])
    assert json.loads(en.stdout)["status"] == "empty"
    assert CliRunner().invoke(main, ["log", "verify", str(db), "--lang", "en"]).stdout.startswith("empty: nothing to check")
    _sql(db, "DELETE FROM decisions")
    gone = CliRunner().invoke(main, ["log", "verify", str(db), "--json"])
    assert gone.exit_code == 1 and json.loads(gone.stdout)["finding"]["code"] == "genesis"


def test_a_log_without_genesis_or_write_times_is_refused(tmp_path: Path) -> None:
    """A log of an earlier version: read as tampered (fail closed), and not written to."""
    db = tmp_path / "old.db"
    _sql(db, "CREATE TABLE decisions (seq INTEGER PRIMARY KEY, decision_id TEXT NOT NULL, at TEXT NOT NULL,"
             " body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")
    _sql(db, "CREATE TABLE chain_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL)")
    _sql(db, "INSERT INTO chain_head VALUES (1, 0, ?)", ("0" * 64,))
    r = CliRunner().invoke(main, ["log", "verify", str(db), "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["finding"]["code"] == "legacy_log"
    daily, monthly = _reports(db)
    assert daily.exit_code == 2 and monthly.exit_code == 2
    with pytest.raises(zxpolicy.LogError) as exc:
        open_log(db)
    assert exc.value.code == "log_legacy"


def test_backdated_and_future_dated_queries_are_in_the_day_they_were_written(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    store = open_log(db)
    sink: list[zxpolicy.log.LogRecord] = []

    class Keep:
        def write(self, record: zxpolicy.log.LogRecord) -> None:
            sink.append(record)

    engine = zxpolicy.load(POLICIES, log=Keep())
    written_on = _at(11, 0, date(2026, 11, 29))  # a Sunday: off hours by the write time alone
    claims = {"backdated": _at(10, 0), "future": _at(11, 30, date(2026, 11, 29)), "close": _at(10, 57, date(2026, 11, 29)),
              "honest": _at(10, 0)}
    for rid, claimed in claims.items():
        engine.check("u-query-east1", report(rid=rid), "loan_review", consent=consent(signed_at=claimed - timedelta(days=1)), at=claimed)
    from zxpolicy.decide import utc_text
    rows = [dataclasses.replace(r, logged_at=utc_text(written_on)) for r in sink[:3]]
    rows.append(dataclasses.replace(sink[3], logged_at=sink[3].at))  # written when it claims: 2026-11-27
    store.write_many(rows)
    result = daily_check(store, SETTINGS, date(2026, 11, 29))
    claimed_day = daily_check(store, SETTINGS, DAY)
    store.close()
    flags = {r.resource_id: set(r.flags) for r in result}
    assert set(flags) == {"backdated", "future", "close"}  # by write day, whatever the claim
    assert flags["backdated"] == {"off_hours", "backdated"}
    assert flags["future"] == {"off_hours", "future_dated"}
    assert flags["close"] == {"off_hours"}  # 3 minutes apart: within the tolerance (5)
    assert [r.resource_id for r in claimed_day] == ["honest"]
    assert not claimed_day.rows[0].flags  # a Friday, 10:00, written then
    r = CliRunner().invoke(main, ["log", "daily-check", str(db), "--date", "2026-11-29", "--policy", str(POLICIES)])
    assert "2026-11-29 写入的查询 3 笔" in r.stdout
    assert "请求时间早于写入时间（backdated）" in r.stdout and "非工作时间（off_hours）" in r.stdout
    assert "2026-11-27 10:00:00" in r.stdout  # a claimed time of another day shown whole
    assert "允许（allow）" in r.stdout and "（loan_review）" in r.stdout and "（east-1）" in r.stdout
    en = CliRunner().invoke(main, ["log", "daily-check", str(db), "--date", "2026-11-29", "--policy", str(POLICIES), "--lang", "en"])
    assert "back-dated (backdated)" in en.stdout and "off hours (off_hours)" in en.stdout and "allowed (allow)" in en.stdout


def test_the_clock_tolerance_is_a_setting(policy_copy: Path) -> None:
    path = policy_copy / "reporting.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("clock_tolerance_minutes: 5", "clock_tolerance_minutes: 120"), encoding="utf-8")
    assert review_settings(zxpolicy.load(policy_copy).document).clock_tolerance_minutes == 120
    path.write_text(path.read_text(encoding="utf-8").replace("clock_tolerance_minutes: 120", "clock_tolerance_minutes: -1"), encoding="utf-8")
    with pytest.raises(zxpolicy.PolicyError):
        zxpolicy.load(policy_copy)
    path.write_text("\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if "clock_tolerance" not in line), encoding="utf-8")
    assert review_settings(zxpolicy.load(policy_copy).document).clock_tolerance_minutes == 5  # the default


def test_every_decision_has_an_id_that_is_its_records(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    engine = zxpolicy.load(POLICIES, log=db)
    d = engine.check("u-query-east1", report(), "loan_review", consent=consent(), at=_at(10))
    same = engine.explain("u-query-east1", report(), "loan_review", consent=consent(), at=_at(10)).decision
    assert d == same and hash(d) == hash(same) and d.decision_id != same.decision_id  # the id is not compared
    u = uuid.UUID(d.decision_id)
    assert u.version == 7 and str(u) == d.decision_id and d.to_dict()["decision_id"] == d.decision_id
    batch = engine.check_many([{"subject": "u-query-east1", "resource": report(), "purpose": "loan_review", "at": _at(10)}] * 3)
    unreadable = engine.check("u-query-east1", {"kind": "nothing"}, "loan_review")
    ids = [d.decision_id, *(b.decision_id for b in batch), unreadable.decision_id]
    assert len(set(ids)) == len(ids) and ids[:4] == sorted(ids[:4])  # unique, and time-ordered
    assert "invalid_request" in unreadable.codes and uuid.UUID(unreadable.decision_id).version == 7
    store = open_log(db, read_only=True)
    logged = [r.decision_id for r in store.rows()][1:]
    store.close()
    assert logged == ids[:4]
    out = CliRunner().invoke(main, ["check", "--json", "--log", str(db), str(REPO / "examples" / "query-allowed.json")])
    shown = json.loads(out.stdout)["decision_id"]
    store = open_log(db, read_only=True)
    assert store.find(shown) is not None and store.find(shown).seq == 5  # type: ignore[union-attr]
    store.close()


def test_log_show_prints_the_record_and_its_link(tmp_path: Path) -> None:
    db = _day_log(tmp_path)
    ident, denied = next((str(i), str(b)) for i, b in _sql(db, "SELECT decision_id, body FROM decisions WHERE seq = 3"))
    runner = CliRunner()
    zh = runner.invoke(main, ["log", "show", str(db), ident, "--policy", str(POLICIES)])
    assert zh.exit_code == 0, zh.output
    assert "第3条记录" in zh.stdout and ident in zh.stdout and "链接校验：通过" in zh.stdout
    assert "查询（query）" in zh.stdout and "（loan_review）" in zh.stdout
    en = runner.invoke(main, ["log", "show", str(db), ident, "--lang", "en", "--policy", str(POLICIES)])
    assert "link: verifies" in en.stdout and "  action: query\n" in en.stdout and "(east-1)" in en.stdout
    js = json.loads(runner.invoke(main, ["log", "show", str(db), ident, "--json"]).stdout)
    assert js["link_ok"] is True and js["seq"] == 3 and js["record"]["decision_id"] == ident
    assert runner.invoke(main, ["log", "show", str(db), "no-such-id"]).exit_code == 2
    assert runner.invoke(main, ["log", "show", str(tmp_path / "none.db"), ident]).exit_code == 2
    _sql(db, "UPDATE decisions SET body = ? WHERE seq = 3", (denied.replace('"allowed":false', '"allowed":true'),))
    bad = runner.invoke(main, ["log", "show", str(db), ident, "--policy", str(POLICIES)])
    assert bad.exit_code == 1 and "链接校验：未通过" in bad.stdout
    # rehashed alone: its own hash is right again, the next record does not link to it
    body, prev = _sql(db, "SELECT body, prev_hash FROM decisions WHERE seq = 3")[0]
    _sql(db, "UPDATE decisions SET hash = ? WHERE seq = 3", (chain_hash(str(prev), str(body)),))
    rehashed = json.loads(runner.invoke(main, ["log", "show", str(db), ident, "--json"]).stdout)
    assert rehashed["link_ok"] is False and rehashed["finding"]["code"] == "unlinked"
