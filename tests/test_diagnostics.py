"""Every diagnostic zxpolicy gives has the one shape of ``zxpolicy._diagnostic``: a stable
snake_case ``code``, ``message`` in Chinese, ``message_en`` in English, and where it has a place,
``file``, ``line``, ``column`` and ``path`` under those names. Each is made for real here: a
denied request, a bad request field, a lint warning, a tampered log, a failing suite case, a
broken invariant and a policy that does not load."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import zxpolicy
from zxpolicy import PolicyError, Resource
from zxpolicy.compliance import lint_directory, run_tests
from zxpolicy.decide._request import BadField, read_request
from zxpolicy.log import open_log, verify_chain
from zxpolicy.testing import run_invariant

from .conftest import AT, POLICIES

SHAPE = ("code", "message", "message_en")
LOCATION = ("file", "line", "column", "path")
OLD_NAMES = ("field", "kind", "message_zh")  # the names the shape replaced


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _report() -> Resource:
    return Resource("rep-1", "credit_report", "ordinary", "east-1", customer_id="c-1")


def reason(tmp_path: Path, policy: Path) -> Any:
    d = zxpolicy.load(POLICIES).check("u-query-east1", _report(), "loan_review", at=AT)  # no consent
    assert not d.allowed
    return d.reasons[0]


def bad_field(tmp_path: Path, policy: Path) -> Any:
    vocab = zxpolicy.load(POLICIES).tables.vocabulary
    read = read_request(vocab, "u-query-east1", _report(), "loan_review", "query", None, (), None, "not a time")
    assert isinstance(read, list)
    (bad,) = read
    assert isinstance(bad, BadField) and bad.path == "at"
    return bad


def lint_warning(tmp_path: Path, policy: Path) -> Any:
    warning = lint_directory(POLICIES)[0]  # the shipped policy's demo user with conflicting roles
    return warning


def log_finding(tmp_path: Path, policy: Path) -> Any:
    db = tmp_path / "decisions.db"
    store = open_log(db)
    try:
        engine = zxpolicy.load(POLICIES, log=store)
        for _ in range(3):
            engine.check("u-query-east1", _report(), "loan_review", at=AT)
    finally:
        store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM decisions WHERE seq = 2")
    conn.close()
    store = open_log(db)
    try:
        verdict = verify_chain(store)
    finally:
        store.close()
    assert verdict.finding is not None and verdict.finding.seq == 2
    return verdict.finding


def suite_mismatch(tmp_path: Path, policy: Path) -> Any:
    suite = tmp_path / "s.yaml"
    suite.write_text(
        f"at: {AT.isoformat()}\n"
        "fixtures:\n  resources:\n"
        "    report: {id: rep-1, kind: credit_report, level: ordinary, org: east-1, customer_id: c-1}\n"
        "cases:\n  - name: expects an allow that is a deny\n    subject: u-query-east1\n    resource: report\n"
        "    purpose: loan_review\n    expect: {allowed: true}\n",
        encoding="utf-8",
    )
    (result,) = run_tests(zxpolicy.load(POLICIES), suite).results
    (mismatch,) = result.mismatches
    return mismatch


def invariant_violation(tmp_path: Path, policy: Path) -> Any:
    _edit(policy / "purposes.yaml", "consent: true", "consent: false")  # loan_review without consent
    engine = zxpolicy.load(policy)
    (inv,) = [i for i in engine.document.invariants if i.id == "INV-02"]
    result = run_invariant(engine, inv, max_examples=100)
    assert result.violation is not None
    return result.violation


def policy_problem(tmp_path: Path, policy: Path) -> Any:
    (policy / "grants.yaml").write_text("grants: 3\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        zxpolicy.load(policy)
    return caught.value.problems[0]


# name → (how to make one, its fields in order where it is a dataclass, its location fields)
CASES: dict[str, tuple[Callable[[Path, Path], Any], tuple[str, ...] | None, tuple[str, ...]]] = {
    "Reason": (reason, ("code", "rule", "clause", "message", "message_en"), ()),
    "BadField": (bad_field, (*SHAPE, "path"), ("path",)),
    "LintWarning": (lint_warning, (*SHAPE, *LOCATION), LOCATION),
    "Finding": (log_finding, (*SHAPE, "seq", "decision_id"), ()),
    "Mismatch": (suite_mismatch, (*SHAPE, "path", "expected", "actual"), ("path",)),
    "Violation": (invariant_violation, None, ()),
    "PolicyProblem": (policy_problem, (*SHAPE, *LOCATION), LOCATION),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_diagnostic_has_the_one_shape(name: str, tmp_path: Path, policy_copy: Path) -> None:
    make, fields, location = CASES[name]
    d = make(tmp_path, policy_copy)
    assert type(d).__name__ == name

    for attr in SHAPE:
        assert isinstance(getattr(d, attr, None), str) and getattr(d, attr), f"{name}.{attr}"
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", d.code), d.code
    assert re.search(r"[\u4e00-\u9fff]", d.message), f"{name}.message is not Chinese: {d.message!r}"
    assert d.message_en != d.message
    assert not d.message_en[:1].isupper(), f"{name}.message_en is not lowercase: {d.message_en!r}"
    for old in OLD_NAMES:
        assert not hasattr(d, old), f"{name}.{old}: renamed in the one shape"

    for attr in location:
        assert hasattr(d, attr), f"{name}.{attr}"
    for attr in ("file", "path"):
        if attr in location:
            assert isinstance(getattr(d, attr), str)
    for attr in ("line", "column"):
        if attr in location:
            assert isinstance(getattr(d, attr), int) and getattr(d, attr) >= 0, f"{name}.{attr}"

    if fields is not None:
        assert tuple(f.name for f in dataclasses.fields(d)) == fields
        if hasattr(d, "to_dict"):
            assert tuple(d.to_dict()) == fields
