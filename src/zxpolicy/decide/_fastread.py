"""The fast way to read a request: the engine's own types, their JSON shapes, and nothing unusual.

``check`` is on the request path of every query, so reading a request must cost little more than
looking its fields up. This reader accepts only the plain case — exact ``str``, ``datetime``,
``Subject``, ``Resource``, ``Consent`` and ``Approval`` objects, or plain dicts of their fields
with exact ``str`` keys (what a service has once it parsed a JSON body), times as ``datetime`` or
as ISO 8601 strings (read with ``datetime.fromisoformat``, as the full reader reads them), lists
or tuples, plain dicts of strings for evidence — and checks exactly what
``_request.read_request`` checks. On anything else (another type, a subclass, a value
``read_request`` would reject, an exception) it returns None and the caller reads the request
again with ``read_request``, which names every bad field. So the two readers agree by
construction: this one either returns the ``Request`` the full reader would return, or declines.
``tests/decide/test_readers_agree.py`` checks that on valid and invalid requests alike, on the
engine's types and on JSON.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..compile import Person, Vocabulary
from ._fields import DEFAULT_STATUS, MAX_APPROVALS, PART_FIELDS, SUBJECT_STATUSES
from ._request import (
    ReadApproval,
    ReadConsent,
    ReadResource,
    ReadSubject,
    Request,
    approval_order,
)
from ._types import Approval, Consent, Resource, Subject

_UTC = timezone.utc
_SEQUENCES = (list, tuple, frozenset, set)  # what `roles` and `purposes` may be on this path
_parse_time = datetime.fromisoformat  # the full reader's parser: the same strings, the same times
# The fields of each part, for a dict of them: a key outside these is the full reader's to name.
_SUBJECT_KEYS = frozenset(PART_FIELDS[Subject])
_RESOURCE_KEYS = frozenset(PART_FIELDS[Resource])
_CONSENT_KEYS = frozenset(PART_FIELDS[Consent])
_APPROVAL_KEYS = frozenset(PART_FIELDS[Approval])


def read_fast(
    vocab: Vocabulary,
    subject: Any,
    resource: Any,
    purpose: Any,
    action: Any,
    consent: Any,
    approvals: Any,
    evidence: Any,
    at: Any,
) -> Request | None:
    """The request, read as ``read_request`` would read it; None when it is not the plain case."""
    try:
        return _read(vocab, subject, resource, purpose, action, consent, approvals, evidence, at)
    except Exception:  # an object that raises: the full reader decides what that means
        return None


def _read(
    vocab: Vocabulary,
    subject: Any,
    resource: Any,
    purpose: Any,
    action: Any,
    consent: Any,
    approvals: Any,
    evidence: Any,
    at: Any,
) -> Request | None:
    if type(purpose) is not str or type(action) is not str or action not in vocab.actions:
        return None
    t = type(subject)
    if t is str:
        person = vocab.people.get(subject)
        if person is None:
            return None
        read_subject = ReadSubject(person, DEFAULT_STATUS, None, False)  # assignments carry no account state
    elif t is Subject or t is dict:
        given = _subject(vocab, subject)
        if given is None or (vocab.assignments_only and given.person.id not in vocab.people):
            return None  # unknown_subject: the full reader names it
        read_subject = given
    else:
        return None

    t = type(resource)
    if t is Resource:
        rid, kind, level, org, customer, retention = (
            resource.id, resource.kind, resource.level, resource.org, resource.customer_id, resource.retention_until
        )
    elif t is dict and _plain_keys(resource, _RESOURCE_KEYS):
        get = resource.get
        rid, kind, level, org, customer, retention = (
            get("id"), get("kind"), get("level"), get("org"), get("customer_id"), get("retention_until")
        )
    else:
        return None
    if (
        type(rid) is not str or not rid
        or type(kind) is not str or kind not in vocab.kinds
        or type(level) is not str or level not in vocab.levels
        or type(org) is not str or org not in vocab.orgs
        or (customer is not None and (type(customer) is not str or not customer))
    ):
        return None
    if retention is not None:
        retention = _time(retention)
        if retention is None:
            return None

    read_consent: ReadConsent | None = None
    if consent is not None:
        read_consent = _consent(consent)
        if read_consent is None:
            return None

    read_approvals: tuple[ReadApproval, ...] = ()
    if approvals is not None:
        if type(approvals) is not list and type(approvals) is not tuple or len(approvals) > MAX_APPROVALS:
            return None
        got = []
        for item in approvals:
            ap = _approval(vocab, item)
            if ap is None:
                return None
            got.append(ap)
        # The order read_request gives them, so that any order of the same approvals decides alike.
        read_approvals = tuple(sorted(got, key=approval_order)) if len(got) > 1 else tuple(got)

    read_evidence: dict[str, str] = {}
    if evidence is not None:
        if type(evidence) is not dict:
            return None
        for key, value in evidence.items():
            if type(key) is not str or type(value) is not str:
                return None
            if value:
                read_evidence[key] = value

    when = datetime.now(_UTC) if at is None else _time(at)
    if when is None:
        return None
    return Request(read_subject, ReadResource(rid, kind, level, org, customer, retention), purpose, action,
                   read_consent, read_approvals, read_evidence, when)


def _plain_keys(data: dict[Any, Any], names: frozenset[str]) -> bool:
    """Whether every key of ``data`` is an exact ``str`` and the name of a field. (A ``str``
    subclass or another object may hash and compare as a field name: the full reader's.)"""
    for key in data:
        if type(key) is not str or key not in names:
            return False
    return True


def _time(value: Any) -> datetime | None:
    """An aware datetime, or an ISO 8601 string of one → the same instant in UTC; None for anything
    else (a string ``datetime.fromisoformat`` does not read raises, and the caller declines)."""
    when: datetime
    if type(value) is str:
        when = _parse_time(value)
    elif type(value) is datetime:
        when = value
    else:
        return None
    tz = when.tzinfo
    if type(tz) is timezone and 1 < when.year < 9999:
        # A fixed offset (every parsed string's): compared and subtracted as an instant already,
        # and equal (``==``) to the UTC time read_request gives. Only zones with daylight saving
        # need converting, because Python compares two times of one such zone object by their
        # clock faces. (In the first and last years an offset may leave the range of UTC times:
        # read_request rejects those.)
        return when
    if tz is None or when.utcoffset() is None:
        return None
    try:
        return when.astimezone(_UTC)
    except OverflowError:
        return None


def _strings(value: Any) -> frozenset[str] | None:
    if type(value) not in _SEQUENCES:
        return None
    for item in value:
        if type(item) is not str:
            return None
    return value if type(value) is frozenset else frozenset(value)


def _subject(vocab: Vocabulary, s: Any) -> ReadSubject | None:
    """A ``Subject``, or a dict of its fields, as ``read_subject`` reads it; None where that
    names a problem, an ``identity_mismatch`` included (the caller declines an id unknown under
    assignments_only)."""
    sid: Any
    raw_roles: Any
    org: Any
    status: Any
    changed: Any
    must: Any
    if type(s) is Subject:
        sid, raw_roles, org, status, changed, must = s.id, s.roles, s.org, s.status, s.password_changed_at, s.must_change_password
    elif type(s) is dict and _plain_keys(s, _SUBJECT_KEYS):
        get = s.get
        sid, raw_roles, org = get("id"), get("roles"), get("org")
        # as read_subject: a status or flag given as null is a wrong value, not the default
        status, changed, must = get("status", DEFAULT_STATUS), get("password_changed_at"), get("must_change_password", False)
    else:
        return None
    roles = _strings(raw_roles)
    if (
        roles is None
        or type(sid) is not str or not sid
        or type(org) is not str or org not in vocab.orgs
        or type(status) is not str or status not in SUBJECT_STATUSES
        or type(must) is not bool
    ):
        return None
    if changed is not None:
        changed = _time(changed)
        if changed is None:
            return None
    known = vocab.people.get(sid)
    if known is not None:  # the assignments give its roles and org: the object may only narrow the roles
        if org != known.org or not roles <= known.roles:
            return None
        if roles == known.roles:
            return ReadSubject(known, status, changed, must)
        return ReadSubject(Person(sid, roles, org, known.key), status, changed, must, frozenset(), known.roles)
    held = roles & vocab.roles
    return ReadSubject(Person(sid, held, org), status, changed, must, roles - held)


def _consent(c: Any) -> ReadConsent | None:
    customer: Any
    raw_purposes: Any
    signed: Any
    expires: Any
    revoked: Any
    cid: Any
    if type(c) is Consent:
        customer, raw_purposes, signed, expires, revoked, cid = c.customer_id, c.purposes, c.signed_at, c.expires_at, c.revoked, c.id
    elif type(c) is dict and _plain_keys(c, _CONSENT_KEYS):
        get = c.get
        customer, raw_purposes, signed, expires = get("customer_id"), get("purposes"), get("signed_at"), get("expires_at")
        revoked, cid = get("revoked", False), get("id")
    else:
        return None
    purposes = _strings(raw_purposes)
    if (
        purposes is None
        or type(customer) is not str or not customer
        or type(revoked) is not bool
        or (cid is not None and (type(cid) is not str or not cid))
    ):
        return None
    signed_at = _time(signed)
    if signed_at is None:
        return None
    if expires is not None:
        expires = _time(expires)
        if expires is None:
            return None
    return ReadConsent(cid, customer, purposes, signed_at, expires, revoked)


def _approval(vocab: Vocabulary, a: Any) -> ReadApproval | None:
    raw: Any
    role: Any
    at: Any
    resource_id: Any
    action: Any
    if type(a) is Approval:
        raw, role, at, resource_id, action = a.approver, a.role, a.at, a.resource_id, a.action
    elif type(a) is dict and _plain_keys(a, _APPROVAL_KEYS):
        get = a.get
        raw, role, at, resource_id, action = get("approver"), get("role"), get("at"), get("resource_id"), get("action")
    else:
        return None
    if (
        type(role) is not str or not role
        or type(resource_id) is not str or not resource_id
        or type(action) is not str or not action
    ):
        return None
    approver: Person | None
    t = type(raw)
    if t is str:
        if not raw:
            return None
        approver = vocab.people.get(raw)  # an unknown id: approver_lacks_role later, as in read_request
        approver_id = raw
        who = raw if approver is None else approver.key or raw
    elif t is Subject or t is dict:
        read = _subject(vocab, raw)
        if read is None:
            return None
        approver_id = read.person.id
        # assignments_only: an id outside them is no one, as in read_request
        approver = read.person if not vocab.assignments_only or approver_id in vocab.people else None
        who = approver_id if approver is None else approver.key or approver_id
    else:
        return None
    when = _time(at)
    if when is None:
        return None
    return ReadApproval(approver, approver_id, role, when, resource_id, action, who)
