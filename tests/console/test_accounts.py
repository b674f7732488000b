"""Console accounts: argon2id hashes only, a minimum length, the same work for unknown users, and
server-side sessions kept as sha256 of their token, ending when idle or too old."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from zxpolicy import ConsoleError
from zxpolicy.console import (
    ABSOLUTE,
    IDLE,
    MIN_PASSWORD,
    ConsoleDb,
    add_user,
    audit_entries,
    check_password,
    end_session,
    new_session,
    session_of,
    user_ids,
)

from .test_db import db, log, pg_database, raw  # noqa: F401  (fixtures)

PASSWORD = "correct horse battery"


def test_a_password_is_kept_only_as_its_argon2id_hash(db: ConsoleDb, log: str) -> None:
    add_user(db, "u-gm-hq", PASSWORD)
    ((stored,),) = raw(log, "SELECT hash FROM zxpolicy_console_users WHERE user_id = ?", ("u-gm-hq",))
    assert str(stored).startswith("$argon2id$") and PASSWORD not in str(stored)
    assert check_password(db, "u-gm-hq", PASSWORD)
    assert not check_password(db, "u-gm-hq", PASSWORD + "x")
    assert not check_password(db, "u-gm-hq", "")
    assert user_ids(db) == ["u-gm-hq"]


def test_a_short_password_is_refused(db: ConsoleDb) -> None:
    with pytest.raises(ConsoleError) as err:
        add_user(db, "u-gm-hq", "x" * (MIN_PASSWORD - 1))
    assert err.value.code == "password_too_short" and str(MIN_PASSWORD) in err.value.message
    add_user(db, "u-gm-hq", "x" * MIN_PASSWORD)  # exactly the minimum will do
    assert check_password(db, "u-gm-hq", "x" * MIN_PASSWORD)


def test_a_new_password_replaces_the_old_ends_the_sessions_and_is_audited(db: ConsoleDb) -> None:
    add_user(db, "u-gm-hq", PASSWORD)
    token, _ = new_session(db, "u-gm-hq")
    add_user(db, "u-gm-hq", "another long password", by="u-supervisor-hq")
    assert not check_password(db, "u-gm-hq", PASSWORD)
    assert check_password(db, "u-gm-hq", "another long password")
    assert session_of(db, token) is None
    recorded = [(e.kind, e.by, e.data["what"], e.data["detail"]) for e in audit_entries(db)]
    assert recorded == [("action", "u-supervisor-hq", "change_password", {"user": "u-gm-hq"}),
                        ("action", "u-gm-hq", "add_user", {"user": "u-gm-hq"})]


def test_an_unknown_user_costs_one_hash_verification_like_a_known_one(db: ConsoleDb) -> None:
    from zxpolicy.console import _accounts

    add_user(db, "u-gm-hq", PASSWORD)
    with mock.patch.object(_accounts, "_HASHER", wraps=_accounts._HASHER) as hasher:
        assert not check_password(db, "nobody", PASSWORD)
        assert hasher.verify.call_count == 1
        assert not check_password(db, "u-gm-hq", "wrong password here")
        assert hasher.verify.call_count == 2
        assert not check_password(db, "nobody", "x" * 5000)  # too long: still the same work
        assert hasher.verify.call_count == 3


def test_a_session_is_stored_as_the_sha256_of_its_token(db: ConsoleDb, log: str) -> None:
    token, csrf = new_session(db, "u-gm-hq")
    assert token != csrf and len(token) >= 40 and len(csrf) >= 40
    stored = {str(r[0]) for r in raw(log, "SELECT token_hash FROM zxpolicy_console_sessions")}
    assert stored == {hashlib.sha256(token.encode()).hexdigest()}
    session = session_of(db, token)
    assert session is not None and (session.user_id, session.csrf) == ("u-gm-hq", csrf)
    assert session_of(db, hashlib.sha256(token.encode()).hexdigest()) is None  # the stored value signs no one in
    assert session_of(db, "") is None and session_of(db, "x" * 10_000) is None


def test_a_session_ends_after_idle_time_unless_used(db: ConsoleDb) -> None:
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    token, _ = new_session(db, "u-gm-hq", now=start)
    used = session_of(db, token, now=start + IDLE - timedelta(minutes=1))
    assert used is not None and used.expires == start + 2 * IDLE - timedelta(minutes=1)
    assert session_of(db, token, now=start + 2 * IDLE - timedelta(minutes=2)) is not None  # the use counted
    other, _ = new_session(db, "u-gm-hq", now=start)
    assert session_of(db, other, now=start + IDLE) is None
    assert session_of(db, other, now=start) is None  # removed, not only refused


def test_a_session_ends_after_the_absolute_time_however_used(db: ConsoleDb) -> None:
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    token, _ = new_session(db, "u-gm-hq", now=start)
    at = start
    while at + IDLE / 2 < start + ABSOLUTE:
        at += IDLE / 2
        assert session_of(db, token, now=at) is not None
    assert session_of(db, token, now=start + ABSOLUTE) is None


def test_ending_a_session_signs_it_out(db: ConsoleDb) -> None:
    token, _ = new_session(db, "u-gm-hq")
    kept, _ = new_session(db, "u-gm-hq")
    end_session(db, token)
    assert session_of(db, token) is None
    assert session_of(db, kept) is not None
    end_session(db, token)  # twice: nothing to end, no error
