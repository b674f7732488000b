"""Review of the request hot path: the fast reader, the first full approval filling, the grant
look-up through the roles granted, and ``check_many``'s shortcut for plain dicts.

Each test compares the fast way with the way it stands in for (the full reader, the full search,
the policy's role order, ``check_many``'s reading of any mapping), on inputs chosen to make them
differ.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from itertools import product
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

import zxpolicy
from zxpolicy import Approval, Consent, Resource, Subject
from zxpolicy.compile import Cite, Person, StepSpec
from zxpolicy.decide import _approvals
from zxpolicy.decide._approvals import fill_steps
from zxpolicy.decide._fastread import read_fast
from zxpolicy.decide._request import (
    ReadApproval,
    ReadResource,
    ReadSubject,
    Request,
    read_request,
)

from ..conftest import AT, assert_explains, report
from .test_malformed_requests import ENGINE, SETTINGS
from .test_readers_agree import _decided

VOCAB = ENGINE.tables.vocabulary
UTC = timezone.utc


# -- check_many: a plain dict whose key only claims to be a field --------------------------------


class PosingKey:
    """Not a string, but hashes and compares as the field name ``subject``."""

    def __hash__(self) -> int:
        return hash("subject")

    def __eq__(self, other: object) -> bool:
        return True


class PosingOnceKey(PosingKey):
    """Poses as ``subject`` once, then raises when compared again."""

    __hash__ = PosingKey.__hash__

    def __init__(self) -> None:
        self.compared = 0

    def __eq__(self, other: object) -> bool:
        self.compared += 1
        if self.compared > 1:
            raise ValueError("compared twice")
        return True


class PosingOnceText(str):
    """A string that poses as ``subject`` once, then raises when compared again."""

    __hash__ = PosingKey.__hash__

    def __eq__(self, other: object) -> bool:
        if getattr(self, "compared", False):
            raise ValueError("compared twice")
        self.compared = True
        return True


def _plain(key: object) -> dict[object, Any]:
    return {key: "u-query-east1", "resource": report(), "purpose": "loan_review",
            "consent": Consent("c-1", ("loan_review",), AT - timedelta(days=1)), "at": AT}


def test_check_many_reads_a_key_posing_as_a_field_as_an_unknown_argument() -> None:
    item = _plain(PosingKey())
    (decision,) = ENGINE.check_many([item])
    assert decision == ENGINE._check_item(item)
    assert not decision.allowed and decision.codes == ("invalid_request",)


@pytest.mark.parametrize("key", [PosingOnceKey, lambda: PosingOnceText("xyz")])
def test_check_many_does_not_raise_on_a_key_that_raises_when_compared_again(key: Any) -> None:
    (decision,) = ENGINE.check_many([_plain(key())])
    assert not decision.allowed


def test_check_many_still_decides_plain_dicts_of_fields() -> None:
    item = _plain("subject")
    assert ENGINE.check_many([item, {**item, "purpose": "marketing"}]) == [
        ENGINE.check(**item), ENGINE.check(**{**item, "purpose": "marketing"})
    ]
    assert ENGINE.check_many([item])[0].allowed


# -- the grant cited: the first role, in the policy's role order, that is granted the request ----


def test_the_grant_cited_is_the_first_granted_role_in_role_order(policy_copy: Path) -> None:
    # general_manager comes before query_operator in the policy's roles, but its grant comes
    # after query_operator's in grants.yaml.
    grants = policy_copy / "grants.yaml"
    grants.write_text(
        grants.read_text(encoding="utf-8")
        + "\n  - rule: Q-03\n    roles: [general_manager]\n    actions: [query]\n"
        "    kinds: [credit_report]\n    purposes: [loan_review]\n",
        encoding="utf-8",
    )
    engine = zxpolicy.load(policy_copy)
    t = engine.tables
    assert t.role_order.index("general_manager") < t.role_order.index("query_operator")
    key = ("query", "credit_report", "loan_review", "ordinary")

    both = Subject("s-both", ("query_operator", "general_manager"), "east-1")
    args: dict[str, Any] = {"consent": Consent("c-1", ("loan_review",), AT - timedelta(days=1)), "at": AT}
    decision = engine.check(both, report(), "loan_review", **args)
    assert decision.allowed
    assert decision.reasons[0] == t.grants[("general_manager", *key)]
    explanation = engine.explain(both, report(), "loan_review", **args)
    assert_explains(explanation, decision)
    (grant_stage,) = [s for s in explanation.stages if s.name == "grant"]
    assert grant_stage.target == t.grant_path[("general_manager", *key)]
    # The roles a deny says are needed are listed in the same order.
    assert t.roles_for[key] == ("general_manager", "query_operator")


def test_roles_for_is_in_role_order_for_the_bundled_policy() -> None:
    t = ENGINE.tables
    for key, roles in t.roles_for.items():
        assert list(roles) == sorted(roles, key=t.role_order.index), key


# -- times: fixed offsets kept as given, zones converted; instants compared everywhere ----------


def _zone(name: str) -> tzinfo:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        return zoneinfo.ZoneInfo(name)  # type: ignore[no-any-return]
    except zoneinfo.ZoneInfoNotFoundError:  # pragma: no cover - no tz database on this machine
        pytest.skip(f"no tz database entry for {name}")


# Around New York's change from summer to winter time (2026-11-01 06:00 UTC), where a zone's
# clock face and the instant disagree most.
FOLD = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


@st.composite
def _instant(draw: Any, zones: tuple[tzinfo, ...]) -> datetime:
    """A time near the fold, written in one of several zones, fixed offsets and named."""
    at = FOLD + timedelta(minutes=draw(st.integers(-150, 150)))
    local = at.astimezone(draw(st.sampled_from(zones)))
    assert local.astimezone(UTC) == at  # (`==` across zones is False for a time in a fold: PEP 495)
    return local


def test_fixed_offsets_and_zones_mixed_read_and_decide_as_the_full_reader() -> None:
    ny = _zone("America/New_York")
    zones = (UTC, timezone(timedelta(hours=-4)), timezone(timedelta(hours=-5)), timezone(timedelta(hours=8)), ny)

    @SETTINGS
    @given(st.data())
    def run(data: Any) -> None:
        t = [data.draw(_instant(zones)) for _ in range(6)]
        at = max(t[:3]) + timedelta(minutes=data.draw(st.sampled_from([0, 1, 20])))
        subject = Subject("s-q", ("query_operator",), "east-1", password_changed_at=t[0] - timedelta(days=30))
        resource = Resource("arc-1", "customer_archive", "ordinary", "east-1", retention_until=t[5])
        approvals = [
            Approval("u-head-east1", "department_head", t[1], "arc-1", "view"),
            Approval("u-riskoff-east", "risk_control_officer", t[2], "arc-1", "view"),
        ]
        consent = Consent("c-1", ("loan_review",), t[3], expires_at=t[4])
        for action, res in (("view", resource), ("query", report())):
            request = (subject, res, "loan_review", action, consent, approvals, None, at)
            fast = read_fast(VOCAB, *request)
            full = read_request(VOCAB, *request)
            assert isinstance(full, Request) and fast == full
            assert _decided(fast) == _decided(full)
            assert ENGINE.check(*request[:3], action=action, consent=consent, approvals=approvals, at=at) == _decided(full)

    run()


# -- approvals: the first full placement gives what the full search gives -----------------------------

_CITE = Cite("A-00", "", "", "")
_ROLES = ("a", "b", "c")
_T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def _steps(draw: Any) -> tuple[StepSpec, ...]:
    ordered = draw(st.lists(st.booleans(), min_size=3, max_size=3))  # per group: one chain is ordered or not
    steps = []
    for i in range(draw(st.integers(1, 4))):
        roles = tuple(draw(st.lists(st.sampled_from(_ROLES), min_size=1, max_size=2, unique=True)))
        group = draw(st.integers(0, 2))
        steps.append(StepSpec(roles, frozenset(roles), draw(st.sampled_from([False, False, True])), (), group, ordered[group],
                              f"steps[{i}]", "approval_missing", _CITE, "", ""))
    return tuple(steps)


_PEOPLE = [Person(f"p{i}", frozenset(roles), org) for i, (roles, org) in
           enumerate([("ab", "o1"), ("bc", "o2"), ("c", "o1"), ("a", "o2"), ("abc", "o1"), ("b", "o1"), ("", "o1")])]


@st.composite
def _approval_sets(draw: Any) -> tuple[ReadApproval, ...]:
    """Mostly valid approvals (a role the approver holds, this resource, before the request),
    some faulty: the requester's own, an unknown approver, another resource, after the request."""
    got = []
    for _ in range(draw(st.integers(0, 9) | st.integers(3, 9))):
        person = draw(st.sampled_from([*_PEOPLE, *_PEOPLE, None, "req"]))
        if person is None:
            approver, pid = None, "ghost"
        elif person == "req":
            approver, pid = Person("req", frozenset(_ROLES), "o1"), "req"
        else:
            approver, pid = person, person.id
        held = sorted(approver.roles) if approver is not None and approver.roles else list(_ROLES)
        got.append(ReadApproval(
            approver, pid, draw(st.sampled_from(held) | st.sampled_from(_ROLES)),
            _T0 + timedelta(hours=draw(st.integers(0, 5))), draw(st.sampled_from(["r", "r", "r", "other"])), "x", pid,
        ))
    return tuple(sorted(got, key=lambda ap: (ap.at, ap.approver_id, ap.role, ap.resource_id, ap.action)))


def _request(approvals: tuple[ReadApproval, ...]) -> Request:
    return Request(
        ReadSubject(Person("req", frozenset({"a"}), "o1"), "active", None, False),
        ReadResource("r", "k", "l", "o1", None, None), "p", "x", None, approvals, {}, _T0 + timedelta(hours=4),
    )


_SCOPE = {"o1": frozenset({"o1", "o2"}), "o2": frozenset({"o2"})}


@SETTINGS
@given(_steps(), _approval_sets())
def test_first_full_then_search_gives_what_the_search_alone_gives(steps: tuple[StepSpec, ...], aps: tuple[ReadApproval, ...]) -> None:
    request = _request(aps)
    quick = fill_steps(steps, request, _SCOPE)
    with mock.patch.object(_approvals, "_first_full", lambda steps, candidates: None):
        slow = fill_steps(steps, request, _SCOPE)
    assert [id(x) for x in quick.filled] == [id(x) for x in slow.filled]
    assert quick.failures == slow.failures


def _best_score(steps: tuple[StepSpec, ...], request: Request) -> tuple[int, tuple[bool, ...]]:
    """By trying every placement: the most steps filled, then the earliest steps preferred."""
    above = _SCOPE[request.subject.person.org]
    valid = [ap for ap in request.approvals if _approvals._fault(ap, request, above) is None]
    options = [
        [None, *(ap for ap in valid if ap.role in s.role_set
                 and (not s.same_org or (ap.approver is not None and ap.approver.org == "o1")))]
        for s in steps
    ]
    best: tuple[int, tuple[bool, ...]] = (0, (False,) * len(steps))
    for pick in product(*options):
        chosen = [ap for ap in pick if ap is not None]
        if len({ap.approver_id for ap in chosen}) < len(chosen):
            continue
        last: dict[int, datetime] = {}
        fits = True
        for s, ap in zip(steps, pick):
            if ap is None:
                continue
            if s.ordered and s.group in last and ap.at <= last[s.group]:
                fits = False
            last[s.group] = ap.at
        if fits:
            best = max(best, (len(chosen), tuple(ap is not None for ap in pick)))
    return best


@SETTINGS
@given(_steps(), _approval_sets())
def test_the_filling_is_the_best_placement(steps: tuple[StepSpec, ...], aps: tuple[ReadApproval, ...]) -> None:
    request = _request(aps)
    filled = fill_steps(steps, request, _SCOPE).filled
    assert (sum(x is not None for x in filled), tuple(x is not None for x in filled)) == _best_score(steps, request)


# -- subclasses the fast reader declines: the full reader reads their values, not their methods --


class NeverDiffers(str):
    """A string that says it equals every other."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False


class NeverEqual(str):
    """A string that says it equals no other."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True


class NeverPast(datetime):
    """A time that says it is later than any other."""

    def __lt__(self, other: object) -> bool:
        return False

    def __le__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True

    def __ge__(self, other: object) -> bool:
        return True


def test_a_customer_id_that_equals_everything_matches_only_its_own_consent() -> None:
    lying = Resource("rep-1", "credit_report", "ordinary", "east-1", customer_id=NeverDiffers("c-2"))
    given = Consent("c-1", ("loan_review",), AT - timedelta(days=1))
    decision = ENGINE.check("u-query-east1", lying, "loan_review", consent=given, at=AT)
    assert "consent_customer_mismatch" in decision.codes
    assert decision == ENGINE.check("u-query-east1", report(customer="c-2"), "loan_review", consent=given, at=AT)


def test_a_requester_id_that_equals_nothing_cannot_pass_for_another_approver() -> None:
    chain = [
        Approval("u-head-east1", "department_head", AT - timedelta(hours=2), "arc-1", "view"),
        Approval("u-riskoff-east", "risk_control_officer", AT - timedelta(hours=1), "arc-1", "view"),
    ]
    resource = Resource("arc-1", "customer_archive", "ordinary", "east-1")
    honest = Subject("u-head-east1", ("department_head",), "east-1")  # as the assignments give it
    assert "self_approval" in ENGINE.check(honest, resource, "loan_review", action="view", approvals=chain, at=AT).codes
    requester = Subject(NeverEqual("u-head-east1"), ("department_head",), "east-1")
    decision = ENGINE.check(requester, resource, "loan_review", action="view", approvals=chain, at=AT)
    assert not decision.allowed and decision.codes == ("invalid_request",)
    assert "`subject.id`" in decision.reasons[0].message_en


def test_strings_that_compare_as_their_text_are_read_as_their_text() -> None:
    class Text(str):
        pass

    given = Consent(Text("c-1"), [Text("loan_review")], AT - timedelta(days=1))
    decision = ENGINE.check(Text("u-query-east1"), report(), Text("loan_review"), action=Text("query"), consent=given,
                            evidence={Text("case_id"): Text("D-1")}, at=AT)
    assert decision.allowed
    plain = ENGINE.check("u-query-east1", report(), "loan_review", consent=Consent("c-1", ["loan_review"], AT - timedelta(days=1)),
                         evidence={"case_id": "D-1"}, at=AT)
    assert decision == plain
    read = read_request(VOCAB, Subject(Text("s"), [Text("query_operator")], Text("east-1")), report(), Text("loan_review"),
                        Text("query"), given, [], {Text("k"): Text("v")}, AT)
    assert isinstance(read, Request)
    texts = [read.subject.person.id, *read.subject.person.roles, read.purpose, read.action, read.consent.customer_id,  # type: ignore[union-attr]
             *read.consent.purposes, *read.evidence, *read.evidence.values()]  # type: ignore[union-attr]
    assert all(type(x) is str for x in texts)


def test_an_expiry_that_says_it_is_always_later_is_read_as_the_time_it_is() -> None:
    ended = AT - timedelta(days=1)
    lying = NeverPast(ended.year, ended.month, ended.day, ended.hour, tzinfo=ended.tzinfo)
    given = Consent("c-1", ("loan_review",), AT - timedelta(days=10), expires_at=lying)
    decision = ENGINE.check("u-query-east1", report(), "loan_review", consent=given, at=AT)
    assert "consent_expired" in decision.codes
    read = read_request(VOCAB, "u-query-east1", report(), "loan_review", "query", given, (), None, AT)
    assert isinstance(read, Request) and read.consent is not None and type(read.consent.expires_at) is datetime


def test_an_empty_evidence_value_that_claims_a_length_is_no_evidence() -> None:
    class Padded(str):
        def __len__(self) -> int:
            return 1

    args: dict[str, Any] = {"consent": Consent("c-1", ("dissent",), AT - timedelta(days=1)), "at": AT}
    decision = ENGINE.check("u-dispute-east1", report(), "dissent", evidence={"case_id": Padded("")}, **args)
    assert not decision.allowed
    assert decision == ENGINE.check("u-dispute-east1", report(), "dissent", evidence={"case_id": ""}, **args)
    assert ENGINE.check("u-dispute-east1", report(), "dissent", evidence={"case_id": "D-1"}, **args).allowed


def test_a_time_whose_timezone_raises_is_a_deny_naming_the_field() -> None:
    class Broken(tzinfo):
        def utcoffset(self, dt: datetime | None) -> timedelta:
            raise ArithmeticError("no offset")

    given = Consent("c-1", ("loan_review",), datetime(2026, 11, 1, tzinfo=Broken()))
    decision = ENGINE.check("u-query-east1", report(), "loan_review", consent=given, at=AT)
    assert not decision.allowed and decision.codes == ("invalid_request",)
    assert "`consent.signed_at`" in decision.reasons[0].message_en
