"""What a console user may do, decided by the policy itself from its optional ``console`` section.

    console:
      rights:
        view:    [credit_info_officer, ...]   # see the policy, its changes, the reports; try a request
        review:  [credit_info_supervisor, ...]  # the daily check: record outcomes, sign a day off
        propose: [...]                        # propose a policy change
        approve: [...]                        # approve or reject another person's proposal

A user is an id of the policy's assignments and holds the rights of its roles there. Refused,
each with its reason in Chinese and English: every right when the policy has no ``console``
section (``console_not_configured``), to a user the assignments do not hold
(``console_unknown_user``), to one holding an exclusive role together with another (Q-08's
``user_admin``: ``role_conflict``, until its roles are mended); else a right none of its roles
holds (``console_right_missing``, naming the roles that hold it).

The console asks at every request, of the engine of the policy current then: a change of the
policy changes the rights at once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from .._diagnostic import Reason
from ..decide import Engine
from ..policy import CONSOLE_RIGHTS, Labels, PolicyDocument

__all__ = ["RIGHTS", "RIGHT_LABELS", "ConsoleRights", "console_rights"]

RIGHTS = CONSOLE_RIGHTS
RIGHT_LABELS: Mapping[str, tuple[str, str]] = {
    "view": ("查看", "view"),
    "review": ("日核查", "review the daily check"),
    "propose": ("提出变更", "propose a change"),
    "approve": ("审批变更", "approve a change"),
}


@dataclass(frozen=True)
class ConsoleRights:
    """What ``user_id`` may do in the console: ``granted`` ⊆ ``RIGHTS``. ``label`` is the user's
    Chinese name in the assignments (the id where it has none); ``roles`` its roles there."""

    user_id: str
    label: str
    roles: tuple[str, ...]
    granted: frozenset[str]
    # Why every right is refused, where one reason refuses them all (unknown user, no section,
    # role conflict); else None, and a right is refused for want of a role.
    denial: Reason | None = field(default=None, repr=False)
    # Each right → the roles that hold it, labelled (Chinese, English), for the refusal.
    holders: Mapping[str, tuple[str, str]] = field(default_factory=dict, repr=False, compare=False)
    clause: str = field(default="", repr=False)

    def has(self, right: str) -> bool:
        return right in self.granted

    def refusal(self, right: str) -> Reason:
        """Why ``right`` is refused. Raises ``ValueError`` for a right not in ``RIGHTS`` or one granted."""
        if right not in RIGHT_LABELS:
            raise ValueError(f"unknown console right {right!r}; expected one of {', '.join(RIGHTS)}")
        if right in self.granted:
            raise ValueError(f"{self.user_id!r} holds the console right {right!r}")
        if self.denial is not None:
            return self.denial
        zh, en = RIGHT_LABELS[right]
        roles_zh, roles_en = self.holders.get(right, ("", ""))
        who_zh = f"持有该权限的角色：{roles_zh}" if roles_zh else f"策略中没有角色持有该权限（console.rights.{right}）"
        who_en = f"roles that hold it: {roles_en}" if roles_en else f"no role of the policy holds it (console.rights.{right})"
        return Reason("console_right_missing", "", self.clause,
                      f"{self.label}（{self.user_id}）没有控制台的“{zh}”权限（{right}）；{who_zh}",
                      f"`{self.user_id}` lacks the console right `{right}` ({en}); {who_en}")


@dataclass(frozen=True)
class _Index:
    """What deciding a user's rights needs of one document, made once per document."""

    people: Mapping[str, tuple[str, tuple[str, ...]]]  # id → (label, roles)
    rights_of: Mapping[str, frozenset[str]]  # role → rights
    holders: Mapping[str, tuple[str, str]]
    exclusive: Mapping[str, tuple[str, str, str, str]]  # role → (rule, clause, label zh, label en)
    clause: str


_cache_lock = threading.Lock()
_cache: dict[int, tuple[PolicyDocument, _Index]] = {}  # id(document) → (the document, kept so the id is not reused, its index)


def _index(doc: PolicyDocument) -> _Index:
    with _cache_lock:
        found = _cache.get(id(doc))
        if found is not None and found[0] is doc:
            return found[1]
    labels = Labels.of(doc)
    rights_of: dict[str, set[str]] = {}
    holders: dict[str, tuple[str, str]] = {}
    if doc.console is not None:
        for right in RIGHTS:
            roles = list(dict.fromkeys(getattr(doc.console.rights, right)))
            for role in roles:
                rights_of.setdefault(role, set()).add(right)
            holders[right] = (labels.names("roles", roles), labels.names("roles", roles, "en"))
    index = _Index(
        people={a.id: (a.zh or a.id, tuple(a.roles)) for a in doc.assignments},
        rights_of={role: frozenset(r) for role, r in rights_of.items()},
        holders=holders,
        exclusive={s.role: (s.rule, s.clause or _clause(doc, s.rule), labels.name("roles", s.role), labels.name("roles", s.role, "en"))
                   for s in doc.separations if s.exclusive},
        clause=(doc.console.clause or "") if doc.console is not None else "",
    )
    with _cache_lock:
        if len(_cache) >= 8:  # a few policies at once (a reload, a comparison); older ones go
            _cache.pop(next(iter(_cache)))
        _cache[id(doc)] = (doc, index)
    return index


def _clause(doc: PolicyDocument, rule: str) -> str:
    return next((r.clause for r in doc.rules if r.id == rule), "")


def console_rights(engine: Engine, user_id: str) -> ConsoleRights:
    """The console rights of ``user_id`` under ``engine``'s policy (see the module's text)."""
    doc = engine.document
    index = _index(doc)
    person = index.people.get(user_id) if isinstance(user_id, str) else None
    shown = user_id if isinstance(user_id, str) else repr(user_id)
    if doc.console is None:
        label = person[0] if person else shown
        return ConsoleRights(shown, label, person[1] if person else (), frozenset(), Reason(
            "console_not_configured", "", "",
            "策略没有`console`段（policies/console.yaml），控制台的一切权限均被拒绝",
            "the policy has no `console` section (policies/console.yaml): every console right is refused"))
    if person is None:
        return ConsoleRights(shown, shown, (), frozenset(), Reason(
            "console_unknown_user", "", index.clause,
            f"`{shown}`不是策略的用户（assignments），没有任何控制台权限",
            f"`{shown}` is not a user of the policy's assignments: it holds no console right"))
    label, roles = person
    for role in roles:
        if role in index.exclusive and len(set(roles)) > 1:
            rule, clause, zh, en = index.exclusive[role]
            return ConsoleRights(user_id, label, roles, frozenset(), Reason(
                "role_conflict", rule, clause,
                f"{label}（{user_id}）同时持有{zh}和其他角色：在角色修正之前没有任何控制台权限",
                f"`{user_id}` holds {en} together with another role: no console right until its roles are mended"))
    granted = frozenset(right for role in roles for right in index.rights_of.get(role, ()))
    return ConsoleRights(user_id, label, roles, granted, None, index.holders, index.clause)
