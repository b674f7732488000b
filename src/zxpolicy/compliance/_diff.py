"""Comparing two policies by their decisions: every request class (``_space``) is decided by both
engines, through ``Engine.check``, and the classes whose answers differ are listed.

A class's *answer* is what a request of it gets: allowed as it stands, allowed once its approval
steps are filled (the steps, with their roles, whether the approver must be of the requester's
own organisation, whether their chain is ordered), or denied; and, when allowed, the obligations
and the rules the decision cites. The class is first decided with no approvals (what is missing
are its steps), then, when nothing else is missing, with one approver per missing step; that
second decision must allow, or the diff stops with an error rather than guess.

A class is WIDENED when NEW allows what OLD denies, or needs weaker approvals (a step removed, a
role added to a step, a step no longer restricted to the requester's organisation or to an
order); NARROWED in the opposite case; CHANGED when only the obligations or the cited rules
differ. A class both widened and narrowed (a step's role replaced by another) is WIDENED: NEW
lets through a request OLD denied. A class denied by both is not listed, whatever the reasons.

A class's role set is *held* when it is a single role or a subset of the roles of an assignment
of either policy (a host may narrow a subject's roles, so such a set can be asked with). The
report shows the held ones by default and counts the others; all are compared, and a widening
among the others still counts as a widening.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from .._errors import DiffError, SpaceTooLarge
from ..compile import CLASSIFICATION, StepSpec, Tables
from ..decide import Approval, Consent, Decision, Engine, Resource, Subject
from ..policy import CONSOLE_RIGHTS, Labels
from ._space import RequestClass, Side, Space

__all__ = ["Answer", "Change", "Diff", "PersonChange", "Step", "diff_policies"]

T = TypeVar("T")
WIDENED, NARROWED, CHANGED = "widened", "narrowed", "changed"
MAX_CLASSES = 100_000  # about 15 s of checks
AT = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)  # every class's request time; only order matters
_APPROVAL_CODES = frozenset({"approval_missing", "clearance_insufficient"})


@dataclass(frozen=True, slots=True)
class Step:
    """An approval step as the diff compares it."""

    roles: tuple[str, ...]  # sorted
    same_org: bool  # the approver must be of the requester's own organisation
    ordered: bool  # its chain is ordered and has more than one step
    rule: str  # the rule of its chain

    def at_least_as_strict(self, other: Step) -> bool:
        return set(self.roles) <= set(other.roles) and self.same_org >= other.same_org and self.ordered >= other.ordered


@dataclass(frozen=True, slots=True)
class Answer:
    status: str  # "allow", "approvable" (allowed once its steps are filled), "deny"
    steps: tuple[Step, ...]  # in the policy's order: the chains', then the classification's
    obligations: tuple[str, ...]
    reasons: tuple[tuple[str, str], ...]  # (code, rule) of the deciding decision's reasons, sorted
    grant: str = ""  # the rule of the grant, when it permits

    @property
    def permits(self) -> bool:
        return self.status != "deny"


@dataclass(frozen=True, slots=True)
class Change:
    request: RequestClass
    mark: str  # widened, narrowed, changed
    old: Answer
    new: Answer
    rules: tuple[str, ...]  # the rules involved: see `involved`


@dataclass(frozen=True, slots=True)
class PersonChange:
    """A user of the assignments whose roles or organisation changed."""

    id: str
    mark: str
    old: tuple[tuple[str, ...], str] | None  # roles, org; None: not in OLD
    new: tuple[tuple[str, ...], str] | None


@dataclass(frozen=True)
class Diff:
    classes: int  # how many request classes were decided by both
    changes: tuple[Change, ...]
    people: tuple[PersonChange, ...]
    settings: tuple[tuple[str, str, str, str], ...]  # name, old, new, mark
    # The roles of each assignment of either policy: a class whose role set is within one of
    # these (or is one role) is held by someone; see ``held``.
    assigned: frozenset[frozenset[str]] = frozenset()
    labels: Labels = Labels()  # both policies' labels (NEW's where both have one)

    @property
    def marks(self) -> Counter[str]:
        return Counter([c.mark for c in self.changes] + [p.mark for p in self.people] + [s[3] for s in self.settings])

    @property
    def widened(self) -> bool:
        """Whether anything widened, shown or not: a widening no one holds today is one still."""
        return self.marks[WIDENED] > 0

    def held(self, change: Change) -> bool:
        roles = frozenset(change.request.roles)
        return len(roles) == 1 or any(roles <= a for a in self.assigned)

    def shown(self, all_role_sets: bool = False) -> tuple[Change, ...]:
        """The changes a report lists: those of held role sets, or all."""
        return self.changes if all_role_sets else tuple(c for c in self.changes if self.held(c))

    def left_out(self, all_role_sets: bool = False) -> tuple[Change, ...]:
        return () if all_role_sets else tuple(c for c in self.changes if not self.held(c))


def diff_policies(old: Engine, new: Engine, *, max_classes: int = MAX_CLASSES) -> Diff:
    """Every request class whose answer differs between ``old`` and ``new``.

    Raises ``SpaceTooLarge`` (before deciding anything) when there are more than ``max_classes``.
    """
    t0, t1 = old.tables, new.tables
    space = Space(Side(t0, old.document), Side(t1, new.document))
    size = space.size(max_classes)
    if size > max_classes:
        raise SpaceTooLarge(size, max_classes)
    changes = []
    for c in space:
        a, b = answer(old, t0, c), answer(new, t1, c)
        if a != b and (a.permits or b.permits):
            changes.append(compare(c, a, b))
    assigned = frozenset(frozenset(a.roles) for e in (old, new) for a in e.document.assignments)
    return Diff(size, tuple(changes), _people(old, new), _settings(old, new), assigned, _labels(old, new))


def _labels(old: Engine, new: Engine) -> Labels:
    a, b = Labels.of(old.document).sections, Labels.of(new.document).sections
    return Labels({name: {**a.get(name, {}), **b.get(name, {})} for name in {*a, *b}})


def answer(engine: Engine, tables: Tables, c: RequestClass) -> Answer:
    """How ``engine`` decides a request of class ``c``."""
    subject = Subject("requester", c.roles, c.org.subject_org)
    resource = Resource(
        "resource", c.kind, c.level, c.org.resource_org, customer_id="customer",
        retention_until=AT - timedelta(days=1) if c.retention == "ended" else None,
    )
    consent = Consent("customer", [c.purpose], AT - timedelta(days=10)) if c.consent == "valid" else None
    evidence = {k: v for k, v in c.evidence if v is not None}
    args = {"action": c.action, "consent": consent, "evidence": evidence, "at": AT}
    d = engine.check(subject, resource, c.purpose, **args)
    if d.allowed:  # an allowed decision's first reason is its grant
        return Answer("allow", (), d.obligations, _reasons(d), d.reasons[0].rule)
    if any(r.code not in _APPROVAL_CODES for r in d.reasons) or not d.missing_approvals:
        # The steps' reasons are left out: they are not why it is denied.
        return Answer("deny", (), (), tuple(sorted((r.code, r.rule) for r in d.reasons if r.code not in _APPROVAL_CODES)))
    specs = _steps(tables, c, evidence, d.missing_approvals)
    n = len(specs)
    approvals = [
        Approval(Subject(f"approver-{i}", [s.roles[0]], c.org.subject_org), s.roles[0], AT - timedelta(minutes=n - i), "resource", c.action)
        for i, s in enumerate(specs)
    ]
    full = engine.check(subject, resource, c.purpose, approvals=approvals, **args)
    if not full.allowed:
        raise DiffError(f"a request of {_name(c)} is not allowed with an approver for each missing step: {full.codes}")
    groups = Counter(s.group for s in specs)
    steps = tuple(Step(tuple(sorted(s.roles)), s.same_org, s.ordered and groups[s.group] > 1, s.cite.rule) for s in specs)
    return Answer("approvable", steps, full.obligations, _reasons(full), full.reasons[0].rule)


def _steps(t: Tables, c: RequestClass, evidence: dict[str, str], missing: tuple[tuple[str, ...], ...]) -> list[StepSpec]:
    """The policy's steps behind a decision's ``missing_approvals``: those whose ``when`` holds,
    less the classification steps when an exemption lifted them. Checked against the decision."""
    steps = [s for s in t.requirements[c.key].steps if all(evidence.get(k) == v for k, v in s.when)]
    for candidate in (steps, [s for s in steps if s.group != CLASSIFICATION]):
        if tuple(s.roles for s in candidate) == missing:
            return candidate
    raise DiffError(f"the missing approvals of {_name(c)} do not match the policy's steps: {missing}")


def _reasons(d: Decision) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((r.code, r.rule) for r in d.reasons))


def _name(c: RequestClass) -> str:
    return f"`{c.action}` `{c.kind}` `{c.purpose}` `{c.level}` by `{'+'.join(c.roles)}`"


def weaker_or_equal(a: tuple[Step, ...], b: tuple[Step, ...]) -> bool:
    """Whether whoever meets steps ``b`` meets steps ``a``: each step of ``a`` matched to a step of
    ``b`` of its own that is at least as strict."""

    def match(i: int, free: frozenset[int]) -> bool:
        if i == len(a):
            return True
        return any(b[j].at_least_as_strict(a[i]) and match(i + 1, free - {j}) for j in free)

    return len(a) <= len(b) and match(0, frozenset(range(len(b))))


def compare(c: RequestClass, a: Answer, b: Answer) -> Change:
    if a.permits != b.permits:
        mark = WIDENED if b.permits else NARROWED
    elif a.steps != b.steps:
        stricter, weaker = weaker_or_equal(a.steps, b.steps), weaker_or_equal(b.steps, a.steps)
        # Steps only reordered (or as strict as before) are a change, not a widening.
        mark = CHANGED if stricter and weaker else NARROWED if stricter else WIDENED
    else:
        mark = CHANGED
    return Change(c, mark, a, b, involved(a, b))


def involved(a: Answer, b: Answer) -> tuple[str, ...]:
    """The rules a change is about: when one side denies, why it denies and the other's grant;
    else the rules of the steps that differ; else those of the reasons that differ."""
    if a.permits != b.permits:
        deny, grant = (a, b) if b.permits else (b, a)
        return tuple(sorted({rule for _, rule in deny.reasons} | {grant.grant}))
    rules = {s.rule for s in _symmetric(a.steps, b.steps)}
    if not rules:
        rules = {rule for _, rule in _symmetric(a.reasons, b.reasons)}
    return tuple(sorted(rules))


def _symmetric(a: tuple[T, ...], b: tuple[T, ...]) -> list[T]:
    x, y = Counter(a), Counter(b)
    return list(((x - y) + (y - x)).elements())


def _people(old: Engine, new: Engine) -> tuple[PersonChange, ...]:
    """Users whose roles or organisation changed. A user who gains a role, or moves to an
    organisation that is not within the old one, may do more: WIDENED."""
    before = {a.id: (tuple(a.roles), a.org) for a in old.document.assignments}
    after = {a.id: (tuple(a.roles), a.org) for a in new.document.assignments}
    scope = new.tables.scope
    out = []
    for pid in [*before, *(p for p in after if p not in before)]:
        x, y = before.get(pid), after.get(pid)
        if x is not None and y is not None and (set(x[0]), x[1]) == (set(y[0]), y[1]):
            continue
        if y is None:
            mark = NARROWED
        elif x is None or not set(y[0]) <= set(x[0]) or x[1] not in scope.get(y[1], ()):
            mark = WIDENED
        else:
            mark = NARROWED
        out.append(PersonChange(pid, mark, x, y))
    return tuple(out)


# How a setting's change reads: the values from the narrowest to the widest, or a function that
# says whether the new value is wider. A setting not listed here is marked WIDENED on any change,
# so that a reviewer looks at it (a diff must never call a widening a mere change).
_SETTING_ORDER: dict[str, tuple[str, ...]] = {"identities": ("assignments_only", "assignments_or_host")}


def _settings(old: Engine, new: Engine) -> tuple[tuple[str, str, str, str], ...]:
    a_all = old.document.settings.model_dump(mode="json")
    b_all = new.document.settings.model_dump(mode="json")
    out = []
    for name in sorted(set(a_all) | set(b_all)):
        a, b = a_all.get(name), b_all.get(name)
        if a == b:
            continue
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            mark = WIDENED if b > a else NARROWED  # a longer password age, a larger limit
        elif name in _SETTING_ORDER and a in _SETTING_ORDER[name] and b in _SETTING_ORDER[name]:
            order = _SETTING_ORDER[name]
            mark = WIDENED if order.index(b) > order.index(a) else NARROWED
        else:
            mark = WIDENED
        out.append((name, _shown(a), _shown(b), mark))
    return tuple(out) + _console_rights(old, new)


def _console_rights(old: Engine, new: Engine) -> tuple[tuple[str, str, str, str], ...]:
    """The console's rights (``console.rights.RIGHT``: the roles holding it), as settings: a
    role gaining a right is WIDENED, only losing NARROWED. A policy without the section gives
    no one any right (the console refuses), so adding the section widens each right it gives."""
    a_all, b_all = _rights_of(old), _rights_of(new)
    out = []
    for right in CONSOLE_RIGHTS:
        a, b = a_all.get(right, []), b_all.get(right, [])
        if set(a) == set(b):
            continue
        mark = WIDENED if set(b) - set(a) else NARROWED
        out.append((f"console.rights.{right}", _shown(sorted(a)), _shown(sorted(b)), mark))
    return tuple(out)


def _rights_of(engine: Engine) -> dict[str, list[str]]:
    console = engine.document.console
    return {} if console is None else {r: list(getattr(console.rights, r)) for r in CONSOLE_RIGHTS}


def _shown(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
