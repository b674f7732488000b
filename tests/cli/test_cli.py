"""The ``zxpolicy`` command, through click's CliRunner.

Every test names its policy (``--policy`` or $ZXPOLICY_POLICY_DIR) unless it tests how the policy
is found, so that nothing depends on the directory pytest runs in. CliRunner (click 8.2+) keeps
stderr apart: ``result.stdout`` is the decision, ``result.stderr`` the `policy: ...` line and errors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from zxpolicy.cli import main

from ..conftest import POLICIES, REPO

EXAMPLES = REPO / "examples"
AT = "2026-11-27T10:00:00+08:00"
ENV = "ZXPOLICY_POLICY_DIR"
DECISION_KEYS = {"decision_id", "allowed", "reasons", "missing_approvals", "obligations", "policy_version"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


def run(*args: object, input: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def check(*args: object, input: str | None = None) -> Result:
    return run("check", "--policy", POLICIES, *args, input=input)


def decision(result: Result) -> dict[str, Any]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def codes(result: Result) -> list[str]:
    return [r["code"] for r in decision(result)["reasons"]]


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    text = path.read_text(encoding="utf-8")
    assert text.count(needle) == 1
    return text[: text.index(needle)].count("\n") + 1


def _break_grants(policy_dir: Path) -> tuple[str, int]:
    """Make grants.yaml invalid; return the file name and the line of the problem."""
    path = policy_dir / "grants.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("    purposes: [dissent]") == 1
    path.write_text(text.replace("    purposes: [dissent]", "    purposes: dissent"), encoding="utf-8")
    return "grants.yaml", _line_of(path, "purposes: dissent")


# --------------------------------------------------------------------------------------------
# check: the examples


@pytest.mark.parametrize(
    ("example", "code", "allowed"),
    [("query-allowed.json", 0, True), ("query-denied.json", 1, False), ("archive-view.json", 0, True)],
)
def test_examples_exit_0_on_allow_and_1_on_deny(example: str, code: int, allowed: bool) -> None:
    result = check(EXAMPLES / example)
    assert result.exit_code == code, result.output
    assert result.stdout.startswith("允许" if allowed else "拒绝")
    assert f"policy: {POLICIES} (given)" in result.stderr


@pytest.mark.parametrize("example", ["query-allowed.json", "query-denied.json", "archive-view.json"])
def test_json_output_parses(example: str) -> None:
    result = check(EXAMPLES / example, "--json")
    data = decision(result)
    assert set(data) == DECISION_KEYS | {"policy"}  # the decision, and the policy that answered
    assert result.exit_code == (0 if data["allowed"] else 1)
    assert isinstance(data["allowed"], bool)
    assert data["reasons"], "a decision always has reasons"
    for reason in data["reasons"]:
        assert set(reason) == {"code", "rule", "clause", "message", "message_en"}
    assert isinstance(data["missing_approvals"], list)
    assert isinstance(data["obligations"], list)
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", data["policy_version"])
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", data["decision_id"])  # UUIDv7
    # stdout is the JSON alone; the policy line goes to stderr.
    assert "policy:" not in result.stdout


def test_json_output_of_the_examples() -> None:
    allowed = decision(check(EXAMPLES / "query-allowed.json", "--json"))
    assert allowed["allowed"] is True
    assert [r["rule"] for r in allowed["reasons"]] == ["Q-03", "Q-04"]
    assert allowed["obligations"] == ["log_query"]
    assert allowed["missing_approvals"] == []

    denied = decision(check(EXAMPLES / "query-denied.json", "--json"))
    assert denied["allowed"] is False
    assert {r["code"] for r in denied["reasons"]} == {"org_out_of_scope", "consent_purpose_mismatch"}
    assert denied["obligations"] == []

    archive = decision(check(EXAMPLES / "archive-view.json", "--json"))
    assert archive["allowed"] is True
    assert [r["code"] for r in archive["reasons"]] == ["granted"] * 4
    assert archive["missing_approvals"] == [] and archive["obligations"] == []


def test_policy_version_is_the_same_in_text_and_json() -> None:
    data = decision(check(EXAMPLES / "query-allowed.json", "--json"))
    text = check(EXAMPLES / "query-allowed.json")
    assert f"({data['policy_version']})" in text.stdout.splitlines()[0]


def test_lang_en_prints_english_messages() -> None:
    result = check(EXAMPLES / "query-allowed.json", "--lang", "en")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ALLOWED  (sha256:")
    assert "satisfied: the subject must hold a role granted the action (credit query operator)" in result.stdout
    assert "obligations: log the query (who, when, which customer, purpose) (log_query)" in result.stdout
    for line in lines:
        # Only the clauses (in brackets) stay Chinese: they quote the institution's rules.
        assert not CJK.search(re.sub(r"\[[^]]*\]", "", line)), line


def test_lang_zh_is_the_default() -> None:
    result = check(EXAMPLES / "query-allowed.json")
    assert "已满足：须持有被授予该操作的角色（征信查询员）" in result.stdout
    assert "须履行: 记录查询日志（查询人、时间、客户、用途）（log_query）" in result.stdout
    assert "satisfied" not in result.stdout


def test_lang_en_on_a_deny() -> None:
    body = json.loads((EXAMPLES / "archive-view.json").read_text(encoding="utf-8"))
    body["approvals"] = [a for a in body["approvals"] if a["role"] != "risk_control_manager"]
    result = check("-", "--lang", "en", input=json.dumps(body))
    assert result.exit_code == 1
    assert result.stdout.startswith("DENIED")
    assert "  - C-01 clearance_insufficient" in result.stdout
    assert "classified material needs approval: risk control manager" in result.stdout
    assert "missing approvals: risk control manager" in result.stdout
    zh = check("-", input=json.dumps(body))
    assert "尚缺审批: 风险控制部经理" in zh.stdout


def test_the_archive_example_is_allowed_with_its_chain() -> None:
    result = check(EXAMPLES / "archive-view.json", "--json")
    assert result.exit_code == 0, result.stdout
    assert [r["rule"] for r in decision(result)["reasons"]] == ["A-01", "A-01", "A-01", "C-01"]


def test_lang_must_be_zh_or_en() -> None:
    result = check(EXAMPLES / "query-allowed.json", "--lang", "fr")
    assert result.exit_code == 2
    assert "--lang" in result.stderr


# --------------------------------------------------------------------------------------------
# check: by flags


@pytest.fixture
def consent_file(tmp_path: Path) -> Path:
    return write_json(
        tmp_path / "consent.json",
        {"id": "auth-1", "customer_id": "c-1001", "purposes": ["loan_review", "dissent"], "signed_at": "2026-11-01T09:00:00+08:00"},
    )


QUERY_FLAGS = ("--kind", "credit_report", "--level", "ordinary", "--org", "east-1", "--customer", "c-1001", "--at", AT)


def test_check_by_flags_allows(consent_file: Path) -> None:
    result = check(
        "--subject", "u-query-east1", *QUERY_FLAGS, "--purpose", "loan_review", "--consent", consent_file, "--json"
    )
    assert result.exit_code == 0, result.output
    data = decision(result)
    assert data["allowed"] is True
    assert data["obligations"] == ["log_query"]
    assert "`auth-1`" in data["reasons"][1]["message_en"]


def test_check_by_flags_without_consent_denies() -> None:
    result = check("--subject", "u-query-east1", *QUERY_FLAGS, "--purpose", "loan_review", "--json")
    assert result.exit_code == 1
    assert codes(result) == ["consent_missing"]


def test_check_by_flags_with_evidence(consent_file: Path) -> None:
    base = ("--subject", "u-dispute-east1", *QUERY_FLAGS, "--purpose", "dissent", "--consent", consent_file, "--json")
    without = check(*base)
    assert without.exit_code == 1
    assert codes(without) == ["case_missing"]

    with_case = check(*base, "--evidence", "case_id=D-1")
    assert with_case.exit_code == 0, with_case.output
    assert "`case_id`" in decision(with_case)["reasons"][-1]["message_en"]


def test_check_by_flags_with_approvals(tmp_path: Path) -> None:
    def approval(name: str, approver: str, role: str, hour: int) -> Path:
        return write_json(
            tmp_path / f"{name}.json",
            {"approver": approver, "role": role, "at": f"2026-11-26T{hour:02}:00:00+08:00", "resource_id": "archive-77", "action": "view"},
        )

    head = approval("head", "u-head-east1", "department_head", 9)
    risk = approval("risk", "u-riskoff-east", "risk_control_officer", 10)
    manager = approval("manager", "u-riskmgr-hq", "risk_control_manager", 11)
    base = (
        "--subject", "u-dev-east1", "--resource-id", "archive-77", "--kind", "customer_archive", "--level", "confidential",
        "--org", "east-1", "--purpose", "post_loan_monitoring", "--action", "view", "--at", AT, "--json",
    )

    none = check(*base)
    assert none.exit_code == 1
    assert decision(none)["missing_approvals"] == [["department_head"], ["risk_control_officer", "risk_control_manager"], ["risk_control_manager"]]

    two = check(*base, "--approval", head, "--approval", risk)
    assert two.exit_code == 1
    assert decision(two)["missing_approvals"] == [["risk_control_manager"]]

    three = check(*base, "--approval", head, "--approval", risk, "--approval", manager)
    assert three.exit_code == 0, three.output
    assert decision(three)["missing_approvals"] == []


def test_subject_flag_takes_a_json_object(consent_file: Path) -> None:
    subject = json.dumps({"id": "s-1", "roles": ["query_operator"], "org": "east-1"})
    result = check("--subject", subject, *QUERY_FLAGS, "--purpose", "loan_review", "--consent", consent_file, "--json")
    assert result.exit_code == 0, result.output


def test_flags_override_the_request_file() -> None:
    # query-denied: u-query-west1 asks for a report of east-1 for guarantor_check, consent for loan_review.
    denied = check(EXAMPLES / "query-denied.json", "--json")
    assert denied.exit_code == 1
    fixed = check(EXAMPLES / "query-denied.json", "--subject", "u-query-east1", "--purpose", "loan_review", "--json")
    assert fixed.exit_code == 0, fixed.output
    # --org changes only the resource's org: the rest of the file's resource is kept.
    moved = check(EXAMPLES / "query-allowed.json", "--org", "west-1", "--json")
    assert moved.exit_code == 1
    assert codes(moved) == ["org_out_of_scope"]


def test_evidence_flag_needs_key_equals_value() -> None:
    result = check(EXAMPLES / "query-allowed.json", "--evidence", "case_id")
    assert result.exit_code == 2
    assert "--evidence `case_id`: expected KEY=VALUE" in result.stderr


def test_subject_flag_with_bad_json() -> None:
    result = check(EXAMPLES / "query-allowed.json", "--subject", "{not json")
    assert result.exit_code == 2
    assert "--subject:" in result.stderr


def test_consent_flag_with_a_missing_file(tmp_path: Path) -> None:
    result = check(EXAMPLES / "query-allowed.json", "--consent", tmp_path / "nope.json")
    assert result.exit_code == 2
    assert "--consent" in result.stderr
    assert "nope.json" in result.stderr


# --------------------------------------------------------------------------------------------
# check: the request from stdin, and requests that cannot be read


def test_request_from_stdin() -> None:
    text = (EXAMPLES / "query-allowed.json").read_text(encoding="utf-8")
    result = check("-", "--json", input=text)
    assert result.exit_code == 0, result.output
    assert decision(result)["allowed"] is True
    denied = check("-", input=(EXAMPLES / "query-denied.json").read_text(encoding="utf-8"))
    assert denied.exit_code == 1
    assert denied.stdout.startswith("拒绝")


def test_stdin_request_with_flags(consent_file: Path) -> None:
    body = {"subject": "u-query-east1", "resource": {"id": "r-1", "kind": "credit_report", "level": "ordinary", "org": "east-1", "customer_id": "c-1001"}}
    result = check("-", "--purpose", "loan_review", "--consent", consent_file, "--at", AT, input=json.dumps(body))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("text", ["{not json", "", '{"subject": "u-query-east1",}'])
def test_malformed_json_exits_2_with_a_message(text: str) -> None:
    result = check("-", input=text)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "request `-`:" in result.stderr


def test_malformed_json_file_exits_2_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"subject": ', encoding="utf-8")
    result = check(path)
    assert result.exit_code == 2
    assert f"request `{path}`:" in result.stderr


def test_missing_request_file_exits_2(tmp_path: Path) -> None:
    result = check(tmp_path / "missing.json")
    assert result.exit_code == 2
    assert f"request `{tmp_path / 'missing.json'}`: no such file or directory" in result.stderr


@pytest.mark.parametrize("text", ["[]", '"u-query-east1"', "3"])
def test_request_json_must_be_an_object(text: str) -> None:
    result = check("-", input=text)
    assert result.exit_code == 2
    assert "the request JSON must be an object" in result.stderr


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"resource": {"id": "r", "kind": "credit_report", "level": "secret", "org": "east-1"}}, "resource.level"),
        ({"resource": {"id": "r", "kind": "credit_reprt", "level": "ordinary", "org": "east-1"}}, "resource.kind"),
        ({"action": "teleport"}, "action"),
        ({"at": "yesterday"}, "at"),
    ],
    ids=["level", "kind", "action", "at"],
)
def test_a_bad_request_field_is_a_deny_with_invalid_request(change: dict[str, Any], field: str) -> None:
    body = json.loads((EXAMPLES / "query-allowed.json").read_text(encoding="utf-8"))
    body.update(change)
    result = check("-", "--json", input=json.dumps(body))
    assert result.exit_code == 1, result.output
    data = decision(result)
    assert data["allowed"] is False
    assert "invalid_request" in codes(result)
    assert any(f"`{field}`" in r["message_en"] for r in data["reasons"]), data["reasons"]

    text = check("-", "--lang", "en", input=json.dumps(body))
    assert text.exit_code == 1
    assert "invalid_request" in text.stdout
    assert f"`{field}`" in text.stdout


def test_unknown_subject_is_a_deny() -> None:
    body = json.loads((EXAMPLES / "query-allowed.json").read_text(encoding="utf-8"))
    body["subject"] = "u-nobody"
    result = check("-", "--json", input=json.dumps(body))
    assert result.exit_code == 1
    assert codes(result) == ["unknown_subject"]


def test_no_request_at_all_is_a_usage_error() -> None:
    result = check("--json")
    assert result.exit_code == 2
    assert "no request" in result.stderr and "- to read standard input" in result.stderr


def test_an_unknown_field_of_the_request_json_is_a_usage_error() -> None:
    body = json.loads((EXAMPLES / "query-allowed.json").read_text(encoding="utf-8"))
    body["purpse"] = body.pop("purpose")
    result = check("-", input=json.dumps(body))
    assert result.exit_code == 2
    assert "unknown field `purpse`; did you mean `purpose`?" in result.stderr


def test_approval_flags_add_to_the_request_and_take_inline_json() -> None:
    body = json.loads((EXAMPLES / "archive-view.json").read_text(encoding="utf-8"))
    last = body["approvals"].pop()
    result = check("-", "--approval", json.dumps(last), "--json", input=json.dumps(body))
    assert result.exit_code == 0, result.stdout


# --------------------------------------------------------------------------------------------
# check: a policy that does not load


def test_unloadable_policy_exits_2_with_file_and_line(policy_copy: Path) -> None:
    file, line = _break_grants(policy_copy)
    result = run("check", "--policy", policy_copy, EXAMPLES / "query-allowed.json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"policy: {policy_copy} (given)" in result.stderr
    # In the command's language: Chinese by default, English under --lang en.
    assert "策略无法加载：1 个问题" in result.stderr
    assert re.search(rf"^  {re.escape(file)}:{line}:\d+: grants\[1\]\.purposes: 应为列表，实际为文本`dissent`$", result.stderr, re.M), result.stderr
    result = run("check", "--policy", policy_copy, "--lang", "en", EXAMPLES / "query-allowed.json")
    assert result.exit_code == 2
    assert "policy does not load: 1 problem" in result.stderr
    assert re.search(rf"^  {re.escape(file)}:{line}:\d+: grants\[1\]\.purposes: expected a list, got text `dissent`$", result.stderr, re.M), result.stderr


def test_policy_directory_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    result = run("check", "--policy", tmp_path / "nowhere", EXAMPLES / "query-allowed.json")
    assert result.exit_code == 2
    assert f"{tmp_path / 'nowhere'}: 不是目录" in result.stderr
    result = run("check", "--policy", tmp_path / "nowhere", "--lang", "en", EXAMPLES / "query-allowed.json")
    assert result.exit_code == 2
    assert f"{tmp_path / 'nowhere'}: not a directory" in result.stderr


def test_unloadable_policy_from_the_environment(policy_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file, line = _break_grants(policy_copy)
    monkeypatch.setenv(ENV, str(policy_copy))
    result = run("check", EXAMPLES / "query-allowed.json")
    assert result.exit_code == 2
    assert f"policy: {policy_copy} ({ENV})" in result.stderr
    assert f"{file}:{line}:" in result.stderr


# --------------------------------------------------------------------------------------------
# validate


def test_validate_ok() -> None:
    result = run("validate", "--lang", "en", POLICIES)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")
    assert re.search(r"\d+ grants, \d+ approval rules, \d+ purposes, \d+ roles, \d+ orgs, \d+ assignments \(sha256:[0-9a-f]{16}\)", result.stdout)
    assert f"policy: {POLICIES} (given)" in result.stderr


def test_validate_a_broken_copy_lists_file_and_line(policy_copy: Path) -> None:
    file, line = _break_grants(policy_copy)
    result = run("validate", "--lang", "en", policy_copy)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"{file}:{line}:15: grants[1].purposes: expected a list, got text `dissent`"]
    assert result.stderr.splitlines() == [f"policy: {policy_copy} (given)", "1 problem"]


def test_validate_lists_every_problem(policy_copy: Path) -> None:
    path = policy_copy / "approvals.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("      - [risk_control_officer, risk_control_manager]", "      - [risk_control_oficer, risk_control_manager]"), encoding="utf-8")
    assignments = policy_copy / "assignments.yaml"
    assignments.write_text(assignments.read_text(encoding="utf-8").replace("roles: [dispute_handler], ", "roles: [dispute_handlr], "), encoding="utf-8")

    result = run("validate", "--lang", "en", policy_copy)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"approvals.yaml:{_line_of(path, 'risk_control_oficer')}:")
    assert "did you mean `risk_control_officer`?" in lines[0]
    assert lines[1].startswith(f"assignments.yaml:{_line_of(assignments, 'dispute_handlr')}:")
    assert result.stderr.splitlines()[-1] == "2 problems"


def test_validate_speaks_chinese_by_default(policy_copy: Path) -> None:
    result = run("validate", POLICIES)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"有效：授权 \d+ 条，.*用户 \d+ 个（sha256:[0-9a-f]{16}）\n策略：.*（命令行指定），版本 sha256:[0-9a-f]{16}\n", result.stdout)
    file, line = _break_grants(policy_copy)
    result = run("validate", policy_copy)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"{file}:{line}:15: grants[1].purposes: 应为列表，实际为文本`dissent`"]
    assert result.stderr.splitlines()[-1] == "1 个问题"


def test_validate_json(policy_copy: Path) -> None:
    result = run("validate", "--json", POLICIES)
    assert result.exit_code == 0, result.output
    data = decision(result)
    assert data["ok"] is True and data["policy_version"].startswith("sha256:")
    assert data["counts"]["grants"] > 0
    file, line = _break_grants(policy_copy)
    result = run("validate", "--json", policy_copy)
    assert result.exit_code == 1
    data = decision(result)
    assert data["ok"] is False
    assert data["problems"] == [
        {"code": "expected_list", "message": "应为列表，实际为文本`dissent`", "message_en": "expected a list, got text `dissent`",
         "file": file, "line": line, "column": 15, "path": "grants[1].purposes"}
    ]


def test_validate_an_empty_directory(tmp_path: Path) -> None:
    result = run("validate", tmp_path)
    assert result.exit_code == 1
    assert "目录中没有策略文件" in result.stdout
    result = run("validate", "--lang", "en", tmp_path)
    assert result.exit_code == 1
    assert "no policy files" in result.stdout


def test_validate_a_directory_that_does_not_exist(tmp_path: Path) -> None:
    result = run("validate", tmp_path / "nowhere")
    assert result.exit_code == 1
    assert result.stdout == f"{tmp_path / 'nowhere'}: 不是目录\n"
    result = run("validate", "--lang", "en", tmp_path / "nowhere")
    assert result.exit_code == 1
    assert result.stdout == f"{tmp_path / 'nowhere'}: not a directory\n"


# --------------------------------------------------------------------------------------------
# Which policy is used, and the line that says so


def test_policy_given_on_the_command_line() -> None:
    result = run("validate", POLICIES)
    assert result.stderr.splitlines()[0] == f"policy: {POLICIES} (given)"


def test_policy_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV, str(POLICIES))
    for args in (["validate"], ["check", EXAMPLES / "query-allowed.json"]):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines()[0] == f"policy: {POLICIES} ({ENV})"


def test_policy_given_beats_the_environment(monkeypatch: pytest.MonkeyPatch, policy_copy: Path) -> None:
    _break_grants(policy_copy)
    monkeypatch.setenv(ENV, str(policy_copy))
    result = check(EXAMPLES / "query-allowed.json")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == f"policy: {POLICIES} (given)"


def test_policy_from_the_current_directory(monkeypatch: pytest.MonkeyPatch, policy_copy: Path) -> None:
    monkeypatch.chdir(policy_copy.parent)
    for args in (["validate"], ["check", EXAMPLES / "query-allowed.json"]):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines()[0] == "policy: policies (./policies)"


def test_environment_beats_the_current_directory(monkeypatch: pytest.MonkeyPatch, policy_copy: Path) -> None:
    _break_grants(policy_copy)
    monkeypatch.chdir(policy_copy.parent)
    monkeypatch.setenv(ENV, str(POLICIES))
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == f"policy: {POLICIES} ({ENV})"


def test_bundled_policy_when_nothing_else(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("validate")
    assert result.exit_code == 0, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("policy: ") and first.endswith(" (bundled)")
    bundled = Path(first[len("policy: ") : -len(" (bundled)")])
    assert bundled.is_dir()
    assert bundled.name == "policies"


def test_empty_environment_variable_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV, "")
    result = run("validate")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0].endswith(" (bundled)")


# --------------------------------------------------------------------------------------------
# Help


@pytest.mark.parametrize("command", [[], ["check"], ["validate"]], ids=["main", "check", "validate"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_has_an_example(command: list[str], flag: str) -> None:
    result = run(*command, flag)
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert "Usage:" in result.stdout


def test_check_help_lists_every_flag() -> None:
    result = run("check", "--help")
    for flag in ("--policy", "--subject", "--kind", "--level", "--org", "--customer", "--purpose", "--consent", "--evidence", "--approval", "--at", "--lang", "--json"):
        assert flag in result.stdout


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0, repr(result.exception)
    assert "0.1.0" in result.stdout
