"""``who-can`` with requesters no one can approve, and ``what-can``'s filters, through CliRunner."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import zxpolicy
from zxpolicy import Approval, Resource
from zxpolicy.cli import main
from zxpolicy.compliance import what_can, who_can

from ..conftest import AT, POLICIES


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def third_top_secret_step(policy: Path) -> Path:
    path = policy / "classification.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("      - [general_manager]\n  exemptions",
                                 "      - [general_manager]\n      - [credit_info_supervisor]\n  exemptions"), encoding="utf-8")
    return policy


def test_who_can_lists_the_unapprovable_apart(policy_copy: Path) -> None:
    third_top_secret_step(policy_copy)
    args = ("who-can", "--policy", policy_copy, "query", "credit_report", "--purpose", "legal", "--level", "top_secret")
    result = run(*args)
    assert result.exit_code == 1, result.output  # no one can
    assert "无人可审批" in result.stdout and "⊘ 东区一社查询员（u-query-east1）" in result.stdout
    english = run(*args, "--lang", "en")
    assert "no one can approve" in english.stdout
    answer = json.loads(run(*args, "--json").stdout)
    (role,) = answer["roles"]
    assert role["users"] == [] and {u["user"] for u in role["unapprovable"]} == {"u-query-east1", "u-query-west1"}
    assert all(u["approvable"] is False for u in role["unapprovable"])
    # check agrees: with every choice of approvers from the assignments, denied
    engine = zxpolicy.load(policy_copy)
    people = [(a.id, r) for a in engine.document.assignments for r in a.roles]
    steps = who_can(engine, "query", "credit_report", "legal", "top_secret").needs
    assert steps is not None
    resource = Resource("r-1", "credit_report", "top_secret", "east-1")
    per_step = [[p for p in people if p[1] in s.role_set] for s in steps.steps]
    for combo in itertools.product(*per_step):
        approvals = [Approval(u, r, AT - timedelta(hours=5 - i), "r-1", "query") for i, (u, r) in enumerate(combo)]
        d = engine.check("u-query-east1", resource, "legal", approvals=approvals, evidence={"legal_basis": "x"}, at=AT)
        assert not d.allowed


def test_what_can_marks_the_unapprovable(policy_copy: Path) -> None:
    third_top_secret_step(policy_copy)
    answer = what_can(zxpolicy.load(policy_copy), "u-query-east1", purposes=["legal"], kinds=["credit_report"])
    marks = {(p.action, p.level): p.approvable for p in answer.permissions}
    assert marks[("query", "top_secret")] is False and marks[("query", "ordinary")] is True
    result = run("what-can", "--policy", policy_copy, "u-query-east1", "--purpose", "legal", "--kind", "credit_report")
    assert "⊘ 无人可审批" in result.stdout


def test_what_can_filters() -> None:
    full = json.loads(run("what-can", "--policy", POLICIES, "u-officer-east", "--json").stdout)
    result = run("what-can", "--policy", POLICIES, "u-officer-east", "--kind", "credit_report", "--action", "copy",
                 "--purpose", "loan_review", "--purpose", "legal", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data["kinds"]) == ["credit_report"] and list(data["kinds"]["credit_report"]) == ["loan_review", "legal"]
    kept = [p for ps in data["kinds"]["credit_report"].values() for p in ps]
    assert kept and all(p["action"] == "copy" for p in kept)
    assert kept == [p for purpose in ("loan_review", "legal") for p in full["kinds"]["credit_report"][purpose] if p["action"] == "copy"]
    human = run("what-can", "--policy", POLICIES, "u-officer-east", "--kind", "credit_report", "--action", "copy")
    assert len(human.stdout.splitlines()) < len(run("what-can", "--policy", POLICIES, "u-officer-east").stdout.splitlines()) / 3
    # nothing kept: exit 1
    assert run("what-can", "--policy", POLICIES, "u-query-east1", "--kind", "user_account").exit_code == 1


@pytest.mark.parametrize(("flag", "typo", "zh", "en"), [
    ("--kind", "credit_reprt", "未知资料类型`credit_reprt`；是否应为`credit_report`？", "unknown kind `credit_reprt`; did you mean `credit_report`?"),
    ("--purpose", "legl", "未知用途`legl`；是否应为`legal`？", "unknown purpose `legl`; did you mean `legal`?"),
    ("--action", "qurey", "未知操作`qurey`；是否应为`query`？", "unknown action `qurey`; did you mean `query`?"),
])
def test_what_can_a_filter_typo_is_one_line_and_exit_2(flag: str, typo: str, zh: str, en: str) -> None:
    result = run("what-can", "--policy", POLICIES, "u-query-east1", flag, typo)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == zh
    result = run("what-can", "--policy", POLICIES, "u-query-east1", flag, typo, "--lang", "en")
    assert result.stderr.strip().splitlines()[-1] == en
