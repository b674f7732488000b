"""Stage 2 — a validated policy → the look-up tables the engine decides with.

    _tables  ``compile_policy``: everything that does not depend on the request, worked out once
             (ancestor sets, the grant table, each action × kind × purpose × level's requirement,
             the reasons that need no detail)
    _casbin  the same policy as Casbin rows, for Casbin's management API and as the reference the
             tables are tested against; it decides nothing

The tables' shape is internal: only ``decide`` and ``compliance`` read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._tables import (
    CLASSIFICATION,
    Cite,
    EvidenceSpec,
    Key,
    Person,
    Requirement,
    SeparationRule,
    StepSpec,
    Tables,
    Vocabulary,
    compile_policy,
    person_keys,
)

if TYPE_CHECKING:
    from ._casbin import PolicyAdapter, build_enforcer

__all__ = [
    "CLASSIFICATION",
    "Cite",
    "EvidenceSpec",
    "Key",
    "Person",
    "PolicyAdapter",
    "Requirement",
    "SeparationRule",
    "StepSpec",
    "Tables",
    "Vocabulary",
    "build_enforcer",
    "compile_policy",
    "person_keys",
]


def __getattr__(name: str) -> Any:
    # Casbin is imported only when asked for: a host that only calls `check` never needs it.
    if name in ("PolicyAdapter", "build_enforcer"):
        from . import _casbin

        return getattr(_casbin, name)
    raise AttributeError(f"module `zxpolicy.compile` has no attribute `{name}`")
