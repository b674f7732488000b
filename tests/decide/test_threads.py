"""One engine, many threads: every thread gets exactly the decisions a single thread gets.

The threads start together on a barrier. Nothing here measures time: a slower interleaving can
only make a test slower, never make it pass or fail.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import zxpolicy
from zxpolicy import Approval, Decision, Resource, Subject
from zxpolicy import _default as default_engine

from ..conftest import AT, POLICIES, approval, archive, consent, report, subject

THREADS = 8
CALLS = 500


def _requests() -> list[dict[str, Any]]:
    """A mix of allowed and denied requests, touching every part of the engine."""
    officer = Subject("o", ["credit_info_officer"], "east-1")
    chain = [
        approval("u-head-east1", "department_head", "arc-1", "view", hours_before=3),
        approval("u-riskoff-east", "risk_control_officer", "arc-1", "view", hours_before=2),
    ]
    return [
        # allowed
        dict(subject="u-query-east1", resource=report(), purpose="loan_review", consent=consent(), at=AT),
        dict(subject="u-query-east1", resource=report(), purpose="loan_review", action="print", consent=consent(), at=AT),
        dict(subject="u-dispute-east1", resource=report(), purpose="dissent", consent=consent(purposes=("dissent",)), evidence={"case_id": "D-1"}, at=AT),
        dict(subject=officer, resource=report(), purpose="loan_review", action="copy", approvals=[approval("u-gm-hq", "general_manager", "rep-1", "copy")], at=AT),
        dict(subject="u-dev-east1", resource=archive(), purpose="loan_review", action="view", approvals=chain, at=AT),
        dict(
            subject="u-custodian-east1",
            resource=archive(level="top_secret"),
            purpose="loan_review",
            action="view",
            approvals=[
                approval("u-head-east1", "department_head", "arc-1", "view", hours_before=3),
                approval("u-riskoff-east", "risk_control_officer", "arc-1", "view", hours_before=2),
            ],
            at=AT,
        ),
        dict(subject="u-admin-hq", resource=Resource("acct-1", "user_account", "ordinary", "hq"), purpose="account_management", action="suspend_user", at=AT),
        dict(
            subject={"id": "s", "roles": ["query_operator"], "org": "east"},
            resource={"id": "rep-1", "kind": "credit_report", "level": "ordinary", "org": "east-2", "customer_id": "c-1"},
            purpose="guarantor_check",
            consent={"customer_id": "c-1", "purposes": ["guarantor_check"], "signed_at": "2026-11-17T10:00:00+08:00"},
            at="2026-11-27T10:00:00+08:00",
        ),
        # denied, for every kind of reason
        dict(subject="u-query-east1", resource=report(), purpose="loan_review", at=AT),
        dict(subject="u-query-west1", resource=report(), purpose="loan_review", consent=consent(), at=AT),
        dict(subject="u-conflict-hq", resource=report(org="hq"), purpose="loan_review", consent=consent(), at=AT),
        dict(subject="u-dev-east1", resource=archive(level="top_secret"), purpose="loan_review", action="view", approvals=chain, at=AT),
        dict(subject="u-query-east1", resource=report(level="confidential"), purpose="marketing", consent=consent(), at=AT),
        dict(subject="u-query-east1", resource=report(), purpose="legal", evidence={"legal_basis": "x"}, at=AT),
        dict(subject=subject("q", "query_operator", status="suspended"), resource=report(), purpose="loan_review", consent=consent(), at=AT),
        dict(subject=subject("q", "query_operator", password_changed_at=AT - timedelta(days=90)), resource=report(), purpose="loan_review", consent=consent(), at=AT),
        dict(subject=officer, resource=report(), purpose="loan_review", action="copy", approvals=[approval("o", "general_manager", "rep-1", "copy")], at=AT),
        dict(subject=officer, resource=report(), purpose="loan_review", action="destroy", approvals=[approval("u-riskmgr-hq", "risk_control_manager", "rep-1", "destroy")], at=AT),
        dict(subject="u-admin-hq", resource=Resource("acct-1", "user_account", "ordinary", "hq"), purpose="account_management", action="reset_password", evidence={"reset_reason": "bored"}, at=AT),
        # unreadable
        dict(subject="u-nobody", resource=report(), purpose="loan_review", at=AT),
        dict(subject="u-query-east1", resource=report(level="secret"), purpose="loan_review", consent=consent(), at=AT),
        dict(subject=Subject("s", "query_operator", "east-1"), resource=report(), purpose=None, at="yesterday"),  # type: ignore[arg-type]
        dict(subject="u-query-east1", resource=report(), purpose="loan_review", approvals=[Approval("u-gm-hq", "general_manager", AT, "rep-1", "copy")] * 33, at=AT),
    ]


REQUESTS = _requests()


def _call(check: Callable[..., Decision], req: dict[str, Any]) -> Decision:
    args = dict(req)
    return check(args.pop("subject"), args.pop("resource"), args.pop("purpose"), **args)


def _run_threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Start ``n`` threads on a barrier, each running ``work(index)``; return their results and
    re-raise the first exception any of them met."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), name=f"zxpolicy-test-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.fixture(autouse=True)
def frequent_switches() -> Any:
    """Let the interpreter switch threads far more often than its default 5 ms, so that calls
    interleave inside ``check`` rather than one after another."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


@pytest.fixture(scope="module")
def expected(engine: zxpolicy.Engine) -> list[Decision]:
    return [_call(engine.check, r) for r in REQUESTS]


def test_the_mix_has_allowed_denied_and_unreadable_requests(expected: list[Decision]) -> None:
    assert sum(d.allowed for d in expected) == 8
    codes = {c for d in expected for c in d.codes}
    assert {"granted", "consent_missing", "org_out_of_scope", "role_conflict", "approval_missing",
            "clearance_insufficient", "purpose_not_permitted", "subject_suspended", "password_expired",
            "self_approval", "retention_not_expired", "reset_reason_invalid", "invalid_request",
            "unknown_subject"} <= codes
    assert "engine_error" not in codes


def test_a_single_thread_is_deterministic(engine: zxpolicy.Engine, expected: list[Decision]) -> None:
    assert [_call(engine.check, r) for r in REQUESTS] == expected


def test_many_threads_get_the_single_thread_decisions(engine: zxpolicy.Engine, expected: list[Decision]) -> None:
    n = len(REQUESTS)

    def work(i: int) -> list[tuple[int, Decision]]:
        # Each thread walks the requests in its own order, so that different requests run at once.
        step = (2 * i + 1) if n % (2 * i + 1) else 1
        return [((i + k * step) % n, _call(engine.check, REQUESTS[(i + k * step) % n])) for k in range(CALLS)]

    results = _run_threads(THREADS, work)
    total = 0
    wrong = []
    for per_thread in results:
        for idx, d in per_thread:
            total += 1
            if d != expected[idx]:
                wrong.append((idx, d, expected[idx]))
    assert total == THREADS * CALLS
    assert not wrong, wrong[:3]
    seen = {idx for per_thread in results for idx, _ in per_thread}
    assert seen == set(range(n))


def test_many_threads_check_many(engine: zxpolicy.Engine, expected: list[Decision]) -> None:
    def work(i: int) -> list[list[Decision]]:
        return [engine.check_many(REQUESTS) for _ in range(10)]

    for batches in _run_threads(THREADS, work):
        for batch in batches:
            assert batch == expected


def test_the_casbin_store_is_built_once_under_contention() -> None:
    engine = zxpolicy.load(POLICIES)
    stores = _run_threads(THREADS, lambda i: engine.casbin)
    assert all(s is stores[0] for s in stores)
    assert stores[0].enforce("query_operator", "query", "credit_report", "loan_review", "ordinary")


def test_the_default_engine_loads_once_when_first_called_from_many_threads(
    monkeypatch: pytest.MonkeyPatch, expected: list[Decision]
) -> None:
    monkeypatch.delenv("ZXPOLICY_POLICY_DIR", raising=False)
    monkeypatch.setattr(default_engine, "_default", None)
    real_load = default_engine.load
    loads: list[int] = []

    def counting_load(policy_dir: Any = None) -> zxpolicy.Engine:
        loads.append(threading.get_ident())
        time.sleep(0.05)  # widen the window in which the other threads arrive (not a timing assertion)
        return real_load(policy_dir)

    monkeypatch.setattr(default_engine, "load", counting_load)

    def work(i: int) -> list[tuple[int, Decision]]:
        n = len(REQUESTS)
        return [((i + k) % n, _call(zxpolicy.check, REQUESTS[(i + k) % n])) for k in range(50)]

    results = _run_threads(THREADS, work)
    assert len(loads) == 1
    assert isinstance(default_engine._default, zxpolicy.Engine)
    for per_thread in results:
        for idx, d in per_thread:
            assert d == expected[idx], (idx, d)


def test_the_default_engine_that_does_not_load_denies_in_every_thread(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "broken.yaml").write_text("roles: [\n", encoding="utf-8")
    monkeypatch.setenv("ZXPOLICY_POLICY_DIR", str(tmp_path))
    monkeypatch.setattr(default_engine, "_default", None)

    def work(i: int) -> list[Decision]:
        return [_call(zxpolicy.check, REQUESTS[k % len(REQUESTS)]) for k in range(5)]

    for per_thread in _run_threads(THREADS, work):
        for d in per_thread:
            assert not d.allowed and d.codes == ("engine_error",)
            assert d.reasons[0].rule == "R-01" and "broken.yaml:2:1" in d.reasons[0].message_en
    assert default_engine._default is None
