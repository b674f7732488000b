"""Console accounts and server-side sessions.

A password is kept only as its argon2id hash (argon2-cffi's ``PasswordHasher``, the RFC 9106
parameters it defaults to); checking a user who has no account verifies the password against a
dummy hash all the same, so that the time taken does not tell who has one. A session is a random
token given to the browser; the database keeps its sha256 alone, so that a copy of the database
signs no one in. A session ends after ``IDLE`` without use, or ``ABSOLUTE`` after it began,
whichever comes first; a password change ends every session of the user.

Setting a password is recorded in the audit trail (``_ledger.audit``).
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from .._errors import ConsoleError
from ._db import PREFIX, ConsoleDb
from ._ledger import audit, bounded_text, stamp

__all__ = ["ABSOLUTE", "IDLE", "MAX_PASSWORD", "MIN_PASSWORD", "Session", "add_user", "check_password", "end_session",
           "new_session", "session_of", "user_ids"]

MIN_PASSWORD = 12  # characters
MAX_PASSWORD = 1024  # characters: a bound on the work one sign-in may ask for
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=8)
_TOUCH = timedelta(seconds=60)  # a session's last use is written at most this often
_MAX_TOKEN = 256

_USERS, _SESSIONS = f"{PREFIX}_users", f"{PREFIX}_sessions"
_HASHER = PasswordHasher(type=Type.ID)


@cache
def _dummy_hash() -> str:
    """A hash of no one's password, made once per process, for users without an account."""
    return _HASHER.hash(secrets.token_urlsafe(24))


@dataclass(frozen=True)
class Session:
    """A signed-in user: who, the session's CSRF token, when it began and when it ends unless used."""

    user_id: str
    csrf: str
    created_at: datetime
    expires: datetime


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _user_id(user_id: str) -> str:
    return bounded_text(user_id, "user_id", 200, "用户编号", "user id", required=True, one_line=True)


def add_user(db: ConsoleDb, user_id: str, password: str, *, by: str | None = None) -> None:
    """Give ``user_id`` a console account with ``password``, or a new password (its sessions
    then end). Refuses (``ConsoleError``) a password shorter than ``MIN_PASSWORD`` characters
    (``password_too_short``) or longer than ``MAX_PASSWORD`` (``password_too_long``). Recorded in
    the audit trail, by ``by`` (the user itself by default). Whether ``user_id`` is a user of the
    policy is the caller's to check (``console_rights``): an account gives no right by itself."""
    user_id = _user_id(user_id)
    length = len(unicodedata.normalize("NFC", password))
    if length < MIN_PASSWORD:
        raise ConsoleError("password_too_short", f"密码过短：至少 {MIN_PASSWORD} 个字符（现为 {length} 个）",
                           f"the password is too short: at least {MIN_PASSWORD} characters (it has {length})")
    if length > MAX_PASSWORD:
        raise ConsoleError("password_too_long", f"密码过长：至多 {MAX_PASSWORD} 个字符", f"the password is too long: at most {MAX_PASSWORD} characters")
    digest = _HASHER.hash(unicodedata.normalize("NFC", password))
    now = stamp(datetime.now(UTC))
    with db.db.write() as tx:
        existed = bool(tx.query(f"SELECT 1 FROM {_USERS} WHERE user_id = ?", (user_id,)))
        if existed:
            tx.execute(f"UPDATE {_USERS} SET hash = ?, changed_at = ? WHERE user_id = ?", (digest, now, user_id))
            tx.execute(f"DELETE FROM {_SESSIONS} WHERE user_id = ?", (user_id,))
        else:
            tx.execute(f"INSERT INTO {_USERS} (user_id, hash, changed_at) VALUES (?, ?, ?)", (user_id, digest, now))
    audit(db, by=by or user_id, kind="action", what="change_password" if existed else "add_user", detail={"user": user_id})


def user_ids(db: ConsoleDb) -> list[str]:
    """The ids that have an account, sorted."""
    return [str(r[0]) for r in db.db.read(f"SELECT user_id FROM {_USERS} ORDER BY user_id")]


def check_password(db: ConsoleDb, user_id: str, password: str) -> bool:
    """Whether ``password`` is ``user_id``'s. The same work whether or not the user has an account
    (a dummy hash is verified instead), and for a password of any length up to the bound."""
    found = []
    if isinstance(user_id, str) and 0 < len(user_id) <= 200:
        found = db.db.read(f"SELECT hash FROM {_USERS} WHERE user_id = ?", (user_id,))
    given = unicodedata.normalize("NFC", password) if isinstance(password, str) else ""
    usable = bool(found) and 0 < len(given) <= MAX_PASSWORD
    digest = str(found[0][0]) if found else _dummy_hash()
    try:
        _HASHER.verify(digest, given[:MAX_PASSWORD] or "-")
    except (VerificationError, InvalidHashError):
        return False
    if not usable:
        return False
    if _HASHER.check_needs_rehash(digest):  # parameters raised since it was set: keep the stronger hash
        with db.db.write() as tx:
            tx.execute(f"UPDATE {_USERS} SET hash = ? WHERE user_id = ? AND hash = ?", (_HASHER.hash(given), user_id, digest))
    return True


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_session(db: ConsoleDb, user_id: str, *, now: datetime | None = None) -> tuple[str, str]:
    """A new session of ``user_id``: (session token, CSRF token). Only the session token's
    sha256 is stored. Sessions that have ended are cleared on the way."""
    user_id = _user_id(user_id)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    at = _now(now)
    with db.db.write() as tx:
        tx.execute(f"DELETE FROM {_SESSIONS} WHERE created_at < ? OR seen_at < ?", (stamp(at - ABSOLUTE), stamp(at - IDLE)))
        tx.execute(f"INSERT INTO {_SESSIONS} (token_hash, user_id, csrf, created_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                   (_token_hash(token), user_id, csrf, stamp(at), stamp(at)))
    return token, csrf


def session_of(db: ConsoleDb, token: str, *, now: datetime | None = None) -> Session | None:
    """The session of ``token``, its use recorded; None for an unknown or ended one (which is
    then removed)."""
    if not isinstance(token, str) or not 0 < len(token) <= _MAX_TOKEN:
        return None
    key = _token_hash(token)
    found = db.db.read(f"SELECT user_id, csrf, created_at, seen_at FROM {_SESSIONS} WHERE token_hash = ?", (key,))
    if not found:
        return None
    user_id, csrf, created_text, seen_text = (str(x) for x in found[0])
    at = _now(now)
    created, seen = datetime.fromisoformat(created_text), datetime.fromisoformat(seen_text)
    if at - created >= ABSOLUTE or at - seen >= IDLE:
        end_session(db, token)
        return None
    if at - seen >= _TOUCH:
        with db.db.write() as tx:
            tx.execute(f"UPDATE {_SESSIONS} SET seen_at = ? WHERE token_hash = ?", (stamp(at), key))
        seen = at
    return Session(user_id, csrf, created, min(created + ABSOLUTE, seen + IDLE))


def end_session(db: ConsoleDb, token: str) -> None:
    """End the session of ``token`` (nothing when there is none)."""
    if isinstance(token, str) and 0 < len(token) <= _MAX_TOKEN:
        with db.db.write() as tx:
            tx.execute(f"DELETE FROM {_SESSIONS} WHERE token_hash = ?", (_token_hash(token),))
