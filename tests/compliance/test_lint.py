"""``lint``: one edited copy of the default policy per warning code, and the clean case."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner, Result

from zxpolicy.cli import main
from zxpolicy.compliance import LintWarning, lint_directory

from ..conftest import POLICIES

CONFLICT = "  - {id: u-conflict-hq,   roles: [user_admin, query_operator], org: hq, zh: 角色冲突示例（应修正）}\n"


def edit(policy: Path, file: str, old: str, new: str) -> None:
    path = policy / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(policy: Path, file: str, text: str) -> None:
    with (policy / file).open("a", encoding="utf-8") as f:
        f.write(text)


def line_of(policy: Path, file: str, needle: str) -> int:
    text = (policy / file).read_text(encoding="utf-8")
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


# A second credit information supervisor, risk control manager and general manager: with them,
# every requirement of the policy has distinct approvers (the shipped assignments have one of each,
# and so cannot fill a request needing two of one role: `approval_unfillable`).
SECOND_APPROVERS = (
    "  - {id: u-supervisor2-hq, roles: [credit_info_supervisor], org: hq}\n"
    "  - {id: u-riskmgr2-hq, roles: [risk_control_manager], org: hq}\n"
    "  - {id: u-gm2-hq, roles: [general_manager], org: hq}\n"
)


def without_conflict(policy: Path) -> Path:
    """The copy without the demo user who holds user_admin with another role, and with the
    second approvers that leave no requirement unfillable."""
    edit(policy, "assignments.yaml", CONFLICT, SECOND_APPROVERS)
    return policy


def only(warnings: list[LintWarning]) -> LintWarning:
    assert len(warnings) == 1, warnings
    return warnings[0]


def run(*args: object) -> Result:
    return CliRunner().invoke(main, ["lint", *(str(a) for a in args)])


def test_the_shipped_policy_warns_of_its_conflict_demo_user_and_its_unfillable_requirements() -> None:
    found = lint_directory(POLICIES)
    w = found[0]
    assert {x.code for x in found[1:]} == {"approval_unfillable"}
    # One supervisor, one risk control manager, one general manager: a request needing one role
    # twice (A-03's step and the confidential step, both risk_control_manager) can never be approved.
    assert {x.path for x in found[1:]} == {f"grants[{i}]" for i in (3, 4, 5, 6, 7)}
    assert (w.code, w.file, w.path) == ("separation_violated", "assignments.yaml", "assignments[13].roles")
    assert w.line == line_of(POLICIES, "assignments.yaml", "{id: u-conflict-hq")
    assert "`u-conflict-hq`" in w.message and "query_operator" in w.message_en


def test_clean_policy(policy_copy: Path) -> None:
    assert lint_directory(without_conflict(policy_copy)) == []


def test_role_granted_nothing(policy_copy: Path) -> None:
    edit(without_conflict(policy_copy), "grants.yaml", "      - data_entry_operator\n", "")
    w = only(lint_directory(policy_copy))
    assert (w.code, w.file, w.path, w.column) == ("role_granted_nothing", "vocabulary.yaml", "roles[9]", 5)
    assert w.line == line_of(policy_copy, "vocabulary.yaml", "{id: data_entry_operator")
    assert "`data_entry_operator`" in w.message_en and "only approves" not in w.message_en


def test_role_granted_nothing_that_approves_says_so(policy_copy: Path) -> None:
    edit(without_conflict(policy_copy), "grants.yaml", "      - department_head\n", "")
    w = only(lint_directory(policy_copy))
    assert w.code == "role_granted_nothing" and "only approves" in w.message_en and "只用于审批" in w.message


def test_purpose_unusable(policy_copy: Path) -> None:
    append(without_conflict(policy_copy), "purposes.yaml",
           "\n  - id: related_party_check\n    rule: Q-02\n    zh: 审核关联人资信\n    en: related party check\n"
           "    kinds: [credit_report]\n    consent: true\n")
    w = only(lint_directory(policy_copy))
    assert (w.code, w.file, w.path) == ("purpose_unusable", "purposes.yaml", "purposes[6]")
    assert w.line == line_of(policy_copy, "purposes.yaml", "id: related_party_check")


def test_step_role_unassigned(policy_copy: Path) -> None:
    for org in ("east-1", "east,  "):
        text = (policy_copy / "assignments.yaml").read_text(encoding="utf-8")
        line = next(x for x in text.splitlines(keepends=True) if "[department_head]" in x and f"org: {org}" in x)
        edit(policy_copy, "assignments.yaml", line, "")
    w, unfillable = lint_directory(without_conflict(policy_copy))
    assert (w.code, w.file, w.path) == ("step_role_unassigned", "approvals.yaml", "approvals[0].steps[0]")
    assert (unfillable.code, unfillable.path) == ("approval_unfillable", "grants[2]")  # A-01 now needs someone absent
    assert "`approvals[0].steps[0]`" in unfillable.message_en and "no one in the assignments may fill it" in unfillable.message_en
    assert w.line == line_of(policy_copy, "approvals.yaml", "{roles: [department_head], approver_org: same}")


def test_approver_fills_two_steps(policy_copy: Path) -> None:
    append(without_conflict(policy_copy), "assignments.yaml",
           "  - {id: u-double-hq, roles: [credit_info_supervisor, risk_control_manager], org: hq}\n")
    w = only(lint_directory(policy_copy))
    assert (w.code, w.file, w.path) == ("approver_fills_two_steps", "assignments.yaml", "assignments[16].roles")
    assert w.line == line_of(policy_copy, "assignments.yaml", "u-double-hq")
    assert "approvals[2].steps[0], approvals[2].steps[1]" in w.message_en  # A-03's two steps


def test_id_shared_by_people(policy_copy: Path) -> None:
    edit(without_conflict(policy_copy), "assignments.yaml", "org: east-1, zh: 东区一社查询员}",
         "org: east-1, zh: 东区一社查询员, person: [E-1001, E-1002]}")
    (first,) = lint_directory(policy_copy)
    assert (first.code, first.path) == ("id_shared_by_people", "assignments[0].person")
    assert first.line == line_of(policy_copy, "assignments.yaml", "E-1001")
    assert "shared by 2 people" in first.message_en
    # An id alike but for case (`U-Query-East1`) no longer loads: tests/policy/test_confusable_ids.py


def test_person_with_two_ids(policy_copy: Path) -> None:
    edit(without_conflict(policy_copy), "assignments.yaml", "zh: 东区一社查询员}", "zh: 东区一社查询员, person: '110101'}")
    edit(policy_copy, "assignments.yaml", "zh: 东区一社异议处理员}", "zh: 东区一社异议处理员, person: '110101'}")
    w = only(lint_directory(policy_copy))
    assert (w.code, w.file, w.path) == ("person_with_two_ids", "assignments.yaml", "assignments[1].person")
    assert w.line == line_of(policy_copy, "assignments.yaml", "u-dispute-east1")
    assert "`u-query-east1`" in w.message_en and "`u-dispute-east1`" in w.message_en


def test_grant_shadowed(policy_copy: Path) -> None:
    append(without_conflict(policy_copy), "grants.yaml",
           "\n  - rule: Q-03\n    roles: [query_operator]\n    actions: [query]\n    kinds: [credit_report]\n"
           "    purposes: [loan_review, dissent]\n")
    edit(policy_copy, "grants.yaml", "    roles: [dispute_handler]\n", "    roles: [dispute_handler, query_operator]\n")
    w = only(lint_directory(policy_copy))
    assert (w.code, w.file, w.path) == ("grant_shadowed", "grants.yaml", "grants[10]")
    assert w.line == len((policy_copy / "grants.yaml").read_text(encoding="utf-8").splitlines()) - 4
    assert "grants[0], grants[1]" in w.message_en


# --------------------------------------------------------------------------------------------
# the command


def test_lint_exits_0_with_warnings_and_1_when_strict() -> None:
    n = len(lint_directory(POLICIES))
    result = run(POLICIES)
    assert result.exit_code == 0
    assert re.match(r"assignments\.yaml:\d+:\d+: assignments\[13\]\.roles: separation_violated: `u-conflict-hq`兼任", result.stdout)
    assert f"{n} 条警告" in result.stderr
    strict = run("--strict", "--lang", "en", POLICIES)
    assert strict.exit_code == 1
    assert "holds `user_admin` with `query_operator`" in strict.stdout and f"{n} warnings" in strict.stderr


def test_lint_strict_on_a_clean_policy_exits_0(policy_copy: Path) -> None:
    result = run("--strict", without_conflict(policy_copy))
    # Nothing but the line naming the policy that was linted.
    assert result.exit_code == 0 and result.stdout.startswith("策略：") and len(result.stdout.splitlines()) == 1


def test_lint_json(policy_copy: Path) -> None:
    result = run("--json", POLICIES)
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert set(shown) == {"warnings", "policy"}
    warning, *others = shown["warnings"]
    assert set(warning) == {"code", "message", "message_en", "file", "line", "column", "path"}
    assert warning["code"] == "separation_violated" and {w["code"] for w in others} == {"approval_unfillable"}


def test_lint_a_policy_that_does_not_load_exits_2(policy_copy: Path) -> None:
    (policy_copy / "grants.yaml").write_text("grants: 3\n", encoding="utf-8")
    result = run("--strict", policy_copy)
    assert result.exit_code == 2 and "grants.yaml:1:" in result.stderr


def test_lint_help_has_an_example() -> None:
    result = run("--help")
    assert result.exit_code == 0 and re.search(r"Example:\n\s+zxpolicy lint ", result.stdout)


def test_separation_of_a_role_barred_from_credit_information(policy_copy: Path) -> None:
    # Not exclusive, but barred from credit information: held with a role granted a credit kind.
    edit(policy_copy, "rules.yaml", "    exclusive: true ", "    exclusive: false")
    edit(policy_copy, "assignments.yaml", "  - {id: u-admin-hq", SECOND_APPROVERS + "  - {id: u-admin-hq")
    w = only(lint_directory(policy_copy))
    assert (w.code, w.path) == ("separation_violated", "assignments[16].roles")
    edit(policy_copy, "assignments.yaml", "roles: [user_admin, query_operator]", "roles: [user_admin]")
    assert lint_directory(policy_copy) == []


# --------------------------------------------------------------------------------------------
# what can never happen: requirements no distinct approvers can fill, grants that never apply

THIRD_TOP_SECRET = ("      - [general_manager]\n  exemptions", "      - [general_manager]\n      - [credit_info_supervisor]\n  exemptions")
USER_ADMIN_PRINT = ("\n  - rule: Q-03\n    roles: [user_admin]\n    actions: [print]\n    kinds: [credit_report]\n"
                    "    purposes: [loan_review]\n")


def test_a_step_no_distinct_approvers_can_fill(policy_copy: Path) -> None:
    edit(without_conflict(policy_copy), "classification.yaml", *THIRD_TOP_SECRET)
    # With the second supervisor the legal + top_secret query has its two supervisors (a legal
    # provide_external needs three: grants[4] is still reported).
    assert [w.path for w in lint_directory(policy_copy)] == ["grants[4]"]
    edit(policy_copy, "assignments.yaml", "  - {id: u-supervisor2-hq, roles: [credit_info_supervisor], org: hq}\n", "")
    found = [w for w in lint_directory(policy_copy) if w.path == "grants[0]"]
    w = only(found)
    assert (w.code, w.file, w.line) == ("approval_unfillable", "grants.yaml", line_of(policy_copy, "grants.yaml", "细则 第十七条(一)(二)(四)(六)") - 1)
    for text in ("`classification.steps.top_secret[2]`", "`purposes[4].approvals.steps[0]`", "(legal)", "(top_secret)",
                 "`u-supervisor-hq`", "2 different approvers"):
        assert text in w.message_en, text
    assert "法律规定可以查询的其他情况（legal）" in w.message and "绝密（top_secret）" in w.message
    assert "loan_review" not in w.message_en  # only the legal purpose has the second supervisor step
    # Independently: check denies every such request with the assignments' approvers, and the
    # same request with two supervisors is allowed once a second one is assigned.
    from datetime import timedelta

    import zxpolicy
    from zxpolicy import Approval, Resource

    from ..conftest import AT

    engine = zxpolicy.load(policy_copy)
    resource = Resource("r-1", "credit_report", "top_secret", "east-1", customer_id="c-1")
    approvals = [Approval(u, r, AT - timedelta(hours=1), "r-1", "query")
                 for u, r in (("u-supervisor-hq", "credit_info_supervisor"), ("u-riskmgr-hq", "risk_control_manager"),
                              ("u-gm-hq", "general_manager"))]
    d = engine.check("u-query-east1", resource, "legal", approvals=approvals, evidence={"legal_basis": "x"}, at=AT)
    assert not d.allowed and d.missing_approvals == (("credit_info_supervisor",),)


def test_two_ids_of_one_person_are_one_approver(policy_copy: Path) -> None:
    edit(without_conflict(policy_copy), "classification.yaml", *THIRD_TOP_SECRET)
    assert all(w.path != "grants[0]" for w in lint_directory(policy_copy))
    # The two supervisors are one person under two ids: one approver, so the steps cannot be filled.
    edit(policy_copy, "assignments.yaml", "{id: u-supervisor2-hq, roles: [credit_info_supervisor], org: hq}",
         "{id: u-supervisor2-hq, roles: [credit_info_supervisor], org: hq, person: P-7}")
    edit(policy_copy, "assignments.yaml", "org: hq,     zh: 征信信息主管}", "org: hq,     zh: 征信信息主管, person: P-7}")
    codes = {(w.code, w.path) for w in lint_directory(policy_copy)}
    assert ("approval_unfillable", "grants[0]") in codes and ("person_with_two_ids", "assignments[13].person") in codes


def test_a_conditional_step_is_checked_with_its_condition(policy_copy: Path) -> None:
    # A-07's supervisor step applies only when reset_reason is special_case.
    edit(without_conflict(policy_copy), "assignments.yaml", "  - {id: u-supervisor2-hq, roles: [credit_info_supervisor], org: hq}\n", "")
    edit(policy_copy, "assignments.yaml", "  - {id: u-supervisor-hq, roles: [credit_info_supervisor], org: hq,     zh: 征信信息主管}\n", "")
    found = {w.path: w for w in lint_directory(policy_copy) if w.code == "approval_unfillable"}
    w = found["grants[8]"]
    assert "(when evidence reset_reason = special_case)" in w.message_en and "`approvals[6].steps[0]`" in w.message_en
    assert "（当证据reset_reason = special_case时）" in w.message


def test_a_grant_barred_by_separation_never_applies(policy_copy: Path) -> None:
    append(without_conflict(policy_copy), "grants.yaml", USER_ADMIN_PRINT)
    w = only(lint_directory(policy_copy))
    assert (w.code, w.file, w.path) == ("grant_never_applies", "grants.yaml", "grants[10]")
    assert w.line == len((policy_copy / "grants.yaml").read_text(encoding="utf-8").splitlines()) - 4
    assert "this grant never applies" in w.message_en and "Q-08" in w.message_en and "(user_admin)" in w.message_en
    assert "此授权永不适用" in w.message and "征信用户管理员（user_admin）" in w.message


def test_a_grant_partly_barred_and_an_exclusive_role_alone_still_applies(policy_copy: Path) -> None:
    # user_admin with another role: only user_admin's part never applies.
    append(without_conflict(policy_copy), "grants.yaml", USER_ADMIN_PRINT.replace("[user_admin]", "[user_admin, dispute_handler]"))
    codes = [(w.code, "this part" in w.message_en) for w in lint_directory(policy_copy) if w.path == "grants[10]"]
    assert codes == [("grant_never_applies", True)]
    # exclusive alone is no bar: the shipped user_admin grants (user_account) are not reported
    assert all(w.path not in ("grants[8]", "grants[9]") for w in lint_directory(policy_copy))


def test_a_grant_whose_roles_no_one_holds(policy_copy: Path) -> None:
    append(without_conflict(policy_copy), "grants.yaml", USER_ADMIN_PRINT.replace("[user_admin]", "[data_entry_operator]"))
    w = only(lint_directory(policy_copy))
    assert (w.code, w.path) == ("grant_never_applies", "grants[10]") and "no one holds" in w.message_en
