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

from ..policy import LoadedPolicy, PolicyDocument, Step, folded, grant_rows, load_policy

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


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
