"""What the policy's entries say about each other: references, duplicates, the org tree.

Each problem is returned as (path, code, message, message_en): the path into the merged document,
so that the loader can name the file, line and column it comes from; a code of
``POLICY_PROBLEM_CODES``; the message in Chinese and in English. One function checks one section.
"""

from __future__ import annotations

import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

from .._diagnostic import ENGINE_CODES
from .._hints import closest, hint, listing
from ._labels import Labels
from ._schema import (
    CHECKS,
    CONSOLE_RIGHTS,
    MAX_ORDERED_STEPS,
    MAX_STEPS,
    Evidence,
    PolicyDocument,
    Step,
)

Where = tuple[str | int, ...]
Problem = tuple[Where, str, str, str]  # path, code, message (Chinese), message_en

# Each kind of reference: the code of an unknown one, its name in Chinese, and the section that
# declares it (whose labels name the id probably meant).
REFERENCES = {
    "level": ("unknown_level", "密级", "levels"),
    "kind": ("unknown_kind", "资料类型", "kinds"),
    "action": ("unknown_action", "操作", "actions"),
    "obligation": ("unknown_obligation", "义务", "obligations"),
    "role": ("unknown_role", "角色", "roles"),
    "org": ("unknown_org", "机构", "orgs"),
    "purpose": ("unknown_purpose", "用途", "purposes"),
}


def crosscheck(doc: PolicyDocument) -> list[Problem]:
    refs = _Refs(doc)
    return [problem for section in _SECTIONS for problem in section(doc, refs)]


class _Refs:
    """The ids the policy declares, and the checks of a reference against them."""

    def __init__(self, doc: PolicyDocument) -> None:
        self.reasons = doc.reasons
        self.labels = Labels.of(doc)
        self.rules = {x.id for x in doc.rules}
        self.tables: dict[str, set[str]] = {
            "level": {x.id for x in doc.levels},
            "kind": {x.id for x in doc.kinds},
            "action": {x.id for x in doc.actions},
            "obligation": {x.id for x in doc.obligations},
            "role": {x.id for x in doc.roles},
            "org": {x.id for x in doc.orgs},
            "purpose": {x.id for x in doc.purposes},
        }

    def known(self, path: Where, values: Iterable[str], what: str) -> Iterator[Problem]:
        """Each of ``values`` is a declared ``what`` (a key of ``REFERENCES``)."""
        for i, value in enumerate(values):
            yield from self.known_one((*path, i), value, what)

    def known_one(self, path: Where, value: str, what: str) -> Iterator[Problem]:
        table = self.tables[what]
        if value not in table:
            code, noun, section = REFERENCES[what]
            meant = closest(value, table)
            if meant is None:
                yield (path, code, f"未知{noun}`{value}`；{hint(value, table, lang='zh')}",
                       f"unknown {what} `{value}`; {hint(value, table)}")
            else:  # in Chinese the id meant with its label, which is what a compliance officer knows
                yield (path, code, f"未知{noun}`{value}`；是否应为 {self.labels.name(section, meant)}？",
                       f"unknown {what} `{value}`; did you mean `{meant}`?")

    def rule(self, path: Where, value: str | None) -> Iterator[Problem]:
        if value is not None and value not in self.rules:
            yield (path, "unknown_rule", f"未知规则`{value}`；每个规则编号都须列在`rules`中",
                   f"unknown rule `{value}`; every rule id must be listed in `rules`")

    def steps(self, path: Where, entries: list[Step], given: Sequence[Evidence] = ()) -> Iterator[Problem]:
        """A chain's steps: their roles, and the evidence their ``when`` names (``given``)."""
        declared = {e.key: e for e in given}
        for i, step in enumerate(entries):
            yield from self.known((*path, i, "roles"), step.roles, "role")
            for key, value in (step.when or {}).items():
                where = (*path, i, "when", key)
                if key not in declared:
                    yield (where, "unknown_evidence",
                           f"未知证明材料`{key}`；审批环节的`when`只能引用本条目的证明材料（{hint(key, set(declared), lang='zh')}）",
                           f"unknown evidence `{key}`; a step's `when` names evidence of its own entry ({hint(key, set(declared))})")
                elif declared[key].one_of and value not in (allowed := set(declared[key].one_of or [])):
                    yield (where, "unknown_evidence_value",
                           f"`{value}`不在该证明材料的`one_of`之中；{hint(value, allowed, lang='zh')}",
                           f"`{value}` is not one of the evidence's `one_of`; {hint(value, allowed)}")

    def evidence(self, path: Where, given: Sequence[Evidence]) -> Iterator[Problem]:
        """An entry's evidence: its rule, and a code of its own that has a message."""
        for j, ev in enumerate(given):
            yield from self.rule((*path, j, "rule"), ev.rule)
            if ev.code in ENGINE_CODES:
                yield ((*path, j, "code"), "evidence_engine_code",
                       f"`{ev.code}`是引擎自身的原因代码；请为证明材料另起代码",
                       f"`{ev.code}` is a code of the engine's own; name the evidence's own code")
            elif ev.code not in self.reasons:
                yield ((*path, j, "code"), "missing_reason_message",
                       f"原因代码`{ev.code}`没有提示语；请在`reasons`中添加",
                       f"no message for reason code `{ev.code}`; add it to `reasons`")


def _duplicates(path: Where, values: list[str]) -> Iterator[Problem]:
    """Ids given twice in the list at ``path`` (shown by its last name: `roles[3]`)."""
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            earlier = f"{path[-1]}[{first[value]}]"
            yield ((*path, i, "id"), "duplicate_id", f"id`{value}`重复；第一次出现在`{earlier}`",
                   f"duplicate id `{value}`; the first is `{earlier}`")
        first.setdefault(value, i)


def _duplicate_ids(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    for section in ("levels", "kinds", "actions", "obligations", "roles", "orgs", "rules", "purposes", "assignments"):
        yield from _duplicates((section,), [x.id for x in getattr(doc, section)])


def _orgs(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    """The org tree: every parent exists, and following parents never comes back."""
    parents = {o.id: o.parent for o in doc.orgs}
    for i, org in enumerate(doc.orgs):
        if org.parent is not None:
            yield from refs.known_one(("orgs", i, "parent"), org.parent, "org")
        seen, node = set(), org.parent
        while node is not None and node in parents and node not in seen:
            if node == org.id:
                yield (("orgs", i, "parent"), "org_cycle", f"机构树在`{org.id}`处成环",
                       f"the org tree has a cycle through `{org.id}`")
                break
            seen.add(node)
            node = parents[node]


def _rules(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    """Each built-in check is bound to exactly one rule."""
    bound = Counter(r.check for r in doc.rules if r.check)
    for i, r in enumerate(doc.rules):
        if r.check and bound[r.check] > 1:
            yield (("rules", i, "check"), "check_bound_twice", f"内置检查`{r.check}`绑定了不止一条规则",
                   f"check `{r.check}` is bound to more than one rule")
    for check in CHECKS:
        if check not in bound:
            yield (("rules",), "check_unbound", f"没有规则写有`check: {check}`；每个内置检查须恰好绑定一条规则",
                   f"no rule has `check: {check}`; each built-in check needs exactly one rule")


def _consent(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    yield from refs.rule(("consent", "rule"), doc.consent.rule)
    yield from refs.known(("consent", "actions"), doc.consent.actions, "action")
    yield from refs.known(("consent", "kinds"), doc.consent.kinds, "kind")


def _separations(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    for i, sep in enumerate(doc.separations):
        yield from refs.rule(("separations", i, "rule"), sep.rule)
        yield from refs.known_one(("separations", i, "role"), sep.role, "role")


def _obligation_rules(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    for i, ob in enumerate(doc.obligation_rules):
        yield from refs.rule(("obligation_rules", i, "rule"), ob.rule)
        yield from refs.known_one(("obligation_rules", i, "id"), ob.id, "obligation")
        yield from refs.known(("obligation_rules", i, "actions"), ob.actions, "action")
        yield from refs.known(("obligation_rules", i, "kinds"), ob.kinds, "kind")


def _must_record(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    """``settings.must_record`` names actions and kinds of the vocabulary (a typo would leave
    decisions unrecorded)."""
    for i, entry in enumerate(doc.settings.must_record or ()):
        yield from refs.known(("settings", "must_record", i, "actions"), entry.actions or (), "action")
        yield from refs.known(("settings", "must_record", i, "kinds"), entry.kinds, "kind")


def _purposes(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    for i, p in enumerate(doc.purposes):
        yield from refs.rule(("purposes", i, "rule"), p.rule)
        yield from refs.known(("purposes", i, "kinds"), p.kinds, "kind")
        yield from refs.evidence(("purposes", i, "evidence"), p.evidence)
        if p.approvals:
            yield from refs.rule(("purposes", i, "approvals", "rule"), p.approvals.rule)
            yield from refs.steps(("purposes", i, "approvals", "steps"), p.approvals.steps, p.evidence)


def _grants(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    purpose_kinds: dict[str, set[str]] = {}
    for p in doc.purposes:
        purpose_kinds.setdefault(p.id, set(p.kinds))  # a duplicate is reported once, by _duplicate_ids
    for i, g in enumerate(doc.grants):
        yield from refs.rule(("grants", i, "rule"), g.rule)
        for name, what in (("roles", "role"), ("actions", "action"), ("kinds", "kind"), ("purposes", "purpose")):
            yield from refs.known(("grants", i, name), getattr(g, name), what)
        yield from refs.known(("grants", i, "levels"), g.levels or [], "level")
        for j, purpose in enumerate(g.purposes):
            outside = sorted(set(g.kinds) - purpose_kinds.get(purpose, set(g.kinds)))
            if outside:
                yield (("grants", i, "purposes", j), "purpose_kind_mismatch",
                       f"用途`{purpose}`不适用于资料类型{listing(outside)}；请把该类型加入用途，或从本条授权中去掉",
                       (f"purpose `{purpose}` does not apply to kind {listing(outside)}; "
                        "add the kind to the purpose or leave it out of this grant"))


def _longest_chains(doc: PolicyDocument) -> tuple[int, int]:
    """The most steps of one purpose's chain, and of one level's."""
    purpose = max((len(p.approvals.steps) for p in doc.purposes if p.approvals), default=0)
    level = max((len(s) for s in doc.classification.steps.values()), default=0)
    return purpose, level


def _approvals(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    longest_purpose, longest_level = _longest_chains(doc)
    covered: dict[tuple[str, str], str] = {}
    for i, a in enumerate(doc.approvals):
        yield from refs.rule(("approvals", i, "rule"), a.rule)
        yield from refs.known(("approvals", i, "actions"), a.actions, "action")
        yield from refs.known(("approvals", i, "kinds"), a.kinds, "kind")
        yield from refs.steps(("approvals", i, "steps"), a.steps, a.evidence)
        yield from refs.evidence(("approvals", i, "evidence"), a.evidence)
        yield from refs.known(("approvals", i, "obligations"), a.obligations, "obligation")
        if a.ordered and len(a.steps) > MAX_ORDERED_STEPS:
            yield (("approvals", i, "steps"), "chain_too_long", f"有序审批链至多 {MAX_ORDERED_STEPS} 个环节",
                   f"an ordered chain has at most {MAX_ORDERED_STEPS} steps")
        most = len(a.steps) + longest_purpose + longest_level
        if most > MAX_STEPS:
            yield (("approvals", i, "steps"), "too_many_approvals",
                   f"加上用途和密级的审批环节，一笔请求可能需要 {most} 个审批；至多 {MAX_STEPS} 个",
                   f"with its purposes' and levels' steps a request may need {most} approvals; at most {MAX_STEPS}")
        for action in a.actions:
            for kind in a.kinds:
                if (action, kind) in covered:
                    yield (("approvals", i, "actions"), "chain_already_covered",
                           f"对`{kind}`的`{action}`已在规则`{covered[action, kind]}`中设有审批链",
                           f"`{action}` on `{kind}` already has a chain in rule `{covered[action, kind]}`")
                covered[action, kind] = a.rule


def _classification(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    c = doc.classification
    longest_purpose, longest_level = _longest_chains(doc)
    if longest_purpose + longest_level > MAX_STEPS:
        yield (("classification", "steps"), "too_many_approvals",
               f"加上用途的审批链，一笔请求可能需要超过 {MAX_STEPS} 个审批",
               f"with the purposes' chains a request may need more than {MAX_STEPS} approvals")
    yield from refs.rule(("classification", "rule"), c.rule)
    for level, entries in c.steps.items():
        yield from refs.known_one(("classification", "steps", level), level, "level")
        yield from refs.steps(("classification", "steps", level), entries)
    for level in (x.id for x in doc.levels):
        if level not in c.steps:
            yield (("classification", "steps"), "level_without_classification",
                   f"密级`{level}`没有条目；不需审批时写`{level}: []`",
                   f"level `{level}` has no entry; write `{level}: []` for none")
    for i, ex in enumerate(c.exemptions):
        yield from refs.rule(("classification", "exemptions", i, "rule"), ex.rule)
        yield from refs.known_one(("classification", "exemptions", i, "role"), ex.role, "role")
        yield from refs.known(("classification", "exemptions", i, "actions"), ex.actions, "action")


def _assignments(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    for i, user in enumerate(doc.assignments):
        yield from refs.known(("assignments", i, "roles"), user.roles, "role")
        yield from refs.known_one(("assignments", i, "org"), user.org, "org")
    yield from _confusable_ids(doc)


def folded(text: str) -> str:
    """An id or a person's name as people compare them: Unicode width, case and surrounding space
    ignored (`ＡＬＩＣＥ `, `Alice` and `alice` are one). Used for user ids here, for persons by
    the compiled tables and by lint."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _confusable_ids(doc: PolicyDocument) -> Iterator[Problem]:
    """Two user ids that differ only by case, Unicode width or surrounding space (`alice` and
    `ALICE`, `ａｌｉｃｅ`) would be one person to a reader and two to the engine: refused."""
    first: dict[str, tuple[int, str]] = {}
    for i, user in enumerate(doc.assignments):
        key = folded(user.id)
        seen = first.setdefault(key, (i, user.id))
        if seen[1] != user.id:
            earlier = f"assignments[{seen[0]}]"
            yield (("assignments", i, "id"), "confusable_id",
                   f"用户编号`{user.id}`与`{seen[1]}`（`{earlier}`）仅大小写、全半角或空格不同；请用同一写法或不同编号",
                   f"user id `{user.id}` differs from `{seen[1]}` (`{earlier}`) only by case, width or spaces; "
                   "spell one person's id one way, and different people's ids differently")


# What an invariant's `when` and `unless` may list, and what each names.
_MATCH_LISTS = (("actions", "action"), ("kinds", "kind"), ("purposes", "purpose"), ("levels", "level"))


def _invariants(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    yield from _duplicates(("invariants",), [x.id for x in doc.invariants])
    for i, inv in enumerate(doc.invariants):
        for part in ("when", "unless"):
            match = getattr(inv, part)
            if match is None:
                continue
            where = ("invariants", i, part)
            if not match.model_fields_set:
                yield (where, "invariant_empty_condition", f"`{part}`未写任何条件；要指所有请求，请去掉它",
                       f"`{part}` names no condition; leave it out to mean every request")
            if match.roles_include is not None:
                yield from refs.known_one((*where, "roles_include"), match.roles_include, "role")
            for name, what in _MATCH_LISTS:
                yield from refs.known((*where, name), getattr(match, name) or [], what)
        if inv.kind == "never_allowed" and inv.when is None:
            yield (("invariants", i, "kind"), "invariant_when_missing",
                   "`never_allowed`须写`when`：即永不允许的请求",
                   "`never_allowed` needs `when`: the requests that are never allowed")
        if (inv.kind == "requires_approvals") != (inv.steps is not None):
            yield (("invariants", i, "kind"), "invariant_steps_mismatch",
                   "`steps`只属于`requires_approvals`，而后者必须写`steps`",
                   "`steps` belongs to `requires_approvals`, which needs it")
        for j, step in enumerate(inv.steps or []):
            yield from refs.known(("invariants", i, "steps", j), step, "role")
        if (inv.kind == "obligation_on_allow") != (inv.obligation is not None):
            yield (("invariants", i, "kind"), "invariant_obligation_mismatch",
                   "`obligation`只属于`obligation_on_allow`，而后者必须写`obligation`",
                   "`obligation` belongs to `obligation_on_allow`, which needs it")
        if inv.obligation is not None:
            yield from refs.known_one(("invariants", i, "obligation"), inv.obligation, "obligation")


def _reporting(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    if doc.reporting is None:
        return
    yield from refs.known(("reporting", "review_purposes"), doc.reporting.review_purposes, "purpose")
    for i, cat in enumerate(doc.reporting.categories):
        for j, code in enumerate(cat.codes):
            if code not in doc.reasons:
                yield (("reporting", "categories", i, "codes", j), "unknown_reason_code",
                       f"未知原因代码`{code}`；{hint(code, doc.reasons, lang='zh')}",
                       f"unknown reason code `{code}`; {hint(code, doc.reasons)}")
    yield from _duplicates(("reporting", "categories"), [c.id for c in doc.reporting.categories])


def _console(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    """The console's rights name roles of the vocabulary (a role given twice is harmless)."""
    if doc.console is None:
        return
    for right in CONSOLE_RIGHTS:
        yield from refs.known(("console", "rights", right), getattr(doc.console.rights, right), "role")


def _reasons(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    """A message for every code of the engine; each message uses at most ``{detail}``."""
    for code in ENGINE_CODES:
        if code not in doc.reasons:
            yield (("reasons",), "missing_reason_message", f"原因代码`{code}`没有提示语",
                   f"no message for reason code `{code}`")
    for code, message in doc.reasons.items():
        for lang in ("zh", "en"):
            where = ("reasons", code, lang)
            try:
                parsed = list(string.Formatter().parse(getattr(message, lang)))
            except ValueError as exc:
                yield where, "reason_message_unparsable", f"提示语无法解析：{exc}", f"the message does not parse: {exc}"
                continue
            fields = [(f, spec, conv) for _, f, spec, conv in parsed if f is not None]
            if {f for f, _, _ in fields} - {"detail"} or any(spec or conv for _, spec, conv in fields):
                yield (where, "reason_message_placeholder", "提示语只能使用占位符`{detail}`",
                       "a message may use only the placeholder `{detail}`")


def _rule_use(doc: PolicyDocument, refs: _Refs) -> Iterator[Problem]:
    """The parts of the policy fit together: every rule of the catalogue is used, and a grant
    cites the rule of check `grant` or of its own approval chain.

    A file cut short (a truncated copy, a half-saved edit) is still valid YAML with fewer entries;
    what it leaves out must not load as "no approvals needed". A catalogue rule that nothing uses,
    or a grant for an approval rule whose chain is not there, means part of the policy is missing.
    """
    used = {r.id for r in doc.rules if r.check}
    used |= {doc.consent.rule, doc.classification.rule}
    used |= {g.rule for g in doc.grants}
    used |= {x.rule for x in doc.separations} | {x.rule for x in doc.obligation_rules}
    used |= {x.rule for x in doc.classification.exemptions}
    for p in doc.purposes:
        used |= {p.rule, *(e.rule for e in p.evidence if e.rule), *([p.approvals.rule] if p.approvals else [])}
    for a in doc.approvals:
        used |= {a.rule, *(e.rule for e in a.evidence if e.rule)}
    for i, r in enumerate(doc.rules):
        if r.id not in used:
            yield (("rules", i, "id"), "rule_unused",
                   (f"规则`{r.id}`没有被任何条目使用（内置检查、授权、审批链、用途、职责分离、义务规则、书面授权、密级或豁免）；"
                    "策略的一部分可能缺失了"),
                   (f"rule `{r.id}` is used by nothing (no check, grant, chain, purpose, separation, obligation rule, "
                    "consent, classification or exemption cites it); part of the policy may be missing"))
    granting = {r.id for r in doc.rules if r.check == "grant"}
    chains: dict[str, set[tuple[str, str]]] = {}
    for a in doc.approvals:
        chains.setdefault(a.rule, set()).update((action, kind) for action in a.actions for kind in a.kinds)
    for i, g in enumerate(doc.grants):
        if g.rule in granting or g.rule not in refs.rules:  # an unknown rule is reported by _grants
            continue
        if not chains.get(g.rule, set()) & {(action, kind) for action in g.actions for kind in g.kinds}:
            shown = listing(granting) or "—"
            yield (("grants", i, "rule"), "grant_rule_without_chain",
                   (f"授权引用规则`{g.rule}`，它既不是内置检查`grant`的规则（{shown}），"
                    "也不是涵盖本条授权的操作和资料类型的审批链的规则；审批链是否缺失了？"),
                   (f"the grant cites rule `{g.rule}`, which is neither the rule of check `grant` ({shown}) nor that of an "
                    "approval chain for its actions and kinds; is the chain missing?"))


# In the order the problems are listed.
_SECTIONS: tuple[Callable[[PolicyDocument, _Refs], Iterator[Problem]], ...] = (
    _duplicate_ids, _orgs, _rules, _consent, _separations, _obligation_rules, _must_record, _purposes, _grants,
    _approvals, _classification, _assignments, _invariants, _reporting, _console, _reasons, _rule_use,
)
