"""Warnings about a policy that loads: what is allowed but probably not meant.

A policy with warnings is valid and decides as written; ``zxpolicy lint`` shows what a reviewer
should look at (``--strict`` fails on any). Each warning has a stable code, the file, line and
column of the entry it is about, and a Chinese and an English message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..compile import CLASSIFICATION, Person, StepSpec, Tables, compile_policy
from ..policy import Labels, LoadedPolicy, PolicyDocument, Step, folded, grant_rows, load_policy
from ._reverse import plan_of, shortfall, who_of

__all__ = ["CODES", "LintWarning", "lint", "lint_directory"]

CODES = (
    "role_granted_nothing",
    "purpose_unusable",
    "step_role_unassigned",
    "separation_violated",
    "approver_fills_two_steps",
    "id_shared_by_people",
    "person_with_two_ids",
    "grant_shadowed",
    "grant_never_applies",
    "approval_unfillable",
)


@dataclass(frozen=True, slots=True)
class LintWarning:
    """One warning, in the diagnostic shape (see ``zxpolicy._diagnostic``)."""

    code: str
    message: str  # Chinese
    message_en: str
    file: str
    line: int
    column: int
    path: str  # dotted path into the document, e.g. ``assignments[13].roles``

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "message": self.message, "message_en": self.message_en,
            "file": self.file, "line": self.line, "column": self.column, "path": self.path,
        }

    def render(self, lang: str) -> str:
        text = self.message_en if lang == "en" else self.message
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.code}: {text}"


Path_ = tuple[str | int, ...]
Found = tuple[str, Path_, str, str]  # code, path into the document, zh, en


def lint_directory(directory: str | Path) -> list[LintWarning]:
    """Load a policy directory and lint it. Raises ``PolicyError`` when it does not load."""
    return lint(load_policy(directory))


def lint(policy: LoadedPolicy) -> list[LintWarning]:
    out = []
    for code, path, zh, en in _found(policy.document):
        doc = policy.files.get(str(path[0]))
        line, column = doc.position(path) if doc else (0, 0)
        out.append(LintWarning(code, zh, en, doc.file if doc else str(path[0]), line, column, _dotted(path)))
    return out


def _found(doc: PolicyDocument) -> Iterator[Found]:
    rows = grant_rows(doc)
    granted_roles = {r[0] for r in rows}
    granted_purposes = {r[3] for r in rows}
    chains = list(_chains(doc))
    step_roles = {role for _, steps in chains for s in steps for role in s.roles}

    for i, role in enumerate(doc.roles):
        if role.id not in granted_roles:
            also_zh, also_en = ("（只用于审批）", " (it only approves)") if role.id in step_roles else ("", "")
            yield ("role_granted_nothing", ("roles", i), f"角色`{role.id}`未被授予任何操作{also_zh}",
                   f"role `{role.id}` is granted nothing{also_en}")
    for j, purpose in enumerate(doc.purposes):
        if purpose.id not in granted_purposes:
            yield ("purpose_unusable", ("purposes", j), f"没有角色可以用途`{purpose.id}`提出请求",
                   f"no role may use purpose `{purpose.id}`")

    held = {role for a in doc.assignments for role in a.roles}
    for path, steps in chains:
        for n, step in enumerate(steps):
            if not held & set(step.roles):
                where = (*path, n)
                roles = "`, `".join(step.roles)
                yield ("step_role_unassigned", where, f"用户清单中无人持有此审批环节的角色`{roles}`",
                       f"no one in the assignments holds the role of this step (`{roles}`)")

    yield from _separations(doc, rows, chains)
    yield from _identities(doc)
    yield from _shadowed(doc, rows)
    tables = compile_policy(doc)
    yield from _never_applies(doc, tables)
    yield from _unfillable(doc, tables)


def _chains(doc: PolicyDocument) -> Iterator[tuple[Path_, list[Step]]]:
    """Every chain's steps, with the path of its `steps`."""
    for i, a in enumerate(doc.approvals):
        yield ("approvals", i, "steps"), a.steps
    for j, p in enumerate(doc.purposes):
        if p.approvals:
            yield ("purposes", j, "approvals", "steps"), p.approvals.steps
    for level, steps in doc.classification.steps.items():
        yield ("classification", "steps", level), steps


def _separations(doc: PolicyDocument, rows: list[Any], chains: list[tuple[Path_, list[Step]]]) -> Iterator[Found]:
    credit = {k.id for k in doc.kinds if k.credit_information}
    for k, a in enumerate(doc.assignments):
        roles = set(a.roles)
        for sep in doc.separations:
            if sep.role not in roles:
                continue
            others = sorted(roles - {sep.role})
            barred = sep.bars_credit_information and any(r[0] in others and r[2] in credit for r in rows)
            if others and (sep.exclusive or barred):
                shown = "`, `".join(others)
                yield ("separation_violated", ("assignments", k, "roles"),
                       f"`{a.id}`兼任`{sep.role}`与`{shown}`，违反{sep.rule}：其请求一律被拒绝",
                       f"`{a.id}` holds `{sep.role}` with `{shown}`, against {sep.rule}: every request of it is denied")
        for path, steps in chains:
            fills = [n for n, s in enumerate(steps) if roles & set(s.roles)]
            if len(fills) > 1:
                where = _dotted(path)
                shown = ", ".join(f"{where}[{n}]" for n in fills)
                yield ("approver_fills_two_steps", ("assignments", k, "roles"),
                       f"`{a.id}`可审批同一审批链的多个环节：{shown}",
                       f"`{a.id}` can fill more than one step of one chain: {shown}")


def _identities(doc: PolicyDocument) -> Iterator[Found]:
    """细则 第十二条: an id is one person's, and a person has one id."""
    # (Ids alike but for case or width do not load at all: `confusable_id`.)
    people: dict[str, int] = {}
    for k, a in enumerate(doc.assignments):
        named = [a.person] if isinstance(a.person, str) else list(a.person or [])
        distinct = sorted({folded(p) for p in named})
        if len(distinct) > 1:
            yield ("id_shared_by_people", ("assignments", k, "person"),
                   f"用户代码`{a.id}`由{len(distinct)}人共用，违反细则第十二条（不得设置公用代码）",
                   f"user id `{a.id}` is shared by {len(distinct)} people, against 细则 第十二条 (no shared ids)")
        for person in distinct:
            if person in people and people[person] != k:
                first = doc.assignments[people[person]].id
                yield ("person_with_two_ids", ("assignments", k, "person"),
                       f"`{person}`同时持有用户代码`{first}`和`{a.id}`，违反细则第十二条（一人不得分配多个代码）",
                       f"`{person}` holds both `{first}` and `{a.id}`, against 细则 第十二条 (one id per person)")
            people.setdefault(person, k)


def _shadowed(doc: PolicyDocument, rows: list[Any]) -> Iterator[Found]:
    """A grant every row of which an earlier grant already gives: it adds nothing, and an allowed
    decision cites the earlier one."""
    first: dict[tuple[str, ...], int] = {}
    entry = {id(g): i for i, g in enumerate(doc.grants)}
    mine: dict[int, list[tuple[str, ...]]] = {}
    for row in rows:
        i = entry[id(row[5])]
        key = tuple(row[:5])
        mine.setdefault(i, []).append(key)
        first.setdefault(key, i)
    for i, keys in sorted(mine.items()):
        by = sorted({first[key] for key in keys})
        if i not in by:
            shown = ", ".join(f"grants[{b}]" for b in by)
            yield ("grant_shadowed", ("grants", i), f"此授权的每一项都已由{shown}授予，不起作用",
                   f"every row of this grant is already given by {shown}: it adds nothing")


def _barred(t: Tables, role: str, kind: str) -> bool:
    """Whether separation of duties (Q-08) bars every holder of ``role`` from ``kind``, whatever
    else they hold. (An ``exclusive`` role held alone still acts: that is not a bar.)"""
    return any(s.role == role and kind in s.barred_kinds for s in t.separations)


def _never_applies(doc: PolicyDocument, t: Tables) -> Iterator[Found]:
    """A grant, or a part of it, that no request can ever use: its role is barred from its kind
    by separation of duties, or no one in the assignments holds any of its roles. (A purpose that
    does not apply to a kind does not load: `purpose_kind_mismatch`; a grant that adds nothing is
    `grant_shadowed`.)"""
    labels = Labels.of(doc)
    held = {role for p in t.vocabulary.people.values() for role in p.roles}
    for i, g in enumerate(doc.grants):
        dead = [(role, kind) for role in g.roles for kind in g.kinds if _barred(t, role, kind)]
        if dead:
            roles = list(dict.fromkeys(r for r, _ in dead))
            kinds = list(dict.fromkeys(k for _, k in dead))
            rule = next(s.cite.rule for s in t.separations if s.role in roles)
            whole = len(dead) == len(g.roles) * len(g.kinds)
            zh_all, en_all = ("此授权永不适用", "this grant never applies") if whole else ("此授权的这一部分永不适用", "this part of the grant never applies")
            yield ("grant_never_applies", ("grants", i),
                   f"{zh_all}：{rule}（职责分离）禁止{labels.names('roles', roles)}处理"
                   f"{labels.names('kinds', kinds)}（征信信息），其请求一律被拒绝",
                   f"{en_all}: {rule} (separation of duties) bars {labels.names('roles', roles, 'en')} from "
                   f"{labels.names('kinds', kinds, 'en')} (credit information), so every such request is denied")
        elif not held & set(g.roles):
            yield ("grant_never_applies", ("grants", i),
                   f"此授权永不适用于用户清单中的用户：无人持有{labels.names('roles', g.roles)}",
                   f"this grant never applies to a user of the assignments: no one holds {labels.names('roles', g.roles, 'en')}")


Failure = tuple[int, tuple[tuple[str, str], ...], str]  # grant entry, the evidence the steps assume, the empty step


def _unfillable(doc: PolicyDocument, t: Tables) -> Iterator[Found]:
    """Requirements no one can meet: for each action × kind × purpose × level a grant gives,
    whether some requester holding the grant (not barred by Q-08) can be approved by distinct
    persons of the assignments — never the requester — filling every step (the action's chain,
    the purpose's, the classification's, with `approver_org: same`); a requester holding an
    exempt role is taken on a resource of its own organisation (C-02). Steps with a `when` are
    checked with their condition: first the steps that always apply, then each condition."""
    people = list(t.vocabulary.people.values())
    by_role: dict[str, list[Person]] = {}
    for p in people:
        for role in p.roles:
            by_role.setdefault(role, []).append(p)
    base: dict[tuple[str, str], list[Person]] = {}  # (requester's org, step path) → who may approve there

    def approvers(requester: Person, steps: tuple[StepSpec, ...]) -> tuple[tuple[str, ...], ...]:
        out = []
        for s in steps:
            fit = base.get((requester.org, s.path))
            if fit is None:
                above = t.scope[requester.org]
                seen = {p.id: p for role in s.roles for p in by_role.get(role, ()) if p.org in above
                        and (not s.same_org or p.org == requester.org)}
                order = {p.id: n for n, p in enumerate(people)}
                fit = base[(requester.org, s.path)] = sorted(seen.values(), key=lambda p: order[p.id])
            me = who_of(requester)
            out.append(tuple(p.id for p in fit if who_of(p) != me))
        return tuple(out)

    found: dict[Failure, dict[str, Any]] = {}
    levels = [lv.id for lv in doc.levels]
    for gi, g in enumerate(doc.grants):
        for action in g.actions:
            for kind in g.kinds:
                requesters = [p for p in people if p.roles & set(g.roles) and not _conflicted(t, p, kind)]
                if not requesters:
                    continue  # no one can ask: `grant_never_applies`, `role_granted_nothing`
                for purpose in g.purposes:
                    for level in g.levels or levels:
                        need = t.requirements.get((action, kind, purpose, level))
                        if need is None or not need.steps:
                            continue
                        for cond in _conditions(need.steps):
                            steps = tuple(s for s in need.steps if all(dict(cond).get(k) == v for k, v in s.when))
                            gap = _gap(t, requesters, steps, need.exemptions, approvers)
                            if gap is None:
                                continue
                            empty, group, names = gap
                            entry = found.setdefault((gi, cond, empty.path), {
                                "actions": [], "kinds": [], "purposes": [], "levels": [], "group": group, "names": names})
                            for name, value in (("actions", action), ("kinds", kind), ("purposes", purpose), ("levels", level)):
                                if value not in entry[name]:
                                    entry[name].append(value)
                            break  # a later condition adds steps to these: it fails as well
    labels = Labels.of(doc)
    for (gi, cond, path), e in found.items():
        yield ("approval_unfillable", ("grants", gi), *_unfillable_text(labels, cond, path, e))


def _conflicted(t: Tables, p: Person, kind: str) -> bool:
    return any(s.role in p.roles and ((s.exclusive and len(p.roles) > 1) or kind in s.barred_kinds) for s in t.separations)


def _conditions(steps: tuple[StepSpec, ...]) -> list[tuple[tuple[str, str], ...]]:
    """The evidence each check assumes: none (the steps that always apply), then each `when`."""
    return [(), *dict.fromkeys(s.when for s in steps if s.when)]


def _gap(
    t: Tables, requesters: list[Person], steps: tuple[StepSpec, ...], exemptions: Any, approvers: Any,
) -> tuple[StepSpec, list[StepSpec], tuple[str, ...]] | None:
    """None when some requester can be approved; else, for the first requester, the step left
    empty, the steps competing with it for the same people, and those people."""
    first: tuple[StepSpec, list[StepSpec], tuple[str, ...]] | None = None
    tried: set[tuple[str, bool]] = set()
    wanted = frozenset().union(*(s.role_set for s in steps))
    # Requesters who approve none of these steps first: for them, being the requester removes
    # no approver, so one of them answers for everyone of its organisation and exemption.
    for p in sorted(requesters, key=lambda p: bool(p.roles & wanted)):
        exempt = bool(p.roles & set(exemptions))
        mine = tuple(s for s in steps if s.group != CLASSIFICATION) if exempt else steps
        if (p.org, exempt) in tried and not p.roles & wanted:
            continue
        tried.add((p.org, exempt))
        lists = approvers(p, mine)
        plan = plan_of(t, mine, lists)
        why = shortfall(t, mine, lists, plan)
        if why is None:
            return None
        if first is None:
            empty, group, names = why
            first = mine[empty], [mine[j] for j in group if j != empty], names
    return first


def _unfillable_text(labels: Labels, cond: tuple[tuple[str, str], ...], path: str, e: dict[str, Any]) -> tuple[str, str]:
    others: list[StepSpec] = e["group"]
    names: tuple[str, ...] = e["names"]
    what = {lang: (f"{labels.names('actions', e['actions'], lang)} · {labels.names('kinds', e['kinds'], lang)} · "
                   f"{labels.names('purposes', e['purposes'], lang)} · {labels.names('levels', e['levels'], lang)}")
            for lang in ("zh", "en")}
    when_zh = "".join(f"（当证据{k} = {v}时）" for k, v in cond)
    when_en = "".join(f" (when evidence {k} = {v})" for k, v in cond)
    shown = ", ".join(f"`{n}`" for n in names)
    if others:
        competing = ", ".join(f"`{s.path}`" for s in others)
        zh_why = f"它与{competing}须由{len(others) + 1}名不同的审批人担任，用户清单中只有{len(names)}人可担任（{shown}）"
        en_why = (f"it and {competing} need {len(others) + 1} different approvers, and the assignments hold "
                  f"{len(names)} who may ({shown})")
    else:
        zh_why, en_why = "用户清单中无人可担任（本人不得审批本人）", "no one in the assignments may fill it (the requester never approves itself)"
    return (f"按此授权的以下请求永远无法获批准{when_zh}：{what['zh']}；环节`{path}`凑不齐审批人：{zh_why}",
            f"these requests under this grant can never be approved{when_en}: {what['en']}; step `{path}` cannot be filled: {en_why}")


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
