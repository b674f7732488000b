"""The engine and its decision log: one record per decision, ids and keys only; an allowed query
that cannot be logged is a deny (Q-11); a linear chain under concurrent writers."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from click.testing import CliRunner

import zxpolicy
from zxpolicy import Consent
from zxpolicy.cli import main
from zxpolicy.log import DecisionLog, LogRecord, open_log, verify_chain

from ..conftest import AT, POLICIES, REPO, consent, report
from ._fixtures import Backend, ListLog, backend  # noqa: F401  (a fixture)

ARCHIVE_VIEW = json.loads((REPO / "examples" / "archive-view.json").read_text(encoding="utf-8"))


def test_each_decision_is_one_record_of_ids_and_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = zxpolicy.load(POLICIES, log=tmp_path / "d.db")
    given = Consent("c-1", ["legal"], AT - timedelta(days=1), id="consent-77")
    allowed = engine.check("u-query-east1", report(customer="c-1"), "loan_review", consent=consent(), at=AT)
    denied = engine.check("u-query-east1", report(customer="c-1"), "legal", consent=given,
                          evidence={"legal_basis": "刑事诉讼法第五十四条 secret-basis"}, at=AT)
    assert allowed.allowed and not denied.allowed
    rows = list(open_log(tmp_path / "d.db").rows())[1:]  # after the genesis record
    assert [r.seq for r in rows] == [1, 2]
    first, second = rows[0].record(), rows[1].record()
    assert (first.decision_id, second.decision_id) == (allowed.decision_id, denied.decision_id)
    assert (first.subject_id, first.subject_org, first.action, first.resource_id, first.resource_kind,
            first.resource_level, first.resource_org, first.customer_id, first.purpose, first.allowed) == (
        "u-query-east1", "east-1", "query", "rep-1", "credit_report", "ordinary", "east-1", "c-1", "loan_review", True)
    assert first.codes == allowed.codes and first.obligations == ("log_query",)
    assert first.policy_version == engine.policy_version and first.at == "2026-11-27T02:00:00.000000+00:00"
    assert second.allowed is False and second.codes == denied.codes
    assert second.consent_id == "consent-77" and second.evidence_keys == ("legal_basis",)
    # never an evidence value nor the consent's content
    assert "secret-basis" not in rows[1].body and "signed_at" not in rows[1].body


def test_explain_writes_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sink = ListLog()
    engine = zxpolicy.load(POLICIES, log=sink)
    engine.explain("u-query-east1", report(), "loan_review", consent=consent(), at=AT)
    assert sink.records == []
    engine.check_many([{"subject": "u-query-east1", "resource": report(), "purpose": "loan_review", "at": AT}] * 3)
    assert len(sink.records) == 3


class Failing:
    def write(self, record: LogRecord) -> None:
        raise OSError("disk full")


def test_an_allowed_query_that_cannot_be_logged_is_denied() -> None:
    assert isinstance(Failing(), DecisionLog)
    engine = zxpolicy.load(POLICIES, log=Failing())
    d = engine.check("u-query-east1", report(), "loan_review", consent=consent(), at=AT)
    assert not d.allowed and d.codes == ("log_unavailable",)
    assert d.reasons[0].rule == "Q-11" and "disk full" in d.reasons[0].message_en
    assert d.reasons[0].message.startswith("决策日志无法写入")
    printed = engine.check("u-query-east1", report(), "loan_review", action="print", consent=consent(), at=AT)
    assert printed.codes == ("log_unavailable",)
    # a deny stays the deny it was, with its own reasons
    denied = engine.check("u-query-east1", report(), "loan_review", at=AT)
    assert denied.codes == ("consent_missing",)


def test_an_allowed_decision_the_policy_does_not_require_recorded_stands(policy_copy) -> None:  # type: ignore[no-untyped-def]
    # By default an archive view must be recorded (credit information): denied when it cannot be
    # (tests/log/test_must_record.py). A policy that lists only user accounts lets it stand; an
    # allowed query still carries `log_query`, and is denied.
    rules = policy_copy / "rules.yaml"
    text = rules.read_text(encoding="utf-8").replace("settings:\n", "settings:\n  must_record: [{kinds: [user_account]}]\n", 1)
    rules.write_text(text, encoding="utf-8")
    engine = zxpolicy.load(policy_copy, log=Failing())
    fields = {k: v for k, v in ARCHIVE_VIEW.items() if k not in ("subject", "resource", "purpose")}
    d = engine.check(ARCHIVE_VIEW["subject"], ARCHIVE_VIEW["resource"], ARCHIVE_VIEW["purpose"], **fields)
    assert d.allowed and "log_query" not in d.obligations
    q = engine.check("u-query-east1", report(), "loan_review", consent=consent(), at=AT)
    assert q.codes == ("log_unavailable",)
    default = zxpolicy.load(POLICIES, log=Failing())
    d = default.check(ARCHIVE_VIEW["subject"], ARCHIVE_VIEW["resource"], ARCHIVE_VIEW["purpose"], **fields)
    assert d.codes == ("log_unavailable",)


@contextmanager
def _locked(b: Backend, label: str) -> Iterator[None]:
    """Another writer holds the log's lock, as a stuck host or a full disk would."""
    if b.dsn is not None:
        import psycopg

        with psycopg.connect(b.dsn) as conn:
            conn.execute(f"SELECT * FROM {label}_head FOR UPDATE")
            yield
            conn.rollback()
        return
    conn = sqlite3.connect(b.root / f"{label}.db", isolation_level=None)  # type: ignore[operator]
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_a_log_that_cannot_be_written_turns_an_allow_into_a_deny(backend: Backend) -> None:  # noqa: F811
    label = backend.label()
    store = backend.open(label, timeout=0.2)
    engine = zxpolicy.load(POLICIES, log=store)
    assert engine.check("u-query-east1", report(), "loan_review", consent=consent(), at=AT).allowed
    with _locked(backend, label):
        d = engine.check("u-query-east1", report(), "loan_review", consent=consent(), at=AT)
        assert not d.allowed and d.codes == ("log_unavailable",) and d.reasons[0].rule == "Q-11"
    after = engine.check("u-query-east1", report(), "loan_review", consent=consent(), at=AT)
    assert after.allowed  # the log is back: so is access
    v = verify_chain(store)
    store.close()
    assert v.ok and v.records == 2  # the denied decision left no record: it could not be written


def test_the_chain_stays_linear_under_concurrent_writers(backend: Backend) -> None:  # noqa: F811
    label = backend.label()
    threads, each = 8, 40
    stores = [backend.open(label, timeout=30), backend.open(label, timeout=30)]  # two "hosts"
    engines = [zxpolicy.load(POLICIES, log=s) for s in stores]
    results: list[bool] = []
    start = threading.Barrier(threads)

    def work(i: int) -> None:
        start.wait()
        for j in range(each):
            d = engines[i % 2].check("u-query-east1", report(rid=f"r-{i}-{j}"), "loan_review", consent=consent(), at=AT)
            results.append(d.allowed)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert results == [True] * (threads * each)
    v = verify_chain(stores[0])
    rows = list(stores[0].rows())[1:]  # after the genesis record
    for s in stores:
        s.close()
    assert v.ok and v.records == threads * each
    assert [r.seq for r in rows] == list(range(1, threads * each + 1))
    assert len({r.record().resource_id for r in rows}) == threads * each


def test_cli_check_writes_the_log(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    db = tmp_path / "d.db"
    r = runner.invoke(main, ["check", "--log", str(db), str(REPO / "examples" / "query-allowed.json")])
    assert r.exit_code == 0, r.output
    rows = list(open_log(db).rows())[1:]  # after the genesis record
    assert len(rows) == 1 and rows[0].record().allowed
    bad = runner.invoke(main, ["check", "--log", str(tmp_path), str(REPO / "examples" / "query-allowed.json")])
    assert bad.exit_code == 2 and "无法打开决策日志" in bad.output and len(bad.output.splitlines()) == 1
    bad_en = runner.invoke(main, ["check", "--lang", "en", "--log", str(tmp_path), str(REPO / "examples" / "query-allowed.json")])
    assert bad_en.exit_code == 2 and "cannot open the log" in bad_en.output


def test_no_log_by_default() -> None:
    assert zxpolicy.load(POLICIES).log is None
