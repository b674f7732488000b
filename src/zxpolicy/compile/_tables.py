"""A validated policy → the look-up tables the engine decides with.

Everything that does not depend on the request is worked out here, once: the org tree's
ancestor sets, the grant table keyed for direct look-up, and for every action × kind × purpose ×
level the requirement a request must meet (consent, evidence, chain steps, classification steps,
obligations). The tables are immutable; a new policy builds new tables.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from string import Formatter
from types import MappingProxyType
from typing import Callable, Mapping

from .._diagnostic import ENGINE_CLAUSE, ENGINE_RULE, Reason, new_reason
from ..policy import Chain, Evidence, PolicyDocument, Step, folded, grant_rows

Key = tuple[str, str, str, str]  # action, kind, purpose, level

# The chains whose steps a request may need, in the order `missing_approvals` lists them.
ACTION_CHAIN, PURPOSE_CHAIN, CLASSIFICATION = 0, 1, 2


@dataclass(slots=True)  # not frozen: built per request, and a frozen one costs 5× more to build
class Person:
    """Someone who asks or approves: an id, the policy's roles held, an organisation. Nothing
    changes one once built."""

    id: str
    roles: frozenset[str]  # the roles of the policy the person holds; others grant nothing
    org: str
    # Who holds the id, as one approver: the first id of the assignments whose `person` it shares
    # (directly or through a list of people), for an id that shares one; "" for the id itself.
    key: str = ""


@dataclass(frozen=True)
class Vocabulary:
    """What reading a request needs to know of the policy."""

    roles: frozenset[str]
    orgs: frozenset[str]
    kinds: frozenset[str]
    levels: frozenset[str]
    actions: frozenset[str]
    people: Mapping[str, Person]  # the assignments, by id
    aliases: Mapping[str, str]  # Chinese labels → ids, for hints only
    # settings.identities is `assignments_only`: an id not in `people` is no one (README, "Trust model")
    assignments_only: bool = False


@dataclass(frozen=True, slots=True)
class Cite:
    """A rule as a reason cites it."""

    rule: str
    clause: str
    zh: str  # the rule's title, used in details
    en: str


@dataclass(frozen=True, slots=True)
class StepSpec:
    roles: tuple[str, ...]  # in the policy's order: this is what `missing_approvals` shows
    role_set: frozenset[str]
    same_org: bool  # the approver's organisation must be exactly the requester's
    when: tuple[tuple[str, str], ...]  # evidence key = value for the step to apply
    group: int  # steps of one chain share a group
    ordered: bool
    path: str  # where the step is in the policy, e.g. `approvals[0].steps[1]`
    code: str  # the deny code when it is missing
    cite: Cite
    zh: str  # the roles, for messages
    en: str


@dataclass(frozen=True, slots=True)
class EvidenceSpec:
    key: str
    one_of: frozenset[str] | None
    code: str
    cite: Cite
    path: str  # where the requirement is in the policy, e.g. `purposes[3].evidence[0]`


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a request of one action × kind × purpose × level must meet beyond its grant."""

    consent: Cite | None
    evidence: tuple[EvidenceSpec, ...]
    retention: Cite | None
    steps: tuple[StepSpec, ...]  # the chains' steps, then the classification steps
    conditional: bool  # some step has a `when`
    exemptions: Mapping[str, Cite]  # role → the rule that lifts the classification steps in its own org
    obligations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeparationRule:
    role: str
    exclusive: bool
    barred_kinds: frozenset[str]
    cite: Cite


class Messages:
    """Reason codes → messages, with the detail filled in.

    Each message is split once around its ``{detail}`` (the only placeholder the loader lets a
    message have), so filling it in is a join; a reason without detail is built once per rule
    cited and then shared — reasons are immutable.
    """

    def __init__(self, doc: PolicyDocument) -> None:
        self._parts = {code: (_split(m.zh), _split(m.en)) for code, m in doc.reasons.items()}
        self._fixed: dict[tuple[str, int], tuple[Cite, Reason]] = {}

    def reason(self, code: str, cite: Cite, zh: str = "", en: str = "") -> Reason:
        if not zh and not en:
            # Keyed by the cite's identity (cites live in the tables), checked against it.
            known = self._fixed.get((code, id(cite)))
            if known is not None and known[0] is cite:
                return known[1]
        pzh, pen = self._parts[code]  # every code has a message: the loader checks
        made = new_reason(code, cite.rule, cite.clause, zh.join(pzh), en.join(pen))
        if not zh and not en:
            self._fixed[code, id(cite)] = (cite, made)
        return made


def _split(message: str) -> list[str]:
    """A message's text around each ``{detail}``, with ``{{`` and ``}}`` read as ``format`` reads
    them: ``detail.join(parts) == message.format(detail=detail)``."""
    parts, text = [], ""
    for literal, field, _, _ in Formatter().parse(message):
        text += literal
        if field is not None:
            parts.append(text)
            text = ""
    parts.append(text)
    return parts


@dataclass(frozen=True)
class Tables:
    vocabulary: Vocabulary
    role_order: tuple[str, ...]
    role_label: Mapping[str, tuple[str, str]]
    org_label: Mapping[str, tuple[str, str]]
    purposes: Mapping[str, frozenset[str]]  # purpose → the kinds it applies to
    scope: Mapping[str, frozenset[str]]  # org → itself and every org above it
    grants: Mapping[tuple[str, str, str, str, str], Reason]  # role, action, kind, purpose, level
    grant_path: Mapping[tuple[str, str, str, str, str], str]  # the same keys → `grants[i]`, the entry granting
    roles_for: Mapping[Key, tuple[str, ...]]  # the roles granted each action × kind × purpose × level, in role order
    requirements: Mapping[Key, Requirement]
    separations: tuple[SeparationRule, ...]
    checks: Mapping[str, Cite]  # built-in check → its rule
    password_max_age: timedelta
    # (action, kind) of the allowed decisions that must be recorded (settings.must_record, and
    # those that carry `log_query`): an engine whose log cannot record one denies it
    must_record: frozenset[tuple[str, str]]
    engine: Cite
    messages: Messages


def compile_policy(doc: PolicyDocument) -> Tables:
    rules = {r.id: r for r in doc.rules}

    def cite(rule: str, clause: str | None = None) -> Cite:
        r = rules[rule]
        return Cite(rule, clause or r.clause, r.zh, r.en)

    messages = Messages(doc)
    role_label = {r.id: (r.zh, r.en) for r in doc.roles}
    parents = {o.id: o.parent for o in doc.orgs}
    scope: dict[str, frozenset[str]] = {}
    for org in parents:
        chain: list[str] = []
        node: str | None = org
        while node is not None:
            chain.append(node)
            node = parents[node]
        scope[org] = frozenset(chain)

    grants: dict[tuple[str, str, str, str, str], Reason] = {}
    grant_path: dict[tuple[str, str, str, str, str], str] = {}
    roles_for: dict[Key, list[str]] = {}
    rank = {role: i for i, role in enumerate(role_label)}
    entry = {id(g): i for i, g in enumerate(doc.grants)}
    for role, action, kind, purpose, level, g in grant_rows(doc):
        if (role, action, kind, purpose, level) in grants:
            continue  # the first grant in file order is the one cited
        c = cite(g.rule, g.clause)
        zh, en = role_label[role]
        grants[role, action, kind, purpose, level] = messages.reason("granted", c, f"{c.zh}（{zh}）", f"{c.en} ({en})")
        grant_path[role, action, kind, purpose, level] = f"grants[{entry[id(g)]}]"
        roles_for.setdefault((action, kind, purpose, level), []).append(role)
    all_levels = [lv.id for lv in doc.levels]

    requirements = _requirements(doc, cite, role_label)
    credit = frozenset(k.id for k in doc.kinds if k.credit_information)
    role_sets: dict[tuple[str, ...], frozenset[str]] = {}  # people share their role sets: a few, for 100k people
    keys = person_keys(doc)
    people = {
        a.id: Person(a.id, role_sets.setdefault(tuple(a.roles), frozenset(a.roles)), a.org, keys.get(a.id, ""))
        for a in doc.assignments
    }
    vocabulary = Vocabulary(
        roles=frozenset(role_label),
        orgs=frozenset(parents),
        kinds=frozenset(k.id for k in doc.kinds),
        levels=frozenset(all_levels),
        actions=frozenset(a.id for a in doc.actions),
        people=MappingProxyType(people),
        aliases=MappingProxyType(
            {
                x.zh: x.id
                for section in (doc.levels, doc.kinds, doc.actions, doc.roles, doc.orgs, doc.purposes)
                for x in section
            }
        ),
        assignments_only=doc.settings.identities == "assignments_only",
    )
    return Tables(
        vocabulary=vocabulary,
        role_order=tuple(role_label),
        role_label=MappingProxyType(role_label),
        org_label=MappingProxyType({o.id: (o.zh, o.en) for o in doc.orgs}),
        purposes=MappingProxyType({p.id: frozenset(p.kinds) for p in doc.purposes}),
        scope=MappingProxyType(scope),
        grants=MappingProxyType(grants),
        grant_path=MappingProxyType(grant_path),
        # In the policy's role order, not the file order of grants.yaml: check cites the grant of
        # the first role held in this order, as it always has.
        roles_for=MappingProxyType({k: tuple(sorted(v, key=rank.__getitem__)) for k, v in roles_for.items()}),
        requirements=MappingProxyType(requirements),
        separations=tuple(
            SeparationRule(s.role, s.exclusive, credit if s.bars_credit_information else frozenset(), cite(s.rule, s.clause))
            for s in doc.separations
        ),
        checks=MappingProxyType({r.check: cite(r.id) for r in doc.rules if r.check}),
        password_max_age=timedelta(days=doc.settings.password_max_age_days),
        must_record=must_record(doc, requirements),
        engine=Cite(ENGINE_RULE, ENGINE_CLAUSE, "请求须可识别", "the request must be readable"),
        messages=messages,
    )


def must_record(doc: PolicyDocument, requirements: Mapping[Key, Requirement]) -> frozenset[tuple[str, str]]:
    """The (action, kind) pairs whose allowed decisions must be recorded: ``settings.must_record``
    (each entry its actions × its kinds, every action where it names none), by default every
    action on a kind marked ``credit_information`` and on ``user_account``; and every pair whose
    decisions carry the obligation ``log_query``."""
    actions = [a.id for a in doc.actions]
    entries = doc.settings.must_record
    if entries is None:
        kinds = [k.id for k in doc.kinds if k.credit_information or k.id == "user_account"]
        pairs = {(a, k) for a in actions for k in kinds}
    else:
        pairs = {(a, k) for e in entries for a in (e.actions or actions) for k in e.kinds}
    pairs.update((key[0], key[1]) for key, req in requirements.items() if "log_query" in req.obligations)
    return frozenset(pairs)


def person_keys(doc: PolicyDocument) -> dict[str, str]:
    """Id → the first id (in file order) held by the same person, for every id that shares its
    ``person`` with another id: such ids are one approver (no self-approval under another id, one
    step each). A ``person`` list joins everyone named in it, and each person is compared by
    ``folded``: wrongly taking two people for one only refuses approvals, never grants."""
    assignments = doc.assignments
    first: dict[str, int] = {}  # a person → the first assignment naming them
    parent = list(range(len(assignments)))  # union-find over the assignments; a root is its group's first

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(assignments):
        names = [a.person] if isinstance(a.person, str) else list(a.person or ())
        for name in names:
            j = first.setdefault(folded(name), i)
            ri, rj = root(i), root(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    roots = [root(i) for i in range(len(assignments))]
    size = Counter(roots)
    return {a.id: assignments[r].id for a, r in zip(assignments, roots) if size[r] > 1}


def _requirements(
    doc: PolicyDocument, cite: Callable[..., Cite], role_label: Mapping[str, tuple[str, str]]
) -> dict[Key, Requirement]:

    def steps(chain: Chain, group: int, code: str, path: str) -> list[StepSpec]:
        c = cite(chain.rule, chain.clause)
        return [
            _step(s, group, chain.ordered, code, c, role_label, f"{path}.steps[{n}]") for n, s in enumerate(chain.steps)
        ]

    def evidence(items: list[Evidence], rule: str, clause: str | None, path: str) -> list[EvidenceSpec]:
        return [
            EvidenceSpec(
                e.key,
                frozenset(e.one_of) if e.one_of else None,
                e.code,
                cite(e.rule or rule, e.clause or (None if e.rule else clause)),
                f"{path}.evidence[{n}]",
            )
            for n, e in enumerate(items)
        ]

    chains = {(a, k): (i, rule) for i, rule in enumerate(doc.approvals) for a in rule.actions for k in rule.kinds}
    c = doc.classification
    class_cite = cite(c.rule, c.clause)
    class_steps = {
        level: [
            _step(s, CLASSIFICATION, False, "clearance_insufficient", class_cite, role_label, f"classification.steps.{level}[{n}]")
            for n, s in enumerate(entries)
        ]
        for level, entries in c.steps.items()
    }
    purposes = {p.id: (j, p) for j, p in enumerate(doc.purposes)}
    out: dict[Key, Requirement] = {}
    for action in (a.id for a in doc.actions):
        exemptions = MappingProxyType(
            {e.role: cite(e.rule, e.clause) for e in reversed(c.exemptions) if action in e.actions}
        )
        for kind in (k.id for k in doc.kinds):
            chain_at, chain = chains.get((action, kind), (-1, None))
            consent_applies = action in doc.consent.actions and kind in doc.consent.kinds
            obligations = [o.id for o in doc.obligation_rules if action in o.actions and kind in o.kinds]
            if chain:
                obligations += [o for o in chain.obligations if o not in obligations]
            for j, purpose in purposes.values():
                if kind not in purpose.kinds:
                    continue
                chain_steps = steps(chain, ACTION_CHAIN, "approval_missing", f"approvals[{chain_at}]") if chain else []
                if purpose.approvals:
                    chain_steps += steps(purpose.approvals, PURPOSE_CHAIN, "approval_missing", f"purposes[{j}].approvals")
                ev = evidence(purpose.evidence, purpose.rule, None, f"purposes[{j}]")
                if chain:
                    ev += evidence(chain.evidence, chain.rule, chain.clause, f"approvals[{chain_at}]")
                for level in (lv.id for lv in doc.levels):
                    all_steps = tuple(chain_steps + class_steps[level])
                    out[action, kind, purpose.id, level] = Requirement(
                        consent=cite(doc.consent.rule, doc.consent.clause) if consent_applies and purpose.consent else None,
                        evidence=tuple(ev),
                        retention=cite(chain.rule, chain.clause) if chain and chain.retention_ended else None,
                        steps=all_steps,
                        conditional=any(s.when for s in all_steps),
                        exemptions=exemptions,
                        obligations=tuple(obligations),
                    )
    return out


def _step(
    step: Step, group: int, ordered: bool, code: str, cite: Cite, role_label: Mapping[str, tuple[str, str]], path: str
) -> StepSpec:
    return StepSpec(
        roles=tuple(step.roles),
        role_set=frozenset(step.roles),
        same_org=step.approver_org == "same",
        when=tuple(sorted((step.when or {}).items())),
        group=group,
        ordered=ordered,
        path=path,
        code=code,
        cite=cite,
        zh="或".join(role_label[r][0] for r in step.roles),
        en=" or ".join(role_label[r][1] for r in step.roles),
    )
