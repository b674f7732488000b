"""The hot path's faster ways of building what ``check`` returns give the same objects as the
plain ways: decisions and reasons built through their slots, and the `granted` reason of a
filled approval step joined from texts prepared per step and role."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from zxpolicy import Decision, Reason
from zxpolicy._diagnostic import new_reason
from zxpolicy.compile import StepSpec
from zxpolicy.decide._decision import new_decision
from zxpolicy.decide._request import ReadApproval
from zxpolicy.decide._wording import StepGrants, approved_by

from .test_malformed_requests import ENGINE

AT = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)


def test_reasons_and_decisions_built_through_their_slots_are_the_same_objects() -> None:
    plain = Reason("granted", "Q-01", "第一条", "消息", "message")
    fast = new_reason("granted", "Q-01", "第一条", "消息", "message")
    assert type(fast) is Reason and fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert fast.to_dict() == plain.to_dict()
    d_plain = Decision(False, (plain,), (("a", "b"),), ("log_query",), "v1")
    d_fast = new_decision(False, (fast,), (("a", "b"),), ("log_query",), "v1")
    assert type(d_fast) is Decision and d_fast == d_plain and repr(d_fast) == repr(d_plain)
    assert d_fast.to_dict() == d_plain.to_dict() and not d_fast
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
