"""The request mix: what loan systems and counters ask, allowed and denied.

Each request is kept twice: as ``check``'s arguments (the engine's own types; a subject by id or
as a ``Subject``, as hosts do both) and as the part that Casbin and Cedar can decide — who (user
and org), action, kind, purpose, level and the resource's org: the grant (Q-01..Q-03) and the
org scope (Q-07). ``as_json`` gives the same arguments as a service receives them once its JSON
is parsed: plain dicts, lists and ISO 8601 strings.
"""

from __future__ import annotations

import json
import random
from dataclasses import MISSING, dataclass, fields, is_dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from zxpolicy import Approval, Consent, Resource, Subject

from .institution import Institution, User

AT = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=8)))
# The codes of the part Casbin and Cedar decide: no grant, a purpose that does not apply, out of scope.
GRANT_CODES = frozenset({"no_rule_permits", "role_not_permitted", "purpose_not_permitted", "org_out_of_scope"})

# name, weight: the share of each kind of request in the mix
MIX = (
    ("query, consent", 30),
    ("print, consent", 10),
    ("query, another branch", 10),
    ("query, no consent", 5),
    ("query, role not granted", 5),
    ("query, classified", 5),
    ("dissent, case", 5),
    ("archive view, chain", 10),
    ("archive view, confidential", 5),
    ("archive view, top secret", 5),
    ("archive view, step missing", 5),
    ("archive view, custodian", 5),
)


@dataclass(frozen=True)
class BenchRequest:
    name: str
    args: dict[str, Any]  # check's arguments by name (a check_many item)
    user: str
    user_org: str
    action: str
    kind: str
    purpose: str
    level: str
    resource_org: str

    def call(self, check: Any) -> Any:
        a = self.args
        return check(a["subject"], a["resource"], a["purpose"], action=a.get("action", "query"),
                     consent=a.get("consent"), approvals=a.get("approvals", ()), evidence=a.get("evidence"), at=a["at"])


def make_requests(inst: Institution, count: int, seed: int = 11) -> list[BenchRequest]:
    rng = random.Random(seed)
    names = [name for name, _ in MIX]
    weights = [w for _, w in MIX]
    return [_make(inst, rng, rng.choices(names, weights)[0], n) for n in range(count)]


# What one query operator asks (a worklist): the mix without the requests of other roles.
OPERATOR_MIX = tuple((name, w) for name, w in MIX if name not in ("query, role not granted", "dissent, case", "archive view, custodian"))


def make_batches(inst: Institution, batches: int, size: int, seed: int = 13) -> list[list[BenchRequest]]:
    """``batches`` lists of ``size`` requests, each list one query operator's (below the root, in
    an org with a department head), drawn from ``OPERATOR_MIX``: a batch that a PDP taking one
    principal per request (Cerbos) can be asked as well."""
    rng = random.Random(seed)
    names = [name for name, _ in OPERATOR_MIX]
    weights = [w for _, w in OPERATOR_MIX]
    out: list[list[BenchRequest]] = []
    n = 0
    for _ in range(batches):
        user = _pick(inst, rng, "query_operator", with_head=True, below_root=True)
        batch = []
        for _ in range(size):
            batch.append(_make(inst, rng, rng.choices(names, weights)[0], n, user=user))
            n += 1
        out.append(batch)
    return out


def _pick(inst: Institution, rng: random.Random, role: str, *, with_head: bool = False, below_root: bool = False) -> User:
    pool = inst.by_role[role]
    for _ in range(1000):
        u = rng.choice(pool)
        if (not with_head or u.org in inst.head_of) and (not below_root or u.org != inst.orgs[0]):
            return u
    raise ValueError(f"no `{role}` fits the request")


def _in_scope(inst: Institution, rng: random.Random, org: str) -> str:
    return rng.choice([org, *inst.children(org)])


def _out_of_scope(inst: Institution, rng: random.Random, org: str) -> str:
    for _ in range(1000):
        other = rng.choice(inst.orgs)
        if org not in inst.ancestors(other):
            return other
    raise ValueError(f"no org out of the scope of `{org}`")


def _make(inst: Institution, rng: random.Random, name: str, n: int, *, user: User | None = None) -> BenchRequest:
    action, purpose, level, kind = "query", "loan_review", "ordinary", "credit_report"
    evidence: dict[str, str] | None = None
    approvals: list[Approval] = []
    customer = f"c-{n}"
    role = "query_operator"
    if name == "query, role not granted":
        role = "client_developer"
    elif name == "dissent, case":
        role, purpose, evidence = "dispute_handler", "dissent", {"case_id": f"D-{n}"}
    elif name.startswith("archive view"):
        kind, action = "customer_archive", "view"
        role = "archive_custodian" if name.endswith("custodian") else rng.choice(["query_operator", "credit_info_officer"])
    other_branch = name == "query, another branch"
    if user is None:
        user = _pick(inst, rng, role, with_head=kind == "customer_archive", below_root=other_branch)
    resource_org = _out_of_scope(inst, rng, user.org) if other_branch else _in_scope(inst, rng, user.org)
    if name.endswith("custodian"):
        resource_org, level = user.org, "top_secret"  # C-02 lifts the classification steps in the custodian's own org
    rid = f"{'rep' if kind == 'credit_report' else 'arc'}-{n}"

    def approve(approver: User, role: str, hours: float) -> Approval:
        return Approval(approver.id, role, AT - timedelta(hours=hours), rid, action)

    if kind == "customer_archive":
        approvals.append(approve(inst.head_of[user.org], "department_head", 3))
        if not name.endswith("step missing"):
            approvals.append(approve(rng.choice(inst.by_role["risk_control_officer"]), "risk_control_officer", 2))
        if name.endswith(("confidential", "top secret")):
            level = "confidential" if name.endswith("confidential") else "top_secret"
            approvals.append(approve(rng.choice(inst.by_role["risk_control_manager"]), "risk_control_manager", 1.5))
        if name.endswith("top secret"):
            approvals.append(approve(rng.choice(inst.by_role["general_manager"]), "general_manager", 1))
    if name == "query, classified":
        level = "top_secret"
    if name.startswith("print"):
        action = "print"

    subject: Any = user.id if rng.random() < 0.7 else Subject(user.id, [user.role], user.org)
    args: dict[str, Any] = {
        "subject": subject,
        "resource": Resource(rid, kind, level, resource_org, customer_id=customer if kind == "credit_report" else None),
        "purpose": purpose,
        "action": action,
        "at": AT,
    }
    if kind == "credit_report" and name != "query, no consent":
        args["consent"] = Consent(customer, [purpose], signed_at=AT - timedelta(days=5), id=f"auth-{n}")
    if approvals:
        rng.shuffle(approvals)  # hosts pass them in any order
        args["approvals"] = approvals
    if evidence:
        args["evidence"] = evidence
    return BenchRequest(name, args, user.id, user.org, action, kind, purpose, level, resource_org)


def as_json(args: dict[str, Any]) -> dict[str, Any]:
    """``check``'s arguments as JSON gives them: each record a dict of the fields it sets (those
    at their default left out, as a client writes them), each time an ISO 8601 string with its
    offset. Through ``json`` text and back, so nothing but what JSON can carry is left."""
    return dict(json.loads(json.dumps(args, default=_json_value)))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value)
                if f.default is MISSING or getattr(value, f.name) != f.default}
    raise TypeError(f"not JSON: {type(value).__name__}")
