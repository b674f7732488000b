"""No request, however malformed, raises out of ``check`` or is allowed.

A request is judged here by an oracle written from the documented contract of each argument
(``_types.py`` and the docstrings of ``_request.py``), independently of the reader's code:

* a subject is a policy assignment id, or a ``Subject`` / mapping of its fields with a non-empty
  string id, a list/tuple/set of strings as roles, a policy org, a status of ``active`` or
  ``suspended``, an optional aware time and a boolean;
* a resource has a non-empty id, a policy kind, level and org, an optional non-empty customer id
  and an optional aware time;
* the purpose is a string; the action one of the policy's;
* consent is None or a ``Consent`` / mapping; approvals a list or tuple of at most 32 ``Approval``
  / mappings; evidence None or a mapping of strings to strings; ``at`` None, an aware datetime,
  or an ISO 8601 string with an offset.

When any argument is not valid the decision must be a deny whose reasons are all
``invalid_request`` / ``unknown_subject`` (or ``engine_error`` when the request carries an object
built to raise); when every argument is valid, none of those codes may appear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import fields
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import zxpolicy
from zxpolicy import Approval, Consent, Decision, Resource, Subject

from ..conftest import AT, CST, POLICIES, approval, consent, report, subject

ENGINE = zxpolicy.load(POLICIES)  # module level: hypothesis runs many examples on one engine
DOC = ENGINE.document

ROLES = [r.id for r in DOC.roles]
ORGS = [o.id for o in DOC.orgs]
KINDS = [k.id for k in DOC.kinds]
LEVELS = [lv.id for lv in DOC.levels]
ACTIONS = [a.id for a in DOC.actions]
PURPOSES = [p.id for p in DOC.purposes]
USERS = [a.id for a in DOC.assignments]
ARGS = ("subject", "resource", "purpose", "action", "consent", "approvals", "evidence", "at")
READ_CODES = {"invalid_request", "unknown_subject"}

SETTINGS = settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- objects built to raise ------------------------------------------------------------------


class Boom(Exception):
    pass


class Evil:
    """Every dunder the reader could touch raises."""

    def __eq__(self, other: object) -> bool:
        raise Boom("__eq__")

    def __ne__(self, other: object) -> bool:
        raise Boom("__ne__")

    def __hash__(self) -> int:
        raise Boom("__hash__")

    def __iter__(self) -> Any:
        raise Boom("__iter__")

    def __len__(self) -> int:
        raise Boom("__len__")

    def __bool__(self) -> bool:
        raise Boom("__bool__")

    def __str__(self) -> str:
        raise Boom("__str__")

    def __repr__(self) -> str:
        raise Boom("__repr__")

    def __format__(self, spec: str) -> str:
        raise Boom("__format__")


class EvilKey:
    """Hashable (so it can be a dict key), but comparing or printing it raises."""

    def __hash__(self) -> int:
        return hash("id")  # collides with a field name, so that a look-up compares it

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        raise Boom("__eq__")

    def __str__(self) -> str:
        raise Boom("__str__")

    def __repr__(self) -> str:
        raise Boom("__repr__")

    def __format__(self, spec: str) -> str:
        raise Boom("__format__")


class EvilMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise Boom("__getitem__")

    def __iter__(self) -> Any:
        raise Boom("__iter__")

    def __len__(self) -> int:
        raise Boom("__len__")

    def __repr__(self) -> str:
        raise Boom("__repr__")


class EvilList(list):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        raise Boom("__iter__")

    def __len__(self) -> int:
        raise Boom("__len__")

    def __repr__(self) -> str:
        raise Boom("__repr__")


class EvilTz(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        raise Boom("utcoffset")

    def tzname(self, dt: datetime | None) -> str:
        raise Boom("tzname")

    def dst(self, dt: datetime | None) -> timedelta:
        raise Boom("dst")


class EvilStr(str):
    """A string whose hash and equality raise: it cannot be looked up in any table."""

    def __hash__(self) -> int:
        raise Boom("__hash__")

    def __eq__(self, other: object) -> bool:
        raise Boom("__eq__")

    def __ne__(self, other: object) -> bool:
        raise Boom("__ne__")


class LyingClass:
    """``isinstance`` asks for ``__class__``, which raises."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise Boom("__class__")


class _Quiet:
    """For the objects hypothesis draws: a repr that works, so that a failing example can be
    shown. (The loud ones, whose repr raises too, are in the explicit tests below.)"""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class QuietEvil(_Quiet, Evil):
    pass


class QuietEvilKey(_Quiet, EvilKey):
    pass


class QuietEvilMapping(_Quiet, EvilMapping):
    pass


class QuietEvilList(_Quiet, EvilList):
    pass


EVIL_TYPES = (Evil, EvilKey, EvilMapping, EvilList, EvilStr, LyingClass)


def evil_objects() -> list[Any]:
    return [
        Evil(),
        EvilMapping(),
        EvilList(["x"]),
        {EvilKey(): "x"},
        datetime(2026, 11, 27, 10, tzinfo=EvilTz()),
        LyingClass(),
    ]


def quiet_evil_objects() -> list[Any]:
    return [
        QuietEvil(),
        QuietEvilMapping(),
        QuietEvilList(["x"]),
        {QuietEvilKey(): "x"},
        datetime(2026, 11, 27, 10, tzinfo=EvilTz()),
    ]


def _carries_evil(value: Any, depth: int = 0) -> bool:
    """Whether a generated value holds an object built to raise (looked at by exact type only)."""
    t = type(value)
    if issubclass(t, EVIL_TYPES):
        return True
    if t is datetime and isinstance(value.tzinfo, EvilTz):
        return True
    if depth > 6:
        return False
    if t in (list, tuple, frozenset, set):
        return any(_carries_evil(v, depth + 1) for v in value)
    if t is dict:
        return any(_carries_evil(k, depth + 1) or _carries_evil(v, depth + 1) for k, v in value.items())
    if t in (Subject, Resource, Consent, Approval):
        return any(_carries_evil(getattr(value, f.name), depth + 1) for f in fields(t))
    return False


# -- the oracle ------------------------------------------------------------------------------


def ok_text(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def ok_time(v: Any) -> bool:
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            return False
    if not (isinstance(v, datetime) and v.tzinfo is not None and v.utcoffset() is not None):
        return False
    try:
        v.astimezone(timezone.utc)  # a time must be an instant: 0001-01-01 at +08:00 is not
    except OverflowError:
        return False
    return True


def ok_words(v: Any) -> bool:
    return type(v) in (list, tuple, set, frozenset) and all(isinstance(x, str) for x in v)


def one_of(values: list[str]) -> Any:
    return lambda v: isinstance(v, str) and v in values


def optional(check: Any) -> Any:
    return lambda v: v is None or check(v)


def ok_approver(v: Any) -> bool:
    return ok_text(v) or (v is not None and not isinstance(v, str) and valid_record(Subject, v))


SPEC: dict[type, dict[str, Any]] = {
    Subject: {
        "id": ok_text,
        "roles": ok_words,
        "org": one_of(ORGS),
        "status": one_of(["active", "suspended"]),
        "password_changed_at": optional(ok_time),
        "must_change_password": lambda v: isinstance(v, bool),
    },
    Resource: {
        "id": ok_text,
        "kind": one_of(KINDS),
        "level": one_of(LEVELS),
        "org": one_of(ORGS),
        "customer_id": optional(ok_text),
        "retention_until": optional(ok_time),
    },
    Consent: {
        "customer_id": ok_text,
        "purposes": ok_words,
        "signed_at": ok_time,
        "expires_at": optional(ok_time),
        "revoked": lambda v: isinstance(v, bool),
        "id": optional(ok_text),
    },
    Approval: {
        "approver": ok_approver,
        "role": ok_text,
        "at": ok_time,
        "resource_id": ok_text,
        "action": ok_text,
    },
}
REQUIRED = {
    Subject: {"id", "roles", "org"},
    Resource: {"id", "kind", "level", "org"},
    Consent: {"customer_id", "purposes", "signed_at"},
    Approval: {"approver", "role", "at", "resource_id", "action"},
}


def valid_record(cls: type, v: Any) -> bool:
    spec = SPEC[cls]
    if type(v) is cls:
        data = {name: getattr(v, name) for name in spec}
    elif isinstance(v, dict):
        if any(not (isinstance(k, str) and k in spec) for k in v):
            return False
        data = v
    else:
        return False
    for name, check in spec.items():
        if name in data:
            if not check(data[name]):
                return False
        elif name in REQUIRED[cls]:
            return False
    return True


ORACLE: dict[str, Any] = {
    "subject": lambda v: (v in USERS) if isinstance(v, str) else valid_record(Subject, v),
    "resource": lambda v: valid_record(Resource, v),
    "purpose": lambda v: isinstance(v, str),
    "action": one_of(ACTIONS),
    "consent": lambda v: v is None or valid_record(Consent, v),
    "approvals": lambda v: v is None
    or (type(v) in (list, tuple, set, frozenset) and len(v) <= 32 and all(valid_record(Approval, a) for a in v)),
    "evidence": lambda v: v is None or (isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())),
    "at": lambda v: v is None or ok_time(v),
}


def classify(args: dict[str, Any]) -> tuple[list[str], bool]:
    """The arguments the oracle finds invalid, and whether the request carries an evil object."""
    evil = any(_carries_evil(v) for v in args.values())
    if evil:
        return [k for k, v in args.items() if _carries_evil(v)], True
    return [k for k, v in args.items() if not ORACLE[k](v)], False


# -- strategies ------------------------------------------------------------------------------

OFFSETS = st.sampled_from([timezone.utc, CST, timezone(timedelta(hours=-5)), timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])
aware = st.datetimes(timezones=OFFSETS)
naive = st.datetimes()
short_text = st.text(max_size=10)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-", min_size=1, max_size=12)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    short_text,
    st.binary(max_size=8),
    naive,
    aware,
    st.dates(),
    st.timedeltas(),
    st.sampled_from(ROLES + ORGS + KINDS + LEVELS + ACTIONS + PURPOSES + USERS + ["", " ", "None", "2026-11-27"]),
    aware.map(lambda d: d.isoformat()),
    naive.map(lambda d: d.isoformat()),
    st.builds(object),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.frozensets(st.one_of(short_text, st.integers()), max_size=3),
        st.dictionaries(st.one_of(short_text, st.integers(), st.sampled_from([f.name for c in SPEC for f in fields(c)])), inner, max_size=4),
    ),
    max_leaves=8,
)
# (not LyingClass: hypothesis itself asks isinstance of what a strategy returns)
evil = st.sampled_from(range(5)).map(lambda i: quiet_evil_objects()[i])


@st.composite
def _anything(draw: Any) -> Any:
    """Mostly plain junk, sometimes a well-formed record of any of the four types (in whatever
    place it lands), now and then an object built to raise (which hides every other fault)."""
    pick = draw(st.integers(0, 7))
    if pick == 7:
        return draw(evil)
    if pick == 6:
        return draw(RECORDS)
    return draw(junk)


anything = _anything()


def valid_subject() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(USERS), valid_subject_record())


def valid_subject_record() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(
            Subject,
            id=words,
            roles=st.one_of(st.lists(st.sampled_from(ROLES), max_size=3), st.frozensets(st.sampled_from(ROLES), max_size=2).map(tuple)),
            org=st.sampled_from(ORGS),
            status=st.sampled_from(["active", "suspended"]),
            password_changed_at=st.one_of(st.none(), aware),
            must_change_password=st.booleans(),
        ),
    )


def valid_resource() -> st.SearchStrategy[Any]:
    return st.builds(
        Resource,
        id=words,
        kind=st.sampled_from(KINDS),
        level=st.sampled_from(LEVELS),
        org=st.sampled_from(ORGS),
        customer_id=st.one_of(st.none(), words),
        retention_until=st.one_of(st.none(), aware),
    )


def valid_consent() -> st.SearchStrategy[Any]:
    return st.builds(
        Consent,
        customer_id=words,
        purposes=st.lists(st.sampled_from(PURPOSES), max_size=3),
        signed_at=aware,
        expires_at=st.one_of(st.none(), aware),
        revoked=st.booleans(),
        id=st.one_of(st.none(), words),
    )


def valid_approval() -> st.SearchStrategy[Any]:
    return st.builds(
        Approval,
        approver=st.one_of(st.sampled_from(USERS), words, valid_subject_record()),
        role=st.sampled_from(ROLES),
        at=aware,
        resource_id=st.sampled_from(["rep-1", "arc-1", "x"]),
        action=st.sampled_from(ACTIONS),
    )


RECORDS = st.one_of(valid_subject_record(), valid_resource(), valid_consent(), valid_approval())


@st.composite
def mutated(draw: Any, base: st.SearchStrategy[Any]) -> Any:
    """A valid record with one field replaced by junk (or an evil object), removed, or with an
    unknown field added; as the dataclass or as a mapping."""
    value = draw(base)
    if isinstance(value, str):
        return draw(st.one_of(words, st.just(value)))
    cls = type(value)
    data = {f.name: getattr(value, f.name) for f in fields(cls)}
    name = draw(st.sampled_from(sorted(data)))
    how = draw(st.sampled_from(["replace", "replace", "drop", "unknown", "as_dict"]))
    if how == "replace":
        data[name] = draw(anything)
    elif how == "drop":
        del data[name]
        return data
    elif how == "unknown":
        data[draw(st.one_of(words, st.integers()).filter(lambda k: k not in data))] = draw(junk)
        return data
    if how == "as_dict" or draw(st.booleans()):
        return data
    return cls(**data)


ARG_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "subject": st.one_of(valid_subject(), valid_subject(), mutated(valid_subject()), st.sampled_from(["u-nobody", "", "U-QUERY-EAST1"]), anything),
    "resource": st.one_of(valid_resource(), valid_resource(), mutated(valid_resource()), anything),
    "purpose": st.one_of(st.sampled_from(PURPOSES), short_text, anything),
    "action": st.one_of(st.sampled_from(ACTIONS), words, anything),
    "consent": st.one_of(st.none(), valid_consent(), valid_consent(), mutated(valid_consent()), anything),
    "approvals": st.one_of(
        st.lists(st.one_of(valid_approval(), mutated(valid_approval())), max_size=3),
        st.lists(valid_approval(), max_size=2).map(tuple),
        st.lists(st.one_of(valid_approval(), anything), max_size=3),
        st.integers(30, 36).map(lambda n: [Approval("u-gm-hq", "general_manager", AT, "rep-1", "copy")] * n),
        anything,
    ),
    "evidence": st.one_of(
        st.none(),
        st.dictionaries(short_text, short_text, max_size=3),
        st.dictionaries(st.one_of(short_text, st.integers()), junk, max_size=3),
        anything,
    ),
    "at": st.one_of(st.none(), aware, aware.map(lambda d: d.isoformat()), naive, short_text, anything),
}

# Requests the engine allows: each generated request starts from one and replaces some arguments.
BASES: list[dict[str, Any]] = [
    dict(subject="u-query-east1", resource=report(), purpose="loan_review", action="query", consent=consent(), approvals=(), evidence=None, at=AT),
    dict(
        subject={"id": "s", "roles": ["query_operator"], "org": "east-1"},
        resource={"id": "rep-1", "kind": "credit_report", "level": "ordinary", "org": "east-1", "customer_id": "c-1"},
        purpose="loan_review",
        action="print",
        consent={"customer_id": "c-1", "purposes": ["loan_review"], "signed_at": "2026-11-17T10:00:00+08:00"},
        approvals=[],
        evidence={},
        at="2026-11-27T10:00:00+08:00",
    ),
    dict(
        subject=Subject("o", ["credit_info_officer"], "east-1"),
        resource=report(),
        purpose="loan_review",
        action="copy",
        consent=None,
        approvals=[approval("u-gm-hq", "general_manager", "rep-1", "copy")],
        evidence=None,
        at=AT,
    ),
    dict(
        subject="u-dispute-east1",
        resource=report(),
        purpose="dissent",
        action="query",
        consent=consent(purposes=("dissent",)),
        approvals=[],
        evidence={"case_id": "D-1"},
        at=AT,
    ),
]


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    args = dict(draw(st.sampled_from(BASES)))
    for name in draw(st.lists(st.sampled_from(ARGS), max_size=len(ARGS), unique=True)):
        args[name] = draw(ARG_STRATEGIES[name])
    return args


def call(args: dict[str, Any]) -> Decision:
    a = dict(args)
    return ENGINE.check(a.pop("subject"), a.pop("resource"), a.pop("purpose"), **a)


# -- assertions on every decision --------------------------------------------------------------

FIELD_IN_BACKTICKS = re.compile(r"`[^`]+`")


def assert_well_formed(d: Any) -> None:
    assert isinstance(d, Decision)
    assert isinstance(d.allowed, bool)
    assert d.reasons, "a decision without reasons"
    for r in d.reasons:
        assert isinstance(r.code, str) and r.code
        assert isinstance(r.rule, str) and r.rule
        assert isinstance(r.clause, str) and r.clause
        assert isinstance(r.message, str) and r.message
        assert isinstance(r.message_en, str) and r.message_en
    if d.allowed:
        assert all(r.code == "granted" for r in d.reasons)
        assert d.missing_approvals == ()
    text = json.dumps(d.to_dict())
    assert json.loads(text)["allowed"] is d.allowed


def assert_denied_as_unreadable(d: Decision, bad: list[str], evil: bool) -> None:
    assert not d.allowed, f"allowed with invalid {bad}: {d}"
    allowed_codes = READ_CODES | ({"engine_error"} if evil else set())
    assert set(d.codes) <= allowed_codes, (bad, d.codes)
    for r in d.reasons:
        if r.code in READ_CODES:
            assert r.rule in ("R-01", "C-03")
            assert FIELD_IN_BACKTICKS.search(r.message) and FIELD_IN_BACKTICKS.search(r.message_en), r


def test_the_bases_are_allowed() -> None:
    for args in BASES:
        assert classify(args) == ([], False)
        d = call(args)
        assert d.allowed, d.reasons


@SETTINGS
@given(requests())
def test_check_never_raises_and_never_allows_an_invalid_request(args: dict[str, Any]) -> None:
    bad, evil = classify(args)
    d = call(args)  # an exception here is the failure
    event(f"invalid={bool(bad)} evil={evil} allowed={d.allowed}")
    assert_well_formed(d)
    if bad:
        assert_denied_as_unreadable(d, bad, evil)
    else:
        # Every argument is readable: the reader must not reject it, nor the engine fault.
        assert not (set(d.codes) & (READ_CODES | {"engine_error"})), (args, d.codes)


@SETTINGS
@given(st.fixed_dictionaries({name: anything for name in ARGS}))
def test_check_on_anything_at_all(args: dict[str, Any]) -> None:
    bad, evil = classify(args)
    d = call(args)
    assert_well_formed(d)
    if bad:
        assert_denied_as_unreadable(d, bad, evil)


@SETTINGS
@given(st.lists(st.one_of(requests(), anything, st.dictionaries(st.one_of(words, st.integers()), junk, max_size=4)), max_size=3))
def test_check_many_never_raises_and_never_allows_an_invalid_item(items: list[Any]) -> None:
    decisions = ENGINE.check_many(items)  # an exception here is the failure
    assert len(decisions) == len(items)
    for item, d in zip(items, decisions):
        assert_well_formed(d)
        if type(item) is not dict:
            assert not d.allowed, item
            continue
        if any(not (isinstance(k, str) and k in ARGS) for k in item):
            assert not d.allowed and set(d.codes) == {"invalid_request"}
            continue
        bad, evil = classify({**CHECK_DEFAULTS, **item})
        if bad:
            assert_denied_as_unreadable(d, bad, evil)
        else:
            assert not (set(d.codes) & (READ_CODES | {"engine_error"})), (item, d.codes)


CHECK_DEFAULTS: dict[str, Any] = dict(
    subject=None, resource=None, purpose=None, action="query", consent=None, approvals=(), evidence=None, at=None
)


# -- explicit cases --------------------------------------------------------------------------

OK = dict(subject="u-query-east1", resource=report(), purpose="loan_review", consent=consent(), at=AT)
COPY = dict(
    subject=Subject("o", ["credit_info_officer"], "east-1"), resource=report(), purpose="loan_review", action="copy", at=AT
)
GM = approval("u-gm-hq", "general_manager", "rep-1", "copy")


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


REPORT_DICT = {"id": "rep-1", "kind": "credit_report", "level": "ordinary", "org": "east-1", "customer_id": "c-1"}

CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # id, request, code, field named in backticks, rule
    ("naive at", _with(OK, at=datetime(2026, 11, 27, 10)), "invalid_request", "at", "R-01"),
    ("unparsable at", _with(OK, at="27/11/2026 10:00"), "invalid_request", "at", "R-01"),
    ("at with a bad month", _with(OK, at="2026-13-01T10:00:00+08:00"), "invalid_request", "at", "R-01"),
    ("naive at string", _with(OK, at="2026-11-27T10:00:00"), "invalid_request", "at", "R-01"),
    ("at a date", _with(OK, at=date(2026, 11, 27)), "invalid_request", "at", "R-01"),
    ("at an int", _with(OK, at=1_795_000_000), "invalid_request", "at", "R-01"),
    ("at before the first UTC instant", _with(OK, at=datetime(1, 1, 1, tzinfo=CST)), "invalid_request", "at", "R-01"),
    ("unknown kind", _with(OK, resource=Resource("rep-1", "credit_score", "ordinary", "east-1", "c-1")), "invalid_request", "resource.kind", "R-01"),
    ("unknown resource org", _with(OK, resource=report(org="north-9")), "invalid_request", "resource.org", "R-01"),
    ("unknown subject org", _with(OK, subject=subject("s", "query_operator", org="north-9")), "invalid_request", "subject.org", "R-01"),
    ("unknown action", _with(OK, action="delete"), "invalid_request", "action", "R-01"),
    ("action not a string", _with(OK, action=["query"]), "invalid_request", "action", "R-01"),
    ("purpose not a string", _with(OK, purpose=b"loan_review"), "invalid_request", "purpose", "R-01"),
    ("level missing", _with(OK, resource={k: v for k, v in REPORT_DICT.items() if k != "level"}), "invalid_request", "resource.level", "C-03"),
    ("level None", _with(OK, resource=report(level=None)), "invalid_request", "resource.level", "C-03"),  # type: ignore[arg-type]
    ("level empty", _with(OK, resource=report(level="")), "invalid_request", "resource.level", "C-03"),
    ("level outside the list", _with(OK, resource=report(level="secret")), "invalid_request", "resource.level", "C-03"),
    ("level in another case", _with(OK, resource=report(level="Ordinary")), "invalid_request", "resource.level", "C-03"),
    ("roles a bare string", _with(OK, subject=Subject("s", "query_operator", "east-1")), "invalid_request", "subject.roles", "R-01"),  # type: ignore[arg-type]
    ("roles bytes", _with(OK, subject=Subject("s", b"query_operator", "east-1")), "invalid_request", "subject.roles", "R-01"),  # type: ignore[arg-type]
    ("roles not strings", _with(OK, subject=Subject("s", ["query_operator", 7], "east-1")), "invalid_request", "subject.roles", "R-01"),
    ("subject id unknown", _with(OK, subject="u-nobody"), "unknown_subject", "subject", "R-01"),
    ("subject id empty", _with(OK, subject=""), "unknown_subject", "subject", "R-01"),
    ("subject an int", _with(OK, subject=42), "invalid_request", "subject", "R-01"),
    ("subject unknown field", _with(OK, subject={"id": "s", "roles": ["query_operator"], "org": "east-1", "colour": "red"}), "invalid_request", "subject.colour", "R-01"),
    ("subject status", _with(OK, subject=Subject("s", ["query_operator"], "east-1", status="Active")), "invalid_request", "subject.status", "R-01"),
    ("subject flag not a bool", _with(OK, subject=Subject("s", ["query_operator"], "east-1", must_change_password=0)), "invalid_request", "subject.must_change_password", "R-01"),  # type: ignore[arg-type]
    ("consent naive signed_at", _with(OK, consent=consent(signed_at=datetime(2026, 11, 17, 10))), "invalid_request", "consent.signed_at", "R-01"),
    ("consent purposes a string", _with(OK, consent=consent(purposes="loan_review")), "invalid_request", "consent.purposes", "R-01"),  # type: ignore[arg-type]
    ("consent revoked not a bool", _with(OK, consent=consent(revoked="no")), "invalid_request", "consent.revoked", "R-01"),
    ("consent a string", _with(OK, consent="signed"), "invalid_request", "consent", "R-01"),
    ("approvals not a list (one Approval)", _with(COPY, approvals=GM), "invalid_request", "approvals", "R-01"),
    ("approvals not a list (a dict)", _with(COPY, approvals={"0": GM}), "invalid_request", "approvals", "R-01"),
    ("approvals not a list (a string)", _with(COPY, approvals="u-gm-hq"), "invalid_request", "approvals", "R-01"),
    ("approvals not a list (a generator)", _with(COPY, approvals=(a for a in [GM])), "invalid_request", "approvals", "R-01"),
    ("33 approvals", _with(COPY, approvals=[GM] * 33), "invalid_request", "approvals", "R-01"),
    ("approval naive at", _with(COPY, approvals=[Approval("u-gm-hq", "general_manager", datetime(2026, 11, 27, 9), "rep-1", "copy")]), "invalid_request", "approvals[0].at", "R-01"),
    ("approval approver empty", _with(COPY, approvals=[GM, Approval("", "general_manager", AT, "rep-1", "copy")]), "invalid_request", "approvals[1].approver", "R-01"),
    ("approval approver unknown field", _with(COPY, approvals=[{"approver": {"id": "g", "roles": ["general_manager"], "org": "hq", "x": 1}, "role": "general_manager", "at": AT, "resource_id": "rep-1", "action": "copy"}]), "invalid_request", "approvals[0].approver.x", "R-01"),
    ("evidence value not a string", _with(OK, purpose="dissent", subject="u-dispute-east1", consent=consent(purposes=("dissent",)), evidence={"case_id": 123}), "invalid_request", "evidence.case_id", "R-01"),
    ("evidence value None", _with(OK, evidence={"case_id": None}), "invalid_request", "evidence.case_id", "R-01"),
    ("evidence key not a string", _with(OK, evidence={1: "x"}), "invalid_request", "evidence.1", "R-01"),
    ("evidence not a mapping", _with(OK, evidence=[("case_id", "D-1")]), "invalid_request", "evidence", "R-01"),
]


@pytest.mark.parametrize("args, code, field, rule", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_bad_field_is_named(args: dict[str, Any], code: str, field: str, rule: str) -> None:
    d = call(args)
    assert_well_formed(d)
    assert not d.allowed
    assert d.codes == (code,), d.reasons
    (r,) = d.reasons
    assert r.rule == rule
    assert f"`{field}`" in r.message and f"`{field}`" in r.message_en, r


def test_the_cases_differ_from_an_allowed_request_only_in_the_bad_field() -> None:
    assert call(OK).allowed
    assert call(_with(COPY, approvals=[GM])).allowed
    assert call(_with(OK, purpose="dissent", subject="u-dispute-east1", consent=consent(purposes=("dissent",)), evidence={"case_id": "D-1"})).allowed


def test_32_approvals_are_read() -> None:
    d = call(_with(COPY, approvals=[GM] * 32))
    assert d.allowed, d.reasons
    assert call(_with(COPY, approvals=tuple([GM] * 32))).allowed


def test_approvals_may_be_none_or_any_collection() -> None:
    # None is no approvals (like consent=None); a set is read in a fixed order.
    assert call(_with(COPY, approvals={GM})).allowed
    d = call(_with(COPY, approvals=None))
    assert not d.allowed and d.codes == ("approval_missing",)


def test_every_bad_field_is_reported_not_only_the_first() -> None:
    d = call(dict(subject=42, resource=report(level="secret"), purpose=None, action="delete", consent="x", approvals="x", evidence=[], at="now"))
    assert not d.allowed and set(d.codes) == {"invalid_request"}
    named = " ".join(r.message_en for r in d.reasons)
    for field in ("subject", "resource.level", "purpose", "action", "consent", "approvals", "evidence", "at"):
        assert f"`{field}`" in named, field
    assert [r.rule for r in d.reasons if "`resource.level`" in r.message_en] == ["C-03"]


def test_check_many_non_mapping_item() -> None:
    good = dict(OK)
    decisions = ENGINE.check_many([("u-query-east1", report(), "loan_review"), good, None])
    assert [d.allowed for d in decisions] == [False, True, False]
    for d in (decisions[0], decisions[2]):
        assert_well_formed(d)
        assert d.codes == ("invalid_request",)
        assert "`request`" in d.reasons[0].message and "`request`" in d.reasons[0].message_en


def test_check_many_unknown_argument() -> None:
    d, ok = ENGINE.check_many([{**OK, "when": AT}, OK])
    assert_well_formed(d)
    assert not d.allowed and d.codes == ("invalid_request",)
    assert "`when`" in d.reasons[0].message and "`when`" in d.reasons[0].message_en
    assert ok.allowed
    (d2,) = ENGINE.check_many([{**OK, "Subject": "u-query-east1", 3: None}])
    assert not d2.allowed and d2.codes == ("invalid_request", "invalid_request")
    assert sorted(r.message_en.split(":")[1].strip() for r in d2.reasons) == ["`3`", "`Subject`"]


def test_check_many_missing_arguments() -> None:
    (d,) = ENGINE.check_many([{"purpose": "loan_review"}])
    assert not d.allowed and set(d.codes) == {"invalid_request"}


# -- explicit evil objects, in every argument ---------------------------------------------------

EVIL_PLACES: list[tuple[str, Any]] = []
for i, obj in enumerate(evil_objects()):
    for name in ARGS:
        EVIL_PLACES.append((f"{type(obj).__name__}{i}-in-{name}", (name, i)))
EVIL_FIELDS = [
    ("subject.roles", lambda e: _with(OK, subject=Subject("s", e, "east-1"))),
    ("subject.org", lambda e: _with(OK, subject=Subject("s", ["query_operator"], e))),
    ("subject.password_changed_at", lambda e: _with(OK, subject=Subject("s", ["query_operator"], "east-1", password_changed_at=e))),
    ("resource.level", lambda e: _with(OK, resource=Resource("rep-1", "credit_report", e, "east-1", "c-1"))),
    ("resource.kind", lambda e: _with(OK, resource=Resource("rep-1", e, "ordinary", "east-1", "c-1"))),
    ("consent.purposes", lambda e: _with(OK, consent=consent(purposes=e))),
    ("consent.signed_at", lambda e: _with(OK, consent=consent(signed_at=e))),
    ("approvals[0]", lambda e: _with(COPY, approvals=[e])),
    ("approvals[0].approver", lambda e: _with(COPY, approvals=[Approval(e, "general_manager", AT, "rep-1", "copy")])),
    ("evidence value", lambda e: _with(OK, evidence={"case_id": e})),
]


@pytest.mark.parametrize("place", [p[1] for p in EVIL_PLACES], ids=[p[0] for p in EVIL_PLACES])
def test_evil_object_as_an_argument(place: tuple[str, int]) -> None:
    name, i = place
    d = call(_with(OK, **{name: evil_objects()[i]}))
    assert_well_formed(d)
    assert not d.allowed
    assert set(d.codes) <= READ_CODES | {"engine_error"}


@pytest.mark.parametrize("build", [f[1] for f in EVIL_FIELDS], ids=[f[0] for f in EVIL_FIELDS])
@pytest.mark.parametrize("i", range(len(evil_objects())))
def test_evil_object_as_a_field(build: Any, i: int) -> None:
    d = call(build(evil_objects()[i]))
    assert_well_formed(d)
    assert not d.allowed
    assert set(d.codes) <= READ_CODES | {"engine_error"}


@pytest.mark.parametrize("name", ["subject", "purpose", "action"])
def test_evil_string_where_it_is_looked_up(name: str) -> None:
    value = {"subject": "u-query-east1", "purpose": "loan_review", "action": "query"}[name]
    d = call(_with(OK, **{name: EvilStr(value)}))
    assert_well_formed(d)
    assert not d.allowed
    assert set(d.codes) <= READ_CODES | {"engine_error"}


@pytest.mark.parametrize("field", ["kind", "level", "org"])
def test_evil_string_in_a_resource(field: str) -> None:
    data = dict(REPORT_DICT)
    data[field] = EvilStr(data[field])
    d = call(_with(OK, resource=data))
    assert_well_formed(d)
    assert not d.allowed


@pytest.mark.parametrize("i", range(len(evil_objects())))
def test_check_many_with_an_evil_item(i: int) -> None:
    """An item of the batch built to raise is denied like any unreadable request; the batch
    still decides its other items."""
    decisions = ENGINE.check_many([evil_objects()[i], OK])
    assert len(decisions) == 2
    assert_well_formed(decisions[0])
    assert not decisions[0].allowed
    assert decisions[1].allowed


def test_check_many_with_an_evil_key() -> None:
    decisions = ENGINE.check_many([{**OK, EvilKey(): 1}, OK])
    assert not decisions[0].allowed and decisions[1].allowed


def test_default_check_with_malformed_arguments() -> None:
    d = zxpolicy.check(None, None, None, action=None, consent=1, approvals=1, evidence=1, at=1)
    assert_well_formed(d)
    assert not d.allowed and set(d.codes) == {"invalid_request"}
