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


def without_conflict(policy: Path) -> Path:
    """The copy without the demo user who holds user_admin with another role."""
    edit(policy, "assignments.yaml", CONFLICT, "")
    return policy


def only(warnings: list[LintWarning]) -> LintWarning:
    assert len(warnings) == 1, warnings
    return warnings[0]


def run(*args: object) -> Result:
    return CliRunner().invoke(main, ["lint", *(str(a) for a in args)])


def test_the_shipped_policy_warns_only_of_its_conflict_demo_user() -> None:
    w = only(lint_directory(POLICIES))
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
    w = only(lint_directory(without_conflict(policy_copy)))
    assert (w.code, w.file, w.path) == ("step_role_unassigned", "approvals.yaml", "approvals[0].steps[0]")
    assert w.line == line_of(policy_copy, "approvals.yaml", "{roles: [department_head], approver_org: same}")


def test_approver_fills_two_steps(policy_copy: Path) -> None:
    append(without_conflict(policy_copy), "assignments.yaml",
           "  - {id: u-double-hq, roles: [credit_info_supervisor, risk_control_manager], org: hq}\n")
    w = only(lint_directory(policy_copy))
    assert (w.code, w.file, w.path) == ("approver_fills_two_steps", "assignments.yaml", "assignments[13].roles")
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
    result = run(POLICIES)
    assert result.exit_code == 0
    assert re.match(r"assignments\.yaml:\d+:\d+: assignments\[13\]\.roles: separation_violated: `u-conflict-hq`兼任", result.stdout)
    assert "1 条警告" in result.stderr
    strict = run("--strict", "--lang", "en", POLICIES)
    assert strict.exit_code == 1
    assert "holds `user_admin` with `query_operator`" in strict.stdout and "1 warning" in strict.stderr


def test_lint_strict_on_a_clean_policy_exits_0(policy_copy: Path) -> None:
    result = run("--strict", without_conflict(policy_copy))
    assert result.exit_code == 0 and result.stdout == ""


def test_lint_json(policy_copy: Path) -> None:
    result = run("--json", POLICIES)
    assert result.exit_code == 0
    (warning,) = json.loads(result.stdout)
    assert set(warning) == {"code", "message", "message_en", "file", "line", "column", "path"}
    assert warning["code"] == "separation_violated"


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
    w = only(lint_directory(policy_copy))
    assert (w.code, w.path) == ("separation_violated", "assignments[13].roles")
    edit(policy_copy, "assignments.yaml", "roles: [user_admin, query_operator]", "roles: [user_admin]")
    assert lint_directory(policy_copy) == []
