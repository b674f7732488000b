"""Shared fixtures: the bundled engine, a fixed request time, and small request builders."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import zxpolicy
from zxpolicy import Approval, Consent, Resource, Subject

CST = timezone(timedelta(hours=8))
AT = datetime(2026, 11, 27, 10, 0, tzinfo=CST)  # the time of every request unless a test says otherwise
REPO = Path(__file__).resolve().parent.parent
POLICIES = REPO / "policies"


class Explaining:
    """The bundled engine, whose ``check`` also runs ``explain`` on the same request and asserts
    that the two agree: so every scenario test checks ``explain`` too."""

    def __init__(self, engine: zxpolicy.Engine) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)

    def check(self, *args: object, **kwargs: object) -> zxpolicy.Decision:
        decision = self._engine.check(*args, **kwargs)  # type: ignore[arg-type]
        assert_explains(self._engine.explain(*args, **kwargs), decision)  # type: ignore[arg-type]
        return decision


def assert_explains(explanation: zxpolicy.Explanation, decision: zxpolicy.Decision) -> None:
    """The explanation's decision is check's, and its stages account for every reason."""
    assert explanation.decision == decision
    failed = [r for s in explanation.stages if not s.passed for r in s.reasons]
    passed = [r for s in explanation.stages if s.passed for r in s.reasons]
    if decision.allowed:
        assert not failed
        assert sorted(passed, key=repr) == sorted(decision.reasons, key=repr)
    else:
        assert sorted(failed, key=repr) == sorted(decision.reasons, key=repr)
        assert any(not s.passed for s in explanation.stages)


@pytest.fixture(scope="session")
def engine() -> Explaining:
    return Explaining(zxpolicy.load(POLICIES))


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str | None]:
    """A PostgreSQL server for the decision-log tests, or None: they skip (see ``_postgres``)."""
    from ._postgres import postgres_dsn

    with postgres_dsn() as dsn:
        yield dsn


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path, pg_dsn: str | None) -> str:
    """A new policy store's URL: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "postgres":
        if pg_dsn is None:
            pytest.skip("no PostgreSQL server: set ZXPOLICY_TEST_PG_DSN, or install PostgreSQL (.ci/run does)")
        from ._postgres import pg_store_url

        return pg_store_url(pg_dsn)
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A writable copy of the default policy, for tests that edit it."""
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def report(level: str = "ordinary", org: str = "east-1", customer: str | None = "c-1", rid: str = "rep-1") -> Resource:
    return Resource(rid, "credit_report", level, org, customer_id=customer)


def archive(level: str = "ordinary", org: str = "east-1", rid: str = "arc-1", **kw: object) -> Resource:
    return Resource(rid, "customer_archive", level, org, **kw)  # type: ignore[arg-type]


def consent(customer: str = "c-1", purposes: tuple[str, ...] = ("loan_review",), **kw: object) -> Consent:
    kw.setdefault("signed_at", AT - timedelta(days=10))
    return Consent(customer, purposes, **kw)  # type: ignore[arg-type]


def subject(sid: str, *roles: str, org: str = "east-1", **kw: object) -> Subject:
    return Subject(sid, roles, org, **kw)  # type: ignore[arg-type]


def approval(approver: str | Subject, role: str, resource_id: str, action: str, hours_before: float = 1) -> Approval:
    return Approval(approver, role, AT - timedelta(hours=hours_before), resource_id, action)
