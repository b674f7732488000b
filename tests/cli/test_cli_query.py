"""``zxpolicy explain``, ``who-can`` and ``what-can`` through click's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import zxpolicy
from zxpolicy.cli import main

from ..conftest import POLICIES, REPO

EXAMPLES = REPO / "examples"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZXPOLICY_POLICY_DIR", raising=False)


def run(*args: object, input: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def data(result: Result) -> Any:
    return json.loads(result.stdout)


def no_cjk_outside_brackets(text: str) -> None:
    """English output: only clauses (in brackets) and the policy's own ids may be Chinese."""
    for line in text.splitlines():
        assert not CJK.search(re.sub(r"\[[^]]*\]", "", line)), line


# --------------------------------------------------------------------------------------------
# explain


def test_explain_json_is_the_explanation_and_agrees_with_check() -> None:
    result = run("explain", "--policy", POLICIES, EXAMPLES / "archive-view.json", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads((EXAMPLES / "archive-view.json").read_text(encoding="utf-8"))
    expected = zxpolicy.load(POLICIES).explain(body.pop("subject"), body.pop("resource"), body.pop("purpose"), **body)
    shown, wanted = data(result), expected.to_dict()
    assert shown.pop("decision_id") != wanted.pop("decision_id")  # each decision its own id
    assert shown.pop("policy")["version"] == wanted["policy_version"]  # the CLI's policy line, as JSON
    assert shown == wanted
    stages = data(result)["stages"]
    assert [s["stage"] for s in stages] == ["subject", "purpose", "grant", "org_scope", "approval", "approval", "classification"]
    assert [s["approver"] for s in stages[-3:]] == ["u-head-east1", "u-riskoff-east", "u-riskmgr-hq"]


def test_explain_a_deny_in_chinese_says_what_is_missing() -> None:
    result = run("explain", "--policy", POLICIES, EXAMPLES / "query-denied.json")
    assert result.exit_code == 1
    out = result.stdout
    assert "✓ 授权  grants[0] (Q-03)" in out
    assert "✗ 机构范围  east-1 (东区第一基层社)" in out
    assert "✗ 书面授权  consent" in out
    assert "结论: 拒绝" in out
    # what the person can bring, and what no paper will mend
    assert out.index("尚需：") < out.index("书面授权未涵盖此用途：`guarantor_check`", out.index("尚需："))
    assert "不能靠补充材料解决：\n  - 机构范围" in out


def test_explain_names_the_missing_approvals_by_role_in_english() -> None:
    result = run(
        "explain", "--policy", POLICIES, "--subject", "u-officer-east", "--kind", "credit_report", "--level",
        "confidential", "--org", "east-1", "--purpose", "loan_review", "--action", "copy",
        "--at", "2026-11-27T10:00:00+08:00", "--lang", "en",
        "--approval", json.dumps({"approver": "u-riskmgr-hq", "role": "general_manager", "at": "2026-11-27T09:00:00+08:00",
                                  "resource_id": "resource", "action": "copy"}),
    )
    assert result.exit_code == 1
    out = result.stdout
    assert "✗ approval  approvals[1].steps[0] (general manager or credit information supervisor or risk control manager)" in out
    assert "approver_lacks_role" in out and "`u-riskmgr-hq` does not hold general manager" in out
    assert "✗ classification  classification.steps.confidential[0] (risk control manager)" in out
    assert "still needed:\n  - an approval by general manager or credit information supervisor or risk control manager\n" \
        "  - an approval by risk control manager" in out
    no_cjk_outside_brackets(out)


def test_explain_an_unreadable_request_is_one_stage() -> None:
    result = run("explain", "--policy", POLICIES, "--subject", "nobody", "--kind", "credit_report", "--level", "ordinary",
                 "--org", "east-1", "--purpose", "loan_review", "--json")
    assert result.exit_code == 1
    assert [s["stage"] for s in data(result)["stages"]] == ["request"]


def test_explain_help_has_an_example() -> None:
    result = run("explain", "--help")
    assert result.exit_code == 0 and re.search(r"Example:\n\s+zxpolicy explain ", result.stdout)


# --------------------------------------------------------------------------------------------
# who-can, what-can


def test_who_can_lists_roles_users_and_approvers() -> None:
    result = run("who-can", "--policy", POLICIES, "copy", "credit_report", "--purpose", "loan_review",
                 "--level", "confidential", "--org", "east-1", "--json")
    assert result.exit_code == 0, result.output
    answer = data(result)
    assert [r["role"] for r in answer["roles"]] == ["credit_info_officer", "credit_info_supervisor", "risk_control_manager"]
    assert [u["user"] for u in answer["roles"][0]["users"]] == ["u-officer-east"]
    steps = answer["roles"][0]["users"][0]["steps"]
    assert [s["path"] for s in steps] == ["approvals[1].steps[0]", "classification.steps.confidential[0]"]
    assert steps[1]["approvers"] == ["u-riskmgr-hq"] and steps[1]["plan"] == "u-riskmgr-hq"
    assert steps[0]["plan"] in steps[0]["approvers"] and steps[0]["plan"] != "u-riskmgr-hq"
    assert answer["needs"]["consent"] is False


def test_who_can_shows_the_separation_and_scope_blocked_apart() -> None:
    result = run("who-can", "--policy", POLICIES, "query", "credit_report", "--purpose", "loan_review",
                 "--level", "ordinary", "--org", "east-1")
    assert result.exit_code == 0
    assert "东区一社查询员（u-query-east1）, 东区第一基层社（east-1）" in result.stdout
    assert "✗ 角色冲突示例（应修正）（u-conflict-hq）: 角色冲突（Q-08 职责分离）" in result.stdout
    assert "[role_conflict]" in result.stdout
    assert "✗ 西区一社查询员（u-query-west1）: 资料所属机构东区第一基层社（east-1）不在其管辖范围内 [org_out_of_scope]" in result.stdout
    assert "客户书面授权" in result.stdout and "须履行：记录查询日志" in result.stdout and "（log_query）" in result.stdout
    assert "征信查询员（query_operator） [grants[0]]" in result.stdout
    result = run("who-can", "--policy", POLICIES, "query", "credit_report", "--purpose", "loan_review",
                 "--level", "ordinary", "--org", "east-1", "--lang", "en")
    assert "role conflict (Q-08, separation of duties): denied every action on credit report (credit_report)" in result.stdout
    no_cjk_outside_brackets(result.stdout)


def test_who_can_no_one_exits_1() -> None:
    result = run("who-can", "--policy", POLICIES, "query", "customer_archive", "--purpose", "loan_review",
                 "--level", "ordinary", "--lang", "en")
    assert result.exit_code == 1
    assert "no role is granted this" in result.stdout
    no_cjk_outside_brackets(result.stdout)


def test_who_can_an_unknown_word_is_a_usage_error_with_a_hint() -> None:
    result = run("who-can", "--policy", POLICIES, "query", "credit_reprt", "--purpose", "loan_review", "--level", "ordinary")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == "未知资料类型`credit_reprt`；是否应为`credit_report`？"
    result = run("who-can", "--policy", POLICIES, "query", "credit_reprt", "--purpose", "loan_review", "--level", "ordinary",
                 "--lang", "en")
    assert result.exit_code == 2
    assert "unknown kind `credit_reprt`; did you mean `credit_report`?" in result.stderr


def test_what_can_groups_by_kind_and_purpose() -> None:
    result = run("what-can", "--policy", POLICIES, "u-query-east1", "--json")
    assert result.exit_code == 0
    answer = data(result)
    assert list(answer["kinds"]) == ["credit_report", "customer_archive"]
    assert list(answer["kinds"]["credit_report"]) == ["loan_review", "guarantor_check", "post_loan_monitoring", "legal"]
    legal = answer["kinds"]["credit_report"]["legal"][0]
    assert (legal["action"], legal["level"]) == ("query", "ordinary")
    assert legal["needs"]["evidence"] == [{"key": "legal_basis", "one_of": []}]
    assert [a["plan"] for a in legal["approvals"]] == ["u-supervisor-hq"]
    assert answer["orgs"] == ["east-1"]


def test_what_can_in_english_and_the_conflicted_user() -> None:
    result = run("what-can", "--policy", POLICIES, "u-conflict-hq", "--lang", "en")
    assert result.exit_code == 1
    assert "role conflict (Q-08, separation of duties): denied everything [role_conflict]" in result.stdout
    no_cjk_outside_brackets(result.stdout)
    result = run("what-can", "--policy", POLICIES, "u-officer-east", "--lang", "en")
    assert result.exit_code == 0
    assert "credit report (credit_report)\n  review of a credit application (loan_review)\n    copy · ordinary" in result.stdout
    no_cjk_outside_brackets(result.stdout.split("\n", 1)[1])  # the first line holds the subject's id only


def test_what_can_an_unknown_subject_exits_2() -> None:
    result = run("what-can", "--policy", POLICIES, "u-query-eas1")
    assert result.exit_code == 2
    assert "未知用户`u-query-eas1`；是否应为`u-query-east1`？" in result.stderr


@pytest.mark.parametrize("command", [["who-can", "query", "credit_report", "--purpose", "legal", "--level", "ordinary"],
                                     ["what-can", "u-query-east1"], ["explain", EXAMPLES / "query-allowed.json"]])
def test_an_unloadable_policy_exits_2(command: list[object], policy_copy: Path) -> None:
    (policy_copy / "grants.yaml").write_text("grants: 3\n", encoding="utf-8")
    result = run(command[0], "--policy", policy_copy, *command[1:])
    assert result.exit_code == 2
    assert "grants.yaml:1:" in result.stderr


@pytest.mark.parametrize("command", ["who-can", "what-can"])
def test_help_has_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0 and re.search(rf"Example:\n\s+zxpolicy {command} ", result.stdout)
