"""The hot path's faster ways of building what ``check`` returns give the same objects as the
plain ways: decisions and reasons built through their slots, the `granted` reason of a
filled approval step joined from texts prepared per step and role, and a decision's id and
dict, made group by group and kept once asked for."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zxpolicy import Decision, Reason
from zxpolicy._diagnostic import new_reason
from zxpolicy.compile import StepSpec
from zxpolicy.decide._decision import decision_id_of, new_decision, set_stamp
from zxpolicy.decide._request import ReadApproval
from zxpolicy.decide._wording import StepGrants, approved_by

from .test_malformed_requests import ENGINE, SETTINGS

AT = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)


def test_reasons_and_decisions_built_through_their_slots_are_the_same_objects() -> None:
    plain = Reason("granted", "Q-01", "第一条", "消息", "message")
    fast = new_reason("granted", "Q-01", "第一条", "消息", "message")
    assert type(fast) is Reason and fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert fast.to_dict() == plain.to_dict()
    d_plain = Decision(False, (plain,), (("a", "b"),), ("log_query",), "v1")
    d_fast = new_decision(False, (fast,), (("a", "b"),), ("log_query",), "v1")
    assert type(d_fast) is Decision and d_fast == d_plain and repr(d_fast) == repr(d_plain)
    assert {**d_fast.to_dict(), "decision_id": ""} == {**d_plain.to_dict(), "decision_id": ""} and not d_fast
    assert d_fast.decision_id != d_plain.decision_id  # each its own id, not compared
    for obj, field in ((fast, "message"), (d_fast, "allowed")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, field, "x")


def _steps() -> list[StepSpec]:
    seen: dict[int, StepSpec] = {}
    for need in ENGINE.tables.requirements.values():
        for step in need.steps:
            seen[id(step)] = step
    return list(seen.values())


@pytest.mark.parametrize("who", ["u-1", "王`五", "a\x00b", ""])
def test_step_grants_word_the_reason_as_approved_by_does(who: str) -> None:
    t = ENGINE.tables
    grants = StepGrants(t)
    steps = _steps()
    assert steps
    for step in steps:
        for role in step.roles:
            ap = ReadApproval(None, who, role, AT, "r", "view", who)
            slow = t.messages.reason("granted", step.cite, approved_by(ap, step, t, "zh"), approved_by(ap, step, t, "en"))
            assert grants.reason(step, ap) == slow
            assert grants.reason(step, ap) == slow  # prepared the first time, reused the second


def test_step_grants_take_the_slow_way_when_a_text_holds_the_mark() -> None:
    t = ENGINE.tables
    step = _steps()[0]
    marked = dataclasses.replace(step, cite=dataclasses.replace(step.cite, zh="规则\x00标题", en="rule\x00title"))
    ap = ReadApproval(None, "u-1", step.roles[0], AT, "r", "view", "u-1")
    slow = t.messages.reason("granted", marked.cite, approved_by(ap, marked, t, "zh"), approved_by(ap, marked, t, "en"))
    grants = StepGrants(t)
    assert grants._prepare(marked, ap.role) == ()  # no texts to join into: the slow way
    assert grants.reason(marked, ap) == slow


def _id_as_one_integer(stamp: tuple[int, int]) -> str:
    """The plain way: the UUIDv7's 128 bits as one integer, formatted and cut."""
    ns, n = stamp
    count, process = n & ((1 << 30) - 1), (n >> 30) & ((1 << 44) - 1)
    value = (
        ((ns // 1_000_000) & ((1 << 48) - 1)) << 80
        | 0x7 << 76
        | (count >> 18) << 64
        | 0b10 << 62
        | (count & 0x3FFFF) << 44
        | process
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@SETTINGS
@given(st.integers(0, 2**80), st.integers(0, 2**80))
def test_the_id_made_group_by_group_is_the_ids_integer_formatted(ns: int, n: int) -> None:
    text = decision_id_of((ns, n))
    assert text == _id_as_one_integer((ns, n))
    u = uuid.UUID(text)
    assert str(u) == text and u.version == 7 and u.variant == uuid.RFC_4122
    # The parts kept from the last id: the same millisecond, the next count, the same process;
    # another millisecond; another process.
    for later in ((ns + 999, n + 1), (ns + 1_000_000, n), (ns, n + (1 << 30)), (ns, n)):
        assert decision_id_of(later) == _id_as_one_integer(later), later


def test_the_id_is_kept_once_asked_for_and_each_dict_is_new() -> None:
    d = ENGINE.check("u-query-east1", {"id": "r", "kind": "credit_report", "level": "ordinary", "org": "east-1"}, "loan_review")
    assert d._id == ""  # not made until asked for
    first = d.to_dict()
    assert d._id == first["decision_id"] == d.decision_id == decision_id_of(d._stamp)
    first["reasons"][0]["code"] = "changed"
    first["obligations"].append("x")
    second = d.to_dict()
    assert second is not first and second["reasons"] == [r.to_dict() for r in d.reasons]
    assert second["obligations"] == list(d.obligations) and second["decision_id"] == first["decision_id"]
    # A decision given the stamp of another (Engine._logged) takes its id, not one kept before.
    other = new_decision(False, d.reasons, (), (), "v")
    assert other.decision_id != d.decision_id
    set_stamp(other, d._stamp)
    assert other.decision_id == d.decision_id


def test_threads_asking_for_a_new_decisions_id_at_once_get_one_id() -> None:
    for _ in range(50):
        d = new_decision(True, (), (), (), "v")
        start = threading.Barrier(8)
        seen: list[str] = []

        def ask() -> None:
            start.wait()
            seen.append(d.to_dict()["decision_id"])
            seen.append(d.decision_id)

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(seen) == {decision_id_of(d._stamp)} and len(seen) == 16
