"""The policy asked the other way round: who can do a thing (``who_can``), and what one subject
can do (``what_can``), each with what a request still needs to be allowed.

The grant side comes from Casbin's management API over the same rows the engine compiles
(``get_filtered_policy``, ``get_users_for_role``, ``get_implicit_permissions_for_user``). What a
grant does not say — the purpose's kinds, separation of duties, org scope, consent, evidence,
chains, classification steps and their exemption — comes from the engine's compiled tables, so
that an answer agrees with ``check`` (tests/compliance/test_who_can_what_can.py asks ``check`` every answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .._hints import hint
from ..compile import CLASSIFICATION, Key, Person, Requirement, StepSpec, Tables
from ..decide import Engine

__all__ = [
    "Able", "Blocked", "Needs", "Permission", "RoleAnswer", "WhatCan", "WhoCan",
    "UnknownWord", "approvers_of", "needs", "plan_of", "shortfall", "what_can", "who_can", "who_of",
]


@dataclass(frozen=True, slots=True)
class Needs:
    """What a request of one action × kind × purpose × level needs beyond its grant."""

    consent: bool
    evidence: tuple[tuple[str, tuple[str, ...]], ...]  # key, and the values allowed (empty: any)
    retention_ended: bool
    steps: tuple[StepSpec, ...]  # every approval step, classification steps last
    exempt_role: str  # a role whose holders skip the classification steps in their own org ("" none)
    obligations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "consent": self.consent,
            "evidence": [{"key": k, "one_of": list(v)} for k, v in self.evidence],
            "retention_ended": self.retention_ended,
            "steps": [step_dict(s) for s in self.steps],
            "classification_exempt_role": self.exempt_role or None,
            "obligations": list(self.obligations),
        }


def step_dict(s: StepSpec) -> dict[str, Any]:
    return {
        "path": s.path,
        "roles": list(s.roles),
        "classification": s.group == CLASSIFICATION,
        "same_org": s.same_org,
        "when": dict(s.when),
        "ordered": s.ordered,
    }


@dataclass(frozen=True, slots=True)
class Able:
    """A user of the assignments who can, and who could approve each step of their request.

    ``steps`` are the steps this user's request needs (the classification steps are left out
    where an exemption lifts them); ``approvers`` lists, per step, the users of the assignments
    who may fill it (never the requester, under any of its ids); ``plan`` picks one per step,
    all different persons, or "" where the assignments have no one left to fill it (an approver
    from outside the assignments may still fill it). ``approvable`` is false when the plan leaves
    a step that always applies (one without ``when``) empty: then no choice of approvers from the
    assignments gets this request allowed.
    """

    user: str
    org: str
    steps: tuple[StepSpec, ...]
    approvers: tuple[tuple[str, ...], ...]
    plan: tuple[str, ...]
    exempt: bool  # classification steps lifted (only in the user's own org)
    approvable: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "org": self.org,
            "classification_exempt": self.exempt,
            "approvable": self.approvable,
            "steps": [
                {**step_dict(s), "approvers": list(a), "plan": p or None}
                for s, a, p in zip(self.steps, self.approvers, self.plan, strict=True)
            ],
        }


@dataclass(frozen=True, slots=True)
class Blocked:
    """A user who holds a granted role and still cannot: the reason code ``check`` gives."""

    user: str
    code: str  # role_conflict or org_out_of_scope

    def to_dict(self) -> dict[str, str]:
        return {"user": self.user, "code": self.code}


@dataclass(frozen=True, slots=True)
class RoleAnswer:
    role: str
    grant: str  # the grant entry cited, e.g. `grants[0]`
    users: tuple[Able, ...]  # those who can: each request allowed with approvers of the assignments
    blocked: tuple[Blocked, ...]
    # Those granted and not blocked whose request no set of distinct approvers of the assignments
    # can approve (无人可审批): each ``Able`` with ``approvable`` false, its plan showing the gap.
    unapprovable: tuple[Able, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "grant": self.grant,
            "users": [u.to_dict() for u in self.users],
            "blocked": [b.to_dict() for b in self.blocked],
            "unapprovable": [u.to_dict() for u in self.unapprovable],
        }


@dataclass(frozen=True, slots=True)
class WhoCan:
    action: str
    kind: str
    purpose: str
    level: str
    org: str | None  # the resource's organisation; None: any (each user's own and below)
    purpose_applies: bool
    needs: Needs | None  # None when the purpose does not apply to the kind
    roles: tuple[RoleAnswer, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "purpose": self.purpose,
            "level": self.level,
            "org": self.org,
            "purpose_applies": self.purpose_applies,
            "needs": self.needs.to_dict() if self.needs else None,
            "roles": [r.to_dict() for r in self.roles],
        }


@dataclass(frozen=True, slots=True)
class Permission:
    """One action × kind × purpose × level a subject may ask for, and what the request needs."""

    action: str
    kind: str
    purpose: str
    level: str
    roles: tuple[str, ...]  # the subject's roles granted it
    needs: Needs
    able: Able  # the steps and approvers for a resource of the subject's own organisation

    @property
    def approvable(self) -> bool:
        """Whether approvers of the assignments can get such a request allowed (无人可审批 if not)."""
        return self.able.approvable

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "level": self.level,
            "approvable": self.approvable,
            "roles": list(self.roles),
            "needs": self.needs.to_dict(),
            "approvals": self.able.to_dict()["steps"],
        }


@dataclass(frozen=True, slots=True)
class WhatCan:
    subject: str
    org: str
    roles: tuple[str, ...]
    orgs: tuple[str, ...]  # the organisations whose resources it may act on
    blocked: str  # "role_conflict" when a separation of duties denies it everything, else ""
    permissions: tuple[Permission, ...]

    def grouped(self) -> dict[str, dict[str, list[Permission]]]:
        """The permissions by kind, then purpose, in the policy's order."""
        out: dict[str, dict[str, list[Permission]]] = {}
        for p in self.permissions:
            out.setdefault(p.kind, {}).setdefault(p.purpose, []).append(p)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "org": self.org,
            "roles": list(self.roles),
            "orgs": list(self.orgs),
            "blocked": self.blocked or None,
            "kinds": {
                kind: {purpose: [p.to_dict() for p in items] for purpose, items in by_purpose.items()}
                for kind, by_purpose in self.grouped().items()
            },
        }


def who_can(engine: Engine, action: str, kind: str, purpose: str, level: str, org: str | None = None) -> WhoCan:
    """The roles granted ``action`` on ``kind`` for ``purpose`` at ``level``, the users of the
    assignments who hold them and can ask (for a resource of ``org``, when given), and what each
    request needs. Raises ``ValueError`` for a word the policy does not know."""
    t = engine.tables
    v = t.vocabulary
    for value, table, what in ((action, v.actions, "action"), (kind, v.kinds, "kind"), (purpose, t.purposes, "purpose"),
                               (level, v.levels, "level")):
        _known(value, table, what, t)
    if org is not None:
        _known(org, v.orgs, "org", t)
    key = (action, kind, purpose, level)
    if kind not in t.purposes[purpose]:
        return WhoCan(action, kind, purpose, level, org, False, None, ())
    needs = needs_of(t, key)
    granted = {row[0] for row in engine.casbin.get_filtered_policy(1, action, kind, purpose, level)}
    # A role that separation of duties bars from the kind can never act on it, whatever its grant.
    barred = {s.role for s in t.separations if kind in s.barred_kinds}
    answers = []
    for role in (r for r in t.role_order if r in granted and r not in barred):
        able: list[Able] = []
        stuck: list[Able] = []
        blocked: list[Blocked] = []
        for user in sorted(engine.casbin.get_users_for_role(role)):
            person = v.people[user]
            if _conflict(t, person, kind):
                blocked.append(Blocked(user, "role_conflict"))
            elif org is not None and person.org not in t.scope[org]:
                blocked.append(Blocked(user, "org_out_of_scope"))
            else:
                a = _able(t, person, key, org)
                if not a.approvable and org is None and not a.exempt:
                    # Any org: a resource of the user's own may lift the classification steps.
                    own = _able(t, person, key, person.org)
                    a = a if not own.approvable else own
                (able if a.approvable else stuck).append(a)
        answers.append(RoleAnswer(role, t.grant_path[(role, *key)], tuple(able), tuple(blocked), tuple(stuck)))
    return WhoCan(action, kind, purpose, level, org, True, needs, tuple(answers))


def what_can(
    engine: Engine, subject: str, *, kinds: Iterable[str] = (), purposes: Iterable[str] = (), actions: Iterable[str] = (),
) -> WhatCan:
    """Everything a subject of the assignments may ask for, with what each request needs; only
    of ``kinds``, ``purposes`` and ``actions`` where they are given (each: any one of them).
    Raises ``ValueError`` for a subject not in the assignments or a word the policy does not know."""
    t = engine.tables
    v = t.vocabulary
    _known(subject, v.people, "subject", t)
    person = v.people[subject]
    wanted: list[frozenset[str]] = []
    for values, table, what in ((kinds, v.kinds, "kind"), (purposes, t.purposes, "purpose"), (actions, v.actions, "action")):
        chosen = tuple(values)
        for value in chosen:
            _known(value, table, what, t)
        wanted.append(frozenset(chosen))
    only_kinds, only_purposes, only_actions = wanted
    orgs = tuple(o for o in t.org_label if person.org in t.scope[o])
    roles = tuple(r for r in t.role_order if r in person.roles)
    if any(s.exclusive and s.role in person.roles and len(person.roles) > 1 for s in t.separations):
        return WhatCan(subject, person.org, roles, orgs, "role_conflict", ())
    rows = engine.casbin.get_implicit_permissions_for_user(subject)
    by_key: dict[Key, list[str]] = {}
    for role, action, kind, purpose, level, *_ in rows:
        if (only_kinds and kind not in only_kinds) or (only_purposes and purpose not in only_purposes) or (
            only_actions and action not in only_actions
        ):
            continue
        if kind in t.purposes[purpose] and not _conflict(t, person, kind):
            by_key.setdefault((action, kind, purpose, level), []).append(role)
    doc = engine.document
    rank = {x.id: i for section in (doc.kinds, doc.purposes, doc.actions, doc.levels) for i, x in enumerate(section)}
    perms = [
        Permission(*key, roles=tuple(r for r in t.role_order if r in rs), needs=needs_of(t, key), able=_able(t, person, key, person.org))
        for key, rs in sorted(by_key.items(), key=lambda kv: (rank[kv[0][1]], rank[kv[0][2]], rank[kv[0][0]], rank[kv[0][3]]))
    ]
    return WhatCan(subject, person.org, roles, orgs, "", tuple(perms))


class UnknownWord(ValueError):
    """A word of the question the policy does not know; ``message`` (Chinese), ``message_en``."""

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message = message
        self.message_en = message_en


_WHAT_ZH = {"action": "操作", "kind": "资料类型", "purpose": "用途", "level": "密级", "org": "机构", "subject": "用户"}


def _known(value: str, table: Any, what: str, t: Tables) -> None:
    if value not in table:
        aliases = None if what == "subject" else t.vocabulary.aliases
        raise UnknownWord(f"未知{_WHAT_ZH[what]}`{value}`；{hint(value, table, aliases, 'zh')}",
                          f"unknown {what} `{value}`; {hint(value, table, aliases)}")


def _conflict(t: Tables, person: Person, kind: str) -> bool:
    """Whether separation of duties (Q-08) denies this person every request on ``kind``."""
    for sep in t.separations:
        if sep.role in person.roles and ((sep.exclusive and len(person.roles) > 1) or kind in sep.barred_kinds):
            return True
    return False


def needs(engine: Engine, action: str, kind: str, purpose: str, level: str) -> Needs | None:
    """What a request of this action × kind × purpose × level needs beyond its grant; None when
    the purpose does not apply to the kind (or a value is not the policy's)."""
    key = (action, kind, purpose, level)
    return needs_of(engine.tables, key) if key in engine.tables.requirements else None


def needs_of(t: Tables, key: Key) -> Needs:
    need: Requirement = t.requirements[key]
    exempt = next((r for r in t.role_order if r in need.exemptions), "")
    has_class = any(s.group == CLASSIFICATION for s in need.steps)
    return Needs(
        consent=need.consent is not None,
        evidence=tuple((e.key, tuple(sorted(e.one_of or ()))) for e in need.evidence),
        retention_ended=need.retention is not None,
        steps=need.steps,
        exempt_role=exempt if has_class else "",
        obligations=need.obligations,
    )


def _able(t: Tables, person: Person, key: Key, org: str | None) -> Able:
    """The steps ``person``'s request needs on a resource of ``org`` (None: not known, so no
    exemption is assumed), who may fill each, and one approver per step, all different."""
    need = t.requirements[key]
    steps = need.steps
    exempt = org == person.org and any(r in person.roles for r in need.exemptions)
    if exempt and any(s.group == CLASSIFICATION for s in steps):
        steps = tuple(s for s in steps if s.group != CLASSIFICATION)
    else:
        exempt = False
    approvers = approvers_of(t, person, steps)
    plan = plan_of(t, steps, approvers)
    approvable = all(p for s, p in zip(steps, plan, strict=True) if not s.when)
    return Able(person.id, person.org, steps, approvers, plan, exempt, approvable)


def who_of(p: Person) -> str:
    """A person as one approver: ids that share a ``person`` share this (README, "Trust model")."""
    return p.key or p.id


def approvers_of(t: Tables, requester: Person, steps: Sequence[StepSpec]) -> tuple[tuple[str, ...], ...]:
    """Per step, the ids of the assignments that may approve ``requester``'s request there: a
    role of the step, an organisation in the requester's line (its own for ``approver_org:
    same``), and never the requester, under any of its ids (``self_approval``)."""
    above = t.scope[requester.org]
    me = who_of(requester)
    people = t.vocabulary.people.values()
    return tuple(
        tuple(
            p.id
            for p in people
            if p.roles & s.role_set and p.org in above and (not s.same_org or p.org == requester.org) and who_of(p) != me
        )
        for s in steps
    )


def plan_of(t: Tables, steps: Sequence[StepSpec], approvers: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """One approver per step, all different persons, filling as many steps as possible: a
    maximum matching (augmenting paths, at most 6 steps). The steps that always apply are placed
    first, then those with a ``when``; within each, the earlier steps first, and a step once
    filled stays filled, so a step left empty is one no reshuffle could fill."""
    people = t.vocabulary.people
    holder: dict[str, int] = {}  # who → the step it fills
    chosen: dict[int, str] = {}  # step → the id filling it

    def place(i: int, seen: set[str]) -> bool:
        for pid in approvers[i]:
            who = who_of(people[pid])
            if who in seen:
                continue
            seen.add(who)
            if who not in holder or place(holder[who], seen):
                holder[who] = i
                chosen[i] = pid
                return True
        return False

    order = [i for i, s in enumerate(steps) if not s.when] + [i for i, s in enumerate(steps) if s.when]
    for i in order:
        place(i, set())
    return tuple(chosen.get(i, "") for i in range(len(steps)))


def shortfall(t: Tables, steps: Sequence[StepSpec], approvers: Sequence[Sequence[str]], plan: Sequence[str]) -> tuple[int, tuple[int, ...], tuple[str, ...]] | None:
    """Why a plan leaves a step empty, or None when it fills every step: the first empty step,
    the steps that compete with it for the same people (itself included: more steps than
    people, Hall's condition), and those people (the ids of the assignments)."""
    empty = next((i for i, p in enumerate(plan) if not p), None)
    if empty is None:
        return None
    people = t.vocabulary.people
    by_who = {who_of(people[p]): i for i, p in enumerate(plan) if p}
    group, names, todo = {empty}, dict[str, str](), [empty]
    while todo:  # the alternating paths from the empty step: every person it could take is busy
        i = todo.pop()
        for pid in approvers[i]:
            who = who_of(people[pid])
            names.setdefault(who, pid)
            j = by_who.get(who)
            if j is not None and j not in group:
                group.add(j)
                todo.append(j)
    return empty, tuple(sorted(group)), tuple(sorted(names.values()))
