"""The daily check flags each kind of anomaly in a generated day; the monthly report counts them
by category and organisation, and an empty month is a zero-report. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner

import zxpolicy
from zxpolicy import Approval
from zxpolicy.cli import _log as cli_log
from zxpolicy.cli import main
from zxpolicy.log import LogStore, daily_check, monthly_report, review_settings

from ..conftest import CST, POLICIES, consent, report, subject
from ._fixtures import Backend, WrittenWhenAsked, backend  # noqa: F401  (a fixture)

DAY = date(2026, 11, 27)  # a Friday
SETTINGS = review_settings(zxpolicy.load(POLICIES).document)
RECORDED = {"illegal_provision": 0, "misuse": 0, "report_leak": 0}


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


def generate_day(store: LogStore) -> None:
    """A day of decisions, the resource id saying which anomaly each one is."""
    engine = zxpolicy.load(POLICIES, log=WrittenWhenAsked(store))  # each check made at its `at`
    q = "u-query-east1"

    def query(who: object, rid: str, when: datetime, customer: str = "c-1", org: str = "east-1", **kw: object) -> None:
        kw.setdefault("consent", consent(customer=customer, signed_at=when - timedelta(days=1)))
        resource = report(customer=customer, rid=rid, org=org)
        engine.check(who, resource, kw.pop("purpose", "loan_review"), at=when, **kw)  # type: ignore[arg-type]

    query(q, "plain", at(10), customer="c-100")
    query(q, "night", at(22, 15), customer="c-101")  # off_hours
    query(q, "early", at(0, 30), customer="c-102")  # off_hours, and 2026-11-26 in UTC: still this day
    for i in range(4):  # the same customer four times: more than repeat_threshold (3)
        query(q, f"again-{i}", at(11, i), customer="c-9")
    heavy = subject("u-heavy", "query_operator", org="east-1")
    for i in range(SETTINGS.daily_volume_threshold + 1):  # one more than the threshold
        query(heavy, f"bulk-{i}", at(14, i % 60), customer=f"c-{200 + i}")
    query(q, "no-consent", at(15), consent=None)  # denied
    query(q, "legal", at(16), purpose="legal", consent=None, evidence={"legal_basis": "刑事诉讼法 第五十四条"},
          approvals=[Approval("u-supervisor-hq", "credit_info_supervisor", at(15, 30), "legal", "query")])
    query("u-query-west1", "west", at(9), customer="c-300", org="west-1")
    query(q, "yesterday", at(23, 0, DAY - timedelta(days=1)))  # another day: not in the check
    query(q, "tomorrow", at(0, 0, DAY + timedelta(days=1)))


def test_the_daily_check_flags_each_kind_of_anomaly(backend: Backend) -> None:  # noqa: F811
    store = backend.open(backend.label())
    generate_day(store)
    rows = daily_check(store, SETTINGS, DAY)
    store.close()
    flags = {r.resource_id: set(r.flags) for r in rows}
    assert "yesterday" not in flags and "tomorrow" not in flags
    assert len(rows) == 3 + 4 + SETTINGS.daily_volume_threshold + 1 + 3
    assert flags["plain"] == set() and flags["west"] == set()
    assert flags["night"] == {"off_hours"} and flags["early"] == {"off_hours"}
    assert all(flags[f"again-{i}"] == {"repeat"} for i in range(4))
    assert all(flags[f"bulk-{i}"] == {"volume"} for i in range(SETTINGS.daily_volume_threshold + 1))
    assert flags["no-consent"] == {"denied"}
    assert flags["legal"] == {"review_purpose"}
    legal = next(r for r in rows if r.resource_id == "legal")
    assert legal.allowed and legal.local_time == at(16)


def test_the_monthly_report_counts_by_category_and_org(backend: Backend) -> None:  # noqa: F811
    store = backend.open(backend.label())
    generate_day(store)
    report_ = monthly_report(store, SETTINGS, 2026, 11, {**RECORDED, "misuse": 2})
    store.close()
    abnormal = 2 + 4 + SETTINGS.daily_volume_threshold + 1 + 2  # + "yesterday", "tomorrow": off hours, in November
    assert report_.totals == {"abnormal_query": abnormal, "violating_query": 1, "illegal_provision": 0, "misuse": 2, "report_leak": 0}
    assert report_.by_org["east-1"]["violating_query"] == 1 and report_.by_org["west-1"]["abnormal_query"] == 0
    assert report_.complete and not report_.zero
    md = report_.markdown()
    assert "| 东区一社 |" not in md  # labels are the caller's to give
    assert "| east-1 | " + str(abnormal) + " | 1 | — | — | — |" in md
    assert "零报告" not in md


def test_an_empty_month_is_a_zero_report(backend: Backend) -> None:  # noqa: F811
    store = backend.open(backend.label())
    generate_day(store)  # November's; October is empty
    empty = monthly_report(store, SETTINGS, 2026, 10, RECORDED)
    missing = monthly_report(store, SETTINGS, 2026, 10, {"misuse": 0})
    store.close()
    assert empty.zero and empty.records == 0 and set(empty.totals.values()) == {0}
    assert empty.statement() == "本月（2026-10）无异常查询、违规查询、非法提供、滥用、征信报告泄露情况，特此零报告。"
    assert "this is a zero report" in empty.statement("en")
    assert not missing.complete and not missing.zero
    assert "不能作零报告" in missing.statement() and "非法提供" in missing.statement()


def test_cli_daily_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "d.db"
    store = zxpolicy.log.open_log(db)
    generate_day(store)
    store.close()
    runner = CliRunner()
    args = ["log", "daily-check", str(db), "--date", "2026-11-27", "--policy", str(POLICIES)]
    text = runner.invoke(main, args)
    assert text.exit_code == 1, text.output
    assert "请逐笔核实" in text.output and "c-101" in text.output
    data = json.loads(runner.invoke(main, [*args, "--json", "--mask", "--flagged"]).stdout)
    assert data["queries"] == 61 and data["flagged"] == 59 and len(data["rows"]) == 59
    night = next(r for r in data["rows"] if r["resource"] == "night")
    assert night["customer"] == "c-*01" and night["flags"] == ["off_hours"] and night["time"] == "2026-11-27T22:15:00+08:00"
    rows = list(csv.DictReader(io.StringIO(runner.invoke(main, [*args, "--csv", "--mask"]).stdout)))
    assert rows[-1]["seq"] == "head" and rows[-1]["time"] == f"{data['head']['seq']}:{data['head']['hash']}"
    rows = rows[:-1]
    assert len(rows) == 61 and not any(r["customer"] == "c-101" for r in rows)
    assert {r["flags"] for r in rows} >= {"", "非工作时间（off_hours）", "重复查询同一客户（repeat）", "单日查询量超限（volume）",
                                         "被拒绝（denied）", "须复核的用途（review_purpose）"}
    quiet = runner.invoke(main, ["log", "daily-check", str(db), "--date", "2026-10-01", "--policy", str(POLICIES), "--lang", "en"])
    assert quiet.exit_code == 0 and "0 queries" in quiet.output


def test_cli_monthly_report(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "d.db"
    zxpolicy.log.open_log(db).close()
    runner = CliRunner()
    base = ["log", "monthly-report", str(db), "--month", "2026-10", "--policy", str(POLICIES)]
    counts = [x for k, v in RECORDED.items() for x in ("--count", f"{k}={v}")]
    md = runner.invoke(main, [*base, *counts])
    assert md.exit_code == 0 and "特此零报告" in md.output and "| 合计 | 0 | 0 | 0 | 0 | 0 |" in md.output
    en = runner.invoke(main, [*base, *counts, "--lang", "en", "--csv"])
    assert en.exit_code == 0 and en.stdout.splitlines()[0] == "org,abnormal_query,violating_query,illegal_provision,misuse,report_leak"
    assert "this is a zero report" in en.output
    incomplete = runner.invoke(main, base)
    assert incomplete.exit_code == 1 and "不能作零报告" in incomplete.output
    wrong = runner.invoke(main, [*base, "--count", "abnormal_query=3"])
    assert wrong.exit_code == 2 and "not a recorded category" in wrong.output


def test_reports_need_the_reporting_section(policy_copy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (policy_copy / "reporting.yaml").unlink()
    assert zxpolicy.load(policy_copy).document.reporting is None  # it decides without it
    db = tmp_path / "d.db"
    zxpolicy.log.open_log(db).close()
    r = CliRunner().invoke(main, ["log", "daily-check", str(db), "--date", "2026-11-27", "--policy", str(policy_copy)])
    assert r.exit_code == 2 and "no `reporting` section" in r.output


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("time_zone: Asia/Shanghai", "time_zone: Asia/Beijing", "unknown time zone `Asia/Beijing`"),
        ("review_purposes: [legal, dissent]", "review_purposes: [legal, disent]", "unknown purpose `disent`"),
        ('start: "08:30"', 'start: "8:30"', "reporting.working_hours.start"),
        ("codes: [no_rule_permits,", "codes: [no_rule_permit,", "unknown reason code `no_rule_permit`"),
        ("source: recorded}", "source: recorded, codes: [consent_missing]}", "`codes` is required with `source: denied`"),
    ],
)
def test_reporting_settings_are_validated(policy_copy, old: str, new: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = policy_copy / "reporting.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    with pytest.raises(zxpolicy.PolicyError) as exc:
        zxpolicy.load(policy_copy)
    assert message in str(exc.value)
    assert "reporting.yaml" in str(exc.value)


def test_a_record_that_does_not_parse_stops_the_report(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "d.db"
    store = zxpolicy.log.open_log(db)
    generate_day(store)
    store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE decisions SET body = '{}' WHERE seq = 3")
    conn.close()
    r = CliRunner().invoke(main, ["log", "daily-check", str(db), "--date", "2026-11-27", "--policy", str(POLICIES)])
    assert r.exit_code == 2 and "第3条" in r.stderr and "zxpolicy log verify" in r.stderr
    assert len(r.stderr.splitlines()) == 2  # the policy used, and the one line of the refusal
    unverified = CliRunner().invoke(main, ["log", "daily-check", str(db), "--date", "2026-11-27", "--policy", str(POLICIES),
                                           "--no-verify", "--lang", "en"])
    assert unverified.exit_code == 2 and "record 3 " in unverified.stderr and "zxpolicy log verify" in unverified.stderr


def test_a_progress_bar_on_a_terminal_for_a_large_log(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(cli_log, "PROGRESS_MIN", 20)
    assert list(cli_log._progress("verify")(iter(range(10)), 10)) == list(range(10))  # type: ignore[arg-type]
    assert err.getvalue() == ""  # a small log: no bar
    assert list(cli_log._progress("verify")(iter(range(30)), 30)) == list(range(30))  # type: ignore[arg-type]
    assert "verify" in err.getvalue() and "30/30" in err.getvalue()
