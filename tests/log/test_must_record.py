"""Recorded or denied, for every sensitive action (Q-11): an allowed decision the policy says must
be recorded (``settings.must_record``; by default every action on credit information and on user
accounts) that cannot be written is a deny, ``log_unavailable``. A log file deleted or replaced
under a running engine cannot be written."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

import zxpolicy
from zxpolicy import Decision, Engine, Resource
from zxpolicy.log import LogRecord, open_log, verify_chain

from ..conftest import AT, POLICIES, approval, archive, consent, report
from ._fixtures import Backend, backend  # noqa: F401  (a fixture)

DAY = timedelta(days=1)


class Failing:
    def write(self, record: LogRecord) -> None:
        raise OSError("disk full")


def _copy(e: Engine) -> Decision:
    return e.check("u-officer-east", archive(), "loan_review", action="copy",
                   approvals=[approval("u-gm-hq", "general_manager", "arc-1", "copy")], at=AT)


def _provide_external(e: Engine) -> Decision:
    approvals = [
        approval("u-supervisor-hq", "credit_info_supervisor", "rep-1", "provide_external", 2),
        approval("u-riskmgr-hq", "risk_control_manager", "rep-1", "provide_external", 1),
    ]
    return e.check("u-officer-east", report(), "loan_review", action="provide_external", approvals=approvals, at=AT)


def _destroy(e: Engine) -> Decision:
    return e.check("u-officer-east", archive(retention_until=AT - DAY), "loan_review", action="destroy",
                   approvals=[approval("u-riskmgr-hq", "risk_control_manager", "arc-1", "destroy")], at=AT)


def _suspend_user(e: Engine) -> Decision:
    return e.check("u-admin-hq", Resource("acct-1", "user_account", "ordinary", "east-1"), "account_management",
                   action="suspend_user", at=AT)


def _query(e: Engine) -> Decision:
    return e.check("u-query-east1", report(), "loan_review", consent=consent(), at=AT)


SENSITIVE: dict[str, Callable[[Engine], Decision]] = {
    "copy": _copy, "provide_external": _provide_external, "destroy": _destroy, "suspend_user": _suspend_user,
}


@pytest.mark.parametrize("name", list(SENSITIVE))
def test_an_allowed_sensitive_action_that_cannot_be_recorded_is_denied(name: str) -> None:
    act = SENSITIVE[name]
    assert act(zxpolicy.load(POLICIES)).allowed  # allowed without a log
    d = act(zxpolicy.load(POLICIES, log=Failing()))
    assert not d.allowed and d.codes == ("log_unavailable",)
    assert d.reasons[0].rule == "Q-11" and "disk full" in d.reasons[0].message_en


@pytest.mark.parametrize("name", list(SENSITIVE))
def test_a_locked_log_denies_a_sensitive_action(name: str, backend: Backend) -> None:  # noqa: F811
    from .test_engine_writes import _locked

    label = backend.label()
    store = backend.open(label, timeout=0.2)
    engine = zxpolicy.load(POLICIES, log=store)
    act = SENSITIVE[name]
    assert act(engine).allowed
    with _locked(backend, label):
        d = act(engine)
        assert not d.allowed and d.codes == ("log_unavailable",)
    assert act(engine).allowed  # the log is back: so is the action
    v = verify_chain(store)
    store.close()
    assert v.ok and v.records == 2


def test_the_default_is_every_action_on_credit_information_and_user_accounts() -> None:
    engine = zxpolicy.load(POLICIES)
    doc = engine.document
    kinds = {k.id for k in doc.kinds if k.credit_information} | {"user_account"}
    assert engine.tables.must_record == {(a.id, k) for a in doc.actions for k in kinds}


def _with_setting(policy_copy: Path, setting: str) -> Path:
    rules = policy_copy / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "\nsettings:\n" in text
    rules.write_text(text.replace("\nsettings:\n", f"\nsettings:\n  must_record: {setting}\n", 1), encoding="utf-8")
    return policy_copy


def test_the_setting_names_what_must_be_recorded(policy_copy: Path) -> None:
    _with_setting(policy_copy, "[{actions: [copy], kinds: [customer_archive]}, {kinds: [user_account]}]")
    engine = zxpolicy.load(policy_copy, log=Failing())
    every = {a.id for a in engine.document.actions}
    # the setting's pairs, and those that carry `log_query` (query and print of a credit report)
    assert engine.tables.must_record == (
        {("copy", "customer_archive")} | {(a, "user_account") for a in every}
        | {("query", "credit_report"), ("print", "credit_report")}
    )
    assert _copy(engine).codes == ("log_unavailable",)
    assert _suspend_user(engine).codes == ("log_unavailable",)
    assert _query(engine).codes == ("log_unavailable",)  # `log_query` is recorded in any case
    assert _destroy(engine).allowed  # not listed: it stands
    assert _provide_external(engine).allowed


def test_an_empty_setting_leaves_only_what_carries_log_query(policy_copy: Path) -> None:
    engine = zxpolicy.load(_with_setting(policy_copy, "[]"), log=Failing())
    assert engine.tables.must_record == {("query", "credit_report"), ("print", "credit_report")}
    assert _copy(engine).allowed and _query(engine).codes == ("log_unavailable",)


@pytest.mark.parametrize(
    ("setting", "code", "path", "message"),
    [
        ("[{kinds: [credit_reprot]}]", "unknown_kind", "settings.must_record[0].kinds[0]", "unknown kind `credit_reprot`"),
        ("[{actions: [cpy], kinds: [credit_report]}]", "unknown_action", "settings.must_record[0].actions[0]",
         "unknown action `cpy`"),
        ("[{actions: [copy]}]", "missing_field", "settings.must_record[0].kinds", "missing field `kinds`"),
        ("[{kinds: []}]", "too_few_items", "settings.must_record[0].kinds", "at least 1 item"),
        ("{kinds: [credit_report]}", "expected_list", "settings.must_record", "expected a list"),
    ],
)
def test_the_setting_is_checked(policy_copy: Path, setting: str, code: str, path: str, message: str) -> None:
    _with_setting(policy_copy, setting)
    with pytest.raises(zxpolicy.PolicyError) as exc:
        zxpolicy.load(policy_copy)
    (problem,) = exc.value.problems
    line = (policy_copy / "rules.yaml").read_text(encoding="utf-8").splitlines().index("settings:") + 2
    assert (problem.code, problem.file, problem.line, problem.path) == (code, "rules.yaml", line, path)
    assert message in problem.message_en


def test_a_deny_that_cannot_be_recorded_stays_the_deny() -> None:
    engine = zxpolicy.load(POLICIES, log=Failing())
    d = engine.check("u-officer-east", archive(), "loan_review", action="copy", at=AT)
    assert not d.allowed and "approval_missing" in d.codes and "log_unavailable" not in d.codes


def test_a_log_deleted_under_a_running_engine_denies_what_must_be_recorded(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    engine = zxpolicy.load(POLICIES, log=db)
    assert _query(engine).allowed and _copy(engine).allowed
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    decisions = [engine.check("u-query-east1", report(rid=f"r-{i}"), "loan_review", consent=consent(), at=AT)
                 for i in range(100)]
    assert all(d.codes == ("log_unavailable",) for d in decisions)
    assert "deleted or replaced" in decisions[0].reasons[0].message_en
    for act in SENSITIVE.values():
        assert act(engine).codes == ("log_unavailable",)
    assert not db.exists()  # nothing was written anywhere under the name


def test_a_log_replaced_under_a_running_engine_is_not_written(tmp_path: Path) -> None:
    db, other = tmp_path / "d.db", tmp_path / "other.db"
    engine = zxpolicy.load(POLICIES, log=db)
    assert _query(engine).allowed
    open_log(other).close()  # an empty log, put in the first one's place
    os.replace(other, db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    assert _query(engine).codes == ("log_unavailable",)
    assert _destroy(engine).codes == ("log_unavailable",)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM decisions WHERE seq > 0").fetchone()[0] == 0  # its genesis alone
    conn.close()


def test_a_log_opened_by_a_relative_path_survives_a_change_of_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    engine = zxpolicy.load(POLICIES, log="d.db")
    monkeypatch.chdir(tmp_path / "elsewhere")  # as a daemon does once started
    assert _query(engine).allowed and _copy(engine).allowed
    store = open_log(tmp_path / "d.db", read_only=True)
    try:
        assert verify_chain(store).records == 2
    finally:
        store.close()
    assert not (tmp_path / "elsewhere" / "d.db").exists()
