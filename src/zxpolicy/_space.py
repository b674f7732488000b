"""The request classes a policy diff enumerates: every request the two policies could decide
differently falls in exactly one of them, and all requests of one class are decided alike.

A decision depends on the request only through what the engine reads of it. For one action ×
kind × purpose × level (a *key*) that is:

- **roles**: through (a) the first role of the subject, in the policy's role order, granted the
  key (Q-03), (b) the first role exempt from the classification steps for the action (C-02), and
  (c) the separation rules (Q-08: an exclusive role held with any other; a role barred from the
  kind). Roles granted nothing at the key, exempt from nothing and in no separation rule change
  nothing. So the classes enumerate each role granted the key by either policy alone, and that
  role paired with each role that matters beside it (an exempt or a separation role; any other
  role when the granted role is itself a separation role, since holding it with anything may
  conflict). Any larger set of roles is decided, in each policy, like the set of at most two of
  its roles that (a)-(c) pick out; a set holding a role granted only by OLD, another granted only
  by NEW and an exempt third shows its change in its pairs. A set with no role granted the key by
  either policy is denied by both (Q-01/Q-03) and is not enumerated; neither is a key whose
  purpose applies to its kind in neither policy (Q-02).
- **organisations**: through whether the resource's organisation is the subject's (C-02's
  exemption) or below it (Q-07). The approvers a class is given belong to the subject's own
  organisation, which every step accepts. Where the two org trees agree on a pair, a pair is
  decided like any other of its relation, so one pair stands for each: ``same``, ``below``; a
  resource out of scope is denied by both (Q-07). Each pair the trees relate differently (or that
  only one tree has) is a class of its own, named ``subject>resource``.
- **consent**, only where either policy asks for it at the key: none or valid. A consent that is
  invalid (another customer, another purpose, expired, revoked) is denied where consent is asked
  and ignored where not, exactly like none.
- **evidence**, for each key either policy reads at the key (its evidence and the steps' ``when``):
  absent, each value either policy names for it, or one value neither names (shown ``(given)``
  for a free-text key, ``(other)`` otherwise). Values named nowhere are read alike.
- **retention**, only where either policy asks for it (A-06): running or ended.

The subject's own state (suspended, password) is decided alike by both policies except for the
password age, which the diff reports as a setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from math import prod

from ._compile import Key, Requirement, Tables
from ._schema import PolicyDocument

# An evidence value neither policy names (made unique against the named ones): "(given)" for a
# key no policy restricts, "(other)" for one that some policy restricts to named values.
GIVEN, OTHER = "(given)", "(other)"


@dataclass(frozen=True, slots=True)
class OrgCase:
    label: str  # "same", "below", or "subject>resource" for a pair the org trees relate differently
    subject_org: str
    resource_org: str


@dataclass(frozen=True, slots=True)
class RequestClass:
    roles: tuple[str, ...]
    action: str
    kind: str
    purpose: str
    level: str
    org: OrgCase
    consent: str  # "-" (asked by neither policy), "none", "valid"
    evidence: tuple[tuple[str, str | None], ...]  # each key read at this key: its value, None when absent
    retention: str  # "-" (asked by neither), "running", "ended"

    @property
    def key(self) -> Key:
        return (self.action, self.kind, self.purpose, self.level)


@dataclass(frozen=True)
class Side:
    """One policy as the enumeration reads it."""

    tables: Tables
    document: PolicyDocument

    def requirement(self, key: Key) -> Requirement | None:
        return self.tables.requirements.get(key)


def _union(*lists: list[str]) -> list[str]:
    return list(dict.fromkeys(x for items in lists for x in items))


def _relation(t: Tables, subject_org: str, resource_org: str) -> str:
    if subject_org not in t.scope or resource_org not in t.scope:
        return "absent"
    if subject_org == resource_org:
        return "same"
    return "below" if subject_org in t.scope[resource_org] else "out"


def org_cases(old: Side, new: Side) -> list[OrgCase]:
    orgs = _union([o.id for o in old.document.orgs], [o.id for o in new.document.orgs])
    cases: list[OrgCase] = []
    for rel in ("same", "below"):
        pair = next(
            ((s, r) for s in orgs for r in orgs
             if _relation(old.tables, s, r) == rel and _relation(new.tables, s, r) == rel),
            None,
        )
        if pair:
            cases.append(OrgCase(rel, *pair))
    for s in orgs:
        for r in orgs:
            rels = {_relation(old.tables, s, r), _relation(new.tables, s, r)}
            if len(rels) > 1 and rels & {"same", "below"}:
                cases.append(OrgCase(f"{s}>{r}", s, r))
    return cases


class Space:
    """The classes of two policies' requests, counted before they are enumerated."""

    def __init__(self, old: Side, new: Side) -> None:
        self.old, self.new = old, new
        d0, d1 = old.document, new.document
        self.roles = _union([r.id for r in d0.roles], [r.id for r in d1.roles])
        self.actions = _union([a.id for a in d0.actions], [a.id for a in d1.actions])
        self.kinds = _union([k.id for k in d0.kinds], [k.id for k in d1.kinds])
        self.purposes = _union([p.id for p in d0.purposes], [p.id for p in d1.purposes])
        self.levels = _union([lv.id for lv in d0.levels], [lv.id for lv in d1.levels])
        self.orgs = org_cases(old, new)
        self.separation_roles = {s.role for side in (old, new) for s in side.tables.separations}

    def keys(self) -> Iterator[Key]:
        """Every key that some role may be granted with a purpose that applies, in either policy."""
        for key in product(self.actions, self.kinds, self.purposes, self.levels):
            if any(s.tables.roles_for.get(key) and s.requirement(key) is not None for s in (self.old, self.new)):
                yield key

    def role_sets(self, key: Key) -> list[tuple[str, ...]]:
        granted = _union(*(list(s.tables.roles_for.get(key, ())) for s in (self.old, self.new)))
        special = set(self.separation_roles)
        for side in (self.old, self.new):
            need = side.requirement(key)
            if need is not None:
                special |= set(need.exemptions)
        order = {r: i for i, r in enumerate(self.roles)}
        sets: dict[tuple[str, ...], None] = {}
        for g in granted:
            sets[(g,)] = None
            partners = self.roles if g in self.separation_roles else [r for r in self.roles if r in special]
            for other in partners:
                if other != g:
                    sets[tuple(sorted((g, other), key=order.__getitem__))] = None
        return list(sets)

    def shapes(self, key: Key) -> tuple[list[str], list[tuple[tuple[str, str | None], ...]], list[str]]:
        """The consent, evidence and retention shapes of a key."""
        needs = [n for n in (self.old.requirement(key), self.new.requirement(key)) if n is not None]
        consent = ["none", "valid"] if any(n.consent for n in needs) else ["-"]
        retention = ["running", "ended"] if any(n.retention for n in needs) else ["-"]
        named: dict[str, set[str]] = {}
        for n in needs:
            for ev in n.evidence:
                named.setdefault(ev.key, set()).update(ev.one_of or ())
            for step in n.steps:
                for k, v in step.when:
                    named.setdefault(k, set()).add(v)
        domains: list[list[tuple[str, str | None]]] = []
        for k in sorted(named):
            other = OTHER if named[k] else GIVEN
            while other in named[k]:
                other += "'"
            domains.append([(k, None), *((k, v) for v in sorted(named[k])), (k, other)])
        return consent, [tuple(e) for e in product(*domains)], retention

    def size(self) -> int:
        total = 0
        for key in self.keys():
            consent, evidence, retention = self.shapes(key)
            total += prod((len(self.role_sets(key)), len(self.orgs), len(consent), len(evidence), len(retention)))
        return total

    def __iter__(self) -> Iterator[RequestClass]:
        for key in self.keys():
            consent, evidence, retention = self.shapes(key)
            for roles, org, c, e, r in product(self.role_sets(key), self.orgs, consent, evidence, retention):
                yield RequestClass(roles, *key, org, c, e, r)
