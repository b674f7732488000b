"""The default policy against RULES.md, rule by rule.

Every rule id of RULES.md (Q-01..Q-11, A-01..A-08, C-01..C-03, R-01) has at least one allowed
and one denied case here. A deny is checked by its exact (reason code, rule id); an allow by the
rule ids of its `granted` reasons and by its obligations.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from zxpolicy import Approval, Resource, Subject

from ..conftest import AT, approval, archive, consent, report, subject

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

# Approvers the policy's assignments do not list, passed as Subjects: a second risk control
# manager and a second general manager, for steps that need approvers other than the chain's.
RM2 = Subject("u-riskmgr2-hq", ("risk_control_manager",), "hq")
GM2 = Subject("u-gm2-hq", ("general_manager",), "hq")

ANY_OF_A02 = ("general_manager", "credit_info_supervisor", "risk_control_manager")
A01_STEPS = (("department_head",), ("risk_control_officer", "risk_control_manager"))


# -- helpers ----------------------------------------------------------------------------------


def pairs(d):
    return [(r.code, r.rule) for r in d.reasons]


def assert_denied(d, code, rule):
    assert not d.allowed, pairs(d)
    assert (code, rule) in pairs(d), pairs(d)


def assert_granted(d, first, *others, obligations=()):
    """Allowed; the first reason is the grant `first`; the granted rule ids are exactly these."""
    assert d.allowed, pairs(d)
    assert all(r.code == "granted" for r in d.reasons), pairs(d)
    assert d.reasons[0].rule == first, pairs(d)
    assert sorted(r.rule for r in d.reasons) == sorted((first, *others)), pairs(d)
    assert d.missing_approvals == ()
    assert d.obligations == obligations


def a01(rid="arc-1", action="view", head="u-head-east1", reviewer="u-riskoff-east",
        reviewer_role="risk_control_officer", head_hours=2.0, reviewer_hours=1.0):
    """The A-01 chain, in order: the department head, then the risk control reviewer."""
    return [
        approval(head, "department_head", rid, action, head_hours),
        approval(reviewer, reviewer_role, rid, action, reviewer_hours),
    ]


def stats(level="ordinary", org="east-1", rid="st-1"):
    return Resource(rid, "statistics_report", level, org)


def account(org="east-1", rid="acct-1"):
    return Resource(rid, "user_account", "ordinary", org)


# -- Q-01 deny by default ---------------------------------------------------------------------


def test_q01_a_request_some_rule_permits_is_allowed(engine):
    d = engine.check("u-query-east1", report(), "loan_review", consent=consent(), at=AT)
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


@pytest.mark.parametrize(
    "sub, res, action",
    [
        ("u-query-east1", archive(), "query"),  # no role may query an archive
        ("u-officer-east", report(), "provide_internal"),  # A-04 is for archives and statistics only
        ("u-officer-east", archive(), "modify"),  # A-05 is for credit reports only
    ],
)
def test_q01_what_no_rule_permits_is_denied(engine, sub, res, action):
    d = engine.check(sub, res, "loan_review", action=action, consent=consent(), at=AT)
    assert_denied(d, "no_rule_permits", "Q-01")


# -- Q-02 purpose -----------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["loan_review", "guarantor_check", "post_loan_monitoring"])
def test_q02_a_credit_purpose_on_credit_information_is_allowed(engine, purpose):
    d = engine.check("u-query-east1", report(), purpose, consent=consent(purposes=(purpose,)), at=AT)
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


@pytest.mark.parametrize("purpose", ["marketing", "related_party_check", "account_management"])
def test_q02_a_purpose_not_in_the_policy_for_credit_information_is_denied(engine, purpose):
    d = engine.check("u-query-east1", report(), purpose, consent=consent(purposes=(purpose,)), at=AT)
    assert_denied(d, "purpose_not_permitted", "Q-02")


def test_q02_a_credit_purpose_on_a_user_account_is_denied(engine):
    d = engine.check("u-admin-hq", account(), "loan_review", action="suspend_user", at=AT)
    assert_denied(d, "purpose_not_permitted", "Q-02")


def test_q02_purpose_rules_apply_to_every_action_on_credit_information(engine):
    d = engine.check(
        "u-officer-east", archive(), "account_management", action="copy",
        approvals=[approval("u-gm-hq", "general_manager", "arc-1", "copy")], at=AT,
    )
    assert_denied(d, "purpose_not_permitted", "Q-02")


# -- Q-03 roles -------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["loan_review", "guarantor_check", "post_loan_monitoring"])
def test_q03_query_operator_may_query_for_credit_purposes(engine, purpose):
    d = engine.check("u-query-east1", report(), purpose, consent=consent(purposes=(purpose,)), at=AT)
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


def test_q03_dispute_handler_may_query_for_dissent(engine):
    d = engine.check(
        "u-dispute-east1", report(), "dissent",
        consent=consent(purposes=("dissent",)), evidence={"case_id": "case-7"}, at=AT,
    )
    assert_granted(d, "Q-03", "Q-04", "Q-06", obligations=("log_query",))


@pytest.mark.parametrize(
    "sub, purpose",
    [
        ("u-dispute-east1", "loan_review"),  # dispute handlers only for dissent
        ("u-query-east1", "dissent"),  # query operators not for dissent
        ("u-dev-east1", "loan_review"),  # client developers never query
        (subject("s-x", "chief_wizard"), "loan_review"),  # a role the policy does not know grants nothing
    ],
)
def test_q03_a_role_without_the_grant_is_denied(engine, sub, purpose):
    d = engine.check(
        sub, report(), purpose, consent=consent(purposes=(purpose,)), evidence={"case_id": "case-7"}, at=AT
    )
    assert_denied(d, "role_not_permitted", "Q-03")


@pytest.mark.parametrize("role", ["query_operator", "general_manager", "department_head", "client_developer"])
def test_q03_copy_by_a_role_other_than_the_archive_managers_is_denied(engine, role):
    d = engine.check(
        subject("s-x", role, org="east"), archive(), "loan_review", action="copy",
        approvals=[approval("u-gm-hq", "general_manager", "arc-1", "copy")], at=AT,
    )
    assert_denied(d, "role_not_permitted", "Q-03")


def test_q03_user_administration_by_another_role_is_denied(engine):
    d = engine.check(
        "u-supervisor-hq", account(), "account_management", action="suspend_user", at=AT,
    )
    assert_denied(d, "role_not_permitted", "Q-03")


# -- Q-04 written consent ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        consent(),
        consent(signed_at=AT),  # signed_at ≤ at: valid from the very instant
        consent(expires_at=AT + SECOND),  # at < expires_at
        consent(signed_at=AT - 3650 * DAY, expires_at=None),  # no expires_at: no end
    ],
    ids=["plain", "signed-at-the-request", "expires-a-second-later", "no-end"],
)
def test_q04_a_valid_consent_allows_the_query(engine, given):
    d = engine.check("u-query-east1", report(), "loan_review", consent=given, at=AT)
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


@pytest.mark.parametrize(
    "given, code",
    [
        (None, "consent_missing"),
        (consent(customer="c-2"), "consent_customer_mismatch"),
        (consent(purposes=("guarantor_check",)), "consent_purpose_mismatch"),
        (consent(signed_at=AT + SECOND), "consent_not_yet_valid"),
        (consent(expires_at=AT), "consent_expired"),  # a tie on expires_at is expired
        (consent(expires_at=AT - SECOND), "consent_expired"),
        (consent(revoked=True), "consent_revoked"),
    ],
    ids=["missing", "other-customer", "other-purpose", "not-yet-valid", "expires-at-the-request",
         "expired", "revoked"],
)
def test_q04_an_invalid_consent_denies_the_query(engine, given, code):
    d = engine.check("u-query-east1", report(), "loan_review", consent=given, at=AT)
    assert_denied(d, code, "Q-04")


def test_q04_print_needs_consent_too(engine):
    ok = engine.check("u-query-east1", report(), "loan_review", action="print", consent=consent(), at=AT)
    assert_granted(ok, "Q-03", "Q-04", obligations=("log_query",))
    d = engine.check("u-query-east1", report(), "loan_review", action="print", at=AT)
    assert_denied(d, "consent_missing", "Q-04")


def test_q04_a_credit_report_without_customer_matches_no_consent(engine):
    d = engine.check("u-query-east1", report(customer=None), "loan_review", consent=consent(), at=AT)
    assert_denied(d, "consent_customer_mismatch", "Q-04")


def test_q04_dissent_needs_consent(engine):
    d = engine.check("u-dispute-east1", report(), "dissent", evidence={"case_id": "case-7"}, at=AT)
    assert_denied(d, "consent_missing", "Q-04")


def test_q04_legal_needs_no_consent(engine):
    d = engine.check(
        "u-query-east1", report(), "legal", evidence={"legal_basis": "刑事诉讼法 第五十四条"},
        approvals=[approval("u-supervisor-hq", "credit_info_supervisor", "rep-1", "query")], at=AT,
    )
    assert_granted(d, "Q-03", "Q-05", "Q-05", obligations=("log_query",))


def test_q04_viewing_an_archive_needs_no_consent(engine):
    d = engine.check("u-query-east1", archive(), "loan_review", action="view", approvals=a01(), at=AT)
    assert_granted(d, "A-01", "A-01", "A-01")


# -- Q-05 legal -------------------------------------------------------------------------------

LEGAL_BASIS = {"legal_basis": "刑事诉讼法 第五十四条"}


def test_q05_legal_with_basis_and_supervisor_approval_is_allowed(engine):
    d = engine.check(
        "u-query-east1", report(), "legal", evidence=LEGAL_BASIS,
        approvals=[approval("u-supervisor-hq", "credit_info_supervisor", "rep-1", "query")], at=AT,
    )
    assert_granted(d, "Q-03", "Q-05", "Q-05", obligations=("log_query",))


@pytest.mark.parametrize("evidence", [None, {}, {"legal_basis": ""}, {"case_id": "case-7"}])
def test_q05_legal_without_a_legal_basis_is_denied(engine, evidence):
    d = engine.check(
        "u-query-east1", report(), "legal", evidence=evidence,
        approvals=[approval("u-supervisor-hq", "credit_info_supervisor", "rep-1", "query")], at=AT,
    )
    assert_denied(d, "legal_basis_missing", "Q-05")


def test_q05_legal_without_supervisor_approval_is_denied_and_lists_it_missing(engine):
    d = engine.check("u-query-east1", report(), "legal", evidence=LEGAL_BASIS, at=AT)
    assert_denied(d, "approval_missing", "Q-05")
    assert d.missing_approvals == (("credit_info_supervisor",),)


def test_q05_the_supervisor_approval_is_checked_like_any_approval(engine):
    d = engine.check(
        "u-query-east1", report(), "legal", evidence=LEGAL_BASIS,
        approvals=[approval("u-supervisor-hq", "credit_info_supervisor", "rep-2", "query")], at=AT,
    )
    assert_denied(d, "approval_mismatch", "Q-05")
    assert_denied(d, "approval_missing", "Q-05")


def test_q05_applies_to_every_action_on_credit_information(engine):
    gm = approval("u-gm-hq", "general_manager", "arc-1", "copy")
    d = engine.check("u-officer-east", archive(), "legal", action="copy", approvals=[gm], at=AT)
    assert_denied(d, "legal_basis_missing", "Q-05")
    assert_denied(d, "approval_missing", "Q-05")
    assert d.missing_approvals == (("credit_info_supervisor",),)
    sup = approval("u-supervisor-hq", "credit_info_supervisor", "arc-1", "copy")
    ok = engine.check(
        "u-officer-east", archive(), "legal", action="copy", evidence=LEGAL_BASIS, approvals=[gm, sup], at=AT
    )
    assert_granted(ok, "A-02", "A-02", "Q-05", "Q-05")


# -- Q-06 dissent -----------------------------------------------------------------------------


def test_q06_dissent_with_a_case_is_allowed(engine):
    d = engine.check(
        "u-dispute-east1", report(), "dissent",
        consent=consent(purposes=("dissent",)), evidence={"case_id": "case-7"}, at=AT,
    )
    assert_granted(d, "Q-03", "Q-04", "Q-06", obligations=("log_query",))


@pytest.mark.parametrize("evidence", [None, {"case_id": ""}, {"legal_basis": "x"}])
def test_q06_dissent_without_a_case_is_denied(engine, evidence):
    d = engine.check(
        "u-dispute-east1", report(), "dissent", consent=consent(purposes=("dissent",)), evidence=evidence, at=AT
    )
    assert_denied(d, "case_missing", "Q-06")


def test_q06_applies_to_every_action_on_credit_information(engine):
    d = engine.check("u-dispute-east1", archive(), "dissent", action="view", approvals=a01(), at=AT)
    assert_denied(d, "case_missing", "Q-06")
    ok = engine.check(
        "u-dispute-east1", archive(), "dissent", action="view", approvals=a01(),
        evidence={"case_id": "case-7"}, at=AT,
    )
    assert_granted(ok, "A-01", "A-01", "A-01", "Q-06")


# -- Q-07 organisation scope ------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject_org, resource_org",
    [("east-1", "east-1"), ("east", "east-1"), ("hq", "west-1"), ("hq", "hq"), ("west", "west")],
    ids=["own", "child", "grandchild", "own-hq", "own-west"],
)
def test_q07_own_organisation_and_below_are_allowed(engine, subject_org, resource_org):
    d = engine.check(
        subject("s-q", "query_operator", org=subject_org), report(org=resource_org), "loan_review",
        consent=consent(), at=AT,
    )
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


@pytest.mark.parametrize(
    "subject_org, resource_org",
    [("east-1", "east-2"), ("east", "west"), ("east-1", "west-1"), ("east-1", "east"), ("east-1", "hq"), ("east", "hq")],
    ids=["sibling", "sibling-union", "cousin", "parent", "grandparent", "parent-of-union"],
)
def test_q07_sibling_and_parent_organisations_are_denied(engine, subject_org, resource_org):
    d = engine.check(
        subject("s-q", "query_operator", org=subject_org), report(org=resource_org), "loan_review",
        consent=consent(), at=AT,
    )
    assert_denied(d, "org_out_of_scope", "Q-07")


def test_q07_user_administration_is_scoped_too(engine):
    admin = subject("s-adm", "user_admin", org="east")
    ok = engine.check(admin, account(org="east-1"), "account_management", action="suspend_user", at=AT)
    assert_granted(ok, "A-08")
    d = engine.check(admin, account(org="hq"), "account_management", action="suspend_user", at=AT)
    assert_denied(d, "org_out_of_scope", "Q-07")


# -- Q-08 user_admin separation ---------------------------------------------------------------


def test_q08_user_admin_alone_may_administer_users(engine):
    d = engine.check("u-admin-hq", account(), "account_management", action="suspend_user", at=AT)
    assert_granted(d, "A-08")


def test_q08_a_role_unknown_to_the_policy_is_no_conflict(engine):
    d = engine.check(
        subject("s-adm", "user_admin", "hr_clerk", org="hq"), account(), "account_management",
        action="suspend_user", at=AT,
    )
    assert_granted(d, "A-08")


@pytest.mark.parametrize("action, res", [("query", report()), ("view", archive()), ("copy", stats())])
def test_q08_user_admin_never_acts_on_credit_information(engine, action, res):
    d = engine.check("u-admin-hq", res, "loan_review", action=action, consent=consent(), at=AT)
    assert_denied(d, "role_conflict", "Q-08")


def test_q08_user_admin_with_another_role_is_denied_credit_information(engine):
    d = engine.check("u-conflict-hq", report(), "loan_review", consent=consent(), at=AT)
    assert_denied(d, "role_conflict", "Q-08")


@pytest.mark.parametrize(
    "action, approvals",
    [
        ("suspend_user", []),
        ("create_user", [approval("u-supervisor-hq", "credit_info_supervisor", "acct-1", "create_user")]),
    ],
)
def test_q08_user_admin_with_another_role_is_denied_user_administration(engine, action, approvals):
    d = engine.check("u-conflict-hq", account(), "account_management", action=action, approvals=approvals, at=AT)
    assert_denied(d, "role_conflict", "Q-08")


# -- Q-09 password ----------------------------------------------------------------------------


@pytest.mark.parametrize("age", [timedelta(0), 30 * DAY], ids=["fresh", "exactly-30-days"])
def test_q09_a_password_up_to_the_maximum_age_is_allowed(engine, age):
    sub = subject("s-q", "query_operator", password_changed_at=AT - age)
    d = engine.check(sub, report(), "loan_review", consent=consent(), at=AT)
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


def test_q09_a_password_age_not_given_is_not_checked(engine):
    d = engine.check(subject("s-q", "query_operator"), report(), "loan_review", consent=consent(), at=AT)
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


def test_q09_a_password_older_than_30_days_is_expired(engine):
    sub = subject("s-q", "query_operator", password_changed_at=AT - 30 * DAY - SECOND)
    d = engine.check(sub, report(), "loan_review", consent=consent(), at=AT)
    assert_denied(d, "password_expired", "Q-09")


def test_q09_a_password_never_changed_since_first_login_is_denied(engine):
    sub = subject("s-q", "query_operator", password_changed_at=AT, must_change_password=True)
    d = engine.check(sub, report(), "loan_review", consent=consent(), at=AT)
    assert_denied(d, "password_change_required", "Q-09")


@pytest.mark.parametrize(
    "kw, code",
    [({"must_change_password": True}, "password_change_required"),
     ({"password_changed_at": AT - 31 * DAY}, "password_expired")],
)
def test_q09_the_password_blocks_user_administration_too(engine, kw, code):
    d = engine.check(
        subject("s-adm", "user_admin", org="hq", **kw), account(), "account_management",
        action="suspend_user", at=AT,
    )
    assert_denied(d, code, "Q-09")


# -- Q-10 status ------------------------------------------------------------------------------


def test_q10_an_active_subject_is_allowed(engine):
    d = engine.check(subject("s-q", "query_operator", status="active"), report(), "loan_review", consent=consent(), at=AT)
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


@pytest.mark.parametrize(
    "sub, res, purpose, action",
    [
        (subject("s-q", "query_operator", status="suspended"), report(), "loan_review", "query"),
        (subject("s-adm", "user_admin", org="hq", status="suspended"), account(), "account_management", "suspend_user"),
    ],
)
def test_q10_a_suspended_subject_is_denied_everything(engine, sub, res, purpose, action):
    d = engine.check(sub, res, purpose, action=action, consent=consent(), at=AT)
    assert_denied(d, "subject_suspended", "Q-10")


def test_q10_an_unknown_status_is_an_invalid_request(engine):
    d = engine.check(subject("s-q", "query_operator", status="foo"), report(), "loan_review", consent=consent(), at=AT)
    assert_denied(d, "invalid_request", "R-01")
    assert {r.rule for r in d.reasons} == {"R-01"}


# -- Q-11 query log ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["query", "print"])
def test_q11_an_allowed_query_or_print_carries_log_query(engine, action):
    d = engine.check("u-query-east1", report(), "loan_review", action=action, consent=consent(), at=AT)
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


def test_q11_other_actions_do_not_carry_log_query(engine):
    view = engine.check("u-query-east1", archive(), "loan_review", action="view", approvals=a01(), at=AT)
    assert_granted(view, "A-01", "A-01", "A-01")
    copy = engine.check(
        "u-officer-east", report(), "loan_review", action="copy",
        approvals=[approval("u-gm-hq", "general_manager", "rep-1", "copy")], at=AT,
    )
    assert_granted(copy, "A-02", "A-02")


def test_q11_a_denied_query_carries_no_obligation(engine):
    d = engine.check("u-query-east1", report(), "loan_review", at=AT)
    assert_denied(d, "consent_missing", "Q-04")
    assert d.obligations == ()


# -- A-01 view, borrow an archive -------------------------------------------------------------


@pytest.mark.parametrize(
    "action, reviewer, reviewer_role",
    [("view", "u-riskoff-east", "risk_control_officer"), ("borrow", "u-riskmgr-hq", "risk_control_manager")],
)
def test_a01_department_head_then_risk_control_is_allowed(engine, action, reviewer, reviewer_role):
    approvals = a01(action=action, reviewer=reviewer, reviewer_role=reviewer_role)
    d = engine.check("u-query-east1", archive(), "loan_review", action=action, approvals=approvals, at=AT)
    assert_granted(d, "A-01", "A-01", "A-01")


@pytest.mark.parametrize(
    "role",
    ["client_developer", "credit_info_officer", "credit_info_supervisor", "risk_control_officer",
     "risk_control_manager", "general_manager", "department_head", "query_operator", "dispute_handler",
     "data_entry_operator", "archive_custodian"],
)
def test_a01_any_role_but_user_admin_may_ask(engine, role):
    d = engine.check(subject("s-x", role), archive(), "loan_review", action="view", approvals=a01(), at=AT)
    assert_granted(d, "A-01", "A-01", "A-01")


def test_a01_user_admin_may_not_ask(engine):
    d = engine.check("u-admin-hq", archive(org="east-1"), "loan_review", action="view", approvals=a01(), at=AT)
    assert_denied(d, "role_not_permitted", "Q-03")
    assert_denied(d, "role_conflict", "Q-08")


def test_a01_without_approvals_lists_both_steps_missing_in_order(engine):
    d = engine.check("u-query-east1", archive(), "loan_review", action="view", at=AT)
    assert_denied(d, "approval_missing", "A-01")
    assert d.missing_approvals == A01_STEPS


def test_a01_without_the_reviewer_lists_the_second_step_missing(engine):
    approvals = [approval("u-head-east1", "department_head", "arc-1", "view")]
    d = engine.check("u-query-east1", archive(), "loan_review", action="view", approvals=approvals, at=AT)
    assert_denied(d, "approval_missing", "A-01")
    assert d.missing_approvals == (("risk_control_officer", "risk_control_manager"),)


def test_a01_department_head_of_a_parent_organisation_is_out_of_scope(engine):
    approvals = a01(head="u-head-east")  # east is above the requester's east-1: not exactly it
    d = engine.check("u-query-east1", archive(), "loan_review", action="view", approvals=approvals, at=AT)
    assert_denied(d, "approver_out_of_scope", "A-01")
    assert_denied(d, "approval_missing", "A-01")
    assert d.missing_approvals == (("department_head",),)


def test_a01_the_department_head_is_the_requesters_not_the_resources(engine):
    ok = engine.check(
        "u-officer-east", archive(org="east-1"), "loan_review", action="view", approvals=a01(head="u-head-east"), at=AT
    )
    assert_granted(ok, "A-01", "A-01", "A-01")
    d = engine.check(
        "u-officer-east", archive(org="east-1"), "loan_review", action="view", approvals=a01(head="u-head-east1"), at=AT
    )
    assert_denied(d, "approver_out_of_scope", "A-01")


@pytest.mark.parametrize(
    "head_hours, reviewer_hours",
    [(1, 2), (1, 1)],
    ids=["reviewer-before-head", "tie"],
)
def test_a01_approvals_out_of_order_are_denied(engine, head_hours, reviewer_hours):
    approvals = a01(head_hours=head_hours, reviewer_hours=reviewer_hours)
    d = engine.check("u-query-east1", archive(), "loan_review", action="view", approvals=approvals, at=AT)
    assert_denied(d, "approval_out_of_order", "A-01")
    assert_denied(d, "approval_missing", "A-01")


# -- A-02 copy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "approver, role",
    [("u-gm-hq", "general_manager"), ("u-supervisor-hq", "credit_info_supervisor"), ("u-riskmgr-hq", "risk_control_manager")],
)
@pytest.mark.parametrize("res", [report(), archive(), stats()], ids=["report", "archive", "statistics"])
def test_a02_copy_with_any_one_of_the_approvers_is_allowed(engine, approver, role, res):
    d = engine.check(
        "u-officer-east", res, "loan_review", action="copy", approvals=[approval(approver, role, res.id, "copy")], at=AT
    )
    assert_granted(d, "A-02", "A-02")


@pytest.mark.parametrize("role", ["credit_info_officer", "credit_info_supervisor", "risk_control_manager"])
def test_a02_the_archive_managers_may_ask(engine, role):
    d = engine.check(
        subject("s-x", role, org="east"), archive(), "loan_review", action="copy",
        approvals=[approval("u-gm-hq", "general_manager", "arc-1", "copy")], at=AT,
    )
    assert_granted(d, "A-02", "A-02")


def test_a02_copy_without_approval_is_denied(engine):
    d = engine.check("u-officer-east", archive(), "loan_review", action="copy", at=AT)
    assert_denied(d, "approval_missing", "A-02")
    assert d.missing_approvals == (ANY_OF_A02,)


# -- A-03 provide_external --------------------------------------------------------------------


@pytest.mark.parametrize("sup_hours, rm_hours", [(2, 1), (1, 2)], ids=["supervisor-first", "manager-first"])
def test_a03_supervisor_and_risk_manager_in_any_order_is_allowed(engine, sup_hours, rm_hours):
    approvals = [
        approval("u-supervisor-hq", "credit_info_supervisor", "rep-1", "provide_external", sup_hours),
        approval("u-riskmgr-hq", "risk_control_manager", "rep-1", "provide_external", rm_hours),
    ]
    d = engine.check("u-officer-east", report(), "loan_review", action="provide_external", approvals=approvals, at=AT)
    assert_granted(d, "A-03", "A-03", "A-03")


@pytest.mark.parametrize(
    "given, missing",
    [
        ([], (("credit_info_supervisor",), ("risk_control_manager",))),
        ([("u-supervisor-hq", "credit_info_supervisor")], (("risk_control_manager",),)),
        ([("u-riskmgr-hq", "risk_control_manager")], (("credit_info_supervisor",),)),
    ],
    ids=["none", "only-supervisor", "only-manager"],
)
def test_a03_a_missing_approval_is_denied(engine, given, missing):
    approvals = [approval(who, role, "rep-1", "provide_external") for who, role in given]
    d = engine.check("u-officer-east", report(), "loan_review", action="provide_external", approvals=approvals, at=AT)
    assert_denied(d, "approval_missing", "A-03")
    assert d.missing_approvals == missing


# -- A-04 provide_internal --------------------------------------------------------------------


@pytest.mark.parametrize("res", [archive(), stats()], ids=["archive", "statistics"])
def test_a04_risk_manager_then_general_manager_is_allowed(engine, res):
    approvals = [
        approval("u-riskmgr-hq", "risk_control_manager", res.id, "provide_internal", 2),
        approval("u-gm-hq", "general_manager", res.id, "provide_internal", 1),
    ]
    d = engine.check("u-officer-east", res, "loan_review", action="provide_internal", approvals=approvals, at=AT)
    assert_granted(d, "A-04", "A-04", "A-04")


def test_a04_general_manager_before_risk_manager_is_out_of_order(engine):
    approvals = [
        approval("u-riskmgr-hq", "risk_control_manager", "st-1", "provide_internal", 1),
        approval("u-gm-hq", "general_manager", "st-1", "provide_internal", 2),
    ]
    d = engine.check("u-officer-east", stats(), "loan_review", action="provide_internal", approvals=approvals, at=AT)
    assert_denied(d, "approval_out_of_order", "A-04")
    assert_denied(d, "approval_missing", "A-04")


def test_a04_without_approvals_lists_both_steps_in_order(engine):
    d = engine.check("u-officer-east", stats(), "loan_review", action="provide_internal", at=AT)
    assert_denied(d, "approval_missing", "A-04")
    assert d.missing_approvals == (("risk_control_manager",), ("general_manager",))


# -- A-05 modify ------------------------------------------------------------------------------


def test_a05_modify_with_general_manager_is_allowed_and_filed(engine):
    d = engine.check(
        "u-officer-east", report(), "loan_review", action="modify",
        approvals=[approval("u-gm-hq", "general_manager", "rep-1", "modify")], at=AT,
    )
    assert_granted(d, "A-05", "A-05", obligations=("file_with_risk_control",))


def test_a05_modify_without_general_manager_is_denied(engine):
    d = engine.check(
        "u-officer-east", report(), "loan_review", action="modify",
        approvals=[approval("u-riskmgr-hq", "risk_control_manager", "rep-1", "modify")], at=AT,
    )
    assert_denied(d, "approval_missing", "A-05")
    assert d.missing_approvals == (("general_manager",),)


# -- A-06 destroy -----------------------------------------------------------------------------

DESTROY_OK = [approval("u-riskmgr-hq", "risk_control_manager", "arc-1", "destroy")]


@pytest.mark.parametrize("until", [AT, AT - 365 * DAY], ids=["ends-at-the-request", "ended"])
def test_a06_destroy_after_retention_is_allowed_and_recorded(engine, until):
    d = engine.check(
        "u-officer-east", archive(retention_until=until), "loan_review", action="destroy", approvals=DESTROY_OK, at=AT
    )
    assert_granted(d, "A-06", "A-06", obligations=("record_destruction",))


@pytest.mark.parametrize("until", [AT + SECOND, None], ids=["not-ended", "unknown"])
def test_a06_destroy_before_retention_ends_or_unknown_is_denied(engine, until):
    d = engine.check(
        "u-officer-east", archive(retention_until=until), "loan_review", action="destroy", approvals=DESTROY_OK, at=AT
    )
    assert_denied(d, "retention_not_expired", "A-06")


def test_a06_destroy_without_risk_manager_is_denied(engine):
    d = engine.check(
        "u-officer-east", archive(retention_until=AT - DAY), "loan_review", action="destroy", at=AT
    )
    assert_denied(d, "approval_missing", "A-06")
    assert d.missing_approvals == (("risk_control_manager",),)


# -- A-07 reset_password ----------------------------------------------------------------------


def reset(engine, reason, approvals=(), sub="u-admin-hq"):
    evidence = None if reason is None else {"reset_reason": reason}
    return engine.check(sub, account(), "account_management", action="reset_password",
                        evidence=evidence, approvals=list(approvals), at=AT)


@pytest.mark.parametrize("reason", ["forgotten_written_request", "credential_stolen"])
def test_a07_reset_for_a_permitted_reason_is_allowed(engine, reason):
    assert_granted(reset(engine, reason), "A-07", "A-07")


def test_a07_reset_for_a_special_case_with_supervisor_approval_is_allowed(engine):
    sup = approval("u-supervisor-hq", "credit_info_supervisor", "acct-1", "reset_password")
    assert_granted(reset(engine, "special_case", [sup]), "A-07", "A-07", "A-07")


def test_a07_reset_for_a_special_case_without_supervisor_is_denied(engine):
    d = reset(engine, "special_case")
    assert_denied(d, "approval_missing", "A-07")
    assert d.missing_approvals == (("credit_info_supervisor",),)


@pytest.mark.parametrize("reason", [None, "", "user_asked_nicely"])
def test_a07_reset_without_a_permitted_reason_is_denied(engine, reason):
    assert_denied(reset(engine, reason), "reset_reason_invalid", "A-07")


def test_a07_reset_by_another_role_is_denied(engine):
    d = reset(engine, "credential_stolen", sub=subject("s-sup", "credit_info_supervisor", org="hq"))
    assert_denied(d, "role_not_permitted", "Q-03")


# -- A-08 create_user, change_permission, suspend_user ----------------------------------------


@pytest.mark.parametrize("action", ["create_user", "change_permission"])
def test_a08_with_supervisor_approval_is_allowed(engine, action):
    sup = approval("u-supervisor-hq", "credit_info_supervisor", "acct-1", action)
    d = engine.check("u-admin-hq", account(), "account_management", action=action, approvals=[sup], at=AT)
    assert_granted(d, "A-08", "A-08")


@pytest.mark.parametrize("action", ["create_user", "change_permission"])
def test_a08_without_supervisor_approval_is_denied(engine, action):
    d = engine.check("u-admin-hq", account(), "account_management", action=action, at=AT)
    assert_denied(d, "approval_missing", "A-08")
    assert d.missing_approvals == (("credit_info_supervisor",),)


def test_a08_suspend_user_needs_no_approval(engine):
    d = engine.check("u-admin-hq", account(), "account_management", action="suspend_user", at=AT)
    assert_granted(d, "A-08")


@pytest.mark.parametrize("sub", ["u-supervisor-hq", "u-query-east1"])
def test_a08_user_administration_by_another_role_is_denied(engine, sub):
    sup = approval("u-supervisor-hq", "credit_info_supervisor", "acct-1", "create_user")
    d = engine.check(sub, account(), "account_management", action="create_user", approvals=[sup], at=AT)
    assert_denied(d, "role_not_permitted", "Q-03")


# -- Approval checks --------------------------------------------------------------------------


def copy_with(engine, approvals, sub="u-officer-east", res=None):
    res = archive() if res is None else res
    return engine.check(sub, res, "loan_review", action="copy", approvals=approvals, at=AT)


def test_approval_by_the_requester_is_self_approval(engine):
    d = copy_with(engine, [approval("u-riskmgr-hq", "risk_control_manager", "arc-1", "copy")], sub="u-riskmgr-hq")
    assert_denied(d, "self_approval", "A-02")
    assert_denied(d, "approval_missing", "A-02")
    assert d.missing_approvals == (ANY_OF_A02,)


@pytest.mark.parametrize(
    "approver",
    ["u-riskoff-east", "u-nobody"],  # holds another role; an id the assignments do not know
    ids=["holds-another-role", "unknown-id"],
)
def test_approval_by_one_without_the_role_is_approver_lacks_role(engine, approver):
    d = copy_with(engine, [approval(approver, "risk_control_manager", "arc-1", "copy")])
    assert_denied(d, "approver_lacks_role", "A-02")
    assert_denied(d, "approval_missing", "A-02")


def test_one_approver_filling_two_steps_is_approver_reused(engine):
    both = Subject("u-both-hq", ("credit_info_supervisor", "risk_control_manager"), "hq")
    approvals = [
        Approval(both, "credit_info_supervisor", AT - timedelta(hours=2), "rep-1", "provide_external"),
        Approval(both, "risk_control_manager", AT - timedelta(hours=1), "rep-1", "provide_external"),
    ]
    d = engine.check("u-officer-east", report(), "loan_review", action="provide_external", approvals=approvals, at=AT)
    assert_denied(d, "approver_reused", "A-03")
    assert_denied(d, "approval_missing", "A-03")
    assert len(d.missing_approvals) == 1


@pytest.mark.parametrize("org", ["east-1", "west", "west-1"], ids=["below", "sibling", "cousin"])
def test_approval_from_outside_the_requesters_line_is_out_of_scope(engine, org):
    sup = Subject("s-sup", ("credit_info_supervisor",), org)
    d = copy_with(engine, [Approval(sup, "credit_info_supervisor", AT - timedelta(hours=1), "arc-1", "copy")])
    assert_denied(d, "approver_out_of_scope", "A-02")
    assert_denied(d, "approval_missing", "A-02")


@pytest.mark.parametrize("org", ["east", "hq"], ids=["own", "above"])
def test_approval_from_the_requesters_org_or_above_is_in_scope(engine, org):
    sup = Subject("s-sup", ("credit_info_supervisor",), org)
    d = copy_with(engine, [Approval(sup, "credit_info_supervisor", AT - timedelta(hours=1), "arc-1", "copy")])
    assert_granted(d, "A-02", "A-02")


@pytest.mark.parametrize("rid, action", [("arc-2", "copy"), ("arc-1", "view")], ids=["other-resource", "other-action"])
def test_approval_for_another_resource_or_action_is_a_mismatch(engine, rid, action):
    d = copy_with(engine, [approval("u-gm-hq", "general_manager", rid, action)])
    assert_denied(d, "approval_mismatch", "A-02")
    assert_denied(d, "approval_missing", "A-02")


def test_approval_dated_after_the_request_is_out_of_order(engine):
    d = copy_with(engine, [approval("u-gm-hq", "general_manager", "arc-1", "copy", hours_before=-1)])
    assert_denied(d, "approval_out_of_order", "A-02")
    assert_denied(d, "approval_missing", "A-02")


def test_approval_dated_at_the_request_is_in_time(engine):
    d = copy_with(engine, [approval("u-gm-hq", "general_manager", "arc-1", "copy", hours_before=0)])
    assert_granted(d, "A-02", "A-02")


def test_an_approvers_own_status_and_password_are_not_checked(engine):
    old = Subject("s-rm-old", ("risk_control_manager",), "hq", status="suspended",
                  password_changed_at=AT - 400 * DAY, must_change_password=True)
    d = copy_with(engine, [Approval(old, "risk_control_manager", AT - timedelta(hours=1), "arc-1", "copy")])
    assert_granted(d, "A-02", "A-02")


def test_an_approval_that_fills_no_needed_step_changes_nothing(engine):
    stray = [approval("u-gm-hq", "general_manager", "rep-9", "modify"), approval("u-query-east1", "general_manager", "rep-1", "query")]
    d = engine.check("u-query-east1", report(), "loan_review", consent=consent(), approvals=stray, at=AT)
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))
    denied = engine.check("u-query-east1", report(), "loan_review", approvals=stray, at=AT)
    assert pairs(denied) == [("consent_missing", "Q-04")]


@pytest.mark.parametrize(
    "stray",
    [
        approval("u-supervisor-hq", "credit_info_supervisor", "arc-9", "copy"),  # approval_mismatch
        approval("u-officer-east", "risk_control_manager", "arc-1", "copy"),  # self_approval
        approval("u-riskoff-east", "risk_control_manager", "arc-1", "copy"),  # approver_lacks_role
        approval("u-supervisor-hq", "credit_info_supervisor", "arc-1", "copy", hours_before=-1),  # dated after
    ],
    ids=["mismatch", "self", "lacks-role", "dated-after"],
)
def test_a_failing_approval_beside_a_valid_one_counts_as_absent(engine, stray):
    # RULES.md: a failing approval counts as absent, and one that fills no needed step does not
    # change the decision: the general manager's approval alone fills the A-02 step.
    d = copy_with(engine, [approval("u-gm-hq", "general_manager", "arc-1", "copy"), stray])
    assert_granted(d, "A-02", "A-02")


def test_a_valid_approval_beside_those_that_fill_the_chain_changes_nothing(engine):
    extra = approval("u-riskmgr-hq", "risk_control_manager", "arc-1", "view", 1.5)  # ties nothing, fills nothing
    tie = approval("u-riskoff-east", "risk_control_officer", "arc-1", "view", 2)  # ties the head: unused
    approvals = [approval("u-head-east1", "department_head", "arc-1", "view", 2), tie, extra]
    d = engine.check("u-query-east1", archive(), "loan_review", action="view", approvals=approvals, at=AT)
    assert_granted(d, "A-01", "A-01", "A-01")


# -- C-01 classification ----------------------------------------------------------------------


def test_c01_an_ordinary_resource_adds_no_step(engine):
    d = engine.check("u-query-east1", report("ordinary"), "loan_review", consent=consent(), at=AT)
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


def test_c01_a_confidential_query_with_risk_manager_is_allowed(engine):
    rm = approval("u-riskmgr-hq", "risk_control_manager", "rep-1", "query")
    d = engine.check("u-query-east1", report("confidential"), "loan_review", consent=consent(), approvals=[rm], at=AT)
    assert_granted(d, "Q-03", "Q-04", "C-01", obligations=("log_query",))


@pytest.mark.parametrize(
    "level, missing",
    [("confidential", (("risk_control_manager",),)), ("top_secret", (("risk_control_manager",), ("general_manager",)))],
)
def test_c01_a_classified_query_without_approval_is_denied(engine, level, missing):
    d = engine.check("u-query-east1", report(level), "loan_review", consent=consent(), at=AT)
    assert_denied(d, "clearance_insufficient", "C-01")
    assert d.missing_approvals == missing


@pytest.mark.parametrize(
    "sub, res, action, missing",
    [
        ("u-officer-east", archive("ordinary"), "copy", (ANY_OF_A02,)),
        ("u-officer-east", report("confidential"), "provide_external",
         (("credit_info_supervisor",), ("risk_control_manager",), ("risk_control_manager",))),
        ("u-query-east1", archive("top_secret"), "view", (*A01_STEPS, ("risk_control_manager",), ("general_manager",))),
        ("u-officer-east", stats("top_secret"), "provide_internal",
         (("risk_control_manager",), ("general_manager",), ("risk_control_manager",), ("general_manager",))),
    ],
    ids=["copy-ordinary", "provide-external-confidential", "view-top-secret", "provide-internal-top-secret"],
)
def test_c01_missing_approvals_list_chain_steps_then_classification_steps(engine, sub, res, action, missing):
    d = engine.check(sub, res, "loan_review", action=action, at=AT)
    assert not d.allowed
    assert d.missing_approvals == missing


def test_c01_a_chain_approver_cannot_also_fill_a_classification_step(engine):
    rm = approval("u-riskmgr-hq", "risk_control_manager", "rep-1", "copy")
    d = copy_with(engine, [rm], res=report("confidential"))
    assert_denied(d, "clearance_insufficient", "C-01")
    assert d.missing_approvals == (("risk_control_manager",),)
    gm = approval("u-gm-hq", "general_manager", "rep-1", "copy")
    ok = copy_with(engine, [rm, gm], res=report("confidential"))
    assert_granted(ok, "A-02", "A-02", "C-01")


def test_c01_top_secret_needs_a_general_manager_other_than_the_chains(engine):
    gm = approval("u-gm-hq", "general_manager", "rep-1", "modify")
    rm = approval("u-riskmgr-hq", "risk_control_manager", "rep-1", "modify")
    d = engine.check("u-officer-east", report("top_secret"), "loan_review", action="modify", approvals=[gm, rm], at=AT)
    assert_denied(d, "clearance_insufficient", "C-01")
    assert d.missing_approvals == (("general_manager",),)
    gm2 = Approval(GM2, "general_manager", AT - timedelta(hours=1), "rep-1", "modify")
    ok = engine.check(
        "u-officer-east", report("top_secret"), "loan_review", action="modify", approvals=[gm, rm, gm2], at=AT
    )
    assert_granted(ok, "A-05", "A-05", "C-01", "C-01", obligations=("file_with_risk_control",))


def test_c01_a_classified_view_with_distinct_approvers_is_allowed(engine):
    approvals = a01(reviewer="u-riskmgr-hq", reviewer_role="risk_control_manager") + [
        Approval(RM2, "risk_control_manager", AT - timedelta(minutes=30), "arc-1", "view"),
        approval("u-gm-hq", "general_manager", "arc-1", "view", 3),
    ]
    d = engine.check("u-query-east1", archive("top_secret"), "loan_review", action="view", approvals=approvals, at=AT)
    assert_granted(d, "A-01", "A-01", "A-01", "C-01", "C-01")


# -- C-02 custodian ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["confidential", "top_secret"])
def test_c02_the_custodian_of_the_resources_org_views_without_classification_steps(engine, level):
    d = engine.check("u-custodian-east1", archive(level), "loan_review", action="view", approvals=a01(), at=AT)
    assert_granted(d, "A-01", "A-01", "A-01", "C-02")


def test_c02_the_custodian_still_needs_the_a01_chain(engine):
    d = engine.check("u-custodian-east1", archive("confidential"), "loan_review", action="view", at=AT)
    assert_denied(d, "approval_missing", "A-01")
    assert d.missing_approvals == A01_STEPS


def test_c02_the_custodian_borrowing_needs_the_classification_steps(engine):
    d = engine.check(
        "u-custodian-east1", archive("confidential"), "loan_review", action="borrow",
        approvals=a01(action="borrow"), at=AT,
    )
    assert_denied(d, "clearance_insufficient", "C-01")
    assert d.missing_approvals == (("risk_control_manager",),)


def test_c02_a_custodian_of_another_org_needs_the_classification_steps(engine):
    custodian_east = subject("s-cust", "archive_custodian", org="east")  # east-1 is below, not exactly it
    d = engine.check(
        custodian_east, archive("confidential", org="east-1"), "loan_review", action="view",
        approvals=a01(head="u-head-east"), at=AT,
    )
    assert_denied(d, "clearance_insufficient", "C-01")
    assert d.missing_approvals == (("risk_control_manager",),)


# -- C-03 unknown level -----------------------------------------------------------------------


@pytest.mark.parametrize("level", ["ordinary", "confidential", "top_secret"])
def test_c03_a_known_level_is_read(engine, level):
    rm = approval("u-riskmgr-hq", "risk_control_manager", "rep-1", "query")
    gm = approval("u-gm-hq", "general_manager", "rep-1", "query")
    d = engine.check("u-query-east1", report(level), "loan_review", consent=consent(), approvals=[rm, gm], at=AT)
    assert d.allowed, pairs(d)


@pytest.mark.parametrize("level", ["secret", "ORDINARY", "", None, 1])
def test_c03_an_unknown_level_is_an_invalid_request(engine, level):
    d = engine.check("u-query-east1", report(level), "loan_review", consent=consent(), at=AT)
    assert_denied(d, "invalid_request", "C-03")
    assert d.codes == ("invalid_request",)


def test_c03_a_missing_level_is_an_invalid_request(engine):
    res = {"id": "rep-1", "kind": "credit_report", "org": "east-1", "customer_id": "c-1"}
    d = engine.check("u-query-east1", res, "loan_review", consent=consent(), at=AT)
    assert_denied(d, "invalid_request", "C-03")


# -- R-01 requests that are not well formed ---------------------------------------------------


def test_r01_a_readable_request_of_mappings_and_iso_times_is_allowed(engine):
    d = engine.check(
        {"id": "s-q", "roles": ["query_operator"], "org": "east-1"},
        {"id": "rep-1", "kind": "credit_report", "level": "ordinary", "org": "east-1", "customer_id": "c-1"},
        "loan_review",
        consent={"customer_id": "c-1", "purposes": ["loan_review"], "signed_at": "2026-11-01T00:00:00+08:00"},
        at="2026-11-27T10:00:00+08:00",
    )
    assert_granted(d, "Q-03", "Q-04", obligations=("log_query",))


def test_r01_an_unknown_subject_id_is_unknown_subject(engine):
    d = engine.check("u-ghost", report(), "loan_review", consent=consent(), at=AT)
    assert_denied(d, "unknown_subject", "R-01")
    assert pairs(d) == [("unknown_subject", "R-01")]


@pytest.mark.parametrize(
    "kw",
    [
        {"action": "delete"},
        {"action": 3},
        {"res": Resource("rep-1", "mortgage", "ordinary", "east-1")},
        {"res": report(org="north")},
        {"res": "rep-1"},
        {"res": {"id": "rep-1", "level": "ordinary", "org": "east-1"}},  # no kind
        {"sub": subject("s-q", "query_operator", org="north")},
        {"sub": {"id": "s-q", "roles": "query_operator", "org": "east-1"}},  # roles not a list
        {"purpose": 42},
        {"at": datetime(2026, 11, 27, 10, 0)},  # naive
        {"at": "yesterday"},
        {"consent": consent(signed_at=datetime(2026, 11, 1))},  # naive
        {"approvals": "u-gm-hq"},
        {"approvals": [{"approver": "u-gm-hq", "role": "general_manager"}]},  # fields missing
        {"evidence": ["case-7"]},
        {"evidence": {"case_id": 7}},
    ],
    ids=["unknown-action", "action-not-a-string", "unknown-kind", "unknown-resource-org", "resource-not-a-record",
         "resource-without-kind", "unknown-subject-org", "roles-not-a-list", "purpose-not-a-string", "naive-at",
         "unparsable-at", "naive-consent-time", "approvals-not-a-list", "approval-missing-fields",
         "evidence-not-a-mapping", "evidence-not-a-string"],
)
def test_r01_an_unreadable_field_is_an_invalid_request_and_stops_evaluation(engine, kw):
    args = {"sub": "u-query-east1", "res": report(), "purpose": "loan_review", "action": "query",
            "consent": consent(), "approvals": (), "evidence": None, "at": AT}
    args.update(kw)
    d = engine.check(args.pop("sub"), args.pop("res"), args.pop("purpose"), **args)
    assert_denied(d, "invalid_request", "R-01")
    assert {r.rule for r in d.reasons} == {"R-01"}
    assert set(d.codes) == {"invalid_request"}
    assert d.missing_approvals == () and d.obligations == ()


def test_r01_one_reason_per_bad_field(engine):
    d = engine.check("u-query-east1", report(org="north"), "loan_review", action="delete", at="yesterday")
    assert pairs(d) == [("invalid_request", "R-01")] * 3


def test_r01_a_role_unknown_to_the_policy_is_not_an_error_and_grants_nothing(engine):
    ok = engine.check(subject("s-q", "query_operator", "chief_wizard"), report(), "loan_review", consent=consent(), at=AT)
    assert_granted(ok, "Q-03", "Q-04", obligations=("log_query",))
    d = engine.check(subject("s-q", "chief_wizard"), report(), "loan_review", consent=consent(), at=AT)
    assert_denied(d, "role_not_permitted", "Q-03")
