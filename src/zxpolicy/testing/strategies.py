"""Hypothesis strategies that generate requests for a loaded policy.

Every strategy takes the ``Engine`` whose policy it draws from and yields plain, JSON-safe dicts
with the fields ``Engine.check`` takes (times as ISO 8601 text with an offset), so that a request
can be passed as ``engine.check(**request)`` and printed as the JSON ``zxpolicy check`` reads.

Most requests are built around a grant of the policy (a subject holding the granted role, a
resource of its organisation or below, a valid consent, the evidence and a full set of approvals
from the policy's own users), then spoiled in one way or another; the rest are drawn at random.
That keeps a good share of them allowed, so that properties about allowed requests are tested
on many of them and not on none.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from ..compile import StepSpec
from ..compliance import needs
from ..decide import FIELD_NAMES, SUBJECT_STATUSES, Engine
from ..policy import Match
from ._facts import Facts

__all__ = ["AT", "approval_sets", "consents", "evidence", "purposes", "requests", "resources", "subjects"]

AT = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=8)))  # the default request time


@functools.lru_cache(maxsize=8)  # a few engines at a time: a run, its mutants
def facts(engine: Engine) -> Facts:
    """The facts of an engine's policy, worked out once per engine."""
    return Facts(engine)


def _iso(t: datetime) -> str:
    return t.isoformat()


# Subject states: the first is what shrinking goes to.
_ACTIVE, _SUSPENDED = SUBJECT_STATUSES
_STATES = (_ACTIVE, _ACTIVE, _ACTIVE, _ACTIVE, _ACTIVE, "recent_password", _SUSPENDED, "expired_password", "must_change")


@st.composite
def subjects(draw: st.DrawFn, engine: Engine, *, roles: list[str] | None = None, org: str | None = None, at: datetime = AT) -> Any:
    """A user of the policy's assignments, by id, or a made-up subject: roles (with ``roles``
    among them), an organisation, a status and a password date."""
    f = facts(engine)
    users = [u for u in f.users.values() if (roles is None or set(roles) <= u.roles) and org in (None, u.org)]
    by_id: bool = draw(st.booleans())
    if users and by_id:
        return draw(st.sampled_from(sorted(u.id for u in users)))
    held = list(roles or [])
    held += draw(st.lists(st.sampled_from([*f.roles, "auditor"]), max_size=1 if held else 2, unique=True))
    subject: dict[str, Any] = {
        "id": draw(st.sampled_from(["s-1", "s-2"])),
        "roles": sorted(set(held)) or [draw(st.sampled_from(f.roles))],
        "org": org or draw(st.sampled_from(f.orgs)),
    }
    state = draw(st.sampled_from(_STATES))
    if state == _SUSPENDED:
        subject["status"] = _SUSPENDED
    elif state == "recent_password":
        subject["password_changed_at"] = _iso(at - f.max_age + timedelta(days=1))
    elif state == "expired_password":
        subject["password_changed_at"] = _iso(at - f.max_age - timedelta(days=1))
    elif state == "must_change":
        subject["must_change_password"] = True
    return subject


@st.composite
def resources(draw: st.DrawFn, engine: Engine, *, kind: str | None = None, level: str | None = None,
              orgs: list[str] | None = None, at: datetime = AT) -> dict[str, Any]:
    """A resource: kind, level, organisation, maybe a customer and a retention end."""
    f = facts(engine)
    resource: dict[str, Any] = {
        "id": draw(st.sampled_from(["res-1", "res-2"])),
        "kind": kind or draw(st.sampled_from(f.kinds)),
        "level": level or draw(st.sampled_from(f.levels)),
        "org": draw(st.sampled_from(orgs or f.orgs)),
    }
    customer = draw(st.sampled_from(["c-1", "c-1", "c-2", None]))
    if customer is not None:
        resource["customer_id"] = customer
    retention = draw(st.sampled_from(["ended", None, "running"]))
    if retention is not None:
        resource["retention_until"] = _iso(at + timedelta(days=-30 if retention == "ended" else 30))
    return resource


def purposes(engine: Engine) -> st.SearchStrategy[str]:
    """A purpose of the policy, or now and then one it does not know."""
    return st.sampled_from([*facts(engine).purposes, "marketing"])


_CONSENTS = ("valid", "valid", "valid", "valid", "valid", "valid", "wrong_customer", "wrong_purpose", "expired", "revoked", "future")


@st.composite
def consents(draw: st.DrawFn, engine: Engine, customer_id: str | None, purpose: str, *, at: datetime = AT) -> dict[str, Any]:
    """A consent for the customer and purpose: valid, or of another customer, for another
    purpose, expired, revoked, or signed after the request."""
    f = facts(engine)
    how = draw(st.sampled_from(_CONSENTS))
    others = [p for p in f.purposes if p != purpose] or ["marketing"]
    consent: dict[str, Any] = {
        "customer_id": (customer_id or "c-1") if how != "wrong_customer" else "c-other",
        "purposes": [purpose] if how != "wrong_purpose" else [draw(st.sampled_from(others))],
        "signed_at": _iso(at + (timedelta(days=1) if how == "future" else -timedelta(days=10))),
    }
    if how == "expired":
        consent["expires_at"] = _iso(at - timedelta(days=1))
    elif draw(st.booleans()):
        consent["expires_at"] = _iso(at + timedelta(days=90))
    if how == "revoked":
        consent["revoked"] = True
    return consent


@st.composite
def evidence(draw: st.DrawFn, engine: Engine) -> dict[str, str]:
    """Evidence for every key the policy declares: a permitted value mostly, else a wrong one,
    an empty one, or none."""
    out: dict[str, str] = {}
    for key, allowed in sorted(facts(engine).evidence.items()):
        how = draw(st.sampled_from(["good", "good", "good", "absent", "empty", "wrong"]))
        if how == "good":
            out[key] = draw(st.sampled_from(allowed)) if allowed else f"{key}-1"
        elif how in ("empty", "wrong"):
            out[key] = "" if how == "empty" else "bogus"
    return out


_SPOILS = ("complete", "complete", "complete", "complete", "complete", "complete", "complete", "partial", "self", "self", "reused", "wrong_role",
           "out_of_scope", "out_of_order", "mismatched", "extra")


def _steps(engine: Engine, request: dict[str, Any]) -> tuple[StepSpec, ...]:
    r = request["resource"]
    need = needs(engine, request["action"], r["kind"], request["purpose"], r["level"])
    return need.steps if need is not None else ()


@st.composite
def approval_sets(draw: st.DrawFn, engine: Engine, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Approvals for a request (its subject, resource, action, purpose and at): one per step it
    needs, from the policy's users or made-up approvers, then maybe spoiled — partial,
    self-approved, one approver on two steps, a role the approver lacks, an approver out of scope,
    out of order, for another resource or action — or one more added."""
    f = facts(engine)
    subject = f.who(request["subject"])
    at = datetime.fromisoformat(request["at"])
    rid, action = request["resource"]["id"], request["action"]
    if subject is None:
        return []
    steps = _steps(engine, request)
    out: list[dict[str, Any]] = []
    used: set[str] = {subject.id}
    for i, step in enumerate(steps):
        fits = sorted(
            u.id for u in f.users.values()
            if u.roles & step.role_set and u.id not in used and u.org in f.above[subject.org]
            and (not step.same_org or u.org == subject.org)
        )
        approver: Any
        known: bool = draw(st.booleans())
        if fits and known:
            approver = draw(st.sampled_from(fits))
            role = sorted(f.users[approver].roles & step.role_set)[0]
        else:
            role = draw(st.sampled_from(step.roles))
            approver = {"id": f"ap-{i}", "roles": [role], "org": subject.org}
        used.add(approver if isinstance(approver, str) else approver["id"])
        out.append({"approver": approver, "role": role, "at": _iso(at - timedelta(hours=len(steps) - i)), "resource_id": rid, "action": action})
    spoil = draw(st.sampled_from(_SPOILS))
    if spoil == "complete":
        return out
    if spoil == "extra" or not out:
        extra = {"approver": draw(st.sampled_from(sorted(f.users))), "role": draw(st.sampled_from(f.roles)),
                 "at": _iso(at - timedelta(minutes=30)), "resource_id": rid, "action": action}
        return [*out, extra]
    i = draw(st.integers(0, len(out) - 1))
    one = dict(out[i])
    if spoil == "partial":
        return out[:i] + out[i + 1 :]
    if spoil == "self":
        one["approver"] = request["subject"]
    elif spoil == "reused" and len(out) > 1:
        # One approver, holding the roles of two steps, approves both.
        j = (i + 1) % len(out)
        both = {"id": f"ap-{i}", "roles": sorted({out[i]["role"], out[j]["role"]}), "org": subject.org}
        out[i] = {**out[i], "approver": both}
        one = {**out[j], "approver": both}
        i = j
    elif spoil == "wrong_role":
        one["role"] = draw(st.sampled_from([r for r in f.roles if r != one["role"]]))
    elif spoil == "out_of_scope":
        outside = [o for o in f.orgs if o not in f.above[subject.org]]
        if outside:
            one["approver"] = {"id": f"ap-far-{i}", "roles": [one["role"]], "org": draw(st.sampled_from(outside))}
    elif spoil == "out_of_order":
        one["at"] = _iso(at + timedelta(hours=1)) if draw(st.booleans()) else out[-1]["at"]
    elif spoil == "mismatched":
        if draw(st.booleans()):
            one["resource_id"] = "res-other"
        else:
            one["action"] = draw(st.sampled_from([a for a in f.actions if a != action]))
    return [*out[:i], one, *out[i + 1 :]]


_MODES = ("granted", "granted", "granted", "any")


def _focused(f: Facts, focus: Match | None) -> list[tuple[str, str, str, str, str]]:
    """The grants whose requests ``focus`` speaks of (all of them for no focus)."""
    if focus is None:
        return f.grant_rows
    rows = [
        row for row in f.grant_rows
        if (focus.roles_include in (None, row[0])) and (focus.actions is None or row[1] in focus.actions)
        and (focus.kinds is None or row[2] in focus.kinds) and (focus.purposes is None or row[3] in focus.purposes)
        and (focus.levels is None or row[4] in focus.levels)
        and (focus.credit_information is None or (row[2] in f.credit) == focus.credit_information)
    ]
    return rows


@st.composite
def requests(draw: st.DrawFn, engine: Engine, *, at: datetime = AT, focus: Match | None = None) -> dict[str, Any]:
    """A whole request: most built around one of the policy's grants, the rest at random.

    ``focus`` (an invariant's ``when``) narrows the grants drawn from to those it speaks of.
    """
    f = facts(engine)
    rows = _focused(f, focus)
    also: list[str] = []
    if not rows and focus is not None and focus.roles_include:
        # No grant to that role fits the focus: give the role to the subject of one that does.
        rows = _focused(f, focus.model_copy(update={"roles_include": None}))
        also = [focus.roles_include]
    rows = rows or f.grant_rows
    if draw(st.sampled_from(_MODES)) == "granted" and rows:
        # An action first, then one of its grants: query and print have few grants among many.
        action = draw(st.sampled_from(sorted({row[1] for row in rows}, key=f.actions.index)))
        role, action, kind, purpose, level = draw(st.sampled_from([row for row in rows if row[1] == action]))
        subject = draw(subjects(engine, roles=sorted({role, *also}), at=at))
        org = f.who(subject).org  # type: ignore[union-attr]  # drawn from the assignments
        resource = draw(resources(engine, kind=kind, level=level, orgs=f.below(org) if draw(st.integers(0, 4)) else None, at=at))
    else:
        subject = draw(subjects(engine, at=at))
        resource = draw(resources(engine, at=at))
        action, purpose = draw(st.sampled_from(f.actions)), draw(purposes(engine))
    if focus is not None and (focus.subject_status == "suspended" or focus.password_expired) and draw(st.booleans()):
        who = f.who(subject)
        if who is not None:  # the subject whole, in the state the focus names
            subject = {"id": who.id, "roles": sorted(who.roles), "org": who.org}
            if focus.subject_status == "suspended":
                subject["status"] = "suspended"
            else:
                subject["password_changed_at"] = _iso(at - f.max_age - timedelta(days=1))
    request: dict[str, Any] = {"subject": subject, "resource": resource, "purpose": purpose, "action": action, "at": _iso(at)}
    if draw(st.integers(0, 9)):
        request["consent"] = draw(consents(engine, resource.get("customer_id"), purpose, at=at))
    request["evidence"] = draw(evidence(engine))
    request["approvals"] = draw(approval_sets(engine, request))
    return {name: request[name] for name in FIELD_NAMES if name in request}  # in the table's order
