"""Every rule of the institution's contract is data in the default policy."""

from __future__ import annotations

import zxpolicy
from zxpolicy._diagnostic import ENGINE_CODES

# The rule ids and reason codes of the contract (RULES.md).
RULE_IDS = [f"Q-{i:02}" for i in range(1, 12)] + [f"A-{i:02}" for i in range(1, 9)] + ["C-01", "C-02", "C-03"]
CONTRACT_CODES = {
    "no_rule_permits", "purpose_not_permitted", "role_not_permitted", "consent_missing",
    "consent_customer_mismatch", "consent_purpose_mismatch", "consent_not_yet_valid", "consent_expired",
    "consent_revoked", "legal_basis_missing", "approval_missing", "case_missing", "org_out_of_scope",
    "role_conflict", "password_expired", "password_change_required", "subject_suspended",
    "retention_not_expired", "reset_reason_invalid", "clearance_insufficient", "invalid_request",
    "unknown_subject", "self_approval", "approver_lacks_role", "approver_reused", "approver_out_of_scope",
    "approval_mismatch", "approval_out_of_order", "granted",
}


def test_the_catalogue_holds_every_rule_with_its_clause(engine: zxpolicy.Engine) -> None:
    rules = {r.id: r for r in engine.document.rules}
    assert sorted(rules) == sorted(RULE_IDS)
    assert all(r.clause and r.zh and r.en for r in rules.values())


def test_every_rule_is_used_by_some_entry(engine: zxpolicy.Engine) -> None:
    doc = engine.document
    used = {r.id for r in doc.rules if r.check}
    used.add(doc.consent.rule)
    used |= {s.rule for s in doc.separations} | {o.rule for o in doc.obligation_rules}
    for p in doc.purposes:
        used |= {e.rule for e in p.evidence if e.rule}
        used |= {p.rule} | ({p.approvals.rule} if p.approvals else set())
    used |= {g.rule for g in doc.grants} | {a.rule for a in doc.approvals}
    used |= {doc.classification.rule} | {e.rule for e in doc.classification.exemptions}
    assert sorted(used) == sorted(RULE_IDS)


def test_every_contract_code_has_messages(engine: zxpolicy.Engine) -> None:
    reasons = engine.document.reasons
    assert CONTRACT_CODES <= set(reasons)
    assert set(ENGINE_CODES) <= set(reasons)
    assert all(m.zh and m.en for m in reasons.values())


def test_the_vocabulary_of_the_contract(engine: zxpolicy.Engine) -> None:
    doc = engine.document
    assert [lv.id for lv in doc.levels] == ["ordinary", "confidential", "top_secret"]
    assert {p.id for p in doc.purposes} == {
        "loan_review", "guarantor_check", "post_loan_monitoring", "dissent", "legal", "account_management",
    }
    credit = {k.id for k in doc.kinds if k.credit_information}
    assert credit == {"credit_report", "customer_archive", "statistics_report"}
    assert {o.id: o.parent for o in doc.orgs} == {
        "hq": None, "east": "hq", "west": "hq", "east-1": "east", "east-2": "east", "west-1": "west",
    }
    assert doc.settings.password_max_age_days == 30
