"""The same decisions through pycasbin and cedarpy: the grant (Q-01..Q-03) and the org scope (Q-07).

That is the part of a decision both can express without code of their own: Casbin with a p row
per role × action × kind × purpose × level (the rows zxpolicy's Casbin store holds), ``g`` for
user → role and ``g2`` for org → parent; Cedar with one ``permit`` per grant of grants.yaml and
the org tree as an entity hierarchy. Consent, evidence, approvals, the subject's state and the
reasons are zxpolicy's alone, so zxpolicy does strictly more work per request in the comparison.
"""

from __future__ import annotations

import json
from typing import Any

import casbin
from casbin.rbac.default_role_manager import RoleManager

from zxpolicy.compile import PolicyAdapter
from zxpolicy.policy import PolicyDocument

from .institution import Institution
from .requests import BenchRequest

CASBIN_MODEL = """
[request_definition]
r = sub, sorg, act, kind, purpose, level, rorg

[policy_definition]
p = sub, act, kind, purpose, level, rule

[role_definition]
g = _, _
g2 = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.act == p.act && r.kind == p.kind && r.purpose == p.purpose && r.level == p.level && g2(r.rorg, r.sorg)
"""


def casbin_enforcer(doc: PolicyDocument) -> Any:
    """An Enforcer over the policy's rows, whose matcher adds the org scope through ``g2``."""
    enforcer = casbin.Enforcer(casbin.Enforcer.new_model(text=CASBIN_MODEL), PolicyAdapter(doc))
    enforcer.set_named_role_manager("g2", RoleManager(max_hierarchy_level=len(doc.orgs) + 1))
    enforcer.set_named_role_manager("g", RoleManager(max_hierarchy_level=len(doc.roles) + 2))
    enforcer.load_policy()
    return enforcer


def casbin_args(r: BenchRequest) -> tuple[str, ...]:
    return (r.user, r.user_org, r.action, r.kind, r.purpose, r.level, r.resource_org)


def _list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def cedar_policies(doc: PolicyDocument) -> str:
    """One ``permit`` per grant: its roles, actions, kinds, purposes and levels, and the org scope."""
    levels = [lv.id for lv in doc.levels]
    out = []
    for i, g in enumerate(doc.grants):
        roles = " || ".join(f'principal in Role::{json.dumps(r)}' for r in g.roles)
        actions = ", ".join(f"Action::{json.dumps(a)}" for a in g.actions)
        out.append(
            f"// grants[{i}] ({g.rule})\n"
            f"permit(principal, action in [{actions}], resource)\n"
            f"when {{ ({roles}) && {_list(list(g.kinds))}.contains(resource.kind)"
            f" && {_list(list(g.purposes))}.contains(context.purpose)"
            f" && {_list(list(g.levels or levels))}.contains(resource.level)"
            f" && resource.org in principal.org }};"
        )
    return "\n\n".join(out) + "\n"


def _uid(kind: str, id_: str) -> dict[str, str]:
    return {"type": kind, "id": id_}


def cedar_request(inst: Institution, r: BenchRequest, role: str) -> tuple[dict[str, Any], str]:
    """The Cedar request and the entities it needs (as JSON): the user, the resource, and the
    resource's org with the orgs above it."""
    rid = r.args["resource"].id
    entities: list[dict[str, Any]] = [
        {"uid": _uid("User", r.user), "attrs": {"org": {"__entity": _uid("Org", r.user_org)}}, "parents": [_uid("Role", role)]},
        {
            "uid": _uid("Res", rid),
            "attrs": {"kind": r.kind, "level": r.level, "org": {"__entity": _uid("Org", r.resource_org)}},
            "parents": [],
        },
    ]
    for org in inst.ancestors(r.resource_org):
        up = inst.parent[org]
        entities.append({"uid": _uid("Org", org), "attrs": {}, "parents": [_uid("Org", up)] if up else []})
    request = {
        "principal": f"User::{json.dumps(r.user)}",
        "action": f"Action::{json.dumps(r.action)}",
        "resource": f"Res::{json.dumps(rid)}",
        "context": {"purpose": r.purpose},
    }
    return request, json.dumps(entities)
