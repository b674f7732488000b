"""What a console user may do is decided by the policy, from its `console` section."""

from __future__ import annotations

from pathlib import Path

import pytest

import zxpolicy
from zxpolicy import PolicyError
from zxpolicy.console import RIGHTS, console_rights

from ..conftest import POLICIES


@pytest.fixture(scope="module")
def engine() -> zxpolicy.Engine:
    return zxpolicy.load(POLICIES)


@pytest.mark.parametrize(("user", "granted"), [
    ("u-officer-east", {"view", "propose"}),
    ("u-supervisor-hq", {"view", "review", "propose"}),
    ("u-riskoff-east", {"view", "review"}),
    ("u-riskmgr-hq", {"view", "approve"}),
    ("u-gm-hq", {"view", "approve"}),
    ("u-query-east1", set()),
    ("u-admin-hq", set()),
])
def test_the_bundled_policy_gives_each_role_its_rights(engine: zxpolicy.Engine, user: str, granted: set[str]) -> None:
    rights = console_rights(engine, user)
    assert rights.granted == granted
    assert all(rights.has(r) == (r in granted) for r in RIGHTS)
    for right in set(RIGHTS) - granted:
        assert rights.refusal(right).code == "console_right_missing"


def test_a_refusal_names_the_right_and_the_roles_that_hold_it_in_chinese_and_english(engine: zxpolicy.Engine) -> None:
    rights = console_rights(engine, "u-gm-hq")
    assert (rights.label, rights.roles) == ("总经理", ("general_manager",))
    reason = rights.refusal("review")
    assert "日核查" in reason.message and "客户征信信息主管（credit_info_supervisor）" in reason.message
    assert "风险控制部审核人员（risk_control_officer）" in reason.message
    assert "`review`" in reason.message_en and "credit_info_supervisor" in reason.message_en
    assert reason.clause == engine.document.console.clause  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        rights.refusal("approve")  # granted: nothing to refuse
    with pytest.raises(ValueError):
        rights.refusal("delete")


def test_a_user_not_in_the_assignments_has_no_right(engine: zxpolicy.Engine) -> None:
    rights = console_rights(engine, "someone-else")
    assert rights.granted == frozenset() and rights.roles == ()
    reason = rights.refusal("view")
    assert reason.code == "console_unknown_user" and "someone-else" in reason.message and "someone-else" in reason.message_en


def test_user_admin_with_another_role_has_no_right_until_mended(engine: zxpolicy.Engine, policy_copy: Path) -> None:
    rights = console_rights(engine, "u-conflict-hq")  # user_admin and query_operator
    assert rights.granted == frozenset()
    reason = rights.refusal("view")
    assert (reason.code, reason.rule) == ("role_conflict", "Q-08")
    assert "征信用户管理员（user_admin）" in reason.message
    # user_admin together with a role that does hold console rights: still none
    path = policy_copy / "assignments.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "roles: [user_admin, query_operator]", "roles: [user_admin, general_manager]"), encoding="utf-8")
    mended_badly = zxpolicy.load(policy_copy)
    assert console_rights(mended_badly, "u-conflict-hq").granted == frozenset()
    assert console_rights(mended_badly, "u-conflict-hq").refusal("approve").code == "role_conflict"


def test_without_the_section_every_right_is_refused(policy_copy: Path) -> None:
    (policy_copy / "console.yaml").unlink()
    engine = zxpolicy.load(policy_copy)
    assert engine.document.console is None
    rights = console_rights(engine, "u-gm-hq")
    assert rights.granted == frozenset()
    assert {rights.refusal(r).code for r in RIGHTS} == {"console_not_configured"}


def test_a_change_of_the_section_changes_the_rights(policy_copy: Path) -> None:
    path = policy_copy / "console.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "approve: [risk_control_manager, general_manager]", "approve: [general_manager, query_operator]"), encoding="utf-8")
    engine = zxpolicy.load(policy_copy)
    assert console_rights(engine, "u-query-east1").granted == frozenset({"approve"})
    assert not console_rights(engine, "u-riskmgr-hq").has("approve")
    assert "总经理（general_manager）、征信查询员（query_operator）" in console_rights(engine, "u-riskmgr-hq").refusal("approve").message


def test_an_unknown_role_is_a_policy_problem_at_its_line_with_a_hint(policy_copy: Path) -> None:
    path = policy_copy / "console.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("review: [credit_info_supervisor,", "review: [credit_info_supervisr,"), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        zxpolicy.load(policy_copy)
    (problem,) = err.value.problems
    line = next(i for i, s in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "credit_info_supervisr" in s)
    assert (problem.code, problem.file, problem.line, problem.path) == ("unknown_role", "console.yaml", line, "console.rights.review[0]")
    assert "did you mean `credit_info_supervisor`" in problem.message_en
    assert "客户征信信息主管（credit_info_supervisor）" in problem.message


def test_an_unknown_right_is_an_unknown_key(policy_copy: Path) -> None:
    path = policy_copy / "console.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    propose:", "    proposse:"), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        zxpolicy.load(policy_copy)
    (problem,) = err.value.problems
    assert (problem.code, problem.file, problem.path) == ("unknown_key", "console.yaml", "console.rights.proposse")
    assert "propose" in problem.message_en
