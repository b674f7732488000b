"""What a check returns: a decision and the reasons for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Decision", "Explanation", "Reason", "Stage"]

# The reason codes the engine itself gives (RULES.md). A policy adds the codes of its evidence
# requirements; every code needs a message in the policy's `reasons`.
ENGINE_CODES = (
    "granted",
    "no_rule_permits",
    "purpose_not_permitted",
    "role_not_permitted",
    "consent_missing",
    "consent_customer_mismatch",
    "consent_purpose_mismatch",
    "consent_not_yet_valid",
    "consent_expired",
    "consent_revoked",
    "approval_missing",
    "clearance_insufficient",
    "org_out_of_scope",
    "role_conflict",
    "password_expired",
    "password_change_required",
    "subject_suspended",
    "retention_not_expired",
    "self_approval",
    "approver_lacks_role",
    "approver_reused",
    "approver_out_of_scope",
    "approval_mismatch",
    "approval_out_of_order",
    "invalid_request",
    "unknown_subject",
    "engine_error",
    "log_unavailable",  # an allowed query that cannot be written to the decision log
)

# The engine's own fail-closed rule: a request it cannot read is denied.
ENGINE_RULE = "R-01"
ENGINE_CLAUSE = "zxpolicy R-01"


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that decided: its code, rule id, clause, and a message for people."""

    code: str
    rule: str
    clause: str
    message: str
    message_en: str

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "rule": self.rule,
            "clause": self.clause,
            "message": self.message,
            "message_en": self.message_en,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """Allow or deny, never without reasons.

    On deny, ``reasons`` lists every rule that failed; on allow, the rules that granted it.
    ``missing_approvals`` lists the steps still lacking, in chain order, each a tuple of role ids
    any one of which fills it.
    """

    allowed: bool
    reasons: tuple[Reason, ...]
    missing_approvals: tuple[tuple[str, ...], ...] = ()
    obligations: tuple[str, ...] = ()
    policy_version: str = ""

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def codes(self) -> tuple[str, ...]:
        """The reason codes, in order (a convenience for hosts and tests)."""
        return tuple(r.code for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reasons": [r.to_dict() for r in self.reasons],
            "missing_approvals": [list(step) for step in self.missing_approvals],
            "obligations": list(self.obligations),
            "policy_version": self.policy_version,
        }


# Building a frozen dataclass goes through ``object.__setattr__`` once per field; on the hot path
# the engine sets the slots through their descriptors instead, which is about twice as fast and
# gives the same object (same fields, equality, hash, repr). Only for values already checked.
_new = object.__new__
_REASON_SLOTS = tuple(Reason.__dict__[f].__set__ for f in ("code", "rule", "clause", "message", "message_en"))
_DECISION_SLOTS = tuple(
    Decision.__dict__[f].__set__ for f in ("allowed", "reasons", "missing_approvals", "obligations", "policy_version")
)


def new_reason(code: str, rule: str, clause: str, message: str, message_en: str) -> Reason:
    """``Reason(code, rule, clause, message, message_en)``, built faster."""
    r = _new(Reason)
    a, b, c, d, e = _REASON_SLOTS
    a(r, code)
    b(r, rule)
    c(r, clause)
    d(r, message)
    e(r, message_en)
    return r


def new_decision(
    allowed: bool, reasons: tuple[Reason, ...], missing: tuple[tuple[str, ...], ...], obligations: tuple[str, ...], version: str
) -> Decision:
    """``Decision(allowed, reasons, missing, obligations, version)``, built faster."""
    d = _new(Decision)
    a, b, c, e, f = _DECISION_SLOTS
    a(d, allowed)
    b(d, reasons)
    c(d, missing)
    e(d, obligations)
    f(d, version)
    return d


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage a request passed through on its way to a decision (see ``Engine.explain``).

    ``name`` is one of ``request``, ``subject``, ``purpose``, ``grant``, ``org_scope``,
    ``consent``, ``evidence``, ``retention``, ``approval``, ``classification``. ``target`` says
    what was checked, as a path into the policy where there is one (``grants[0]``,
    ``approvals[0].steps[1]``, ``classification.steps.top_secret[0]``). ``reasons`` are the
    reasons this stage gave: what held when it passed, what failed when it did not.
    """

    name: str
    passed: bool
    target: str
    reasons: tuple[Reason, ...]
    approver: str = ""  # who filled an approval or classification step

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.name,
            "passed": self.passed,
            "target": self.target,
            "approver": self.approver,
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """A decision and every stage the request passed through, in order."""

    decision: Decision
    stages: tuple[Stage, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.decision.to_dict(), "stages": [s.to_dict() for s in self.stages]}
