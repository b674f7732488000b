"""The policy as Casbin sees it: model.conf, and an adapter that feeds it the policy's rows.

This is the only module that imports Casbin. The engine does not decide through it (its
``enforce`` re-parses the matcher and scans every row on each call, and is not thread-safe on
CPython 3.11); it is the policy store behind Casbin's management API, and the reference that the
compiled tables are tested against.

Rows (see model.conf):
    p, ROLE, ACTION, KIND, PURPOSE, LEVEL, RULE     one per spelled-out grant
    g, USER, ROLE                                  from assignments.yaml
    g2, ORG, PARENT                                from orgs.yaml
"""

from __future__ import annotations

from pathlib import Path

import casbin
from casbin.persist.adapter import Adapter
from casbin.rbac.default_role_manager import RoleManager

from ..policy import PolicyDocument, grant_rows


class PolicyAdapter(Adapter):  # type: ignore[misc]
    """Loads a validated policy document into a Casbin model. Read-only: the YAML is the source,
    so changes made through the management API live in memory and are never saved."""

    def __init__(self, doc: PolicyDocument) -> None:
        self._p = [list(row[:5]) + [row[5].rule] for row in grant_rows(doc)]
        self._g = [[a.id, role] for a in doc.assignments for role in a.roles]
        self._g2 = [[o.id, o.parent] for o in doc.orgs if o.parent]

    def load_policy(self, model: casbin.Model) -> None:
        # Rows go in as lists, never as text lines: Casbin's line parser would split or drop
        # values it does not understand.
        model.add_policies("p", "p", self._p)
        model.add_policies("g", "g", self._g)
        model.add_policies("g", "g2", self._g2)

    def save_policy(self, model: casbin.Model) -> bool:
        return False


def build_enforcer(doc: PolicyDocument, model_conf: Path) -> casbin.Enforcer:
    """A Casbin enforcer over the policy, with role links built."""
    model = casbin.Enforcer.new_model(text=model_conf.read_text(encoding="utf-8"))
    enforcer = casbin.Enforcer(model, PolicyAdapter(doc))
    # Casbin's default role manager stops after 10 links; an org tree may be deeper.
    enforcer.set_named_role_manager("g2", RoleManager(max_hierarchy_level=len(doc.orgs) + 1))
    enforcer.set_named_role_manager("g", RoleManager(max_hierarchy_level=len(doc.roles) + 2))
    enforcer.load_policy()
    enforcer.enable_auto_save(False)
    return enforcer
