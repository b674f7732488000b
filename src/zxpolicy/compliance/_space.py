"""The request classes a policy diff enumerates: every request is decided by the two policies as
one of these classes is, or is denied by both; all requests of a class are decided alike.

A decision depends on the request only through what the engine reads of it. For one action ×
kind × purpose × level (a *key*) that is:

- **roles**: only through the subject's *profile* at the key: in each policy, (a) its first
  role, in that policy's role order, granted the key (Q-03: the grant cited), and (b) its first
  role exempt from the classification steps for the action (C-02); and (c) which separation roles
  it holds, and whether it holds more than one role (Q-08). Nothing else of the roles is read,
  but for the wording of messages. Any set of roles R has the profile of the set R' made of the
  (up to four) roles (a) and (b) pick in the two policies, R's separation roles, and, when that
  leaves a lone separation role while R has more, one other role that keeps the profile (one
  known to both policies, one known to either only: a policy counts only the roles it knows): R'
  is a subset of R (or stands for it), and a set of roles is decided by each policy like any
  other with its profile. So the classes are one such R' for each profile a subject can have:
  a role granted by both alone, with an exempt role, with a separation role, two roles when the
  grant moved from one to the other. A set with no role granted the key by either policy is
  denied by both (Q-01/Q-03) and is not enumerated; neither is a key whose purpose applies to its
  kind in neither policy (Q-02).
- **organisations**: through whether the resource's organisation is the subject's (C-02's
  exemption) or below it (Q-07). The approvers a class is given belong to the subject's own
  organisation, which every step accepts. Where the two org trees agree on a pair, a pair is
  decided like any other of its relation, so one pair stands for each: ``same``, ``below``; a
  resource out of scope is denied by both (Q-07). Each pair the trees relate differently (or that
  only one tree has) is a class of its own, named ``subject>resource``. (Approvers are not
  enumerated by organisation: a tree change that only moves an approver out of, or into, the
  requester's line of organisations is not seen.)
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
from itertools import combinations, product
from math import prod

from ..compile import Key, Requirement, Tables
from ..policy import PolicyDocument

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
        self._role_sets: dict[Key, list[tuple[str, ...]]] = {}
        r0, r1 = set(old.tables.role_order), set(new.tables.role_order)
        self.known = (r0 & r1, r0 - r1, r1 - r0)  # the roles both policies know, OLD only, NEW only

    def keys(self) -> Iterator[Key]:
        """Every key that some role may be granted with a purpose that applies, in either policy."""
        for key in product(self.actions, self.kinds, self.purposes, self.levels):
            if any(s.tables.roles_for.get(key) and s.requirement(key) is not None for s in (self.old, self.new)):
                yield key

    def role_sets(self, key: Key) -> list[tuple[str, ...]]:
        """One set of roles for each profile some subject may have at ``key`` (see the module's
        docstring): each policy's first granted and first exempt role, and the separation roles."""
        if key not in self._role_sets:
            self._role_sets[key] = self._profiles(key)
        return self._role_sets[key]

    def _profiles(self, key: Key) -> list[tuple[str, ...]]:
        granted = [set(s.tables.roles_for.get(key, ())) for s in (self.old, self.new)]
        exempt = [set(need.exemptions) if need else set() for need in (s.requirement(key) for s in (self.old, self.new))]
        seps = sorted(self.separation_roles)
        orders = (self.old.tables.role_order, self.new.tables.role_order)

        def profile(roles: set[str]) -> tuple[str | None, ...]:
            return tuple(
                next((r for r in order if r in roles and r in pool), None)
                for order, pools in zip(orders, zip(granted, exempt))
                for pool in pools
            )

        rank = {r: i for i, r in enumerate(self.roles)}
        out: dict[tuple[str, ...], None] = {}
        choices = [[*sorted(granted[0], key=rank.__getitem__), None], [*sorted(exempt[0]), None],
                   [*sorted(granted[1], key=rank.__getitem__), None], [*sorted(exempt[1]), None]]
        for wanted in product(*choices):
            if wanted[0] is None and wanted[2] is None:
                continue  # granted by neither: denied by both
            for n in range(len(seps) + 1):
                for extra in combinations(seps, n):
                    roles = {r for r in (*wanted, *extra) if r is not None}
                    if profile(roles) != wanted:
                        continue  # not a profile a subject can have
                    out[tuple(sorted(roles, key=rank.__getitem__))] = None
                    if len(roles) == 1 and roles <= self.separation_roles:
                        # Held with another role, an exclusive role conflicts: any role that
                        # keeps the profile stands for all of them, one known to both policies,
                        # one to OLD only, one to NEW only (a policy counts only roles it knows).
                        for known in self.known:
                            filler = next((r for r in self.roles if r in known and r not in self.separation_roles
                                           and profile(roles | {r}) == wanted), None)
                            if filler is not None:
                                out[tuple(sorted(roles | {filler}, key=rank.__getitem__))] = None
        return list(out)

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

    def size(self, limit: int | None = None) -> int:
        """How many classes there are; counting stops once past ``limit``, so that a space too
        large to enumerate is not enumerated to be counted."""
        total = 0
        for key in self.keys():
            consent, evidence, retention = self.shapes(key)
            total += prod((len(self.role_sets(key)), len(self.orgs), len(consent), len(evidence), len(retention)))
            if limit is not None and total > limit:
                break
        return total

    def __iter__(self) -> Iterator[RequestClass]:
        for key in self.keys():
            consent, evidence, retention = self.shapes(key)
            for roles, org, c, e, r in product(self.role_sets(key), self.orgs, consent, evidence, retention):
                yield RequestClass(roles, *key, org, c, e, r)
