"""Which parts of a policy a suite exercised, and in which outcome.

The items are the policy's rule ids (with the engine's own R-01), its grant entries, its chain
steps (an action's and a purpose's), its classification steps and its evidence requirements, named
by the same paths as ``Stage.target``. Each has two outcomes:

- ``allow``: the item was checked and held in a case whose decision is allowed. For a rule: it is
  cited by a reason of the allowed decision, or it is a check the request passed (Q-01, Q-02,
  Q-03, Q-07, Q-09, Q-10, and R-01/C-03 for a request read), a separation (Q-08) whose role the
  subject holds, or an obligation rule (Q-11) whose obligation the decision carries. For a grant:
  it granted the request; a step: it was filled; evidence: it was given.
- ``deny``: the item failed in a denied decision. For a rule: a deny reason cites it; for an
  obligation rule, a denied request of its actions and kinds (it carries no obligation); for an
  exemption rule (C-02), a denied request whose subject holds the exempted role and whose
  classification steps were still needed. For a grant: the request was one of its action × kind ×
  purpose × level and none of the subject's roles was granted it (``role_not_permitted``); a step:
  it stayed empty; evidence: it was missing or not one of the allowed values.

Coverage is the share of (item, outcome) pairs seen, over all items of all kinds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .._diagnostic import ENGINE_RULE
from ..decide import Explanation
from ..policy import PolicyDocument
from ._suite import SuiteRequest

ALLOW, DENY = "allow", "deny"
OUTCOMES = (ALLOW, DENY)
KINDS = ("rule", "grant", "step", "classification", "evidence")


@dataclass(frozen=True)
class Item:
    kind: str  # one of KINDS
    id: str  # a rule id, or a path into the policy
    zh: str
    en: str


@dataclass
class Coverage:
    items: list[Item]
    seen: dict[str, set[str]] = field(default_factory=dict)  # item id → outcomes seen

    def add(self, pairs: Iterable[tuple[str, str]]) -> None:
        known = {i.id for i in self.items}
        for item, outcome in pairs:
            if item in known:
                self.seen.setdefault(item, set()).add(outcome)

    def counts(self, kind: str | None = None) -> tuple[int, int]:
        """(covered pairs, all pairs), of one kind or of all."""
        items = [i for i in self.items if kind is None or i.kind == kind]
        return sum(len(self.seen.get(i.id, ())) for i in items), len(items) * len(OUTCOMES)

    @property
    def percent(self) -> float:
        covered, total = self.counts()
        return 100.0 if total == 0 else 100.0 * covered / total

    def to_dict(self) -> dict[str, Any]:
        covered, total = self.counts()
        return {
            "percent": round(self.percent, 2),
            "covered": covered,
            "total": total,
            "by_kind": {k: dict(zip(("covered", "total"), self.counts(k))) for k in KINDS},
            "items": [
                {"kind": i.kind, "id": i.id, "zh": i.zh, "en": i.en, **{o: o in self.seen.get(i.id, ()) for o in OUTCOMES}}
                for i in self.items
            ],
        }


def universe(doc: PolicyDocument) -> list[Item]:
    roles = {r.id: (r.zh, r.en) for r in doc.roles}

    def who(ids: list[str]) -> tuple[str, str]:
        return "或".join(roles[r][0] for r in ids), " or ".join(roles[r][1] for r in ids)

    items = [Item("rule", r.id, r.zh, r.en) for r in doc.rules]
    items.append(Item("rule", ENGINE_RULE, "请求须可识别", "the request must be readable"))
    for i, g in enumerate(doc.grants):
        zh, en = who(g.roles) if len(g.roles) <= 2 else (f"{len(g.roles)} 个角色", f"{len(g.roles)} roles")
        what = f"{g.rule} {'/'.join(g.actions)} × {'/'.join(g.kinds)}"
        items.append(Item("grant", f"grants[{i}]", f"{what}（{zh}）", f"{what} ({en})"))
    for i, a in enumerate(doc.approvals):
        for j, s in enumerate(a.steps):
            items.append(Item("step", f"approvals[{i}].steps[{j}]", f"{a.rule} " + who(s.roles)[0], f"{a.rule} " + who(s.roles)[1]))
        for j, e in enumerate(a.evidence):
            items.append(Item("evidence", f"approvals[{i}].evidence[{j}]", f"{e.rule or a.rule} {e.key}", f"{e.rule or a.rule} {e.key}"))
    for i, p in enumerate(doc.purposes):
        for j, s in enumerate(p.approvals.steps if p.approvals else []):
            rule = p.approvals.rule if p.approvals else p.rule
            items.append(Item("step", f"purposes[{i}].approvals.steps[{j}]", f"{rule} " + who(s.roles)[0], f"{rule} " + who(s.roles)[1]))
        for j, e in enumerate(p.evidence):
            items.append(Item("evidence", f"purposes[{i}].evidence[{j}]", f"{e.rule or p.rule} {e.key}", f"{e.rule or p.rule} {e.key}"))
    c = doc.classification
    levels = {lv.id: (lv.zh, lv.en) for lv in doc.levels}
    for level, steps in c.steps.items():
        for j, s in enumerate(steps):
            zh, en = who(s.roles)
            items.append(
                Item("classification", f"classification.steps.{level}[{j}]", f"{c.rule} {levels[level][0]}：{zh}", f"{c.rule} {levels[level][1]}: {en}")
            )
    return items


def observe(doc: PolicyDocument, request: SuiteRequest, explanation: Explanation) -> set[tuple[str, str]]:
    """The (item, outcome) pairs one case exercised."""
    d, stages = explanation.decision, explanation.stages
    checks = {r.check: r.id for r in doc.rules if r.check}
    roles = _roles(doc, request.subject)
    read = any(s.name != "request" for s in stages)
    seen: set[tuple[str, str]] = set()
    if d.allowed:
        seen |= {(ENGINE_RULE, ALLOW), (checks["level"], ALLOW)}
        for s in stages:
            seen |= {(r.rule, ALLOW) for r in s.reasons}
            if s.name in ("approval", "classification", "evidence", "grant"):
                seen.add((s.target, ALLOW))
            if s.name == "grant":
                seen |= {(checks["grant"], ALLOW), (checks["deny_by_default"], ALLOW)}
            elif s.name in ("purpose", "org_scope"):
                seen.add((checks[s.name], ALLOW))
            elif s.name == "subject":
                seen |= {(checks["status"], ALLOW), (checks["password"], ALLOW)}
                seen |= {(sep.rule, ALLOW) for sep in doc.separations if sep.role in roles}
        seen |= {(o.rule, ALLOW) for o in doc.obligation_rules if o.id in d.obligations}
        return seen
    failed = [s for s in stages if not s.passed]
    for s in failed:
        seen |= {(r.rule, DENY) for r in s.reasons}
        if s.name in ("approval", "classification", "evidence"):
            seen.add((s.target, DENY))
        elif s.name == "grant" and any(r.code == "role_not_permitted" for r in s.reasons):
            seen |= {(g, DENY) for g in _grants_of(doc, s.target)}
    if read:
        kind = request.resource.get("kind")
        seen |= {(o.rule, DENY) for o in doc.obligation_rules if request.action in o.actions and kind in o.kinds}
        if any(s.name == "classification" for s in failed):
            seen |= {(e.rule, DENY) for e in doc.classification.exemptions if e.role in roles}
    return seen


def _grants_of(doc: PolicyDocument, key: str) -> list[str]:
    """The grant entries whose action × kind × purpose × level is ``key`` (``action kind purpose level``)."""
    parts = key.split(" ")
    if len(parts) != 4:
        return []
    action, kind, purpose, level = parts
    return [
        f"grants[{i}]"
        for i, g in enumerate(doc.grants)
        if action in g.actions and kind in g.kinds and purpose in g.purposes and (g.levels is None or level in g.levels)
    ]


def _roles(doc: PolicyDocument, subject: Any) -> set[str]:
    if isinstance(subject, str):
        return next((set(a.roles) for a in doc.assignments if a.id == subject), set())
    if isinstance(subject, dict) and isinstance(subject.get("roles"), list):
        return {r for r in subject["roles"] if isinstance(r, str)}
    return set()


def measure(doc: PolicyDocument, cases: Iterable[tuple[SuiteRequest, Explanation]]) -> Coverage:
    cov = Coverage(universe(doc))
    for request, explanation in cases:
        cov.add(observe(doc, request, explanation))
    return cov
