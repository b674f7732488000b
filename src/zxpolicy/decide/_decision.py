"""What a check returns: a decision and the reasons for it (``Reason`` is the shared diagnostic
shape, in ``zxpolicy._diagnostic``), and what ``explain`` returns: the stages passed through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._diagnostic import Reason

__all__ = ["Decision", "Explanation", "Reason", "Stage"]


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
_DECISION_SLOTS = tuple(
    Decision.__dict__[f].__set__ for f in ("allowed", "reasons", "missing_approvals", "obligations", "policy_version")
)


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
