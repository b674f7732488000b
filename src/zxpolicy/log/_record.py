"""One decision as the log keeps it, and the hash chain that links the records.

A record holds ids and keys only: who asked, for what, under which consent and approvals, and
what was decided. It never holds a consent document, an approval's content or an evidence value
(a legal basis, a case number): the log is read by reviewers who must not see them.

Each stored record carries the hash of the one before it: ``sha256(prev_hash + body)``, where
``body`` is the record's canonical JSON exactly as stored. Editing, deleting, inserting or
reordering a record breaks the chain at that record (see ``_verify``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from ..decide._decision import Decision
from ..decide._request import Request

GENESIS = "0" * 64  # the "previous hash" of the first record
VERSION = 1  # of the record's fields; a reader refuses a version it does not know


def utc_text(when: datetime) -> str:
    """A time as stored: UTC, fixed width, so that text order is time order."""
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One decision. ``at`` is the time of the request, ``logged_at`` when it was written."""

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

    def body(self) -> str:
        """The canonical JSON that is stored and hashed."""
        data: dict[str, Any] = {"v": VERSION, **asdict(self)}
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
        decision_id=uuid.uuid4().hex,
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


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as a store returns it: its place in the chain and its hashes."""

    seq: int
    decision_id: str
    at: str
    body: str
    prev_hash: str
    hash: str

    def record(self) -> LogRecord:
        return LogRecord.from_body(self.body)


def chain(records: list[LogRecord], seq: int, prev_hash: str) -> list[StoredRecord]:
    """Link ``records`` after the record ``seq`` whose hash is ``prev_hash``."""
    out = []
    for rec in records:
        seq += 1
        body = rec.body()
        digest = chain_hash(prev_hash, body)
        out.append(StoredRecord(seq, rec.decision_id, rec.at, body, prev_hash, digest))
        prev_hash = digest
    return out
