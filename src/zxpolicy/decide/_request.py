"""Reading a request: the host's objects (or dicts, or a subject id) → checked, normalised values.

Whatever the host passes, this module either returns a ``Request`` whose every field has the
type and vocabulary the engine expects, or the list of fields it could not read. It never raises
on bad input; the engine turns a bad field into a deny (``invalid_request``, rule R-01).

A subject or approver whose id is in the assignments takes its roles and organisation from them:
the host's object may narrow the roles, and a role added or an organisation moved is
``identity_mismatch``. Under ``settings.identities: assignments_only`` an id outside them is
``unknown_subject`` (an approver: no one, who fills no step). See README, "Trust model".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .._hints import MAX_NAMED, clip, hint, named
from ..compile import Person, Vocabulary
from ._fields import DEFAULT_STATUS, MAX_APPROVALS, PART_FIELDS, SUBJECT_STATUSES
from ._types import Approval, Consent, Resource, Subject

_STATUSES = frozenset(SUBJECT_STATUSES)


# The read request's parts are built on every check and only read afterwards. They are not
# frozen dataclasses: building a frozen one costs about five times as much.


@dataclass(slots=True)
class ReadSubject:
    person: Person  # for an id in the assignments, with the roles the host narrowed them to, if it did
    status: str
    password_changed_at: datetime | None
    must_change_password: bool
    unknown_roles: frozenset[str] = frozenset()  # held but not in the policy: shown in reasons
    # The assigned roles of an id whose roles the host narrowed: Q-08 (role separation) is judged
    # on these, as narrowing does not mend a conflict. None: ``person.roles`` are all it holds.
    assigned: frozenset[str] | None = None


@dataclass(slots=True)
class ReadResource:
    id: str
    kind: str
    level: str
    org: str
    customer_id: str | None
    retention_until: datetime | None


@dataclass(slots=True)
class ReadConsent:
    id: str | None
    customer_id: str
    purposes: frozenset[str]
    signed_at: datetime
    expires_at: datetime | None
    revoked: bool


@dataclass(slots=True)
class ReadApproval:
    approver: Person | None  # None: an id the policy does not know (or, assignments_only, an unknown object)
    approver_id: str
    role: str
    at: datetime
    resource_id: str
    action: str
    who: str  # the approver as one person: its ``Person.key``, else its id (see ``approver_key``)


@dataclass(slots=True)
class Request:
    subject: ReadSubject
    resource: ReadResource
    purpose: str
    action: str
    consent: ReadConsent | None
    approvals: tuple[ReadApproval, ...]
    evidence: Mapping[str, str]
    at: datetime


@dataclass(frozen=True, slots=True)
class BadField:
    """A field of a request that cannot be read, in the diagnostic shape; the engine turns each
    into one deny reason."""

    code: str  # "invalid_request", "unknown_subject" or "identity_mismatch"; `level` fields are reported under C-03
    message: str  # Chinese
    message_en: str
    path: str  # the field, e.g. `approvals[2].at`


class _Reader:
    """The reading of one request: its primitives (text, word, flag, time, ...) read one value
    each and collect one problem per bad field. The parts of a request are read by the functions
    below it, one per part."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.bad: list[BadField] = []

    def fail(self, field: str, message: str, zh: str, code: str = "invalid_request") -> None:
        self.bad.append(BadField(code, zh, message, field))

    def record(self, value: Any, cls: type, field: str) -> Mapping[str, Any] | None:
        """A dataclass instance or a mapping of its fields → a mapping; else a problem."""
        names = PART_FIELDS[cls]
        if isinstance(value, cls):
            return {name: getattr(value, name) for name in names}
        if isinstance(value, Mapping):
            unknown = [key for key in value if key not in names]
            for key in unknown[:MAX_NAMED]:  # a few named; a mapping of 10⁵ keys is not 10⁵ reasons
                text = clip(str(key))
                self.fail(f"{field}.{text}", f"unknown field `{text}`; {hint(text, names)}", f"未知字段；{hint(text, names, lang='zh')}")
            if len(unknown) > MAX_NAMED:
                more = len(unknown) - MAX_NAMED
                self.fail(field, f"{more} more unknown fields", f"另有{more}个未知字段")
            return value
        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        expected = f"{article} {cls.__name__} or a mapping" + (" or a subject id" if cls is Subject else "")
        if value is None:
            self.fail(field, "missing", "缺失")
        else:
            self.fail(field, f"expected {expected}, got {_typename(value)}", f"类型不符（{_typename(value)}）")
        return None

    def text(self, data: Mapping[str, Any], name: str, field: str, *, optional: bool = False) -> str | None:
        if name not in data:
            if not optional:
                self.fail(f"{field}.{name}", "missing", "缺失")
            return None
        value = data[name]
        if value is None and optional:
            return None
        if isinstance(value, str):
            text = self.plain(value, f"{field}.{name}")
            if text:
                return text
            if text is None:
                return None
        self.fail(f"{field}.{name}", f"expected a non-empty string, got {_shown(value)}", f"应为非空字符串，实为{_shown(value)}")
        return None

    def plain(self, value: str, field: str) -> str | None:
        """``value`` as a plain ``str``. A subclass is read as its text, and only when it compares
        and hashes as its text: one that says it equals every string (or none) would pass checks
        its text fails. (The fast reader takes only plain strings.)"""
        if type(value) is str:
            return value
        text = str.__str__(value)
        if value == text and not value != text and hash(value) == hash(text):
            return text
        self.fail(field, f"a string that does not compare as its text {_shown(text)}", f"字符串与其文本{_shown(text)}比较不一致")
        return None

    def word(self, data: Mapping[str, Any], name: str, field: str, allowed: frozenset[str], what: str) -> str | None:
        value = self.text(data, name, field)
        if value is not None and value not in allowed:
            self.fail(
                f"{field}.{name}",
                f"unknown {what} `{clip(value)}`; {hint(value, allowed, self.vocab.aliases)}",
                f"未知取值`{clip(value)}`；{hint(value, allowed, self.vocab.aliases, 'zh')}",
            )
            return None
        return value

    def flag(self, data: Mapping[str, Any], name: str, field: str, default: bool) -> bool:
        value = data.get(name, default)
        if not isinstance(value, bool):
            self.fail(f"{field}.{name}", f"expected true or false, got {_shown(value)}", f"应为 true 或 false，实为{_shown(value)}")
            return default
        return value

    def time(self, data: Mapping[str, Any], name: str, field: str, *, optional: bool = False) -> datetime | None:
        if name not in data or data[name] is None:
            if not optional:
                self.fail(f"{field}.{name}", "missing", "缺失")
            return None
        return self.as_time(data[name], f"{field}.{name}")

    def as_time(self, value: Any, field: str) -> datetime | None:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                self.fail(field, f"not an ISO 8601 time: {_shown(value)}", f"不是 ISO 8601 时间：{_shown(value)}")
                return None
        if not isinstance(value, datetime):
            self.fail(field, f"expected a timezone-aware datetime, got {_typename(value)}", f"应为带时区的时间，实为{_typename(value)}")
            return None
        # A subclass: read its fields, not its methods (it may compare otherwise).
        when = value if type(value) is datetime else datetime.combine(datetime.date(value), datetime.timetz(value))
        try:
            if when.utcoffset() is None:
                self.fail(field, "a naive time; give a timezone (e.g. +08:00)", "时间缺少时区（如 +08:00）")
                return None
            # In UTC: Python compares two times of one zone object by their clock faces, which is
            # wrong across a daylight-saving change.
            return when.astimezone(timezone.utc)
        except OverflowError:  # e.g. 0001-01-01 at +08:00 lies before the first UTC datetime
            self.fail(field, f"out of range in UTC: {_shown(when.isoformat())}", f"超出可表示的时间范围：{_shown(when.isoformat())}")
            return None
        except Exception as exc:  # a tzinfo of the host's that fails: this field cannot be read
            name = type(exc).__name__
            self.fail(field, f"its timezone gives no UTC offset (`{name}`)", f"时区无法给出 UTC 偏移（`{name}`）")
            return None

    def words(self, data: Mapping[str, Any], name: str, field: str) -> frozenset[str] | None:
        value: Any = data.get(name)
        if not _is_collection(value):
            self.fail(f"{field}.{name}", f"expected a list of strings, got {_shown(value)}", f"应为字符串列表，实为{_shown(value)}")
            return None
        items = list(value)
        if not all(isinstance(v, str) for v in items):
            self.fail(f"{field}.{name}", "expected a list of strings", "应为字符串列表")
            return None
        texts = [self.plain(v, f"{field}.{name}") for v in items]
        if None in texts:
            return None
        return frozenset(t for t in texts if t is not None)


def read_subject(r: _Reader, value: Any, field: str, *, approver: bool = False) -> ReadSubject | None:
    """A subject id (from the assignments) or a ``Subject``. An approver (``approver``) is only
    ever an object here; one whose id is unknown under ``assignments_only`` is read, and the
    caller makes it no one."""
    if isinstance(value, str):
        text = r.plain(value, field)
        if text is None:
            return None
        known = r.vocab.people.get(text)
        if known is None:
            r.fail(field, f"`{clip(text)}` is not in the policy's assignments", f"`{clip(text)}`不在用户清单中", "unknown_subject")
            return None
        return ReadSubject(known, DEFAULT_STATUS, None, False)  # assignments carry no account state
    data = r.record(value, Subject, field)
    if data is None:
        return None
    start = len(r.bad)
    sid = r.text(data, "id", field)
    roles = r.words(data, "roles", field)
    org = r.word(data, "org", field, r.vocab.orgs, "org")
    status = r.word(data, "status", field, _STATUSES, "status") if "status" in data else DEFAULT_STATUS
    changed = r.time(data, "password_changed_at", field, optional=True)
    must = r.flag(data, "must_change_password", field, False)
    known = None if sid is None else r.vocab.people.get(sid)
    if known is None and sid is not None and r.vocab.assignments_only and not approver:
        r.fail(f"{field}.id", f"`{clip(sid)}` is not in the policy's assignments", f"`{clip(sid)}`不在用户清单中", "unknown_subject")
    if known is not None and roles is not None and org is not None:
        contradicts(r, known, roles, org, field)
    if len(r.bad) > start or sid is None or roles is None or org is None or status is None:
        return None
    if known is not None:  # roles ⊆ known.roles, org = known.org: contradicts() found nothing
        if roles == known.roles:
            return ReadSubject(known, status, changed, must)
        return ReadSubject(Person(sid, roles, org, known.key), status, changed, must, frozenset(), known.roles)
    held = roles & r.vocab.roles
    return ReadSubject(Person(sid, held, org), status, changed, must, roles - held)


def contradicts(r: _Reader, known: Person, roles: frozenset[str], org: str, field: str) -> None:
    """A problem (``identity_mismatch``) per field of the host's object that says more than the
    assignments: a role they do not give the id, or another organisation."""
    added = roles - known.roles
    if added:
        shown = [f"`{x}`" for x in named(added)]  # a few: the host may pass any number of roles
        extra, extra_en = "、".join(shown), ", ".join(shown)
        given = "、".join(f"`{x}`" for x in sorted(known.roles)) or "无"
        given_en = ", ".join(f"`{x}`" for x in sorted(known.roles)) or "none"
        r.fail(
            f"{field}.roles",
            f"the assignments give `{known.id}` the roles {given_en}, not {extra_en}",
            f"用户清单中`{known.id}`的角色为{given}，不含{extra}",
            "identity_mismatch",
        )
    if org != known.org:
        r.fail(
            f"{field}.org",
            f"the assignments place `{known.id}` in `{known.org}`, not `{org}`",
            f"用户清单中`{known.id}`属`{known.org}`，不属`{org}`",
            "identity_mismatch",
        )


def read_resource(r: _Reader, value: Any) -> ReadResource | None:
    data = r.record(value, Resource, "resource")
    if data is None:
        return None
    start = len(r.bad)
    rid = r.text(data, "id", "resource")
    kind = r.word(data, "kind", "resource", r.vocab.kinds, "kind")
    level = r.text(data, "level", "resource")
    if level is not None and level not in r.vocab.levels:
        r.fail(
            "resource.level",
            f"unknown level `{clip(level)}`; {hint(level, r.vocab.levels, r.vocab.aliases)}",
            f"未知密级`{clip(level)}`；{hint(level, r.vocab.levels, r.vocab.aliases, 'zh')}",
        )
    org = r.word(data, "org", "resource", r.vocab.orgs, "org")
    customer = r.text(data, "customer_id", "resource", optional=True)
    retention = r.time(data, "retention_until", "resource", optional=True)
    if len(r.bad) > start or rid is None or kind is None or level is None or org is None:
        return None
    return ReadResource(rid, kind, level, org, customer, retention)

def read_consent(r: _Reader, value: Any) -> ReadConsent | None:
    data = r.record(value, Consent, "consent")
    if data is None:
        return None
    start = len(r.bad)
    customer = r.text(data, "customer_id", "consent")
    purposes = r.words(data, "purposes", "consent")
    signed = r.time(data, "signed_at", "consent")
    expires = r.time(data, "expires_at", "consent", optional=True)
    revoked = r.flag(data, "revoked", "consent", False)
    cid = r.text(data, "id", "consent", optional=True)
    if len(r.bad) > start or customer is None or purposes is None or signed is None:
        return None
    return ReadConsent(cid, customer, purposes, signed, expires, revoked)

def read_approval(r: _Reader, value: Any, field: str) -> ReadApproval | None:
    data = r.record(value, Approval, field)
    if data is None:
        return None
    start = len(r.bad)
    raw = data.get("approver")
    approver: Person | None = None
    approver_id: str | None = None
    who = ""
    text = r.plain(raw, f"{field}.approver") if isinstance(raw, str) else ""
    if text:
        approver_id = text
        approver = r.vocab.people.get(text)  # an unknown id: approver_lacks_role later
        who = approver_key(approver, text)
    elif text is None:
        pass  # a string that does not compare as its text: named by plain()
    elif raw is not None and not isinstance(raw, str):
        read = read_subject(r, raw, f"{field}.approver", approver=True)
        if read is not None:
            approver_id = read.person.id
            # assignments_only: an id outside them is no one, whatever the object says
            known = not r.vocab.assignments_only or approver_id in r.vocab.people
            approver = read.person if known else None
            who = approver_key(approver, approver_id)
    else:
        r.fail(f"{field}.approver", "expected a Subject or a subject id", "应为用户或用户编号")
    role = r.text(data, "role", field)
    at = r.time(data, "at", field)
    resource_id = r.text(data, "resource_id", field)
    action = r.text(data, "action", field)
    if len(r.bad) > start or None in (approver_id, role, at, resource_id, action):
        return None
    return ReadApproval(approver, approver_id, role, at, resource_id, action, who)  # type: ignore[arg-type]


def approver_key(approver: Person | None, approver_id: str) -> str:
    """Who approves, as one person: ids that the assignments give one ``person`` share a key
    (``Person.key``); any other id is its own."""
    return approver_id if approver is None else approver.key or approver_id


def read_request(
    vocab: Vocabulary,
    subject: Any,
    resource: Any,
    purpose: Any,
    action: Any,
    consent: Any,
    approvals: Any,
    evidence: Any,
    at: Any,
) -> Request | list[BadField]:
    """Read every field; return the request, or one ``BadField`` per field that cannot be read."""
    r = _Reader(vocab)
    read_subject_ = read_subject(r, subject, "subject")
    read_resource_ = read_resource(r, resource)
    read_purpose = read_word(r, purpose, "purpose", None)
    read_action = read_word(r, action, "action", vocab.actions)
    read_consent_ = None if consent is None else read_consent(r, consent)
    read_approvals = read_approval_list(r, approvals)
    read_evidence = read_evidence_map(r, evidence)
    when = datetime.now(timezone.utc) if at is None else r.as_time(at, "at")
    if r.bad or read_subject_ is None or read_resource_ is None or when is None:
        return r.bad or [BadField("invalid_request", "无法读取", "cannot be read", "request")]
    return Request(
        read_subject_,
        read_resource_,
        read_purpose,  # type: ignore[arg-type]  # not None: r.bad would name it
        read_action,  # type: ignore[arg-type]
        read_consent_,
        # A fixed order, so that the same approvals in any order give the same decision.
        tuple(sorted(read_approvals, key=approval_order)),
        read_evidence,
        when,
    )


def read_word(r: _Reader, value: Any, field: str, allowed: frozenset[str] | None) -> str | None:
    """``purpose`` or ``action``: a string, and for ``action`` one of the policy's. (A purpose the
    policy does not know is read: the engine denies it under Q-02, with a hint.)"""
    if not isinstance(value, str):
        r.fail(field, f"expected a string, got {_typename(value)}", f"应为字符串，实为{_typename(value)}")
        return None
    text = r.plain(value, field)
    if text is not None and allowed is not None and text not in allowed:
        aliases = r.vocab.aliases
        r.fail(
            field,
            f"unknown {field} `{clip(text)}`; {hint(text, allowed, aliases)}",
            f"未知操作`{clip(text)}`；{hint(text, allowed, aliases, 'zh')}",
        )
        return None
    return text


def read_approval_list(r: _Reader, approvals: Any) -> list[ReadApproval]:
    """At most ``MAX_APPROVALS`` approvals, counted as read, not as the collection claims."""
    if approvals is None:
        approvals = ()
    items = list(approvals) if _is_collection(approvals) else None
    if items is None:
        r.fail("approvals", f"expected a list of approvals, got {_typename(approvals)}", f"应为审批列表，实为{_typename(approvals)}")
        return []
    if len(items) > MAX_APPROVALS:
        r.fail("approvals", f"at most {MAX_APPROVALS} approvals, got {len(items)}", f"审批最多{MAX_APPROVALS}条，实为{len(items)}条")
        return []
    read = (read_approval(r, item, f"approvals[{i}]") for i, item in enumerate(items))
    return [ap for ap in read if ap is not None]


def read_evidence_map(r: _Reader, evidence: Any) -> dict[str, str]:
    """Evidence keys to text; an empty value is no evidence."""
    out: dict[str, str] = {}
    if evidence is None:
        return out
    if not isinstance(evidence, Mapping):
        r.fail("evidence", f"expected a mapping, got {_typename(evidence)}", f"应为键值映射，实为{_typename(evidence)}")
        return out
    for key, value in evidence.items():
        if not isinstance(key, str) or not isinstance(value, str):
            r.fail(f"evidence.{key}", f"expected a string, got {_typename(value)}", f"应为字符串，实为{_typename(value)}")
            continue
        name = r.plain(key, f"evidence.{str.__str__(key)}")
        text = r.plain(value, f"evidence.{str.__str__(key)}")
        if name is not None and text:
            out[name] = text
    return out


def _is_collection(value: Any) -> bool:
    """A list, tuple, set or other sized collection of items — not a string or a mapping."""
    return isinstance(value, Collection) and not isinstance(value, (str, bytes, bytearray, Mapping))


def approval_order(ap: ReadApproval) -> tuple[datetime, str, str, str, str]:
    return (ap.at, ap.approver_id, ap.role, ap.resource_id, ap.action)


def _typename(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _shown(value: Any) -> str:
    text = repr(value)
    return f"`{text[:60]}`" if len(text) <= 60 else f"`{text[:57]}...`"
