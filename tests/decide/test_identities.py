"""Who a subject or an approver is: the assignments, the host's objects, and one person's ids.

- An id in the assignments takes its roles and organisation from them. A host's ``Subject`` (or
  mapping) for it may narrow the roles, and keeps its status and password facts; a role added or
  an organisation moved is ``identity_mismatch`` (R-01), for the subject and for an approver alike.
- An id the assignments do not know is taken as the host gives it (``identities:
  assignments_or_host``, the default), or is no one (``assignments_only``): ``unknown_subject`` as
  the subject, an approver who fills no step.
- Ids that the assignments give one ``person`` are one approver: no approving one's own request
  under another id, no filling two steps under two ids.

Every request here is also read by both readers, which must agree (``_fastread`` may decline only
what ``_request`` rejects), and ``check`` must give what the full reader and ``decide`` give.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zxpolicy
from zxpolicy import Approval, Decision, Subject
from zxpolicy.decide._decide import decide, unreadable
from zxpolicy.decide._fastread import read_fast
from zxpolicy.decide._request import BadField, Request, read_request
from zxpolicy.decide._wording import StepGrants

from ..conftest import AT, POLICIES, approval, assert_explains, consent, report

BUNDLED = zxpolicy.load(POLICIES)


# -- policies edited as text --------------------------------------------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path.name, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def assignments_only(policy: Path) -> Path:
    _edit(policy / "rules.yaml", "identities: assignments_or_host", "identities: assignments_only")
    return policy


def give_person(policy: Path, uid: str, person: str | list[str]) -> Path:
    """``person: ...`` added to the assignment of ``uid``."""
    path = policy / "assignments.yaml"
    text = path.read_text(encoding="utf-8")
    value = f'"{person}"' if isinstance(person, str) else "[" + ", ".join(f'"{p}"' for p in person) + "]"
    edited, n = re.subn(r"(\{id: %s,[^}\n]*)\}" % re.escape(uid), r"\1, person: %s}" % value.replace("\\", "\\\\"), text)
    assert n == 1, uid
    path.write_text(edited, encoding="utf-8")
    return policy


def give_roles(policy: Path, uid: str, old: str, new: str) -> Path:
    """The roles of ``uid``'s assignment, ``[old]`` → ``[new]``."""
    path = policy / "assignments.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if f"{{id: {uid}," in line]
    assert len(hits) == 1 and f"roles: [{old}]" in lines[hits[0]], uid
    lines[hits[0]] = lines[hits[0]].replace(f"roles: [{old}]", f"roles: [{new}]")
    path.write_text("".join(lines), encoding="utf-8")
    return policy


# -- checking: both readers, check and explain -------------------------------------------------

ORDER = ("subject", "resource", "purpose", "action", "consent", "approvals", "evidence", "at")


def _plain(args: dict[str, Any]) -> bool:
    """The subject and the approvers are ids or the engine's own objects: the fast reader's case."""
    return type(args["subject"]) in (str, Subject) and all(
        type(a) is Approval and type(a.approver) in (str, Subject) for a in args["approvals"]
    )


def read_both(engine: zxpolicy.Engine, args: dict[str, Any]) -> Request | list[BadField]:
    """The request as the full reader reads it, after holding the fast reader to it: the same
    ``Request``, or a decline (always where the full reader names a problem, and in the plain
    case only there)."""
    vocab = engine.tables.vocabulary
    values = [args[k] for k in ORDER]
    fast = read_fast(vocab, *values)
    full = read_request(vocab, *values)
    if isinstance(full, Request):
        if _plain(args):
            assert fast is not None, "the fast reader declined a plain request the full reader reads"
        assert fast is None or fast == full
    else:
        assert fast is None
    return full


def expected(engine: zxpolicy.Engine, read: Request | list[BadField]) -> Decision:
    t, version = engine.tables, engine.policy_version
    if isinstance(read, list):
        return unreadable(t, version, read)
    return decide(t, StepGrants(t), version, read, None)


def check(engine: zxpolicy.Engine, subject: Any, resource: Any, purpose: str, **kw: Any) -> Decision:
    args: dict[str, Any] = dict(action="query", consent=None, approvals=(), evidence=None, at=AT)
    args.update(kw, subject=subject, resource=resource, purpose=purpose)
    read = read_both(engine, args)
    decision = engine.check(subject, resource, purpose, **{k: args[k] for k in ORDER[3:]})
    assert decision == expected(engine, read)
    assert_explains(engine.explain(subject, resource, purpose, **{k: args[k] for k in ORDER[3:]}), decision)
    assert engine.check_many([args]) == [decision]
    return decision


def query(engine: zxpolicy.Engine, subject: Any, **kw: Any) -> Decision:
    """A plain query of a credit report of east-1, with the customer's consent."""
    return check(engine, subject, report(**kw), "loan_review", consent=consent())


def copy(engine: zxpolicy.Engine, approvals: list[Any], level: str = "confidential", subject: Any = "u-officer-east") -> Decision:
    """``u-officer-east`` copies a report of east-1: A-02 (one of general_manager,
    credit_info_supervisor, risk_control_manager), and for a confidential one C-01 (risk_control_manager)."""
    return check(engine, subject, report(level=level), "loan_review", action="copy", approvals=approvals)


def mismatch(d: Decision) -> list[tuple[str, str]]:
    """The fields an ``identity_mismatch`` deny names, with its rule."""
    assert not d.allowed
    assert set(d.codes) == {"identity_mismatch"}, d.reasons
    out = []
    for r in d.reasons:
        field = re.match(r"[^`]*`([^`]+)`", r.message_en.split(": ", 1)[1])
        assert field is not None, r
        assert f"`{field.group(1)}`" in r.message  # the Chinese names the field too
        out.append((field.group(1), r.rule))
    return out


GM = approval("u-gm-hq", "general_manager", "rep-1", "copy")
RM = approval("u-riskmgr-hq", "risk_control_manager", "rep-1", "copy", 0.5)
SUP = approval("u-supervisor-hq", "credit_info_supervisor", "rep-1", "copy", 2)


# -- 5. the host's objects must not contradict the assignments ----------------------------------


def test_a_subject_object_may_not_add_a_role() -> None:
    assert query(BUNDLED, Subject("u-query-east1", ["query_operator"], "east-1")).allowed  # as assigned
    d = query(BUNDLED, Subject("u-dev-east1", ["query_operator"], "east-1"))
    assert mismatch(d) == [("subject.roles", "R-01")]
    assert "`client_developer`" in d.reasons[0].message_en and "`query_operator`" in d.reasons[0].message_en
    assert "`client_developer`" in d.reasons[0].message and "`query_operator`" in d.reasons[0].message
    # Added to the assigned ones, or a role the policy does not know: still more than assigned.
    assert mismatch(query(BUNDLED, Subject("u-dev-east1", ["client_developer", "query_operator"], "east-1"))) == [("subject.roles", "R-01")]
    assert mismatch(query(BUNDLED, Subject("u-query-east1", ["query_operator", "chief_wizard"], "east-1"))) == [("subject.roles", "R-01")]
    # A mapping is read as the object is.
    as_map = {"id": "u-dev-east1", "roles": ["query_operator"], "org": "east-1"}
    assert mismatch(query(BUNDLED, as_map)) == [("subject.roles", "R-01")]


def test_a_subject_object_may_not_move_the_org() -> None:
    d = query(BUNDLED, Subject("u-query-west1", ["query_operator"], "east-1"))
    assert mismatch(d) == [("subject.org", "R-01")]
    assert "`west-1`" in d.reasons[0].message_en and "`west-1`" in d.reasons[0].message
    both = query(BUNDLED, Subject("u-dev-east1", ["query_operator"], "hq"))
    assert mismatch(both) == [("subject.roles", "R-01"), ("subject.org", "R-01")]


def test_a_subject_object_may_narrow_the_roles_and_is_decided_on_them(policy_copy: Path) -> None:
    engine = zxpolicy.load(give_roles(policy_copy, "u-officer-east", "credit_info_officer", "credit_info_officer, query_operator"))
    narrowed = Subject("u-officer-east", ["query_operator"], "east")
    assert query(engine, narrowed).allowed  # as a query operator
    d = copy(engine, [GM, RM], subject=narrowed)  # a copy needs the officer's role, narrowed away
    assert not d.allowed and "role_not_permitted" in d.codes and "identity_mismatch" not in d.codes
    assert copy(engine, [GM, RM], subject=Subject("u-officer-east", ["credit_info_officer"], "east")).allowed
    read = read_both(engine, dict(subject=narrowed, resource=report(), purpose="loan_review", action="query",
                                  consent=None, approvals=(), evidence=None, at=AT))
    assert isinstance(read, Request)
    assert read.subject.person.roles == frozenset({"query_operator"})
    assert read.subject.assigned == frozenset({"credit_info_officer", "query_operator"})
    # Nothing narrowed: the assignment itself.
    whole = Subject("u-officer-east", ["query_operator", "credit_info_officer"], "east")
    read = read_both(engine, dict(subject=whole, resource=report(), purpose="loan_review", action="query",
                                  consent=None, approvals=(), evidence=None, at=AT))
    assert isinstance(read, Request) and read.subject.person is engine.tables.vocabulary.people["u-officer-east"]


def test_narrowing_does_not_mend_a_role_conflict() -> None:
    # u-conflict-hq holds user_admin and query_operator: narrowed to either, still a conflict.
    d = query(BUNDLED, Subject("u-conflict-hq", ["query_operator"], "hq"))
    assert not d.allowed and d.codes == ("role_conflict",)
    account = zxpolicy.Resource("acct-1", "user_account", "ordinary", "east-1")
    d = check(BUNDLED, Subject("u-conflict-hq", ["user_admin"], "hq"), account, "account_management", action="suspend_user")
    assert not d.allowed and d.codes == ("role_conflict",)
    # An id without a conflict, narrowed, is not given one.
    assert check(BUNDLED, Subject("u-admin-hq", ["user_admin"], "hq"), account, "account_management", action="suspend_user").allowed


@pytest.mark.parametrize("only", [False, True])
def test_a_subject_object_keeps_its_status_and_password_facts(policy_copy: Path, only: bool) -> None:
    engine = zxpolicy.load(assignments_only(policy_copy) if only else policy_copy)
    assert query(engine, Subject("u-query-east1", ["query_operator"], "east-1")).allowed
    suspended = query(engine, Subject("u-query-east1", ["query_operator"], "east-1", status="suspended"))
    assert suspended.codes == ("subject_suspended",)
    old = Subject("u-query-east1", ["query_operator"], "east-1", password_changed_at=AT - timedelta(days=31))
    assert query(engine, old).codes == ("password_expired",)
    assert query(engine, Subject("u-query-east1", [], "east-1", must_change_password=True)).codes == (
        "password_change_required", "role_not_permitted",
    )
    # A contradiction is found whatever else the object says.
    assert mismatch(query(engine, Subject("u-query-west1", ["query_operator"], "east-1", status="suspended"))) == [("subject.org", "R-01")]


def test_an_approver_object_may_not_add_a_role_or_move_the_org() -> None:
    assert copy(BUNDLED, [GM, approval(Subject("u-riskmgr-hq", ["risk_control_manager"], "hq"), "risk_control_manager", "rep-1", "copy")]).allowed
    # u-supervisor-hq claiming risk_control_manager: the whole request is denied, not only its approval.
    claims = approval(Subject("u-supervisor-hq", ["risk_control_manager"], "hq"), "risk_control_manager", "rep-1", "copy")
    d = copy(BUNDLED, [GM, claims])
    assert mismatch(d) == [("approvals[1].approver.roles", "R-01")]
    assert "`u-supervisor-hq`" in d.reasons[0].message_en
    moved = approval(Subject("u-riskmgr-hq", ["risk_control_manager"], "east"), "risk_control_manager", "rep-1", "copy")
    assert mismatch(copy(BUNDLED, [moved, GM])) == [("approvals[0].approver.org", "R-01")]
    # An approval that fills no step of the request denies it too: the request cannot be trusted.
    stray = approval(Subject("u-query-east1", ["general_manager"], "east-1"), "general_manager", "other", "view")
    assert mismatch(copy(BUNDLED, [GM, RM, stray])) == [("approvals[2].approver.roles", "R-01")]
    as_map = {"approver": {"id": "u-gm-hq", "roles": ["general_manager", "risk_control_manager"], "org": "hq"},
              "role": "risk_control_manager", "at": AT - timedelta(hours=1), "resource_id": "rep-1", "action": "copy"}
    assert mismatch(copy(BUNDLED, [SUP, as_map])) == [("approvals[1].approver.roles", "R-01")]


def test_an_approver_object_may_narrow_its_roles_and_stays_who_it_is(policy_copy: Path) -> None:
    engine = zxpolicy.load(give_roles(policy_copy, "u-riskmgr-hq", "risk_control_manager", "risk_control_manager, general_manager"))
    narrowed = Subject("u-riskmgr-hq", ["risk_control_manager"], "hq")
    assert copy(engine, [GM, approval(narrowed, "risk_control_manager", "rep-1", "copy")]).allowed
    d = copy(engine, [RM, approval(narrowed, "general_manager", "rep-1", "copy", 2)], level="ordinary")
    assert d.allowed  # RM fills A-02; the narrowed general_manager approval is not needed
    d = copy(engine, [approval(narrowed, "general_manager", "rep-1", "copy")], level="ordinary")
    assert not d.allowed and "approver_lacks_role" in d.codes and "identity_mismatch" not in d.codes
    # Narrowed, it is still the assignment's person: here the requester's own other id.
    give_person(policy_copy, "u-officer-east", "E-1")
    engine = zxpolicy.load(give_person(policy_copy, "u-riskmgr-hq", "E-1"))
    d = copy(engine, [GM, approval(narrowed, "risk_control_manager", "rep-1", "copy")])
    assert not d.allowed and "self_approval" in d.codes


# -- the setting: assignments_or_host (default) or assignments_only ----------------------------


def test_the_default_setting_takes_an_unknown_id_as_the_host_gives_it(policy_copy: Path) -> None:
    assert BUNDLED.document.settings.identities == "assignments_or_host"
    assert not BUNDLED.tables.vocabulary.assignments_only
    assert query(BUNDLED, Subject("s-new", ["query_operator"], "east-1")).allowed
    assert query(BUNDLED, "s-new").codes == ("unknown_subject",)
    host_gm = approval(Subject("s-gm", ["general_manager"], "hq"), "general_manager", "rep-1", "copy")
    assert copy(BUNDLED, [host_gm], level="ordinary").allowed
    engine = zxpolicy.load(assignments_only(policy_copy))
    assert engine.tables.vocabulary.assignments_only


def test_assignments_only_makes_an_unknown_subject_object_unknown(policy_copy: Path) -> None:
    engine = zxpolicy.load(assignments_only(policy_copy))
    for who in (Subject("s-new", ["query_operator"], "east-1"), {"id": "s-new", "roles": ["query_operator"], "org": "east-1"}):
        d = query(engine, who)
        assert not d.allowed and d.codes == ("unknown_subject",)
        assert d.reasons[0].rule == "R-01" and "`subject.id`" in d.reasons[0].message_en and "`s-new`" in d.reasons[0].message
    assert query(engine, "s-new").codes == ("unknown_subject",)
    # The assignments' own ids work as before, by id or as an object.
    assert query(engine, "u-query-east1").allowed
    assert query(engine, Subject("u-query-east1", ["query_operator"], "east-1")).allowed
    assert mismatch(query(engine, Subject("u-dev-east1", ["query_operator"], "east-1"))) == [("subject.roles", "R-01")]


def test_assignments_only_makes_an_unknown_approver_fill_no_step(policy_copy: Path) -> None:
    engine = zxpolicy.load(assignments_only(policy_copy))
    approvers: list[Any] = [Subject("s-gm", ["general_manager"], "hq"), {"id": "s-gm", "roles": ["general_manager"], "org": "hq"}, "s-gm"]
    for approver in approvers:
        d = copy(engine, [approval(approver, "general_manager", "rep-1", "copy")], level="ordinary")
        assert not d.allowed
        assert set(d.codes) == {"approval_missing", "approver_lacks_role"}, d.reasons
        lacks = next(r for r in d.reasons if r.code == "approver_lacks_role")
        assert "`s-gm` is not in the assignments" in lacks.message_en and "`s-gm`不在用户清单中" in lacks.message
        assert d.missing_approvals
    assert copy(engine, [GM], level="ordinary").allowed
    # An unknown approver is still read: a bad field of it is still invalid_request.
    bad = approval(Subject("s-gm", ["general_manager"], "nowhere"), "general_manager", "rep-1", "copy")
    assert copy(engine, [bad], level="ordinary").codes == ("invalid_request",)


def test_an_unknown_setting_does_not_load(policy_copy: Path) -> None:
    _edit(policy_copy / "rules.yaml", "identities: assignments_or_host", "identities: host_only")
    with pytest.raises(zxpolicy.PolicyError):
        zxpolicy.load(policy_copy)


# -- 6. one person, two ids ---------------------------------------------------------------------


def test_one_person_cannot_approve_their_own_request_under_another_id(policy_copy: Path) -> None:
    give_person(policy_copy, "u-officer-east", "E-1")
    engine = zxpolicy.load(give_person(policy_copy, "u-riskmgr-hq", "E-1"))
    d = copy(engine, [GM, RM])
    assert not d.allowed and set(d.codes) == {"clearance_insufficient", "self_approval"}
    assert engine.tables.vocabulary.people["u-riskmgr-hq"].key == engine.tables.vocabulary.people["u-officer-east"].key
    assert d.missing_approvals == (("risk_control_manager",),)
    own = next(r for r in d.reasons if r.code == "self_approval")
    assert "`u-riskmgr-hq`" in own.message_en and "`u-officer-east`" in own.message_en
    assert "`u-riskmgr-hq`" in own.message and "`u-officer-east`" in own.message
    # Given as an object, narrowed or not, it is the same person.
    as_object = approval(Subject("u-riskmgr-hq", ["risk_control_manager"], "hq"), "risk_control_manager", "rep-1", "copy")
    assert "self_approval" in copy(engine, [GM, as_object]).codes
    # ... and as the requester given as an object.
    assert "self_approval" in copy(engine, [GM, RM], subject=Subject("u-officer-east", ["credit_info_officer"], "east")).codes
    # Another risk control manager is fine.
    other = approval(Subject("s-rm", ["risk_control_manager"], "hq"), "risk_control_manager", "rep-1", "copy")
    assert copy(engine, [GM, other]).allowed


def test_one_person_cannot_fill_two_steps_under_two_ids(policy_copy: Path) -> None:
    give_person(policy_copy, "u-gm-hq", "E-2")
    engine = zxpolicy.load(give_person(policy_copy, "u-riskmgr-hq", "E-2"))
    d = copy(engine, [GM, RM])  # A-02 and C-01, by one person
    assert not d.allowed and set(d.codes) == {"clearance_insufficient", "approver_reused"}
    assert d.missing_approvals == (("risk_control_manager",),)
    reused = next(r for r in d.reasons if r.code == "approver_reused")
    assert "`u-riskmgr-hq`" in reused.message_en and "`u-gm-hq`" in reused.message_en and "same person" in reused.message_en
    assert "同一人" in reused.message
    assert copy(engine, [SUP, GM, RM]).allowed  # the supervisor fills A-02, the risk manager C-01
    top = check(engine, "u-officer-east", report(level="top_secret"), "loan_review", action="copy", approvals=[SUP, GM, RM])
    assert not top.allowed and top.missing_approvals  # C-01's two steps need two people


def test_a_person_list_joins_everyone_in_it(policy_copy: Path) -> None:
    give_person(policy_copy, "u-officer-east", ["E-1", "E-7"])
    give_person(policy_copy, "u-gm-hq", "E-8")
    engine = zxpolicy.load(give_person(policy_copy, "u-riskmgr-hq", "ｅ-7 "))  # width, case and space aside
    assert "self_approval" in copy(engine, [GM, RM]).codes
    assert copy(engine, [GM, SUP], level="ordinary").allowed  # E-8 is someone else


def test_without_persons_each_id_is_its_own_approver() -> None:
    assert copy(BUNDLED, [GM, RM]).allowed
    assert all(p.key == "" for p in BUNDLED.tables.vocabulary.people.values())


# -- both readers, on generated requests -------------------------------------------------------

SETTINGS = settings(
    derandomize=True, max_examples=200, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
USERS = [a.id for a in BUNDLED.document.assignments]
ROLES = [r.id for r in BUNDLED.document.roles]
ORGS = [o.id for o in BUNDLED.document.orgs]

ids = st.sampled_from([*USERS, "s-1", "s-2"])
role_lists = st.lists(st.sampled_from([*ROLES, "chief_wizard"]), max_size=3, unique=True)


@st.composite
def people(draw: Any) -> Any:
    """A subject or approver: an id, an object (often as assigned, or narrowed, else anything), a mapping."""
    uid = draw(ids)
    assigned = BUNDLED.tables.vocabulary.people.get(uid)
    how = draw(st.sampled_from(["id", "as_assigned", "narrowed", "any", "map"]))
    if how == "id":
        return uid
    roles, org = draw(role_lists), draw(st.sampled_from(ORGS))
    if assigned is not None and how in ("as_assigned", "narrowed"):
        org = assigned.org
        roles = sorted(assigned.roles)
        if how == "narrowed":
            roles = draw(st.lists(st.sampled_from(roles), unique=True))
    status = draw(st.sampled_from(["active", "active", "suspended"]))
    if how == "map":
        return {"id": uid, "roles": roles, "org": org, "status": status}
    return Subject(uid, roles, org, status=status)


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    action = draw(st.sampled_from(["query", "copy", "view", "provide_external"]))
    kind = "customer_archive" if action == "view" else "credit_report"
    resource = zxpolicy.Resource("rep-1", kind, draw(st.sampled_from(["ordinary", "confidential", "top_secret"])),
                                 draw(st.sampled_from(ORGS)), customer_id="c-1")
    approvals = draw(st.lists(
        st.builds(lambda who, role, hours: approval(who, role, "rep-1", action, hours), people(), st.sampled_from(ROLES), st.integers(1, 4)),
        max_size=4,
    ))
    return dict(subject=draw(people()), resource=resource, purpose="loan_review", action=action, consent=consent(),
                approvals=approvals, evidence=None, at=AT)


@pytest.fixture
def engines(policy_copy: Path, tmp_path: Path) -> list[zxpolicy.Engine]:
    """The bundled policy; with persons shared across ids; and the same under assignments_only."""
    give_person(policy_copy, "u-officer-east", "E-1")
    give_person(policy_copy, "u-riskmgr-hq", "E-1")
    give_person(policy_copy, "u-gm-hq", "E-2")
    give_person(policy_copy, "u-supervisor-hq", "E-2")
    persons = zxpolicy.load(policy_copy)
    only = zxpolicy.load(assignments_only(policy_copy))
    return [BUNDLED, persons, only]


@SETTINGS
@given(requests())
def test_both_readers_agree_on_identities(engines: list[zxpolicy.Engine], args: dict[str, Any]) -> None:
    for engine in engines:
        read = read_both(engine, args)
        decision = engine.check(*(args[k] for k in ORDER[:3]), **{k: args[k] for k in ORDER[3:]})
        assert decision == expected(engine, read)
        if isinstance(read, list):
            assert not decision.allowed
            assert set(decision.codes) <= {"invalid_request", "unknown_subject", "identity_mismatch"}
