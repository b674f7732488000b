"""A decision as the engine hands it to a decision log: ``LogRecord``, and ``DecisionLog``, the one
method an engine needs of a log.

A record holds ids and keys only: who asked, for what, under which consent and approvals, and
what was decided. It never holds a consent document, an approval's content or an evidence value
(a legal basis, a case number): the log is read by reviewers who must not see them.

The record is built here, in the decide stage, because only the engine has the request as read;
the log (``zxpolicy.log``) chains, stores, verifies and reports on these records.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

from ._decision import Decision
from ._request import Request

VERSION = 1  # of the record's fields; a reader refuses a version it does not know


def utc_text(when: datetime) -> str:
    """A time as stored: UTC, fixed width, so that text order is time order."""
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One decision. ``decision_id`` is the ``Decision``'s; ``at`` is the time of the request (as
    the host gave it, or the engine's clock), ``logged_at`` the engine's clock when it was written;
    ``caller`` the system that asked, where a service knows it (``zxpolicy serve``)."""

    decision_id: str
    at: str
    logged_at: str
    subject_id: str
    subject_org: str
    action: str
    resource_id: str
    resource_kind: str
    resource_level: str
    resource_org: str
    customer_id: str | None
    purpose: str
    consent_id: str | None
    approvals: tuple[str, ...]  # `approver:role` of each approval given: approvals carry no id
    evidence_keys: tuple[str, ...]
    allowed: bool
    codes: tuple[str, ...]
    obligations: tuple[str, ...]
    policy_version: str
    # Which system asked, as the service authenticated it (a token's name, a client
    # certificate's CN); None for a host that calls the library itself. Left out of the body when
    # None, so that records written before the field existed keep their bodies and hashes.
    caller: str | None = None

    def body(self) -> str:
        """The canonical JSON that is stored and hashed."""
        data: dict[str, Any] = {"v": VERSION, **asdict(self)}
        if data["caller"] is None:
            del data["caller"]
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_body(cls, body: str) -> LogRecord:
        data = json.loads(body)
        if not isinstance(data, dict) or data.pop("v", None) != VERSION:
            raise ValueError(f"not a version {VERSION} record")
        for name in ("approvals", "evidence_keys", "codes", "obligations"):
            data[name] = tuple(data[name])
        return cls(**data)

    @property
    def when(self) -> datetime:
        return datetime.fromisoformat(self.at)


def record_of(r: Request, d: Decision, now: datetime | None = None) -> LogRecord:
    """The record of a decided request."""
    res = r.resource
    return LogRecord(
        decision_id=d.decision_id,  # the host links what it was told to its record by this id
        at=utc_text(r.at),
        logged_at=utc_text(now or datetime.now(timezone.utc)),
        subject_id=r.subject.person.id,
        subject_org=r.subject.person.org,
        action=r.action,
        resource_id=res.id,
        resource_kind=res.kind,
        resource_level=res.level,
        resource_org=res.org,
        customer_id=res.customer_id,
        purpose=r.purpose,
        consent_id=r.consent.id if r.consent is not None else None,
        approvals=tuple(f"{a.approver_id}:{a.role}" for a in r.approvals),
        evidence_keys=tuple(sorted(r.evidence)),
        allowed=d.allowed,
        codes=d.codes,
        obligations=d.obligations,
        policy_version=d.policy_version,
    )


@runtime_checkable
class DecisionLog(Protocol):
    """Where an engine writes its decisions (as OPA's decision-log plugins take them): any object
    with this one method will do, e.g. one that forwards records to the institution's own audit
    system. ``write`` raises when the record is not kept."""

    def write(self, record: LogRecord) -> None: ...
