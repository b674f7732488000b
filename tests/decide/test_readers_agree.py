"""The fast reader (``_fastread``) and the full reader (``_request``) read every request alike.

``check`` reads a request with the fast reader and falls back to the full one when the fast one
declines. These tests hold the fast reader to that contract: whenever it reads a request, it
returns exactly what the full reader returns (and the full reader does not reject or raise);
on the engine's own types, and on their JSON shapes (plain dicts, lists and ISO 8601 strings, as
a service has them once it parsed a request body, malformed ones included), it declines only
what the full reader rejects; and ``check`` and ``check_many`` give the decision of the full
reader followed by the engine, field by field.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import zxpolicy
from zxpolicy import Approval, Decision, Engine, Resource, Subject
from zxpolicy.decide._decide import decide, failed, unreadable
from zxpolicy.decide._fastread import read_fast
from zxpolicy.decide._request import Request, read_request
from zxpolicy.decide._wording import StepGrants

from ..conftest import AT, CST, POLICIES, approval, consent, report
from .test_malformed_requests import (
    ACTIONS,
    BASES,
    DOC,
    ENGINE,
    KINDS,
    LEVELS,
    ORGS,
    PURPOSES,
    ROLES,
    SETTINGS,
    USERS,
    aware,
    classify,
    requests,
    short_text,
    valid_approval,
    valid_consent,
    valid_resource,
    valid_subject,
    words,
)
from .test_identities import assignments_only

VOCAB = ENGINE.tables.vocabulary
ORDER = ("subject", "resource", "purpose", "action", "consent", "approvals", "evidence", "at")


def _full(a: dict[str, Any]) -> Any:
    try:
        return read_request(VOCAB, *(a[k] for k in ORDER))
    except Exception as exc:  # an object built to raise: the engine denies with engine_error
        return exc


def _expected(a: dict[str, Any]) -> Decision:
    """The decision of the full reader followed by the engine."""
    read = _full(a)
    if isinstance(read, Exception):
        return failed(ENGINE.tables, ENGINE.policy_version, read)
    if isinstance(read, list):
        return unreadable(ENGINE.tables, ENGINE.policy_version, read)
    return _decided(read)


def _decided(read: Request) -> Decision:
    return decide(ENGINE.tables, StepGrants(ENGINE.tables), ENGINE.policy_version, read, None)


def _check(a: dict[str, Any]) -> Decision:
    return ENGINE.check(a["subject"], a["resource"], a["purpose"], action=a["action"], consent=a["consent"],
                        approvals=a["approvals"], evidence=a["evidence"], at=a["at"])


def _fixed_time(args: dict[str, Any]) -> dict[str, Any]:
    # `at=None` reads the clock: give every request a time, so that two readings compare.
    return {**args, "at": AT} if args.get("at") is None else args


@SETTINGS
@given(requests())
def test_what_the_fast_reader_reads_the_full_reader_reads_alike(args: dict[str, Any]) -> None:
    a = _fixed_time(args)
    fast = read_fast(VOCAB, *(a[k] for k in ORDER))
    if fast is not None:
        assert _full(a) == fast
    assert _check(a) == _expected(a)


@st.composite
def plain_requests(draw: Any) -> dict[str, Any]:
    """Requests of the engine's own types, valid or not in their values."""
    return {
        "subject": draw(st.one_of(valid_subject(), st.sampled_from(["u-nobody", ""]))),
        "resource": draw(st.one_of(valid_resource(), st.builds(Resource, id=short_text, kind=short_text, level=short_text, org=short_text))),
        "purpose": draw(st.one_of(st.sampled_from(PURPOSES), short_text)),
        "action": draw(st.one_of(st.sampled_from(ACTIONS), short_text)),
        "consent": draw(st.one_of(st.none(), valid_consent())),
        "approvals": draw(st.one_of(st.lists(valid_approval(), max_size=4), st.lists(valid_approval(), max_size=3).map(tuple))),
        "evidence": draw(st.one_of(st.none(), st.dictionaries(short_text, short_text, max_size=3))),
        "at": draw(aware),
    }


@SETTINGS
@given(plain_requests())
def test_on_the_engines_own_types_the_fast_reader_declines_only_what_the_full_reader_rejects(a: dict[str, Any]) -> None:
    fast = read_fast(VOCAB, *(a[k] for k in ORDER))
    full = _full(a)
    if isinstance(full, Request):
        assert fast == full
    else:
        assert fast is None
    assert _check(a) == _expected(a)


@SETTINGS
@given(st.lists(requests(), max_size=4))
def test_check_many_decides_each_item_as_check_does(items: list[dict[str, Any]]) -> None:
    items = [_fixed_time(a) for a in items]
    assert ENGINE.check_many(items) == [_check(a) for a in items]


def test_the_fast_reader_takes_the_common_requests() -> None:
    chain = [approval("u-riskoff-east", "risk_control_officer", "arc-1", "view", 2), approval("u-head-east1", "department_head", "arc-1", "view", 3)]
    common = [
        ("u-query-east1", report(), "loan_review", "query", consent(), (), None, AT),
        (Subject("s", ["query_operator"], "east-1"), report(), "loan_review", "print", consent(), [], {}, AT),
        ("u-dev-east1", Resource("arc-1", "customer_archive", "top_secret", "east-1"), "loan_review", "view", None, chain, None, AT.astimezone(CST)),
        ("u-dispute-east1", report(), "dissent", "query", consent(purposes=("dissent",)), (), {"case_id": "D-1"}, AT),
    ]
    for request in common:
        fast = read_fast(VOCAB, *request)
        assert fast is not None
        assert fast == read_request(VOCAB, *request)
    # The approvals are read in the full reader's order, whatever order they come in.
    ordered = read_fast(VOCAB, *common[2])
    assert ordered is not None and [a.approver_id for a in ordered.approvals] == ["u-head-east1", "u-riskoff-east"]


def test_unusual_values_go_to_the_full_reader() -> None:
    """Subclasses, dicts and strings the fast reader does not read itself: it declines them, and
    the full reader reads them (or names the bad field)."""

    class Text(str):
        pass

    base = ["u-query-east1", report(), "loan_review", "query", consent(), (), None, AT]
    class Fields(dict):  # type: ignore[type-arg]
        pass

    variants = {
        0: [Text("u-query-east1"), Fields(id="s", roles=["query_operator"], org="east-1"),
            {Text("id"): "s", "roles": ["query_operator"], "org": "east-1"}],
        1: [Fields(id="r", kind="credit_report", level="ordinary", org="east-1")],
        2: [Text("loan_review")],
        5: [{Approval("u-gm-hq", "general_manager", AT, "rep-1", "copy")}, None],
        7: [Text(AT.isoformat()), AT.replace(tzinfo=None), AT - timedelta(days=1), AT.isoformat()[:19], "27/11/2026"],
    }
    for i, values in variants.items():
        for value in values:
            request = list(base)
            request[i] = value
            fast = read_fast(VOCAB, *request)
            full = read_request(VOCAB, *request)
            assert fast is None or fast == full, (i, value)
    assert read_fast(VOCAB, *base) is not None


# -- JSON: what a service has once it parsed a request body -------------------------------------

UTC = timezone.utc
JSON_BASE = BASES[1]  # the JSON shape of an allowed request (test_malformed_requests)


def _full_on(engine: Engine, a: dict[str, Any]) -> Any:
    try:
        return read_request(engine.tables.vocabulary, *(a[k] for k in ORDER))
    except Exception as exc:
        return exc


def _expected_on(engine: Engine, a: dict[str, Any]) -> Decision:
    read = _full_on(engine, a)
    if isinstance(read, Exception):
        return failed(engine.tables, engine.policy_version, read)
    if isinstance(read, list):
        return unreadable(engine.tables, engine.policy_version, read)
    return decide(engine.tables, StepGrants(engine.tables), engine.policy_version, read, None)


def _check_on(engine: Engine, a: dict[str, Any]) -> Decision:
    return engine.check(a["subject"], a["resource"], a["purpose"], action=a["action"], consent=a["consent"],
                        approvals=a["approvals"], evidence=a["evidence"], at=a["at"])


def assert_same_decision(got: Decision, expected: Decision) -> None:
    """Equal field by field: allowed, every reason (code, rule, clause, both messages), the
    missing approvals, the obligations, the policy version."""
    assert got.allowed == expected.allowed
    assert [r.to_dict() for r in got.reasons] == [r.to_dict() for r in expected.reasons]
    assert got.missing_approvals == expected.missing_approvals
    assert got.obligations == expected.obligations
    assert got.policy_version == expected.policy_version
    assert got == expected


def _iso_exact(d: datetime) -> list[str]:
    """One instant written as clients write it, to the microsecond, in the forms
    ``datetime.fromisoformat`` reads (both readers use it)."""
    utc = d.astimezone(UTC) if 1 < d.year < 9999 else d
    fraction = f".{d.microsecond:06d}" if d.microsecond else ""
    return [
        d.isoformat(),
        d.isoformat(sep=" "),
        utc.isoformat().replace("+00:00", "Z"),
        f"{d.year:04d}{d.month:02d}{d.day:02d}T{d.hour:02d}{d.minute:02d}{d.second:02d}{fraction}{d.strftime('%z')}",
    ]


def _iso_forms(d: datetime) -> list[str]:
    """The exact forms, two that drop the seconds or the microseconds (instants still), and a
    naive and a date-only one, which are not instants."""
    return [
        *_iso_exact(d),
        d.isoformat(timespec="minutes"),
        d.isoformat(timespec="milliseconds"),
        d.replace(tzinfo=None).isoformat(),
        d.date().isoformat(),
    ]


INSTANT_FORMS = 6  # the first six of _iso_forms name an instant


BAD_TIMES = [
    "2026-13-01T10:00:00+08:00", "2026-02-30T10:00:00+08:00", "2026-11-27T24:00:00+08:00",
    "2026-11-27T10:00:00+24:00", "2026-11-27T10:00:00+08", "2026-11-27T10:00:00 +08:00", "27/11/2026 10:00",
    "", " ", "now", "2026-W48-5T10:00+08:00", "2026-11-27T10:00:00,5+08:00", "2026-11-27T10:00:00.123456789+08:00",
    "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-05:00", "2026-11-27T10:00:00+08:00:30",
    "\uff12\uff10\uff12\uff16-11-27T10:00:00+08:00", "2026-11-27T10:00:00\x00+08:00",
]
time_texts = st.one_of(
    aware.flatmap(lambda d: st.sampled_from(_iso_forms(d))),
    st.sampled_from(BAD_TIMES),
    st.text(alphabet="0123456789-+:TWZ .", max_size=26),
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=False, allow_infinity=False),
    short_text, time_texts,
    st.sampled_from(ROLES + ORGS + KINDS + LEVELS + ACTIONS + PURPOSES + USERS + ["", " ", "null", "active", "suspended"]),
)
FIELD_KEYS = sorted({f.name for c in (Subject, Resource, zxpolicy.Consent, Approval) for f in fields(c)})
json_junk = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(short_text, st.sampled_from(FIELD_KEYS)), inner, max_size=4),
    ),
    max_leaves=8,
)


def _known_subject_record() -> st.SearchStrategy[Any]:
    """An id of the assignments as an object: its roles, fewer of them, or one more; its org or
    another one (an ``identity_mismatch`` when it says more than the assignments)."""
    people = [(a.id, list(a.roles), a.org) for a in DOC.assignments]
    return st.sampled_from(people).flatmap(lambda p: st.builds(
        Subject,
        id=st.just(p[0]),
        roles=st.one_of(st.just(p[1]), st.lists(st.sampled_from(p[1]), max_size=len(p[1]), unique=True),
                        st.sampled_from(ROLES).map(lambda r: [*p[1], r])),
        org=st.one_of(st.just(p[2]), st.sampled_from(ORGS)),
        password_changed_at=st.one_of(st.none(), aware),
    ))


def _to_json(value: Any, draw: Any, exact: bool = False) -> Any:
    """``value`` as a client writes it in JSON: each record a dict of its fields (a field at its
    default written or left out), each time an ISO 8601 string in some form (``exact``: to the
    microsecond), sets as lists."""
    if isinstance(value, datetime):
        return draw(st.sampled_from(_iso_exact(value) if exact else _iso_forms(value)[:INSTANT_FORMS]))
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in fields(value):
            v = getattr(value, f.name)
            if f.default is not MISSING and v == f.default and draw(st.booleans()):
                continue
            out[f.name] = _to_json(v, draw, exact)
        return out
    if isinstance(value, (set, frozenset)):
        return [_to_json(v, draw, exact) for v in sorted(value, key=repr)]
    if isinstance(value, (list, tuple)):
        return [_to_json(v, draw, exact) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v, draw, exact) for k, v in value.items()}
    return value


def _places(value: Any, top: bool = True) -> list[tuple[Any, Any]]:
    """Every (container, key) of a JSON value below the request's own keys."""
    out: list[tuple[Any, Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, v in items:
        if not top:
            out.append((value, key))
        out.extend(_places(v, top=False))
    return out


@st.composite
def json_requests(draw: Any) -> dict[str, Any]:
    """A request as a service receives it: drawn valid or not in its values on the engine's types,
    written as JSON, then up to three changes anywhere in it — a value replaced (by JSON junk, a
    time string, a word of the policy, null), a key or an item removed, an unknown key added —
    and through ``json`` text and back."""
    own = draw(st.one_of(plain_requests(), st.sampled_from(BASES)))
    if draw(st.integers(0, 3)) == 0:
        own = {**own, "subject": draw(_known_subject_record())}
    a: dict[str, Any] = _to_json(dict(own), draw)
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from(["replace", "replace", "top", "remove", "add"]))
        places = _places(a)
        if how == "top" or not places:
            a[draw(st.sampled_from(ORDER))] = draw(json_junk)
            continue
        container, key = draw(st.sampled_from(places))
        if how == "replace":
            container[key] = draw(st.one_of(json_junk, time_texts, st.none()))
        elif how == "remove":
            del container[key]
        else:
            target = container if isinstance(container, dict) else container[key]
            if isinstance(target, dict):
                target[draw(st.one_of(words, st.sampled_from(FIELD_KEYS)))] = draw(json_junk)
    if a["at"] is None:  # `at: null` reads the clock: give a time, so that two readings compare
        a["at"] = AT.isoformat()
    sent: dict[str, Any] = json.loads(json.dumps(a))
    return sent


def _agree_on_json(engine: Engine, a: dict[str, Any]) -> None:
    fast = read_fast(engine.tables.vocabulary, *(a[k] for k in ORDER))
    full = _full_on(engine, a)
    if isinstance(full, Request):
        assert fast == full  # a readable JSON request is the fast reader's
    else:
        assert fast is None
    assert_same_decision(_check_on(engine, a), _expected_on(engine, a))


@SETTINGS
@given(json_requests())
def test_on_json_the_fast_reader_declines_only_what_the_full_reader_rejects(a: dict[str, Any]) -> None:
    _agree_on_json(ENGINE, a)
    bad, _ = classify(a)  # the contract's oracle: a malformed request is a deny for reading it
    d = _check_on(ENGINE, a)
    if bad:
        assert not d.allowed and set(d.codes) <= {"invalid_request", "unknown_subject", "identity_mismatch"}, (bad, d.codes)
    else:
        assert not {"invalid_request", "unknown_subject", "engine_error"} & set(d.codes), (a, d.codes)


@pytest.fixture(scope="module")
def only_assigned(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The default policy with ``identities: assignments_only``."""
    target = tmp_path_factory.mktemp("only") / "policies"
    shutil.copytree(POLICIES, target)
    return zxpolicy.load(assignments_only(target))


@SETTINGS
@given(a=json_requests())
def test_on_json_under_assignments_only_the_readers_agree(only_assigned: Engine, a: dict[str, Any]) -> None:
    assert only_assigned.tables.vocabulary.assignments_only
    _agree_on_json(only_assigned, a)


@SETTINGS
@given(st.data())
def test_a_request_as_json_reads_and_decides_as_on_the_engines_types(data: Any) -> None:
    own = data.draw(st.one_of(plain_requests(), st.sampled_from(BASES)))
    if data.draw(st.booleans()):
        own = {**own, "subject": data.draw(_known_subject_record())}
    sent = json.loads(json.dumps(_to_json(dict(own), data.draw, exact=True)))
    full_own, full_sent = _full(own), _full(sent)
    if isinstance(full_own, Request):
        assert read_fast(VOCAB, *(sent[k] for k in ORDER)) == full_own == full_sent
        assert_same_decision(_check(sent), _check(own))
    else:
        assert isinstance(full_sent, list) and read_fast(VOCAB, *(sent[k] for k in ORDER)) is None
        assert sorted(b.path for b in full_sent) == sorted(b.path for b in full_own)
        assert _check(sent).codes == _check(own).codes


@SETTINGS
@given(st.lists(json_requests(), max_size=4))
def test_check_many_decides_each_json_item_as_check_does(items: list[dict[str, Any]]) -> None:
    for got, a in zip(ENGINE.check_many(items), items, strict=True):
        assert_same_decision(got, _check(a))


def test_the_fast_reader_takes_json_requests() -> None:
    """The examples the CLI reads, and the JSON shape of an allowed request: read by the fast
    reader, as the full reader reads them."""
    examples = sorted((POLICIES.parent / "examples").glob("*.json"))
    assert examples
    for path in examples:
        body = json.loads(path.read_text(encoding="utf-8"))
        a = {**{"action": "query", "consent": None, "approvals": [], "evidence": None, "at": None}, **body}
        a["at"] = a["at"] or AT.isoformat()
        fast = read_fast(VOCAB, *(a[k] for k in ORDER))
        assert fast is not None, path.name
        assert fast == _full(a)
    fast = read_fast(VOCAB, *(JSON_BASE[k] for k in ORDER))
    assert fast is not None and fast == _full(JSON_BASE)
    approver = {"id": "u-gm-hq", "roles": ["general_manager"], "org": "hq"}
    with_approval = {**JSON_BASE, "approvals": [{"approver": approver, "role": "general_manager",
                                                  "at": "2026-11-27T01:00:00Z", "resource_id": "rep-1", "action": "copy"}]}
    fast = read_fast(VOCAB, *(with_approval[k] for k in ORDER))
    assert fast is not None and fast == _full(with_approval) and fast.approvals[0].approver_id == "u-gm-hq"


@pytest.mark.parametrize("change", [
    lambda a: a["subject"].update(colour="red"),  # an unknown field
    lambda a: a["subject"].update(status=None),  # null is not the default
    lambda a: a["subject"].update(must_change_password=None),
    lambda a: a["subject"].update(roles="query_operator"),  # a string, not a list
    lambda a: a["subject"].pop("org"),
    lambda a: a["resource"].update(customer_id=""),
    lambda a: a["resource"].update(level="Ordinary"),
    lambda a: a["resource"].update(retention_until="2027-01-01T00:00:00"),  # naive
    lambda a: a["consent"].update(signed_at=None),
    lambda a: a["consent"].update(revoked="false"),
    lambda a: a["consent"].update(revoked=None),
    lambda a: a["consent"].update(expires_at=""),
    lambda a: a["consent"].update(customer_id=None),
    lambda a: a["consent"].update(id=""),
    lambda a: a["consent"].update(purposes={"loan_review": True}),
    lambda a: a.update(at="2026-11-27"),
    lambda a: a.update(at="2026-11-27T10:00:00+25:00"),
    lambda a: a.update(approvals=[{"approver": "", "role": "r", "at": "2026-11-27T09:00:00+08:00", "resource_id": "rep-1", "action": "print"}]),
    lambda a: a.update(approvals=[{"approver": None, "role": "r", "at": "2026-11-27T09:00:00+08:00", "resource_id": "rep-1", "action": "print"}]),
    lambda a: a.update(approvals=[{"approver": "u-gm-hq", "role": "r", "at": "2026-11-27T09:00:00+08:00", "resource_id": "rep-1"}]),
    lambda a: a.update(evidence={"case_id": 7}),
])
def test_a_malformed_json_request_is_the_full_readers(change: Callable[[dict[str, Any]], Any]) -> None:
    a = json.loads(json.dumps(JSON_BASE))
    change(a)
    assert read_fast(VOCAB, *(a[k] for k in ORDER)) is None
    full = _full(a)
    assert isinstance(full, list) and full
    d = _check(a)
    assert not d.allowed and set(d.codes) <= {"invalid_request"}
    assert_same_decision(d, _expected(a))


def test_iso_times_are_read_as_the_instants_they_name() -> None:
    """Every form of one instant reads as that instant, on both readers."""
    for text in _iso_forms(AT)[:INSTANT_FORMS]:
        a = {**JSON_BASE, "at": text}
        fast = read_fast(VOCAB, *(a[k] for k in ORDER))
        assert fast is not None and fast.at == AT and fast == _full(a), text
    for text in [*_iso_forms(AT)[INSTANT_FORMS:], "0001-01-01T00:00:00+08:00"]:
        a = {**JSON_BASE, "at": text}
        assert read_fast(VOCAB, *(a[k] for k in ORDER)) is None and isinstance(_full(a), list), text
