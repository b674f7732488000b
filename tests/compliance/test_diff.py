"""``zxpolicy diff``: one edit at a time to a copy of the default policy, and the exact set of
request classes it changes, worked out here from the edit and the policy's own data."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import zxpolicy
from zxpolicy.cli import main
from zxpolicy.compliance import (
    NARROWED,
    WIDENED,
    Diff,
    RevisionError,
    SpaceTooLarge,
    diff_policies,
    export_revision,
)
from zxpolicy.compliance._space import GIVEN
from zxpolicy.policy import grant_rows

from ..conftest import POLICIES

LEVELS = ("ordinary", "confidential", "top_secret")
ORGS = ("same", "below")  # the default org tree's two in-scope relations
CONSENT_PURPOSES = ("loan_review", "guarantor_check", "post_loan_monitoring", "dissent")  # consent: true
EVIDENCE = {"dissent": (("case_id", GIVEN),), "legal": (("legal_basis", GIVEN),)}  # the evidence each purpose asks

Row = tuple[tuple[str, ...], str, str, str, str, str, str, tuple[tuple[str, str | None], ...], str]


@pytest.fixture(scope="module")
def default() -> zxpolicy.Engine:
    return zxpolicy.load(POLICIES)


@pytest.fixture
def new(tmp_path: Path) -> Path:
    """A second copy of the default policy, to edit (the first, ``policy_copy``, stays as OLD)."""
    target = tmp_path / "new"
    shutil.copytree(POLICIES, target)
    return target


def edit(policy: Path, file: str, old: str, new: str) -> None:
    path = policy / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"`{old}` is not once in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def diff_to(default: zxpolicy.Engine, policy: Path) -> Diff:
    return diff_policies(default, zxpolicy.load(policy))


def rows(d: Diff) -> dict[Row, str]:
    """Each changed class → its mark."""
    out: dict[Row, str] = {}
    for c in d.changes:
        r = c.request
        row = (r.roles, r.action, r.kind, r.purpose, r.level, r.org.label, r.consent, r.evidence, r.retention)
        assert row not in out, f"class listed twice: {row}"
        out[row] = c.mark
    return out


def consent_of(action: str, kind: str, purpose: str) -> str:
    """The consent shape of a class whose request is permitted: Q-04 asks for query and print of
    credit reports, for the purposes marked `consent: true`."""
    if action in ("query", "print") and kind == "credit_report":
        return "valid" if purpose in CONSENT_PURPOSES else "-"
    return "-"


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


# --------------------------------------------------------------------------------------------
# one edit, its exact classes


def test_identical_policies_have_no_change(default: zxpolicy.Engine, policy_copy: Path) -> None:
    d = diff_to(default, policy_copy)
    assert d.changes == () and d.people == () and d.settings == () and not d.widened
    assert d.classes > 1000  # the space was enumerated, not skipped


def test_grant_added_widens_exactly_its_classes(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "grants.yaml", "grants:\n", (
        "grants:\n  - rule: Q-03\n    roles: [data_entry_operator]\n    actions: [query]\n"
        "    kinds: [credit_report]\n    purposes: [loan_review]\n"
    ))
    d = diff_to(default, new)
    # Only with a valid consent: without one, both policies deny.
    expected = {
        (("data_entry_operator",), "query", "credit_report", "loan_review", lv, org, "valid", (), "-"): WIDENED
        for lv in LEVELS for org in ORGS
    }
    assert rows(d) == expected
    assert {c.rules for c in d.changes} == {("Q-03",)}
    assert all(c.old.status == "deny" and c.new.permits for c in d.changes)


def test_grant_removed_narrows_exactly_its_classes(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "grants.yaml", "    roles: [query_operator]\n    actions: [query, print]\n",
         "    roles: [query_operator]\n    actions: [query]\n")
    d = diff_to(default, new)
    expected = {
        (("query_operator",), "print", "credit_report", p, lv, org, consent_of("print", "credit_report", p), EVIDENCE.get(p, ()), "-"): NARROWED
        for p in ("loan_review", "guarantor_check", "post_loan_monitoring", "legal") for lv in LEVELS for org in ORGS
    }
    assert rows(d) == expected
    # the grant that allowed it, and no other role may print for these purposes
    assert {c.rules for c in d.changes} == {("Q-01", "Q-03")}
    assert not d.widened


def test_chain_step_added_narrows_every_copy(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "approvals.yaml", "      - [general_manager, credit_info_supervisor, risk_control_manager]\n",
         "      - [general_manager, credit_info_supervisor, risk_control_manager]\n      - [general_manager]\n")
    d = diff_to(default, new)
    doc = default.document
    expected = {
        ((role,), a, k, p, lv, org, "-", EVIDENCE.get(p, ()), "-"): NARROWED
        for role, a, k, p, lv, _ in grant_rows(doc) if a == "copy" for org in ORGS
    }
    assert len(expected) == 3 * 3 * 5 * 3 * 2
    assert rows(d) == expected
    for c in d.changes:
        assert c.rules == ("A-02",)
        added = [s for s in c.new.steps if s not in c.old.steps or c.new.steps.count(s) > c.old.steps.count(s)]
        assert [s.roles for s in added] == [("general_manager",)]


def test_classification_step_removed_widens_every_top_secret_class(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "classification.yaml", "      - [risk_control_manager]\n      - [general_manager]\n",
         "      - [risk_control_manager]\n")
    d = diff_to(default, new)
    granted = {(role, a, k, p) for role, a, k, p, lv, _ in grant_rows(default.document) if lv == "top_secret"}
    # Every top-secret class that is permitted, by a role alone, except the custodian viewing in
    # its own organisation (C-02 lifts the classification steps)...
    singles = {
        (frozenset({role}), a, k, p, org) for role, a, k, p in granted for org in ORGS
        if not (role == "archive_custodian" and a == "view" and org == "same")
    }
    # ... and any role with the custodian viewing below its own organisation (no exemption there).
    pairs = {
        (frozenset({role, "archive_custodian"}), "view", k, p, "below")
        for role, a, k, p in granted if a == "view" and role != "archive_custodian"
    }
    got = {(frozenset(c.request.roles), c.request.action, c.request.kind, c.request.purpose, c.request.org.label) for c in d.changes}
    assert got == singles | pairs
    for c in d.changes:
        r = c.request
        assert (r.level, c.mark, c.rules) == ("top_secret", WIDENED, ("C-01",))
        assert r.consent == consent_of(r.action, r.kind, r.purpose)  # no class is denied for want of consent
        assert all(v is not None for _, v in r.evidence)
        assert [s.roles for s in c.old.steps if s not in c.new.steps] == [("general_manager",)]
    # reset_password: with each permitted reason, and the special case's extra step
    reasons = {dict(c.request.evidence)["reset_reason"] for c in d.changes if c.request.action == "reset_password"}
    assert reasons == {"forgotten_written_request", "credential_stolen", "special_case"}


RELATED = """  - id: related_party_check
    rule: Q-02
    clause: 细则 第十七条(三)
    zh: 审核法定代表人、出资人等关联人资信
    en: check of a related party's credit standing
    kinds: [credit_report, customer_archive, statistics_report]
    consent: true
"""


def test_purpose_added_without_a_grant_changes_nothing(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "purposes.yaml", "purposes:\n", "purposes:\n" + RELATED)
    assert diff_to(default, new).changes == ()


def test_purpose_added_with_its_grant_widens_exactly_its_classes(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "purposes.yaml", "purposes:\n", "purposes:\n" + RELATED)
    edit(new, "grants.yaml", "grants:\n", (
        "grants:\n  - rule: Q-03\n    roles: [query_operator]\n    actions: [query, print]\n"
        "    kinds: [credit_report]\n    purposes: [related_party_check]\n"
    ))
    d = diff_to(default, new)
    expected = {
        (("query_operator",), a, "credit_report", "related_party_check", lv, org, "valid", (), "-"): WIDENED
        for a in ("query", "print") for lv in LEVELS for org in ORGS
    }
    assert rows(d) == expected
    # OLD denies the purpose; NEW grants it
    assert {c.rules for c in d.changes} == {("Q-02", "Q-03")}


def test_assignments_change_users_not_classes(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "assignments.yaml", "roles: [query_operator],         org: east-1",
         "roles: [query_operator, dispute_handler], org: east-1")
    edit(new, "assignments.yaml", "  - {id: u-gm-hq,         roles: [general_manager],        org: hq,     zh: 总经理}\n", "")
    d = diff_to(default, new)
    assert d.changes == ()  # classes are by roles: a user's roles decide as the roles do
    assert [(p.id, p.mark) for p in d.people] == [("u-query-east1", WIDENED), ("u-gm-hq", NARROWED)]
    assert d.widened


def test_password_age_is_a_setting(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "rules.yaml", "password_max_age_days: 30", "password_max_age_days: 90")
    d = diff_to(default, new)
    assert d.changes == () and d.settings == (("password_max_age_days", "30", "90", WIDENED),)


def test_trusting_the_host_for_identities_is_a_widening_setting(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "rules.yaml", "identities: assignments_or_host", "identities: assignments_only")
    narrowed = diff_to(default, new)
    assert narrowed.settings == (("identities", "assignments_or_host", "assignments_only", NARROWED),)
    assert not narrowed.widened
    widened = diff_policies(zxpolicy.load(new), default)
    assert widened.settings == (("identities", "assignments_only", "assignments_or_host", WIDENED),) and widened.widened


def test_a_role_gaining_a_console_right_is_a_widening(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "console.yaml", "approve: [risk_control_manager, general_manager]", "approve: [risk_control_manager, credit_info_officer]")
    d = diff_to(default, new)
    assert d.changes == () and d.widened
    assert d.settings == (("console.rights.approve", '["general_manager", "risk_control_manager"]',
                           '["credit_info_officer", "risk_control_manager"]', WIDENED),)
    edit(new, "console.yaml", "approve: [risk_control_manager, credit_info_officer]", "approve: [risk_control_manager]")
    narrowed = diff_to(default, new)
    assert [s[3] for s in narrowed.settings] == [NARROWED] and not narrowed.widened
    # without the section no one holds a right: adding it widens each right it gives
    (new / "console.yaml").unlink()
    added = diff_policies(zxpolicy.load(new), default)
    assert [(s[0], s[3]) for s in added.settings] == [(f"console.rights.{r}", WIDENED) for r in ("view", "review", "propose", "approve")]


def test_a_space_too_large_is_refused_not_sampled(default: zxpolicy.Engine) -> None:
    with pytest.raises(SpaceTooLarge, match="too large to enumerate exactly") as info:
        diff_policies(default, default, max_classes=100)
    assert info.value.size > 100


# --------------------------------------------------------------------------------------------
# the command


def _widen(new: Path) -> None:
    edit(new, "classification.yaml", "      - [risk_control_manager]\n      - [general_manager]\n",
         "      - [risk_control_manager]\n")


def test_cli_exits_1_on_widening_and_0_when_allowed(policy_copy: Path, new: Path) -> None:
    _widen(new)
    result = run("diff", policy_copy, new)
    assert result.exit_code == 1, result.output
    assert "放宽" in result.stdout and "精确比较" in result.stdout and "| `view` | `customer_archive` |" in result.stdout
    assert run("diff", policy_copy, new, "--allow-widening").exit_code == 0


def test_cli_exits_0_on_narrowing(policy_copy: Path, new: Path) -> None:
    # the reverse of a widening narrows
    _widen(new)
    result = run("diff", new, policy_copy, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "**widened 0** · **narrowed" in result.stdout and "NARROWED" in result.stdout


def test_cli_says_no_change(policy_copy: Path) -> None:
    result = run("diff", POLICIES, policy_copy, "--lang", "en")
    assert result.exit_code == 0
    assert "No change: the two policies decide all" in result.stdout
    assert "无变化" in run("diff", POLICIES, policy_copy).stdout


def test_cli_json_lists_every_class(policy_copy: Path, new: Path) -> None:
    _widen(new)
    result = run("diff", policy_copy, new, "--json")
    data: dict[str, Any] = json.loads(result.stdout)
    assert result.exit_code == 1
    assert data["exact"] is True and data["widened"] is True
    # By default the classes of role sets someone holds; the others are counted.
    assert data["counts"]["widened"] == len(data["changes"]) + data["left_out"]["widened"] > len(data["changes"]) > 0
    everything = json.loads(run("diff", policy_copy, new, "--json", "--all-role-sets").stdout)
    assert everything["counts"]["widened"] == len(everything["changes"]) and everything["left_out"]["widened"] == 0
    first = data["changes"][0]
    assert first["mark"] == "widened" and first["level"] == "top_secret" and first["rules"] == ["C-01"]
    assert len(first["old"]["steps"]) == len(first["new"]["steps"]) + 1


def test_cli_refuses_a_space_too_large(policy_copy: Path) -> None:
    result = run("diff", POLICIES, policy_copy, "--max-classes", 10)
    assert result.exit_code == 2
    assert "too large to enumerate exactly" in result.stderr


def test_cli_exits_2_on_a_policy_that_does_not_load(policy_copy: Path, new: Path) -> None:
    edit(new, "grants.yaml", "    purposes: [dissent]", "    purposes: dissent")
    result = run("diff", policy_copy, new)
    assert result.exit_code == 2 and "grants.yaml" in result.stderr
    assert run("diff", policy_copy, new.parent / "missing").exit_code == 2


# --------------------------------------------------------------------------------------------
# git revisions


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_two_git_revisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(POLICIES, repo / "policies")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "policy")
    _widen(repo / "policies")
    _git(repo, "commit", "-qam", "widen")

    exported = export_revision("HEAD~1:policies", tmp_path / "old", repo)
    # The policy files only: the loader reads no subfolder (such as the policy's test suites).
    assert sorted(p.name for p in exported.iterdir()) == sorted(p.name for p in POLICIES.iterdir() if p.is_file())
    with pytest.raises(RevisionError, match="git"):
        export_revision("no-such-rev:policies", tmp_path / "x", repo)
    # In a clone, the other branches are only `origin/NAME`: the error says which to use.
    _git(repo, "branch", "side", "HEAD~1")
    _git(tmp_path, "clone", "-q", str(repo), "clone")
    with pytest.raises(RevisionError, match="use `origin/side:policies`"):
        export_revision("side:policies", tmp_path / "y", tmp_path / "clone")

    monkeypatch.chdir(repo)
    result = run("diff", "HEAD~1:policies", "HEAD:policies")
    assert result.exit_code == 1, result.output
    assert "C-01" in result.stdout
    assert run("diff", "HEAD:policies", "policies").exit_code == 0
    assert run("diff", "nowhere", "policies").exit_code == 2


# --------------------------------------------------------------------------------------------
# exactness: concrete requests beyond the classes are decided like the classes say


def _wide_change(new: Path) -> None:
    """Several edits at once, so that role combinations matter: the custodian granted nothing
    and exempt for borrowing instead of viewing, the user administrator neither exclusive nor
    barred from credit information, a top-secret step gone."""
    _widen(new)
    edit(new, "grants.yaml", "      - data_entry_operator\n      - archive_custodian\n", "      - data_entry_operator\n")
    edit(new, "classification.yaml", "      actions: [view]", "      actions: [borrow]")
    edit(new, "rules.yaml", "    exclusive: true ", "    exclusive: false ")
    edit(new, "rules.yaml", "    bars_credit_information: true ", "    bars_credit_information: false ")


KEYS = [
    ("view", "customer_archive", "loan_review", "top_secret"),
    ("borrow", "customer_archive", "post_loan_monitoring", "confidential"),
    ("view", "customer_archive", "legal", "confidential"),
    ("reset_password", "user_account", "account_management", "top_secret"),
    ("query", "credit_report", "dissent", "ordinary"),
]


def test_every_concrete_difference_is_listed_under_a_class_of_its_roles(default: zxpolicy.Engine, new: Path) -> None:
    """Role sets of up to three roles and every pair of organisations: wherever the two policies
    decide a concrete request differently, the diff lists a class of the same request, with the
    same two answers, whose roles are the request's or change nothing at the key."""
    from itertools import combinations

    from zxpolicy.compliance._diff import answer
    from zxpolicy.compliance._space import OrgCase, RequestClass, Side, Space

    _wide_change(new)
    other = zxpolicy.load(new)
    d = diff_policies(default, other)
    listed = {
        (c.request.key, c.request.roles, c.request.org.label, c.request.consent, c.request.evidence, c.old, c.new)
        for c in d.changes
    }
    space = Space(Side(default.tables, default.document), Side(other.tables, other.document))
    roles = space.roles
    tree = {o.id: o.parent for o in default.document.orgs}

    def relation(s: str, r: str) -> str | None:
        node: str | None = r
        while node is not None:
            if node == s:
                return "same" if s == r else "below"
            node = tree[node]
        return None  # out of scope

    # The roles granted nothing at a key, exempt from nothing and in no separation rule.
    inert = {
        key: set(roles) - {"user_admin"} - {
            r for e in (default, other) for r in (*e.tables.roles_for.get(key, ()), *e.tables.requirements[key].exemptions)
        }
        for key in KEYS
    }
    role_sets = [tuple(x) for n in (1, 2, 3) for x in combinations(roles, n)]
    checked = differing = 0
    for key in KEYS:
        consent, evidence, retention = space.shapes(key)
        for rs in role_sets:
            pairs = [(s, r) for s in tree for r in tree] if len(rs) == 1 else [("east", "east"), ("east", "east-1")]
            for (s, r), c, e, t in [(p, c, e, t) for p in pairs for c in consent for e in evidence for t in retention]:
                cls = RequestClass(rs, *key, OrgCase("?", s, r), c, e, t)
                a, b = answer(default, default.tables, cls), answer(other, other.tables, cls)
                checked += 1
                if a == b or not (a.permits or b.permits):
                    continue
                differing += 1
                rel = relation(s, r)
                assert rel is not None, f"out of scope yet permitted: {cls}"
                # a listed class of roles of the request's, but for roles that change nothing here
                stand_in = set(rs) | inert[key]
                assert any(
                    k == key and set(sub) <= stand_in and tuple(rest) == (rel, c, e, a, b) for k, sub, *rest in listed
                ), f"a difference not listed: {cls}"
    assert differing > 100 and checked > 10_000  # the grid did exercise changes


def test_an_invalid_consent_is_decided_like_none(default: zxpolicy.Engine) -> None:
    """Where a key asks for consent, an invalid one is denied like none; where it does not, it
    is ignored like none."""
    from datetime import timedelta

    from zxpolicy import Consent, Resource, Subject
    from zxpolicy.compliance._diff import AT

    invalid = [
        Consent("someone-else", ["loan_review"], AT - timedelta(days=1)),
        Consent("customer", ["legal"], AT - timedelta(days=1)),
        Consent("customer", ["loan_review"], AT + timedelta(days=1)),
        Consent("customer", ["loan_review"], AT - timedelta(days=9), expires_at=AT - timedelta(days=1)),
        Consent("customer", ["loan_review"], AT - timedelta(days=9), revoked=True),
    ]
    for action, kind, purpose in [("query", "credit_report", "loan_review"), ("view", "customer_archive", "loan_review")]:
        subject = Subject("s", ["query_operator", "archive_custodian"], "east-1")
        resource = Resource("resource", kind, "ordinary", "east-1", customer_id="customer")
        none = default.check(subject, resource, purpose, action=action, at=AT)
        for c in invalid:
            d = default.check(subject, resource, purpose, action=action, consent=c, at=AT)
            assert d.allowed == none.allowed and d.missing_approvals == none.missing_approvals
            assert {r.code for r in d.reasons if not r.code.startswith("consent_")} == {
                r.code for r in none.reasons if not r.code.startswith("consent_")
            }


def test_evidence_values_named_nowhere_are_read_alike(default: zxpolicy.Engine) -> None:
    from zxpolicy.compliance._diff import answer
    from zxpolicy.compliance._space import OTHER, OrgCase, RequestClass

    same = OrgCase("same", "east", "east")
    for key, name, stand_in, values in [
        (("reset_password", "user_account", "account_management", "ordinary"), "reset_reason", OTHER, ["forgot", "x", "special"]),
        (("query", "credit_report", "dissent", "ordinary"), "case_id", GIVEN, ["D-1", "x", OTHER]),
    ]:
        roles = ("user_admin",) if key[1] == "user_account" else ("dispute_handler",)
        consent = "valid" if key[0] == "query" else "-"
        expected = answer(default, default.tables, RequestClass(roles, *key, same, consent, ((name, stand_in),), "-"))
        for v in values:
            got = answer(default, default.tables, RequestClass(roles, *key, same, consent, ((name, v),), "-"))
            assert got == expected
    # and a named value is not read like the stand-in: the special case adds a step
    special = RequestClass(("user_admin",), "reset_password", "user_account", "account_management", "ordinary", same, "-",
                           (("reset_reason", "special_case"),), "-")
    assert answer(default, default.tables, special).steps != ()


def test_an_org_moved_changes_the_pairs_the_trees_relate_differently(default: zxpolicy.Engine, new: Path) -> None:
    edit(new, "orgs.yaml", "{id: east-2, parent: east,", "{id: east-2, parent: west,")
    d = diff_to(default, new)
    marks: dict[str, set[str]] = {}
    for c in d.changes:
        marks.setdefault(c.request.org.label, set()).add(c.mark)
    # east loses east-2 from its scope, west gains it; hq keeps it, like every other pair
    assert marks == {"east>east-2": {NARROWED}, "west>east-2": {WIDENED}}
    # every class permitted at `below` in the old tree is narrowed for east → east-2
    below = {(c.roles, c.key) for c in _permitted_below(default)}
    assert {(c.request.roles, c.request.key) for c in d.changes if c.request.org.label == "east>east-2"} == below


def _permitted_below(engine: zxpolicy.Engine) -> list[Any]:
    from zxpolicy.compliance._diff import answer
    from zxpolicy.compliance._space import Side, Space

    space = Space(Side(engine.tables, engine.document), Side(engine.tables, engine.document))
    return [c for c in space if c.org.label == "below" and answer(engine, engine.tables, c).permits]


def test_markdown_merges_classes_with_the_same_change(policy_copy: Path, new: Path) -> None:
    edit(new, "approvals.yaml", "      - [general_manager, credit_info_supervisor, risk_control_manager]\n",
         "      - [general_manager, credit_info_supervisor, risk_control_manager]\n      - [general_manager]\n")
    result = run("diff", policy_copy, new, "--lang", "en")
    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if line.startswith("| `")]
    # 270 classes, one change: every kind, purpose, level, role and org in one row
    assert table == [
        "| `copy` | `credit_report`, `customer_archive`, `statistics_report` | `loan_review`, `guarantor_check`, "
        "`post_loan_monitoring`, `dissent` (case_id=given), `legal` (legal_basis=given) | any level | "
        "credit information officer (credit_info_officer), credit information supervisor (credit_info_supervisor), "
        "risk control manager (risk_control_manager) | same org, resource below | "
        "+ general manager (general_manager) | A-02 |"
    ]
    assert "**widened 0** · **narrowed 270** · **changed 0**" in result.stdout
    assert not re.search(r"[\u4e00-\u9fff]", result.stdout)  # English throughout
    assert "收紧（NARROWED）" in run("diff", policy_copy, new).stdout


def test_a_role_added_to_the_vocabulary_conflicts_with_the_user_administrator(default: zxpolicy.Engine, new: Path) -> None:
    # OLD does not know the role, so a user administrator holding it holds one role there; NEW
    # knows it, and Q-08 forbids holding it with user_admin.
    edit(new, "vocabulary.yaml", "  - {id: archive_custodian,", "  - {id: auditor, zh: 审计员, en: auditor}\n  - {id: archive_custodian,")
    d = diff_to(default, new)
    assert {c.request.roles for c in d.changes} == {("user_admin", "auditor")}
    assert {(c.mark, c.new.reasons, c.rules) for c in d.changes} == {(NARROWED, (("role_conflict", "Q-08"),), ("A-07", "Q-08"))} | {
        (NARROWED, (("role_conflict", "Q-08"),), ("A-08", "Q-08"))
    }
    # every action granted to user_admin, at each level, org, and reset reason it is permitted for
    assert {c.request.action for c in d.changes} == {"create_user", "change_permission", "reset_password", "suspend_user"}


# --------------------------------------------------------------------------------------------
# role sets no one holds: counted, not listed, unless --all-role-sets


def _add_loan_assistant(new: Path) -> None:
    edit(new, "vocabulary.yaml", "roles:\n", "roles:\n  - {id: loan_assistant, zh: 信贷助理, en: loan assistant}\n")
    edit(new, "grants.yaml", "    roles: [query_operator]\n", "    roles: [query_operator, loan_assistant]\n")


def test_role_sets_no_one_holds_are_counted_not_listed(policy_copy: Path, new: Path) -> None:
    _add_loan_assistant(new)
    d = diff_policies(zxpolicy.load(policy_copy), zxpolicy.load(new))
    hidden = [c for c in d.changes if not d.held(c)]
    assert hidden and all(len(c.request.roles) > 1 for c in hidden)
    held = {frozenset(a.roles) for a in zxpolicy.load(new).document.assignments}
    for c in d.changes:  # shown: one role, or within the roles of some user
        assert d.held(c) == (len(c.request.roles) == 1 or any(set(c.request.roles) <= h for h in held))
    result = run("diff", policy_copy, new)
    assert result.exit_code == 1  # loan_assistant widened
    assert f"另有 {len(hidden)} 类请求的角色组合无人持有，未列出；用 --all-role-sets 查看" in result.stdout
    assert "信贷助理（loan_assistant）" in result.stdout and "user_admin+loan_assistant" not in result.stdout
    assert "征信用户管理员（user_admin）+信贷助理（loan_assistant）" not in result.stdout
    everything = run("diff", policy_copy, new, "--all-role-sets", "--lang", "en")
    assert "more classes are of role sets no one holds" not in everything.stdout
    assert "credit system user administrator (user_admin)+loan assistant (loan_assistant)" in everything.stdout
    english = run("diff", policy_copy, new, "--lang", "en")
    assert f"{len(hidden)} more classes are of role sets no one holds and are not listed; --all-role-sets shows them." in english.stdout
    data = json.loads(run("diff", policy_copy, new, "--json").stdout)
    assert sum(data["left_out"].values()) == len(hidden) and data["all_role_sets"] is False
    assert all(len(c["roles"]) == 1 or set(c["roles"]) <= h for c in data["changes"] for h in [set().union(*held)])


def test_a_widening_no_one_holds_still_counts(policy_copy: Path, new: Path) -> None:
    import dataclasses

    from zxpolicy.compliance import WIDENED, render_markdown

    _add_loan_assistant(new)
    d = diff_policies(zxpolicy.load(policy_copy), zxpolicy.load(new))
    only_hidden = dataclasses.replace(d, changes=tuple(c for c in d.changes if not d.held(c)) + tuple(
        dataclasses.replace(c, mark=WIDENED) for c in d.changes if not d.held(c))[:1], people=(), settings=())
    assert only_hidden.widened and only_hidden.shown() == ()
    text = render_markdown(only_hidden, "a", "b", "zh", ["ordinary"])
    assert "其中 1 类放宽，已计入放宽" in text and "| `" not in text
