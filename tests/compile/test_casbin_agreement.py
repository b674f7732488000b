"""The compiled look-up tables agree with Casbin, the reference model of the grants.

The engine never calls ``Enforcer.enforce`` per request: it compiles the same rows (``grant_rows``)
into ``Tables.grants`` / ``Tables.roles_for`` and the org tree into ``Tables.scope``. These tests
ask Casbin every question of the grant space — every role, every assignment user id, every
action × kind × purpose × level, and purposes the policy does not know — and require the tables
to give the same answer.

Casbin's ``enforce`` scans every p row on each call (about 2.5 ms for a deny over the ~900 rows of
the default policy), so asking ``engine.casbin`` itself all ~25 000 questions would take a minute.
The exhaustive sweeps therefore ask enforcers built by the same builder as ``engine.casbin``
(``build_enforcer``, same model.conf, same adapter) from which the p rows of the other actions
have been removed through Casbin's management API. The matcher requires ``r.act == p.act``, so a
row of another action can never match: each of these enforcers answers exactly as
``engine.casbin`` does. That they hold exactly ``engine.casbin``'s rows is asserted, and
``engine.casbin.enforce`` itself is compared with the tables on every granted tuple and on a
spread sample of the rest.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from casbin.rbac.default_role_manager import RoleManager

import zxpolicy
from zxpolicy import Resource, Subject
from zxpolicy._bundled import model_conf
from zxpolicy.compile import build_enforcer

from ..conftest import AT, consent, report

Key5 = tuple[str, str, str, str, str]

# Purposes the policy does not know, a near miss of a known one among them.
UNKNOWN_PURPOSES = ("marketing", "LOAN_REVIEW", "loan_review ")


def _vocab(engine: zxpolicy.Engine) -> dict[str, list[str]]:
    doc = engine.document
    return {
        "roles": [r.id for r in doc.roles],
        "actions": [a.id for a in doc.actions],
        "kinds": [k.id for k in doc.kinds],
        "purposes": [p.id for p in doc.purposes],
        "levels": [lv.id for lv in doc.levels],
        "users": [a.id for a in doc.assignments],
        "orgs": [o.id for o in doc.orgs],
    }


def _space(v: dict[str, list[str]], subjects: list[str], purposes: list[str] | None = None) -> Iterator[Key5]:
    return itertools.product(subjects, v["actions"], v["kinds"], purposes or v["purposes"], v["levels"])  # type: ignore[return-value]


def _enforcers_by_action(engine: zxpolicy.Engine) -> dict[str, Any]:
    """One Casbin enforcer per action, holding only that action's p rows (see the module doc)."""
    full = engine.casbin
    rows = full.get_policy()
    actions = [a.id for a in engine.document.actions]
    out: dict[str, Any] = {}
    for action in actions:
        e = build_enforcer(engine.document, model_conf())
        assert e.get_policy() == rows  # the same store as engine.casbin before the partition
        for other in actions:
            if other != action:
                e.remove_filtered_policy(1, other)
        assert e.get_policy() == [row for row in rows if row[1] == action]
        assert e.get_named_grouping_policy("g") == full.get_named_grouping_policy("g")
        assert e.get_named_grouping_policy("g2") == full.get_named_grouping_policy("g2")
        out[action] = e
    # Together they hold every row of engine.casbin, each once.
    assert sorted(map(tuple, itertools.chain.from_iterable(e.get_policy() for e in out.values()))) == sorted(map(tuple, rows))
    return out


@pytest.fixture(scope="module")
def by_action(engine: zxpolicy.Engine) -> dict[str, Any]:
    return _enforcers_by_action(engine)


def _casbin(by_action: dict[str, Any], q: Key5) -> tuple[bool, list[str]]:
    allowed, explain = by_action[q[1]].enforce_ex(*q)
    return bool(allowed), list(explain)


def _report(mismatches: list[str]) -> str:
    return f"{len(mismatches)} disagreements, first ones:\n" + "\n".join(mismatches[:25])


# -- the grant space, by role ----------------------------------------------------------------


def test_the_grant_space_is_not_trivial(engine: zxpolicy.Engine) -> None:
    t = engine._tables
    v = _vocab(engine)
    assert len(v["roles"]) * len(v["actions"]) * len(v["kinds"]) * len(v["purposes"]) * len(v["levels"]) > 10_000
    assert 500 < len(t.grants) < 5_000
    assert len(engine.casbin.get_policy()) >= len(t.grants)


def test_every_role_request_agrees_with_casbin(engine: zxpolicy.Engine, by_action: dict[str, Any]) -> None:
    t = engine._tables
    v = _vocab(engine)
    mismatches: list[str] = []
    allowed_count = 0
    for q in _space(v, v["roles"]):
        role, key = q[0], q[1:]
        casbin_allows, explain = _casbin(by_action, q)
        in_grants = q in t.grants
        in_roles_for = role in t.roles_for.get(key, ())  # type: ignore[arg-type]
        if not (casbin_allows == in_grants == in_roles_for):
            mismatches.append(f"{q}: casbin={casbin_allows} grants={in_grants} roles_for={in_roles_for}")
            continue
        if casbin_allows:
            allowed_count += 1
            # The grant the table cites is the first matching row in file order, as Casbin's.
            if explain[:5] != list(q) or t.grants[q].rule != explain[5]:
                mismatches.append(f"{q}: casbin cites {explain}, the table {t.grants[q].rule}")
    assert not mismatches, _report(mismatches)
    assert allowed_count == len(t.grants)


def test_roles_for_lists_exactly_the_granted_roles_in_role_order(engine: zxpolicy.Engine) -> None:
    t = engine._tables
    derived: dict[tuple[str, ...], list[str]] = {}
    for role, *key in t.grants:
        derived.setdefault(tuple(key), []).append(role)
    assert {k: set(v) for k, v in derived.items()} == {k: set(v) for k, v in t.roles_for.items()}
    for key, roles in t.roles_for.items():
        assert len(set(roles)) == len(roles), key


def test_engine_casbin_itself_agrees_on_every_grant_and_a_sample_of_the_rest(engine: zxpolicy.Engine) -> None:
    """``engine.casbin.enforce`` (the full store, every row) on every granted tuple, and on every
    37th tuple of the space of roles and user ids × known and unknown purposes (37 is prime to
    every dimension, so the sample walks through all subjects, actions, kinds, purposes and
    levels)."""
    t = engine._tables
    v = _vocab(engine)
    enforcer = engine.casbin
    mismatches = []
    for q in t.grants:
        if not enforcer.enforce(*q):
            mismatches.append(f"{q}: granted by the table, denied by engine.casbin")
    sampled = 0
    subjects = v["roles"] + v["users"]
    for i, q in enumerate(_space(v, subjects, v["purposes"] + list(UNKNOWN_PURPOSES))):
        if i % 37:
            continue
        sampled += 1
        sub, key = q[0], q[1:]
        roles = engine._tables.vocabulary.people[sub].roles if sub in v["users"] else {sub}
        expected = any(r in t.roles_for.get(key, ()) for r in roles)  # type: ignore[arg-type]
        if enforcer.enforce(*q) != expected:
            mismatches.append(f"{q}: engine.casbin={not expected} tables={expected}")
    assert sampled > 900
    assert not mismatches, _report(mismatches)


# -- the grant space, by user id (Casbin resolves the g links) ----------------------------------


def test_every_user_request_agrees_with_casbin(engine: zxpolicy.Engine, by_action: dict[str, Any]) -> None:
    t = engine._tables
    v = _vocab(engine)
    people = t.vocabulary.people
    assignments = {a.id: frozenset(a.roles) for a in engine.document.assignments}
    assert set(people) == set(assignments)
    mismatches: list[str] = []
    allowed_count = 0
    for q in _space(v, v["users"]):
        user, key = q[0], q[1:]
        roles = people[user].roles
        assert roles == assignments[user]
        expected = any(r in t.roles_for.get(key, ()) for r in roles)  # type: ignore[arg-type]
        assert expected == any((r, *key) in t.grants for r in roles)
        casbin_allows, _ = _casbin(by_action, q)
        allowed_count += casbin_allows
        if casbin_allows != expected:
            mismatches.append(f"{q}: casbin={casbin_allows} tables={expected} (roles {sorted(roles)})")
    assert not mismatches, _report(mismatches)
    assert allowed_count > 0


def test_a_subject_outside_the_policy_is_denied_by_both(engine: zxpolicy.Engine, by_action: dict[str, Any]) -> None:
    t = engine._tables
    v = _vocab(engine)
    for q in _space(v, ["u-nobody"]):
        assert _casbin(by_action, q)[0] is False, q
        assert q not in t.grants
    assert "u-nobody" not in t.vocabulary.people
    assert engine.check("u-nobody", report(), "loan_review", consent=consent(), at=AT).codes == ("unknown_subject",)


# -- purposes the policy does not know --------------------------------------------------------


def test_unknown_purposes_are_denied_by_both(engine: zxpolicy.Engine, by_action: dict[str, Any]) -> None:
    t = engine._tables
    v = _vocab(engine)
    for purpose in UNKNOWN_PURPOSES:
        assert purpose not in v["purposes"] and purpose not in t.purposes
    allowed = [
        q for q in _space(v, v["roles"] + v["users"], list(UNKNOWN_PURPOSES)) if _casbin(by_action, q)[0]
    ]
    assert allowed == []
    assert not any(k[3] in UNKNOWN_PURPOSES for k in t.grants)
    assert not any(k[2] in UNKNOWN_PURPOSES for k in t.roles_for)
    # And the engine says why.
    for purpose in UNKNOWN_PURPOSES:
        d = engine.check("u-query-east1", report(), purpose, consent=consent(purposes=(purpose,)), at=AT)
        assert not d.allowed and d.codes == ("purpose_not_permitted",)


# -- the org tree ----------------------------------------------------------------------------


def _ancestors(engine: zxpolicy.Engine) -> dict[str, set[str]]:
    """Each org and every org above it, worked out afresh from the document."""
    parents = {o.id: o.parent for o in engine.document.orgs}
    out = {}
    for org in parents:
        seen = {org}
        node = parents[org]
        while node is not None:
            assert node not in seen
            seen.add(node)
            node = parents[node]
        out[org] = seen
    return out


def _assert_scope_agrees(engine: zxpolicy.Engine) -> None:
    scope = engine._tables.scope
    ancestors = _ancestors(engine)
    assert set(scope) == set(ancestors)
    rm = engine.casbin.get_named_role_manager("g2")
    mismatches = []
    for child, above in itertools.product(ancestors, repeat=2):
        expected = above in ancestors[child]
        in_scope = above in scope[child]
        linked = rm.has_link(child, above)
        if not (expected == in_scope == linked):
            mismatches.append(f"{child} -> {above}: tree={expected} scope={in_scope} casbin g2={linked}")
    assert not mismatches, _report(mismatches)
    for org, above in ancestors.items():
        assert scope[org] == frozenset(above), org


def test_org_scope_agrees_with_casbin_g2(engine: zxpolicy.Engine) -> None:
    _assert_scope_agrees(engine)
    scope = engine._tables.scope
    assert scope["east-1"] == {"east-1", "east", "hq"}
    assert scope["hq"] == {"hq"}
    assert "west" not in scope["east-1"]


def _deep_orgs(levels: int) -> tuple[str, list[str]]:
    """The default tree, with a chain below east-1 so that the tree is ``levels`` levels deep."""
    chain = [f"lvl-{i:02}" for i in range(4, levels + 1)]  # hq, east and east-1 are levels 1..3
    lines = [
        "orgs:",
        "  - {id: hq,     zh: 市联社,       en: city union}",
        "  - {id: east,   parent: hq,   zh: 东区联社,     en: east union}",
        "  - {id: west,   parent: hq,   zh: 西区联社,     en: west union}",
        "  - {id: east-1, parent: east, zh: 东区第一基层社, en: east branch 1}",
        "  - {id: east-2, parent: east, zh: 东区第二基层社, en: east branch 2}",
        "  - {id: west-1, parent: west, zh: 西区第一基层社, en: west branch 1}",
    ]
    parent = "east-1"
    for org in chain:
        lines.append(f"  - {{id: {org}, parent: {parent}, zh: 第{org[-2:]}级, en: level {org[-2:]}}}")
        parent = org
    return "\n".join(lines) + "\n", ["hq", "east", "east-1", *chain]


def test_a_deep_org_tree_agrees_beyond_casbins_default_depth(policy_copy: Path) -> None:
    text, path = _deep_orgs(12)
    (policy_copy / "orgs.yaml").write_text(text, encoding="utf-8")
    engine = zxpolicy.load(policy_copy)
    deepest, top = path[-1], path[0]
    assert len(path) == 12
    assert engine._tables.scope[deepest] == frozenset(path)

    # The tree is deeper than Casbin's default role manager reaches: with its default depth the
    # top of the tree is not found from the bottom. So the agreement below is not by luck.
    default_rm = RoleManager(10)
    for child, parent in engine.casbin.get_named_grouping_policy("g2"):
        default_rm.add_link(child, parent)
    assert not default_rm.has_link(deepest, top)
    assert engine.casbin.get_named_role_manager("g2").has_link(deepest, top)

    _assert_scope_agrees(engine)

    # And the engine decides by it: the top may act below, the bottom may not act above.
    def query(org: str, resource_org: str) -> zxpolicy.Decision:
        return engine.check(
            Subject("q", ["query_operator"], org), report(org=resource_org), "loan_review", consent=consent(), at=AT
        )

    assert query(top, deepest).allowed
    assert query(path[5], deepest).allowed
    assert query(deepest, top).codes == ("org_out_of_scope",)
    assert query(deepest, path[-2]).codes == ("org_out_of_scope",)
    assert query("west", deepest).codes == ("org_out_of_scope",)


def test_a_deep_org_tree_users_agree_with_casbin(policy_copy: Path) -> None:
    """An assignment at the bottom of a deep tree: its g links and grants still agree."""
    text, path = _deep_orgs(12)
    (policy_copy / "orgs.yaml").write_text(text, encoding="utf-8")
    with (policy_copy / "assignments.yaml").open("a", encoding="utf-8") as f:
        f.write(f"  - {{id: u-deep, roles: [query_operator, dispute_handler], org: {path[-1]}}}\n")
    engine = zxpolicy.load(policy_copy)
    t = engine._tables
    v = _vocab(engine)
    for q in _space(v, ["u-deep"]):
        expected = any((r, *q[1:]) in t.grants for r in ("query_operator", "dispute_handler"))
        if expected:
            assert engine.casbin.enforce(*q), q
    assert sorted(engine.casbin.get_implicit_roles_for_user("u-deep")) == ["dispute_handler", "query_operator"]
    assert engine.check("u-deep", report(org=path[-1]), "loan_review", consent=consent(), at=AT).allowed


# -- Casbin's management API over the policy ---------------------------------------------------


def test_management_api_implicit_roles_for_every_user(engine: zxpolicy.Engine) -> None:
    e = engine.casbin
    assert e.get_implicit_roles_for_user("u-query-east1") == ["query_operator"]
    assert sorted(e.get_implicit_roles_for_user("u-conflict-hq")) == ["query_operator", "user_admin"]
    for a in engine.document.assignments:
        assert sorted(e.get_implicit_roles_for_user(a.id)) == sorted(a.roles), a.id
    assert e.get_implicit_roles_for_user("u-nobody") == []


@pytest.mark.parametrize(
    "permission",
    [
        ("query", "credit_report", "loan_review", "ordinary"),
        ("print", "credit_report", "legal", "top_secret"),
        ("query", "credit_report", "dissent", "confidential"),
        ("reset_password", "user_account", "account_management", "ordinary"),
    ],
)
def test_management_api_implicit_users_for_a_grant(engine: zxpolicy.Engine, permission: tuple[str, ...]) -> None:
    t = engine._tables
    users = sorted(engine.casbin.get_implicit_users_for_permission(*permission))
    expected = sorted(uid for uid, s in t.vocabulary.people.items() if s.roles & set(t.roles_for[permission]))
    assert users == expected
    assert users  # each of these grants is held by some demo user


def test_management_api_query_grant_users(engine: zxpolicy.Engine) -> None:
    users = engine.casbin.get_implicit_users_for_permission("query", "credit_report", "loan_review", "ordinary")
    # u-conflict-hq holds the grant in Casbin's store; the engine still denies it.
    assert sorted(users) == ["u-conflict-hq", "u-query-east1", "u-query-west1"]
    d = engine.check("u-conflict-hq", report(org="hq"), "loan_review", consent=consent(), at=AT)
    assert not d.allowed and "role_conflict" in d.codes


def test_management_api_roles_and_permissions(engine: zxpolicy.Engine) -> None:
    e = engine.casbin
    assigned = {r for a in engine.document.assignments for r in a.roles}
    assert set(e.get_all_named_roles("g")) == assigned
    assert set(e.get_all_named_roles("g2")) == {o.parent for o in engine.document.orgs if o.parent}
    assert set(e.get_all_subjects()) == {role for role, *_ in engine._tables.grants}
    perms = e.get_implicit_permissions_for_user("u-dispute-east1")
    assert {tuple(p[:5]) for p in perms} == {q for q in engine._tables.grants if q[0] == "dispute_handler"}
    levels = [lv.id for lv in engine.document.levels]
    assert {tuple(p[1:5]) for p in perms if p[2] == "credit_report"} == {
        (action, "credit_report", "dissent", lv) for action in ("query", "print") for lv in levels
    }


def test_changes_through_the_management_api_do_not_change_decisions(policy_copy: Path) -> None:
    engine = zxpolicy.load(policy_copy)
    args = dict(consent=consent(), at=AT)
    admin = Subject("a", ["user_admin"], "east-1")
    before = engine.check(admin, report(), "loan_review", **args)  # type: ignore[arg-type]
    assert engine.casbin.add_policy("user_admin", "query", "credit_report", "loan_review", "ordinary", "Q-03")
    assert engine.casbin.enforce("user_admin", "query", "credit_report", "loan_review", "ordinary")
    assert engine.check(admin, report(), "loan_review", **args) == before  # type: ignore[arg-type]
    assert not before.allowed
    # Nothing is written back to the policy files.
    assert zxpolicy.load(policy_copy).policy_version == engine.policy_version


def test_the_casbin_store_is_built_once_per_engine(engine: zxpolicy.Engine) -> None:
    assert engine.casbin is engine.casbin
    resource = Resource("arc-1", "customer_archive", "ordinary", "east-1")
    assert engine.casbin.enforce("archive_custodian", "view", resource.kind, "loan_review", resource.level)
