"""The fast reader (``_fastread``) and the full reader (``_request``) read every request alike.

``check`` reads a request with the fast reader and falls back to the full one when the fast one
declines. These tests hold the fast reader to that contract: whenever it reads a request, it
returns exactly what the full reader returns (and the full reader does not reject or raise);
on the engine's own types it declines only what the full reader rejects; and ``check`` and
``check_many`` give the decision of the full reader followed by the engine.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from zxpolicy import Approval, Decision, Resource, Subject
from zxpolicy.decide._decide import decide, failed, unreadable
from zxpolicy.decide._fastread import read_fast
from zxpolicy.decide._request import Request, read_request
from zxpolicy.decide._wording import StepGrants

from ..conftest import AT, CST, approval, consent, report
from .test_malformed_requests import (
    ACTIONS,
    ENGINE,
    PURPOSES,
    SETTINGS,
    aware,
    requests,
    short_text,
    valid_approval,
    valid_consent,
    valid_resource,
    valid_subject,
)

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
    variants = {
        0: [Text("u-query-east1"), {"id": "s", "roles": ["query_operator"], "org": "east-1"}],
        1: [{"id": "r", "kind": "credit_report", "level": "ordinary", "org": "east-1"}],
        2: [Text("loan_review")],
        5: [{Approval("u-gm-hq", "general_manager", AT, "rep-1", "copy")}, None],
        7: [AT.isoformat(), AT.replace(tzinfo=None), AT - timedelta(days=1)],
    }
    for i, values in variants.items():
        for value in values:
            request = list(base)
            request[i] = value
            fast = read_fast(VOCAB, *request)
            full = read_request(VOCAB, *request)
            assert fast is None or fast == full, (i, value)
    assert read_fast(VOCAB, *base) is not None
