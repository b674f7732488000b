"""A generated institution: the default rules with an org tree and users of a chosen size.

The policy directory is the bundled policy with ``orgs.yaml`` and ``assignments.yaml`` replaced,
so what is measured is the default rules at scale. Everything is deterministic for a seed.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from zxpolicy.policy import default_policy_dir

# The roles the filler users hold, in proportion: mostly people who query.
FILLER_ROLES = (
    ["query_operator"] * 6
    + ["dispute_handler", "client_developer", "credit_info_officer", "archive_custodian", "data_entry_operator"]
)
# Approvers every request may use: at the root, so that they are in scope for everyone.
ROOT_APPROVERS = ("risk_control_officer", "risk_control_manager", "general_manager", "credit_info_supervisor")
BRANCHING = 10  # children per org


@dataclass(frozen=True)
class User:
    id: str
    role: str
    org: str


@dataclass
class Institution:
    directory: Path
    orgs: list[str]  # orgs[0] is the root
    parent: dict[str, str | None]
    users: list[User]
    head_of: dict[str, User]  # org → its department head (not every org has one in a small institution)
    by_role: dict[str, list[User]]

    def children(self, org: str) -> list[str]:
        i = self.orgs.index(org) if org != self.orgs[0] else 0
        return self.orgs[i * BRANCHING + 1 : i * BRANCHING + 1 + BRANCHING]

    def ancestors(self, org: str) -> list[str]:
        chain: list[str] = []
        node: str | None = org
        while node is not None:
            chain.append(node)
            node = self.parent[node]
        return chain


def build(directory: Path, users: int, orgs: int, seed: int = 7, *, write: bool = True) -> Institution:
    """Write the policy of an institution of ``users`` users and ``orgs`` orgs into ``directory``
    (with ``write=False``, only describe the institution that a run with the same sizes wrote)."""
    if orgs < 2 or users < 20:
        raise ValueError(f"an institution needs at least 2 orgs and 20 users, got {orgs} and {users}")
    rng = random.Random(seed)
    ids = [f"org-{i:05d}" for i in range(orgs)]
    parent: dict[str, str | None] = {o: (ids[(i - 1) // BRANCHING] if i else None) for i, o in enumerate(ids)}
    people: list[User] = []
    head_of: dict[str, User] = {}
    for role in ROOT_APPROVERS:
        for k in range(3):
            people.append(User(f"u-{role}-{k}", role, ids[0]))
    for o in ids[: min(orgs, users // 4)]:  # a department head in most orgs (A-01 asks for one of the requester's own)
        head = User(f"u-head-{o}", "department_head", o)
        head_of[o] = head
        people.append(head)
    n = 0
    while len(people) < users:
        people.append(User(f"u-{n:06d}", FILLER_ROLES[n % len(FILLER_ROLES)], rng.choice(ids)))
        n += 1

    by_role: dict[str, list[User]] = {}
    for u in people:
        by_role.setdefault(u.role, []).append(u)
    inst = Institution(directory, ids, parent, people, head_of, by_role)
    if write:
        _write(inst)
    return inst


def _write(inst: Institution) -> None:
    directory, ids, parent = inst.directory, inst.orgs, inst.parent
    directory.mkdir(parents=True, exist_ok=True)
    for f in default_policy_dir().iterdir():
        if f.suffix == ".yaml":
            shutil.copy(f, directory / f.name)
    org_lines = ["orgs:"]
    for o in ids:
        up = f", parent: {parent[o]}" if parent[o] else ""
        org_lines.append(f"  - {{id: {o}{up}, zh: 机构{o[4:]}, en: org {o[4:]}}}")
    (directory / "orgs.yaml").write_text("\n".join(org_lines) + "\n", encoding="utf-8")
    user_lines = ["assignments:"] + [f"  - {{id: {u.id}, roles: [{u.role}], org: {u.org}}}" for u in inst.users]
    (directory / "assignments.yaml").write_text("\n".join(user_lines) + "\n", encoding="utf-8")
