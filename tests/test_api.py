"""The public surface: what `import zxpolicy` offers, and editing the policy without code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import zxpolicy
from zxpolicy import Approval, Consent, Decision, Reason, Resource, Subject
from zxpolicy._bundled import bundled_root

from .conftest import AT, POLICIES, REPO, consent, report


def test_public_names_are_pinned() -> None:
    assert sorted(zxpolicy.__all__) == [
        "Approval",
        "Consent",
        "ConsoleError",
        "Decision",
        "DiffError",
        "Engine",
        "Explanation",
        "LivePolicy",
        "LogError",
        "PolicyError",
        "PolicyProblem",
        "Reason",
        "Resource",
        "RevisionError",
        "ServeError",
        "SpaceTooLarge",
        "Stage",
        "StoreError",
        "Subject",
        "SuiteError",
        "ZxpolicyError",
        "check",
        "load",
        "watch",
    ]
    for name in zxpolicy.__all__:
        assert getattr(zxpolicy, name) is not None


def test_compliance_names_are_pinned() -> None:
    from zxpolicy import compliance

    assert sorted(compliance.__all__) == [
        "ALLOW",
        "Able",
        "Blocked",
        "CHANGED",
        "CaseResult",
        "Change",
        "Coverage",
        "DENY",
        "Diff",
        "DiffError",
        "Item",
        "KINDS",
        "LINT_CODES",
        "LintWarning",
        "MARKS",
        "MAX_CLASSES",
        "Mismatch",
        "NARROWED",
        "Needs",
        "OUTCOMES",
        "Permission",
        "PersonChange",
        "RevisionError",
        "RoleAnswer",
        "STAGE_NAMES",
        "SpaceTooLarge",
        "Suite",
        "SuiteCase",
        "SuiteError",
        "SuiteReport",
        "SuiteRequest",
        "UnknownWord",
        "WIDENED",
        "WhatCan",
        "WhoCan",
        "diff_policies",
        "diff_to_json",
        "export_revision",
        "failure_lines",
        "junit_xml",
        "lint",
        "lint_directory",
        "load_suites",
        "measure",
        "needs",
        "render_markdown",
        "run_suites",
        "run_tests",
        "still_needed",
        "suite_files",
        "suite_schema",
        "target_label",
        "what_can",
        "who_can",
    ]
    for name in compliance.__all__:
        assert getattr(compliance, name) is not None


def test_every_error_a_caller_can_catch_is_exported_and_drawn_in_the_tree() -> None:
    from zxpolicy import _errors

    errors = {name for name, value in vars(_errors).items() if isinstance(value, type) and issubclass(value, Exception)}
    public = {name for name in errors if not name.startswith("_")}
    assert public <= set(zxpolicy.__all__)
    assert public == set(_errors.__all__) - {"PolicyProblem"}
    for name in public:
        assert issubclass(getattr(zxpolicy, name), zxpolicy.ZxpolicyError)
        assert name in (_errors.__doc__ or ""), f"{name} is not drawn in the tree of zxpolicy/_errors.py"


def test_default_check_uses_the_bundled_policy() -> None:
    d = zxpolicy.check("u-query-east1", report(), "loan_review", consent=consent(), at=AT)
    assert isinstance(d, Decision) and d.allowed
    assert d.obligations == ("log_query",)
    assert all(isinstance(r, Reason) for r in d.reasons)


def test_bundled_policy_is_the_checkout_policy() -> None:
    # An installed wheel carries a copy; it must be the policy of this source tree.
    bundled = bundled_root()
    for path in sorted(POLICIES.glob("*.yaml")):
        assert (bundled / "policies" / path.name).read_bytes() == path.read_bytes(), path.name
    assert (bundled / "model.conf").read_bytes() == (REPO / "model.conf").read_bytes()


def test_load_from_environment(monkeypatch: pytest.MonkeyPatch, policy_copy: Path) -> None:
    (policy_copy / "rules.yaml").write_text(
        (policy_copy / "rules.yaml").read_text(encoding="utf-8").replace("password_max_age_days: 30", "password_max_age_days: 7"),
        encoding="utf-8",
    )
    monkeypatch.setenv("ZXPOLICY_POLICY_DIR", str(policy_copy))
    engine = zxpolicy.load()
    assert engine.policy_dir == policy_copy
    assert engine.policy_version != zxpolicy.load(POLICIES).policy_version


def test_decision_to_dict_is_json_safe(engine: zxpolicy.Engine) -> None:
    d = engine.check("u-dev-east1", Resource("a", "customer_archive", "top_secret", "east-1"), "loan_review", action="view", at=AT)
    data = json.loads(json.dumps(d.to_dict(), ensure_ascii=False))
    assert data["allowed"] is False
    assert data["missing_approvals"] == [
        ["department_head"],
        ["risk_control_officer", "risk_control_manager"],
        ["risk_control_manager"],
        ["general_manager"],
    ]
    assert {"code", "rule", "clause", "message", "message_en"} <= set(data["reasons"][0])


def test_dicts_are_accepted_like_the_types(engine: zxpolicy.Engine) -> None:
    typed = engine.check(
        Subject("s", ["query_operator"], "east-1"), report(), "loan_review", consent=consent(), at=AT
    )
    plain = engine.check(
        {"id": "s", "roles": ["query_operator"], "org": "east-1"},
        {"id": "rep-1", "kind": "credit_report", "level": "ordinary", "org": "east-1", "customer_id": "c-1"},
        "loan_review",
        consent={"customer_id": "c-1", "purposes": ["loan_review"], "signed_at": "2026-11-17T10:00:00+08:00"},
        at="2026-11-27T10:00:00+08:00",
    )
    assert typed == plain and typed.allowed


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _readme_blocks(language: str) -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_the_readme_api_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(_readme_blocks("python")[0], "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "True ('log_query',)"
    assert out[3] == "False (('risk_control_manager',),)"


def test_adding_a_purpose_as_the_readme_says_is_a_policy_edit(policy_copy: Path) -> None:
    purpose, grant = _readme_blocks("yaml")[:2]
    request = dict(subject="u-query-east1", resource=report(), purpose="related_party_check")
    with_consent = dict(consent=consent(purposes=("related_party_check",)), at=AT)
    before = zxpolicy.load(policy_copy).check(**request, **with_consent)  # type: ignore[arg-type]
    assert not before.allowed and before.codes == ("purpose_not_permitted",)

    for name, block in (("purposes.yaml", purpose), ("grants.yaml", grant)):
        with (policy_copy / name).open("a", encoding="utf-8") as f:
            f.write("\n" + block)
    engine = zxpolicy.load(policy_copy)
    after = engine.check(**request, **with_consent)  # type: ignore[arg-type]
    assert after.allowed, after.reasons
    assert [(r.rule, r.clause) for r in after.reasons][0] == ("Q-03", "细则 第十七条(三)")
    assert after.obligations == ("log_query",)
    # The purpose is still bound by the customer's consent, and only for the granted role.
    assert engine.check(**request, at=AT).codes == ("consent_missing",)  # type: ignore[arg-type]
    assert engine.check("u-dispute-east1", report(), "related_party_check", **with_consent).codes == (  # type: ignore[arg-type]
        "role_not_permitted",
    )


def test_changing_a_chain_is_a_policy_edit(policy_copy: Path) -> None:
    copy = dict(action="copy", at=AT, approvals=[Approval("u-gm-hq", "general_manager", AT, "rep-1", "copy")])
    officer = Subject("o", ["credit_info_officer"], "east-1")
    assert zxpolicy.load(policy_copy).check(officer, report(), "loan_review", **copy).allowed  # type: ignore[arg-type]
    _edit(
        policy_copy / "approvals.yaml",
        "[general_manager, credit_info_supervisor, risk_control_manager]",
        "[credit_info_supervisor, risk_control_manager]",
    )
    d = zxpolicy.load(policy_copy).check(officer, report(), "loan_review", **copy)  # type: ignore[arg-type]
    assert not d.allowed and d.missing_approvals == (("credit_info_supervisor", "risk_control_manager"),)


def test_changing_the_password_age_is_a_policy_edit(policy_copy: Path) -> None:
    from datetime import timedelta

    who = Subject("q", ["query_operator"], "east-1", password_changed_at=AT - timedelta(days=10))
    args = dict(consent=consent(), at=AT)
    assert zxpolicy.load(policy_copy).check(who, report(), "loan_review", **args).allowed  # type: ignore[arg-type]
    _edit(policy_copy / "rules.yaml", "password_max_age_days: 30", "password_max_age_days: 7")
    d = zxpolicy.load(policy_copy).check(who, report(), "loan_review", **args)  # type: ignore[arg-type]
    assert d.codes == ("password_expired",)


def test_reload_builds_a_new_engine(policy_copy: Path) -> None:
    first = zxpolicy.load(policy_copy)
    _edit(policy_copy / "grants.yaml", "roles: [dispute_handler]", "roles: [dispute_handler, query_operator]")
    second = zxpolicy.load(policy_copy)
    args = dict(consent=consent(purposes=("dissent",)), evidence={"case_id": "D-1"}, at=AT)
    assert not first.check("u-query-east1", report(), "dissent", **args).allowed  # type: ignore[arg-type]
    assert second.check("u-query-east1", report(), "dissent", **args).allowed  # type: ignore[arg-type]
    assert first.policy_version != second.policy_version


def test_consent_type_fields() -> None:
    c = Consent("c", ["loan_review"], AT)
    assert c.expires_at is None and c.revoked is False and c.id is None


def test_an_unreadable_field_is_explained_in_both_languages(engine: zxpolicy.Engine) -> None:
    d = engine.check("u-query-east1", report(level="普通"), "loan_review", consent=consent(), at=AT)
    (reason,) = d.reasons
    assert (reason.code, reason.rule) == ("invalid_request", "C-03")
    assert reason.message == "请求无法识别：`resource.level`：未知密级`普通`；是否应为`ordinary`？"
    assert reason.message_en == "the request cannot be read: `resource.level`: unknown level `普通`; did you mean `ordinary`?"


def test_a_role_the_policy_does_not_know_is_named_on_a_deny(engine: zxpolicy.Engine) -> None:
    who = Subject("q", ["query_operatr"], "east-1")
    d = engine.check(who, report(), "loan_review", consent=consent(), at=AT)
    assert d.codes == ("role_not_permitted",)
    assert "roles not in the policy: `query_operatr`" in d.reasons[0].message_en


LOAN_CONTRACT = """
  - {id: loan_contract, zh: 借款合同, en: loan contract, credit_information: true}
"""


def test_a_new_kind_of_credit_information_is_barred_to_user_admin(policy_copy: Path) -> None:
    # Q-08 follows the `credit_information` mark, not a list of kinds to keep in step.
    _edit(policy_copy / "vocabulary.yaml", "\nactions:", LOAN_CONTRACT + "\nactions:")
    _edit(policy_copy / "purposes.yaml", "kinds: [credit_report, customer_archive, statistics_report]\n    consent: true",
          "kinds: [credit_report, customer_archive, statistics_report, loan_contract]\n    consent: true")
    with (policy_copy / "grants.yaml").open("a", encoding="utf-8") as f:
        f.write("\n  - {rule: Q-03, roles: [user_admin, query_operator], actions: [view], kinds: [loan_contract], purposes: [loan_review]}\n")
    engine = zxpolicy.load(policy_copy)
    contract = Resource("lc-1", "loan_contract", "ordinary", "hq")
    admin = engine.check("u-admin-hq", contract, "loan_review", action="view", at=AT)
    assert ("role_conflict", "Q-08") in [(r.code, r.rule) for r in admin.reasons]
    assert not admin.allowed
    operator = engine.check(Subject("q", ["query_operator"], "hq"), contract, "loan_review", action="view", at=AT)
    assert operator.allowed, operator.reasons
