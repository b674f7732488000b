"""What the strategies and the invariants need to know of a policy, read from its document.

The invariants judge the engine, so they do not read its compiled tables: the org tree, the
grants and the users are worked out here afresh from the validated policy document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..compile import person_keys
from ..decide import Engine
from ..policy import Match, grant_rows


@dataclass(frozen=True)
class Who:
    """A subject or an approver as a request names it: by id (from the assignments) or whole."""

    id: str
    roles: frozenset[str]
    org: str
    status: str = "active"
    password_changed_at: datetime | None = None
    must_change_password: bool = False


class Facts:
    def __init__(self, engine: Engine) -> None:
        doc = engine.document
        self.engine = engine
        self.document = doc
        self.roles = [r.id for r in doc.roles]
        self.orgs = [o.id for o in doc.orgs]
        self.kinds = [k.id for k in doc.kinds]
        self.levels = [lv.id for lv in doc.levels]  # lowest first
        self.actions = [a.id for a in doc.actions]
        self.purposes = [p.id for p in doc.purposes]
        self.rules = frozenset(r.id for r in doc.rules)
        self.credit = frozenset(k.id for k in doc.kinds if k.credit_information)
        self.users = {a.id: Who(a.id, frozenset(a.roles), a.org) for a in doc.assignments}
        self._person = person_keys(doc)  # ids of one `person` are one approver (the engine's rule)
        self.grant_rows = [row[:5] for row in grant_rows(doc)]
        self.granted = frozenset(self.grant_rows)
        self.max_age = timedelta(days=doc.settings.password_max_age_days)
        parents = {o.id: o.parent for o in doc.orgs}
        # org → itself and every org above it
        self.above: dict[str, frozenset[str]] = {}
        for org in parents:
            chain, node = [], parents[org]
            while node is not None and node not in chain:
                chain.append(node)
                node = parents[node]
            self.above[org] = frozenset([org, *chain])
        self.evidence: dict[str, list[str] | None] = {}  # key → the values allowed (None: any text)
        for item in [*(e for p in doc.purposes for e in p.evidence), *(e for a in doc.approvals for e in a.evidence)]:
            self.evidence[item.key] = list(item.one_of) if item.one_of else None

    def person(self, user_id: str) -> str:
        """Who an id is, as the engine compares approvers: ids of one ``person`` are one."""
        return self._person.get(user_id, user_id)

    def below(self, org: str) -> list[str]:
        """The org and every org below it, in policy order."""
        return [o for o in self.orgs if org in self.above[o]]

    def who(self, value: Any) -> Who | None:
        """A subject or approver as the request gives it; None for an id not in the assignments."""
        if isinstance(value, str):
            return self.users.get(value)
        changed = value.get("password_changed_at")
        return Who(
            value["id"], frozenset(value["roles"]), value["org"], value.get("status", "active"),
            None if changed is None else datetime.fromisoformat(changed), bool(value.get("must_change_password", False)),
        )

    def matches(self, match: Match | None, request: dict[str, Any]) -> bool:
        """Whether every condition of ``match`` holds of the request (no match: every request)."""
        if match is None:
            return True
        subject = self.who(request["subject"])
        resource = request["resource"]
        if subject is None:
            return False
        at = datetime.fromisoformat(request["at"])
        expired = subject.must_change_password or (
            subject.password_changed_at is not None and at - subject.password_changed_at > self.max_age
        )
        tests: list[tuple[Any, Callable[[Any], bool]]] = [
            (match.roles_include, lambda v: v in subject.roles),
            (match.actions, lambda v: request["action"] in v),
            (match.kinds, lambda v: resource["kind"] in v),
            (match.purposes, lambda v: request["purpose"] in v),
            (match.levels, lambda v: resource["level"] in v),
            (match.credit_information, lambda v: (resource["kind"] in self.credit) == v),
            (match.subject_status, lambda v: subject.status == v),
            (match.password_expired, lambda v: expired == v),
            (match.same_org, lambda v: (resource["org"] == subject.org) == v),
        ]
        return all(test(value) for value, test in tests if value is not None)
