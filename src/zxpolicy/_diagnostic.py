"""The one diagnostic shape, shared by every stage.

Whatever zxpolicy tells a person — why a request was denied, what is wrong with a policy file or a
request, what lint or a suite found, where a decision log was tampered with — has

- ``code``: a stable snake_case name, for programs and for looking the problem up;
- ``message``: the text in Chinese, the default for people;
- ``message_en``: the same in English (``--lang en``);
- where there is one, the location: ``file``, ``line``, ``column`` (1-based; 0 when the problem is
  not at one place of a file) and ``path``, the dotted path into the document
  (``approvals[0].steps[1].roles[0]``), or for a decision the ``rule`` and ``clause`` it cites.

Messages are lowercase in English; values from the user's files stand in backticks.

``Reason`` is the diagnostic a decision carries. It lives here, below every stage, because the
compiled tables already hold the reasons that need no detail (built once at load), and the policy
loader checks that the policy has a message for every code the engine gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["ENGINE_CLAUSE", "ENGINE_CODES", "ENGINE_RULE", "Diagnostic", "Reason", "localized", "new_reason"]

LANGS = ("zh", "en")


class Diagnostic(Protocol):
    """What every diagnostic has (see the module docstring for the location fields)."""

    @property
    def code(self) -> str: ...

    @property
    def message(self) -> str: ...

    @property
    def message_en(self) -> str: ...


def localized(d: Diagnostic, lang: str = "zh") -> str:
    """The message in ``lang``: Chinese (``zh``, the default) or English (``en``)."""
    return d.message_en if lang == "en" else d.message


def where(file: str, line: int, column: int) -> str:
    """``file:line:col``, or just the file when the problem is not at one place of it."""
    if not line:
        return file
    return f"{file}:{line}:{column}" if column else f"{file}:{line}"


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
    "identity_mismatch",  # a host's subject or approver contradicts the assignments
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


# Building a frozen dataclass goes through ``object.__setattr__`` once per field; on the hot path
# the engine sets the slots through their descriptors instead, which is about twice as fast and
# gives the same object (same fields, equality, hash, repr). Only for values already checked.
_new = object.__new__
_REASON_SLOTS = tuple(Reason.__dict__[f].__set__ for f in ("code", "rule", "clause", "message", "message_en"))


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
