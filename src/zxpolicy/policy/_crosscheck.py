"""What the policy's entries say about each other: references, duplicates, the org tree.

Each problem is returned as (path, message), the path into the merged document, so that the
loader can name the file, line and column it comes from.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from .._diagnostic import ENGINE_CODES
from .._hints import hint, listing
from ._schema import (
    CHECKS,
    MAX_ORDERED_STEPS,
    MAX_STEPS,
    Evidence,
    PolicyDocument,
    Step,
)

Problem = tuple[tuple[str | int, ...], str]


def crosscheck(doc: PolicyDocument) -> list[Problem]:
    return list(_problems(doc))


def _problems(doc: PolicyDocument) -> Iterator[Problem]:
    ids = {
        "levels": [x.id for x in doc.levels],
        "kinds": [x.id for x in doc.kinds],
        "actions": [x.id for x in doc.actions],
        "obligations": [x.id for x in doc.obligations],
        "roles": [x.id for x in doc.roles],
        "orgs": [x.id for x in doc.orgs],
        "rules": [x.id for x in doc.rules],
        "purposes": [x.id for x in doc.purposes],
        "assignments": [x.id for x in doc.assignments],
    }
    for section, values in ids.items():
        yield from _duplicates(section, values)
    levels, kinds, actions = set(ids["levels"]), set(ids["kinds"]), set(ids["actions"])
    roles, orgs, rules, purposes = (
        set(ids["roles"]),
        set(ids["orgs"]),
        set(ids["rules"]),
        set(ids["purposes"]),
    )

    def known(path: tuple[str | int, ...], values: Iterable[str], table: set[str], what: str) -> Iterator[Problem]:
        for i, value in enumerate(values):
            yield from known_one((*path, i), value, table, what)

    def known_one(path: tuple[str | int, ...], value: str, table: set[str], what: str) -> Iterator[Problem]:
        if value not in table:
            yield path, f"unknown {what} `{value}`; {hint(value, table)}"

    def rule(path: tuple[str | int, ...], value: str | None) -> Iterator[Problem]:
        if value is not None and value not in rules:
            yield path, f"unknown rule `{value}`; every rule id must be listed in `rules`"

    def steps(path: tuple[str | int, ...], entries: list[Step], given: Sequence[Evidence] = ()) -> Iterator[Problem]:
        for i, step in enumerate(entries):
            yield from known((*path, i, "roles"), step.roles, roles, "role")
            declared = {e.key: e for e in given}
            for key, value in (step.when or {}).items():
                where = (*path, i, "when", key)
                if key not in declared:
                    yield where, f"unknown evidence `{key}`; a step's `when` names evidence of its own entry ({hint(key, set(declared))})"
                elif declared[key].one_of and value not in (declared[key].one_of or []):
                    yield where, f"`{value}` is not one of the evidence's `one_of`; {hint(value, set(declared[key].one_of or []))}"

    def evidence(path: tuple[str | int, ...], given: Sequence[Evidence]) -> Iterator[Problem]:
        for j, ev in enumerate(given):
            yield from rule((*path, j, "rule"), ev.rule)
            if ev.code in ENGINE_CODES:
                yield (*path, j, "code"), f"`{ev.code}` is a code of the engine's own; name the evidence's own code"
            elif ev.code not in doc.reasons:
                yield (*path, j, "code"), f"no message for reason code `{ev.code}`; add it to `reasons`"

    # The org tree: every parent exists, and following parents never comes back.
    parents = {o.id: o.parent for o in doc.orgs}
    for i, org in enumerate(doc.orgs):
        if org.parent is not None:
            yield from known_one(("orgs", i, "parent"), org.parent, orgs, "org")
        seen, node = set(), org.parent
        while node is not None and node in parents and node not in seen:
            if node == org.id:
                yield ("orgs", i, "parent"), f"the org tree has a cycle through `{org.id}`"
                break
            seen.add(node)
            node = parents[node]

    bound = Counter(r.check for r in doc.rules if r.check)
    for i, r in enumerate(doc.rules):
        if r.check and bound[r.check] > 1:
            yield ("rules", i, "check"), f"check `{r.check}` is bound to more than one rule"
    for check in CHECKS:
        if check not in bound:
            yield ("rules",), f"no rule has `check: {check}`; each built-in check needs exactly one rule"

    yield from rule(("consent", "rule"), doc.consent.rule)
    yield from known(("consent", "actions"), doc.consent.actions, actions, "action")
    yield from known(("consent", "kinds"), doc.consent.kinds, kinds, "kind")

    for i, sep in enumerate(doc.separations):
        yield from rule(("separations", i, "rule"), sep.rule)
        yield from known_one(("separations", i, "role"), sep.role, roles, "role")

    duties = set(ids["obligations"])
    for i, ob in enumerate(doc.obligation_rules):
        yield from rule(("obligation_rules", i, "rule"), ob.rule)
        yield from known_one(("obligation_rules", i, "id"), ob.id, duties, "obligation")
        yield from known(("obligation_rules", i, "actions"), ob.actions, actions, "action")
        yield from known(("obligation_rules", i, "kinds"), ob.kinds, kinds, "kind")

    for i, p in enumerate(doc.purposes):
        yield from rule(("purposes", i, "rule"), p.rule)
        yield from known(("purposes", i, "kinds"), p.kinds, kinds, "kind")
        yield from evidence(("purposes", i, "evidence"), p.evidence)
        if p.approvals:
            yield from rule(("purposes", i, "approvals", "rule"), p.approvals.rule)
            yield from steps(("purposes", i, "approvals", "steps"), p.approvals.steps, p.evidence)

    purpose_kinds: dict[str, set[str]] = {}
    for p in doc.purposes:
        purpose_kinds.setdefault(p.id, set(p.kinds))  # a duplicate is reported once, above
    for i, g in enumerate(doc.grants):
        yield from rule(("grants", i, "rule"), g.rule)
        yield from known(("grants", i, "roles"), g.roles, roles, "role")
        yield from known(("grants", i, "actions"), g.actions, actions, "action")
        yield from known(("grants", i, "kinds"), g.kinds, kinds, "kind")
        yield from known(("grants", i, "purposes"), g.purposes, purposes, "purpose")
        yield from known(("grants", i, "levels"), g.levels or [], levels, "level")
        for j, purpose in enumerate(g.purposes):
            outside = sorted(set(g.kinds) - purpose_kinds.get(purpose, set(g.kinds)))
            if outside:
                yield ("grants", i, "purposes", j), (
                    f"purpose `{purpose}` does not apply to kind {listing(outside)}; "
                    "add the kind to the purpose or leave it out of this grant"
                )

    longest_purpose_chain = max((len(p.approvals.steps) for p in doc.purposes if p.approvals), default=0)
    longest_level = max((len(s) for s in doc.classification.steps.values()), default=0)
    if longest_purpose_chain + longest_level > MAX_STEPS:
        yield ("classification", "steps"), f"with the purposes' chains a request may need more than {MAX_STEPS} approvals"
    covered: dict[tuple[str, str], str] = {}
    for i, a in enumerate(doc.approvals):
        yield from rule(("approvals", i, "rule"), a.rule)
        yield from known(("approvals", i, "actions"), a.actions, actions, "action")
        yield from known(("approvals", i, "kinds"), a.kinds, kinds, "kind")
        yield from steps(("approvals", i, "steps"), a.steps, a.evidence)
        yield from evidence(("approvals", i, "evidence"), a.evidence)
        yield from known(("approvals", i, "obligations"), a.obligations, duties, "obligation")
        if a.ordered and len(a.steps) > MAX_ORDERED_STEPS:
            yield ("approvals", i, "steps"), f"an ordered chain has at most {MAX_ORDERED_STEPS} steps"
        most = len(a.steps) + longest_purpose_chain + longest_level
        if most > MAX_STEPS:
            yield ("approvals", i, "steps"), (
                f"with its purposes' and levels' steps a request may need {most} approvals; at most {MAX_STEPS}"
            )
        for action in a.actions:
            for kind in a.kinds:
                if (action, kind) in covered:
                    yield ("approvals", i, "actions"), (
                        f"`{action}` on `{kind}` already has a chain in rule `{covered[action, kind]}`"
                    )
                covered[action, kind] = a.rule

    c = doc.classification
    yield from rule(("classification", "rule"), c.rule)
    for level, entries in c.steps.items():
        yield from known_one(("classification", "steps", level), level, levels, "level")
        yield from steps(("classification", "steps", level), entries)
    for level in ids["levels"]:
        if level not in c.steps:
            yield ("classification", "steps"), f"level `{level}` has no entry; write `{level}: []` for none"
    for i, ex in enumerate(c.exemptions):
        yield from rule(("classification", "exemptions", i, "rule"), ex.rule)
        yield from known_one(("classification", "exemptions", i, "role"), ex.role, roles, "role")
        yield from known(("classification", "exemptions", i, "actions"), ex.actions, actions, "action")

    for i, user in enumerate(doc.assignments):
        yield from known(("assignments", i, "roles"), user.roles, roles, "role")
        yield from known_one(("assignments", i, "org"), user.org, orgs, "org")

    yield from _duplicates("invariants", [x.id for x in doc.invariants])
    for i, inv in enumerate(doc.invariants):
        for part in ("when", "unless"):
            match = getattr(inv, part)
            if match is None:
                continue
            where = ("invariants", i, part)
            if not match.model_fields_set:
                yield where, f"`{part}` names no condition; leave it out to mean every request"
            if match.roles_include is not None:
                yield from known_one((*where, "roles_include"), match.roles_include, roles, "role")
            for name, table, what in (("actions", actions, "action"), ("kinds", kinds, "kind"),
                                      ("purposes", purposes, "purpose"), ("levels", levels, "level")):
                yield from known((*where, name), getattr(match, name) or [], table, what)
        if inv.kind == "never_allowed" and inv.when is None:
            yield ("invariants", i, "kind"), "`never_allowed` needs `when`: the requests that are never allowed"
        if (inv.kind == "requires_approvals") != (inv.steps is not None):
            yield ("invariants", i, "kind"), "`steps` belongs to `requires_approvals`, which needs it"
        for j, step in enumerate(inv.steps or []):
            yield from known(("invariants", i, "steps", j), step, roles, "role")
        if (inv.kind == "obligation_on_allow") != (inv.obligation is not None):
            yield ("invariants", i, "kind"), "`obligation` belongs to `obligation_on_allow`, which needs it"
        if inv.obligation is not None:
            yield from known_one(("invariants", i, "obligation"), inv.obligation, duties, "obligation")

    if doc.reporting is not None:
        yield from known(("reporting", "review_purposes"), doc.reporting.review_purposes, purposes, "purpose")
        for i, cat in enumerate(doc.reporting.categories):
            for j, code in enumerate(cat.codes):
                if code not in doc.reasons:
                    yield ("reporting", "categories", i, "codes", j), f"unknown reason code `{code}`; {hint(code, doc.reasons)}"
        for path, text in _duplicates("categories", [c.id for c in doc.reporting.categories]):
            yield ("reporting", *path), text

    for code in ENGINE_CODES:
        if code not in doc.reasons:
            yield ("reasons",), f"no message for reason code `{code}`"
    for code, message in doc.reasons.items():
        for lang in ("zh", "en"):
            try:
                parsed = list(string.Formatter().parse(getattr(message, lang)))
            except ValueError as exc:
                yield ("reasons", code, lang), f"the message does not parse: {exc}"
                continue
            if {f for _, f, spec, conv in parsed if f is not None} - {"detail"} or any(
                spec or conv for _, f, spec, conv in parsed if f is not None
            ):
                yield ("reasons", code, lang), "a message may use only the placeholder `{detail}`"


def _duplicates(section: str, values: list[str]) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            yield (section, i, "id"), f"duplicate id `{value}`; the first is `{section}[{first[value]}]`"
        first.setdefault(value, i)
