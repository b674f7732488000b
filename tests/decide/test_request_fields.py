"""The request's fields live in one table (``zxpolicy.decide.REQUEST_FIELDS``); every place that
spells them out — ``check``, ``explain``, both readers, ``check_many``, the suites, the CLI and
the README's table — agrees with it."""

from __future__ import annotations

import inspect
import re
from dataclasses import fields
from typing import Any

import pytest

import zxpolicy
from zxpolicy.compliance import SuiteRequest
from zxpolicy.decide import (
    DEFAULTS,
    FIELD_NAMES,
    KEYWORDS,
    MAX_APPROVALS,
    PART_FIELDS,
    REQUEST_FIELDS,
    REQUIRED,
    SUBJECT_STATUSES,
    Approval,
    Engine,
    Subject,
)
from zxpolicy.decide._fastread import read_fast
from zxpolicy.decide._request import read_request

from ..conftest import AT, REPO, report

ENGINE = zxpolicy.load()


@pytest.mark.parametrize("method", [Engine.check, Engine.explain])
def test_check_and_explain_take_the_fields_in_order_with_the_tables_defaults(method: Any) -> None:
    params = list(inspect.signature(method).parameters.values())[1:]  # after self
    assert [p.name for p in params] == list(FIELD_NAMES)
    for p, f in zip(params, REQUEST_FIELDS, strict=True):
        keyword = f.name in KEYWORDS
        assert p.kind is (inspect.Parameter.KEYWORD_ONLY if keyword else inspect.Parameter.POSITIONAL_OR_KEYWORD)
        assert (p.default is inspect.Parameter.empty) == (f.default is REQUIRED)
        if f.default is not REQUIRED:
            assert p.default == DEFAULTS[f.name]


@pytest.mark.parametrize("reader", [read_fast, read_request, Engine._check])
def test_the_readers_and_the_positional_check_take_the_fields_in_order(reader: Any) -> None:
    names = list(inspect.signature(reader).parameters)[1:]  # after vocab / self
    assert names == list(FIELD_NAMES)


def test_a_suite_request_has_the_fields_and_passes_the_keywords() -> None:
    assert tuple(f.name for f in fields(SuiteRequest)) == FIELD_NAMES
    r = SuiteRequest("u", {}, "p", "query", None, (), None, "2026-01-01T00:00:00+08:00")
    assert tuple(r.arguments()) == KEYWORDS


def test_check_many_applies_the_same_defaults_as_check() -> None:
    items: list[dict[str, Any]] = [{"subject": "u-query-east1", "resource": report(), "purpose": "loan_review", "at": AT}]
    assert ENGINE.check_many(items) == [ENGINE.check("u-query-east1", report(), "loan_review", at=AT)]


def test_the_parts_fields_are_the_types_fields() -> None:
    for cls, names in PART_FIELDS.items():
        assert names == tuple(f.name for f in fields(cls))
    assert "status" in PART_FIELDS[Subject] and SUBJECT_STATUSES[0] == Subject("s", [], "east-1").status


@pytest.mark.parametrize("how", ["fast", "full"])
def test_both_readers_hold_the_approvals_cap(how: str) -> None:
    ap = Approval("u-head-east1", "department_head", AT, "rep-1", "query")
    approvals: Any = [ap] * (MAX_APPROVALS + 1)
    if how == "full":
        approvals = tuple({"approver": "u-head-east1", "role": "department_head", "at": AT.isoformat(),
                           "resource_id": "rep-1", "action": "query"} for _ in range(MAX_APPROVALS + 1))
    d = ENGINE.check("u-query-east1", report(), "loan_review", approvals=approvals, at=AT)
    assert not d.allowed and d.codes == ("invalid_request",)
    assert f"{MAX_APPROVALS}" in d.reasons[0].message_en
    below = ENGINE.check("u-query-east1", report(), "loan_review", approvals=approvals[:MAX_APPROVALS], at=AT)
    assert "invalid_request" not in below.codes


def test_the_readme_table_lists_every_field() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### A request, field by field", 1)[1]
    table = next(block for block in section.split("\n\n") if block.startswith("| field |"))
    rows = re.findall(r"^\| `(\w+)` \|", table, flags=re.M)
    assert rows == list(FIELD_NAMES)
    assert f"at most {MAX_APPROVALS}" in table
