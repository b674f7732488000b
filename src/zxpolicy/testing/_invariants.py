"""The invariant vocabulary: what each ``kind`` of ``invariants.yaml`` checks of one request.

Each check gets the policy's facts, the invariant, a generated request and ``draw`` (to draw
more values, for the kinds that compare two requests). It raises ``Violation`` with the requests
that show the failure, or returns whether the request exercised the invariant (its premise held:
for most kinds, an allowed request that the invariant speaks of), so that a run can say how
often each invariant was really tested.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from ..decide import Decision
from ..policy import Invariant
from ._facts import Facts
from .strategies import approval_sets

Request = dict[str, Any]
Draw = Callable[[st.SearchStrategy[Any]], Any]


class Violation(Exception):
    """An invariant that does not hold, with the requests (and their decisions) that show it.

    It has the diagnostic shape (see ``zxpolicy._diagnostic``): ``code`` is the invariant's kind
    (``requires_consent``), ``message`` says what went wrong in Chinese, ``message_en`` in English.
    """

    def __init__(self, code: str, message: str, message_en: str, *cases: tuple[Request, Decision]) -> None:
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en
        self.cases = tuple((copy.deepcopy(r), d) for r, d in cases)


def check(f: Facts, request: Request) -> Decision:
    return f.engine.check(**request)


def _applies(f: Facts, inv: Invariant, request: Request) -> bool:
    return f.matches(inv.when, request) and not (inv.unless is not None and f.matches(inv.unless, request))


def _roles(f: Facts, request: Request) -> frozenset[str]:
    who = f.who(request["subject"])
    return who.roles if who else frozenset()


def deny_by_default(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    d = check(f, r)
    if not (d.allowed and _applies(f, inv, r)):
        return False
    key = (r["action"], r["resource"]["kind"], r["purpose"], r["resource"]["level"])
    if not any((role, *key) in f.granted for role in _roles(f, r)):
        raise Violation("deny_by_default", f"获准，但申请人的角色均未被授予`{' '.join(key)}`", f"allowed, but no role of the subject is granted `{' '.join(key)}`", (r, d))
    return True


def never_allowed(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    if not _applies(f, inv, r):
        return False
    d = check(f, r)
    if d.allowed:
        raise Violation("never_allowed", "获准，但此类请求应一律拒绝", "allowed, but the invariant says such a request is never allowed", (r, d))
    return True


def _consent_valid(r: Request) -> bool:
    c = r.get("consent")
    if c is None:
        return False
    at, customer = datetime.fromisoformat(r["at"]), r["resource"].get("customer_id")
    expires = c.get("expires_at")
    return (
        customer is not None and c["customer_id"] == customer and r["purpose"] in c["purposes"]
        and datetime.fromisoformat(c["signed_at"]) <= at
        and (expires is None or at < datetime.fromisoformat(expires)) and not c.get("revoked", False)
    )


def requires_consent(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    d = check(f, r)
    if not (d.allowed and _applies(f, inv, r)):
        return False
    if not _consent_valid(r):
        raise Violation("requires_consent", "未取得该客户对此用途的有效书面授权即获准", "allowed without a valid consent of the resource's customer for the purpose", (r, d))
    return True


def _valid_approvers(f: Facts, r: Request, roles: list[str]) -> set[str]:
    """The ids of the approvers whose approval of this request, in one of ``roles``, counts."""
    subject = f.who(r["subject"])
    at = datetime.fromisoformat(r["at"])
    out = set()
    for ap in r.get("approvals", ()):
        who = f.who(ap["approver"])
        if (
            who is not None and subject is not None and who.id != subject.id and ap["role"] in roles
            and ap["role"] in who.roles and ap["resource_id"] == r["resource"]["id"] and ap["action"] == r["action"]
            and datetime.fromisoformat(ap["at"]) <= at and who.org in f.above[subject.org]
        ):
            out.add(who.id)
    return out


def _distinct(choices: list[set[str]], used: frozenset[str] = frozenset()) -> bool:
    """Whether each step can have its own approver, no approver on two steps."""
    if not choices:
        return True
    return any(_distinct(choices[1:], used | {a}) for a in choices[0] - used)


def requires_approvals(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    d = check(f, r)
    if not (d.allowed and _applies(f, inv, r)):
        return False
    if not _distinct([_valid_approvers(f, r, step) for step in inv.steps or []]):
        steps_zh = "；".join("或".join(f"`{role}`" for role in step) for step in inv.steps or [])
        steps_en = "; ".join(" or ".join(f"`{role}`" for role in step) for step in inv.steps or [])
        raise Violation(
            "requires_approvals", f"未经不同审批人分别有效审批即获准：{steps_zh}",
            f"allowed without a valid approval by a different approver for each of: {steps_en}", (r, d),
        )
    return True


def org_isolation(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    """An allowed request is in scope; and moved to any organisation outside the subject's, the
    same request is denied (so one allowed request probes the whole tree)."""
    d = check(f, r)
    subject = f.who(r["subject"])
    if not (d.allowed and _applies(f, inv, r)) or subject is None:
        return False
    for org in f.orgs:
        moved = {**r, "resource": {**r["resource"], "org": org}}
        if subject.org not in f.above[org] and (org == r["resource"]["org"] or check(f, moved).allowed):
            raise Violation("org_isolation", f"获准访问`{org}`的资料，超出本人管辖范围", f"allowed on a resource of `{org}`, outside the subject's organisation", (moved, check(f, moved)))
    return True


def no_self_approval(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    subject = f.who(r["subject"])
    own = [ap for ap in r.get("approvals", ()) if subject is not None and f.person(_approver_id(ap)) == f.person(subject.id)]
    if not own or not _applies(f, inv, r):
        return False
    d = check(f, r)
    without = {**r, "approvals": [ap for ap in r["approvals"] if ap not in own]}
    d2 = check(f, without)
    if d.allowed and not d2.allowed:
        raise Violation("no_self_approval", "仅因申请人本人的审批而获准", "allowed only because of the requester's own approval", (r, d), (without, d2))
    return True


def _approver_id(ap: dict[str, Any]) -> str:
    who = ap["approver"]
    return who if isinstance(who, str) else str(who["id"])


def one_approver_per_step(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    ex = f.engine.explain(**r)
    if not (ex.decision.allowed and _applies(f, inv, r)):
        return False
    approvers = [f.person(s.approver) for s in ex.stages if s.name in ("approval", "classification") and s.passed and s.approver]
    twice = sorted({a for a in approvers if approvers.count(a) > 1})  # by person: two ids of one person are one
    if twice:
        raise Violation("one_approver_per_step", f"获准，但`{twice[0]}`审批了两个环节", f"allowed with `{twice[0]}` filling two steps", (r, ex.decision))
    return bool(approvers)


def monotone_in_approvals(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    if not _applies(f, inv, r):
        return False
    d = check(f, r)
    more = {**r, "approvals": [*r["approvals"], *draw(approval_sets(f.engine, r))[:1]]}
    d_more = check(f, more)
    if d.allowed and not d_more.allowed:
        raise Violation("monotone_in_approvals", "增加一条审批后由允许变为拒绝", "adding an approval turned allow into deny", (r, d), (more, d_more))
    exercised = d.allowed
    if r["approvals"]:
        i = draw(st.integers(0, len(r["approvals"]) - 1))
        fewer = {**r, "approvals": r["approvals"][:i] + r["approvals"][i + 1 :]}
        d_fewer = check(f, fewer)
        if d_fewer.allowed and not d.allowed:
            raise Violation("monotone_in_approvals", "撤回一条审批后由拒绝变为允许", "removing an approval turned deny into allow", (r, d), (fewer, d_fewer))
        exercised = exercised or d_fewer.allowed
    return exercised


def monotone_in_level(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    if not _applies(f, inv, r) or r["resource"]["level"] not in f.levels:
        return False
    d = check(f, r)
    if not d.allowed:
        return False
    lower_levels = f.levels[: f.levels.index(r["resource"]["level"])]
    for level in lower_levels:  # the same request at a lower level must be allowed too
        lower = {**r, "resource": {**r["resource"], "level": level}}
        d_low = check(f, lower)
        if not d_low.allowed:
            raise Violation(
                "monotone_in_level", f"密级`{level}`时拒绝，`{r['resource']['level']}`时反而获准",
                f"denied at `{level}`, allowed at `{r['resource']['level']}`", (lower, d_low), (r, d),
            )
    return bool(lower_levels)


def obligation_on_allow(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    d = check(f, r)
    if not (d.allowed and _applies(f, inv, r)):
        return False
    if inv.obligation not in d.obligations:
        raise Violation("obligation_on_allow", f"获准，但未附带义务`{inv.obligation}`", f"allowed without the obligation `{inv.obligation}`", (r, d))
    return True


def reasons_cite_rules(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    if not _applies(f, inv, r):
        return False
    d = check(f, r)
    if not d.reasons:
        raise Violation("reasons_cite_rules", "决定没有理由", "a decision without reasons", (r, d))
    for reason in d.reasons:
        if reason.rule not in f.rules:
            raise Violation(
                "reasons_cite_rules", f"理由`{reason.code}`引用的`{reason.rule}`不是策略中的规则",
                f"reason `{reason.code}` cites `{reason.rule}`, which is not a rule of the policy", (r, d),
            )
        if reason.code not in f.document.reasons:
            raise Violation("reasons_cite_rules", f"理由代码`{reason.code}`在策略中没有说明", f"reason code `{reason.code}` has no message in the policy", (r, d))
    return True


def deterministic(f: Facts, inv: Invariant, r: Request, draw: Draw) -> bool:
    if not _applies(f, inv, r):
        return False
    d = check(f, r)
    shuffled = {**r, "approvals": draw(st.permutations(r["approvals"]))}
    for other, how, how_zh in (
        (r, "the same request again", "同一请求再次判定"),
        (shuffled, "its approvals in another order", "审批换一种顺序"),
    ):
        d2 = check(f, other)
        if d2 != d:
            raise Violation("deterministic", f"{how_zh}，决定不同", f"another decision for {how}", (r, d), (other, d2))
    if f.engine.explain(**r).decision != d or f.engine.check_many([r])[0] != d:
        raise Violation("deterministic", "explain 或 check_many 的决定与 check 不同", "explain or check_many decides otherwise than check", (r, d))
    return True


KINDS: dict[str, Callable[[Facts, Invariant, Request, Draw], bool]] = {
    fn.__name__: fn
    for fn in (
        deny_by_default, never_allowed, requires_consent, requires_approvals, org_isolation, no_self_approval,
        one_approver_per_step, monotone_in_approvals, monotone_in_level, obligation_on_allow, reasons_cite_rules,
        deterministic,
    )
}
