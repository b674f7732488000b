"""Hints and messages stay small whatever the host sends: a long value gets no "did you mean"
search and is shown cut; a mapping of many unknown keys names only a few of them. (Their cost is
measured in bench, not timed here: these tests hold the bounds that keep it small.)"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

import zxpolicy
from zxpolicy import Resource
from zxpolicy._hints import MAX_HINTED, MAX_NAMED, clip, hint, named

from ..conftest import AT

ENGINE = zxpolicy.load()
BIG = "x" * 1_000_000


def _no_search(*args: Any, **kwargs: Any) -> list[str]:
    raise AssertionError("difflib searched a long value")


def test_a_long_value_is_not_searched_for_a_close_match() -> None:
    with mock.patch("zxpolicy._hints.difflib.get_close_matches", _no_search):
        assert hint("e" * (MAX_HINTED + 1), ["east-1", "west-1"]).startswith("expected one of")
    assert hint("east-l", ["east-1", "west-1"]) == "did you mean `east-1`?"


@pytest.mark.parametrize(
    ("subject", "resource", "purpose"),
    [
        ("u-query-east1", {"id": "r", "kind": "credit_report", "level": "ordinary", "org": BIG}, "loan_review"),
        ("u-query-east1", {"id": "r", "kind": BIG, "level": "ordinary", "org": "east-1"}, "loan_review"),
        ("u-query-east1", {"id": "r", "kind": "credit_report", "level": BIG, "org": "east-1"}, "loan_review"),
        ("u-query-east1", Resource("r", "credit_report", "ordinary", "east-1"), BIG),
        (BIG, Resource("r", "credit_report", "ordinary", "east-1"), "loan_review"),
        ({"id": "s", "roles": [BIG], "org": "east-1"}, Resource("r", "credit_report", "ordinary", "east-1"), "loan_review"),
    ],
)
def test_a_huge_value_is_denied_with_short_messages_and_no_search(subject: Any, resource: Any, purpose: Any) -> None:
    with mock.patch("zxpolicy._hints.difflib.get_close_matches", _no_search):
        d = ENGINE.check(subject, resource, purpose, at=AT)
    assert not d.allowed
    assert all(len(r.message) < 1_000 and len(r.message_en) < 1_000 for r in d.reasons)


def test_many_unknown_keys_name_a_few_and_count_the_rest() -> None:
    subject = {"id": "s", "roles": ["query_operator"], "org": "east-1", **{f"k{i}": 1 for i in range(100_000)}}
    d = ENGINE.check(subject, Resource("r", "credit_report", "ordinary", "east-1"), "loan_review", at=AT)
    assert not d.allowed and set(d.codes) == {"invalid_request"}
    assert len(d.reasons) == MAX_NAMED + 1
    assert f"{100_000 - MAX_NAMED} more unknown fields" in d.reasons[-1].message_en


def test_many_unknown_roles_are_named_a_few_at_a_time() -> None:
    roles = [f"r{i:06d}" for i in range(100_000)]
    d = ENGINE.check({"id": "s", "roles": roles, "org": "east-1"}, Resource("r", "credit_report", "ordinary", "east-1"),
                     "loan_review", at=AT)
    text = next(r.message_en for r in d.reasons if r.code == "role_not_permitted")
    assert "`r000000`" in text and f"`+{100_000 - MAX_NAMED}`" in text and "r099999" not in text


def test_clip_and_named() -> None:
    assert clip("abc") == "abc" and clip("a" * 100) == "a" * MAX_HINTED + "…"
    assert named({"c", "a", "b"}) == ["a", "b", "c"]
    assert named([str(i) for i in range(10)], limit=2) == ["0", "1", "+8"]
