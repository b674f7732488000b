"""Deciding: functions over the compiled tables, from a read request to a ``Decision``.

``decide`` runs the stages in the order RULES.md gives (subject, purpose, grant, org scope, then
``requirements``: consent, evidence, retention, approvals and classification steps) and collects
every reason that fails; with a ``trace`` it also records each stage for ``explain``. It holds no
state: the engine (``_engine``) and any other holder of tables call it.
"""

from __future__ import annotations

from .._diagnostic import ENGINE_CLAUSE, ENGINE_RULE, Reason
from .._hints import clip, hint, named
from ..compile import CLASSIFICATION, Cite, Key, Requirement, SeparationRule, Tables
from ..policy import PolicyDocument
from ._approvals import fill_steps
from ._decision import Decision, Stage, new_decision
from ._request import BadField, Request
from ._wording import StepGrants, consent_detail, failure_reason

__all__ = ["consent_faults", "decide", "failed", "log_cite", "requirements", "unreadable"]


def failed(t: Tables, version: str, exc: Exception) -> Decision:
    """The deny for a fault of the engine itself (``engine_error``): fail closed."""
    name = f"`{type(exc).__name__}`"
    try:
        reason = t.messages.reason("engine_error", t.engine, name, name)
    except Exception:  # the message itself failed: a fixed text, still a deny
        reason = Reason("engine_error", ENGINE_RULE, ENGINE_CLAUSE, "授权引擎内部错误，已拒绝", "internal engine error, denied")
    return Decision(False, (reason,), policy_version=version)


def unreadable(t: Tables, version: str, bad: list[BadField]) -> Decision:
    """The deny for a request that cannot be read: one reason per bad field (R-01; C-03 for a level)."""
    reasons = []
    for b in bad:
        cite = t.checks["level"] if b.path == "resource.level" else t.engine
        reasons.append(t.messages.reason(b.code, cite, f"`{b.path}`：{b.message}", f"`{b.path}`: {b.message_en}"))
    return Decision(False, tuple(reasons), policy_version=version)


def decide(t: Tables, words: StepGrants, version: str, r: Request, trace: list[Stage] | None) -> Decision:
    """Decide a read request against the tables. With ``trace``, also record each stage in it
    (for explain); ``check`` passes None, and pays only for the checks of ``trace``."""
    say = t.messages.reason
    person, res = r.subject.person, r.resource
    deny: list[Reason] = []

    if r.subject.status == "suspended":
        deny.append(say("subject_suspended", t.checks["status"]))
    if r.subject.must_change_password:
        deny.append(say("password_change_required", t.checks["password"]))
    if r.subject.password_changed_at is not None and r.at - r.subject.password_changed_at > t.password_max_age:
        deny.append(say("password_expired", t.checks["password"]))

    # Q-08 looks at every role the subject holds: a host that narrows an assigned id's roles
    # (``assigned``) does not mend a conflict of them.
    holds = person.roles if r.subject.assigned is None else r.subject.assigned
    for sep in t.separations:
        if sep.role in holds and (conflict := _role_conflict(t, sep, holds, res.kind)) is not None:
            deny.append(conflict)
    if trace is not None:
        trace.append(Stage("subject", not deny, person.id, tuple(deny)))

    key = (r.action, res.kind, r.purpose, res.level)
    purpose_ok = res.kind in t.purposes.get(r.purpose, ())
    grant: Reason | None = None
    if not purpose_ok:
        deny.append(_purpose_not_permitted(t, r))
        if trace is not None:
            trace.append(Stage("purpose", False, r.purpose, (deny[-1],)))
    else:
        if trace is not None:
            trace.append(Stage("purpose", True, r.purpose, ()))
        held = person.roles
        for role in t.roles_for.get(key, ()):  # the roles granted this, in the policy's order
            if role in held:
                grant = t.grants[(role, *key)]
                break
        if grant is None:
            deny.append(_not_granted(t, r, key))
        if trace is not None:
            if grant is None:
                trace.append(Stage("grant", False, " ".join(key), (deny[-1],)))
            else:
                role = next(x for x in t.role_order if x in person.roles and t.grants.get((x, *key)) is grant)
                trace.append(Stage("grant", True, t.grant_path[role, *key], (grant,)))

    in_scope = person.org in t.scope[res.org]
    if not in_scope:
        deny.append(_out_of_scope(t, person.org, res.org))
    if trace is not None:
        trace.append(Stage("org_scope", in_scope, res.org, () if in_scope else (deny[-1],)))

    missing: tuple[tuple[str, ...], ...] = ()
    granted: list[Reason] = []
    obligations: tuple[str, ...] = ()
    if purpose_ok:
        need = t.requirements[key]
        missing, granted = requirements(t, words, r, need, deny, trace)
        obligations = need.obligations

    if deny:
        return new_decision(False, tuple(deny), missing, (), version)
    if grant is None:  # cannot happen: a missing grant always leaves a reason in `deny`
        raise AssertionError("no deny and no grant")  # not `assert`: `python -O` drops those
    return new_decision(True, (grant, *granted), (), obligations, version)


# -- the reasons of a deny, worded (called only when the check fails) ---------------------------


def _role_conflict(t: Tables, sep: SeparationRule, holds: frozenset[str], kind: str) -> Reason | None:
    """Q-08 for a subject who holds ``sep.role``: its reason, or None when it does not bite."""
    zh, en = t.role_label[sep.role]
    if sep.exclusive and len(holds) > 1:
        others = [t.role_label[x] for x in t.role_order if x in holds and x != sep.role]
        return t.messages.reason(
            "role_conflict", sep.cite,
            f"{zh}不得兼任{'、'.join(o[0] for o in others)}", f"{en} cannot be held with {', '.join(o[1] for o in others)}",
        )
    if kind in sep.barred_kinds:
        return t.messages.reason("role_conflict", sep.cite, f"{zh}不得接触征信信息", f"{en} never acts on credit information")
    return None


def _purpose_not_permitted(t: Tables, r: Request) -> Reason:
    """Q-02: a purpose that does not apply to the kind, or is not one of the policy's."""
    if r.purpose in t.purposes:
        zh = f"`{r.purpose}`不适用于`{r.resource.kind}`"
        en = f"`{r.purpose}` does not apply to `{r.resource.kind}`"
    else:
        shown = clip(r.purpose)
        zh = f"`{shown}`不是策略中的用途；{hint(r.purpose, t.purposes, t.vocabulary.aliases, 'zh')}"
        en = f"`{shown}` is not a purpose of the policy; {hint(r.purpose, t.purposes, t.vocabulary.aliases)}"
    return t.messages.reason("purpose_not_permitted", t.checks["purpose"], zh, en)


def _not_granted(t: Tables, r: Request, key: Key) -> Reason:
    """Q-03 (roles granted it, none held) or Q-01 (granted to no role)."""
    # Roles the policy does not know grant nothing; name them, they may be typos.
    unknown = named(r.subject.unknown_roles) if r.subject.unknown_roles else []
    note_zh = f"；策略中没有的角色：{'、'.join(f'`{x}`' for x in unknown)}" if unknown else ""
    note_en = f"; roles not in the policy: {', '.join(f'`{x}`' for x in unknown)}" if unknown else ""
    could = t.roles_for.get(key)
    if could:
        zh = "需要" + "或".join(t.role_label[x][0] for x in could) + note_zh
        en = "needs " + " or ".join(t.role_label[x][1] for x in could) + note_en
        return t.messages.reason("role_not_permitted", t.checks["grant"], zh, en)
    what = f"`{r.action}` `{r.resource.kind}` `{clip(r.purpose)}` `{r.resource.level}`"
    return t.messages.reason("no_rule_permits", t.checks["deny_by_default"], what + note_zh, what + note_en)


def _out_of_scope(t: Tables, subject_org: str, resource_org: str) -> Reason:
    """Q-07: the resource is of an organisation the subject's does not reach."""
    return t.messages.reason(
        "org_out_of_scope", t.checks["org_scope"],
        f"资料属{t.org_label[resource_org][0]}，本人属{t.org_label[subject_org][0]}",
        f"the resource is of {t.org_label[resource_org][1]}, the subject of {t.org_label[subject_org][1]}",
    )


def requirements(
    t: Tables, words: StepGrants, r: Request, need: Requirement, deny: list[Reason], trace: list[Stage] | None
) -> tuple[tuple[tuple[str, ...], ...], list[Reason]]:
    """Consent, evidence, retention and approvals: append what fails to ``deny``; return the
    missing steps and, for an allow, what held."""
    say = t.messages.reason
    held: list[Reason] = []

    def stage(name: str, target: str, ok: bool, since: int, approver: str = "") -> None:
        if trace is not None:  # what this stage added: to `held` if it passed, to `deny` if not
            trace.append(Stage(name, ok, target, (held[-1],) if ok else tuple(deny[since:]), approver))

    if need.consent is not None:
        since = len(deny)
        failed = consent_faults(r)
        for code in failed:
            zh, en = consent_detail(code, r)
            deny.append(say(code, need.consent, zh, en))
        # What held is built only for an allow (nothing added to `deny` so far) or for explain.
        if not failed and r.consent is not None and (trace is not None or not deny):
            cid = r.consent.id or r.consent.customer_id
            held.append(say("granted", need.consent, f"{need.consent.zh}（`{cid}`）", f"{need.consent.en} (`{cid}`)"))
        if trace is not None:
            stage("consent", "consent", not failed, since)

    for ev in need.evidence:
        value = r.evidence.get(ev.key)
        ok = value is not None and (ev.one_of is None or value in ev.one_of)
        if not ok:
            shown = f"`{ev.key}`" + (f" = `{value}`" if value is not None else "")
            deny.append(say(ev.code, ev.cite, shown, shown))
        elif trace is not None or not deny:
            held.append(say("granted", ev.cite, f"{ev.cite.zh}（`{ev.key}`）", f"{ev.cite.en} (`{ev.key}`)"))
        if trace is not None:
            stage("evidence", ev.path, ok, len(deny) - 1)

    if need.retention is not None:
        until = r.resource.retention_until
        ended = until is not None and until <= r.at
        if not ended:
            deny.append(say("retention_not_expired", need.retention))
        if trace is not None:
            trace.append(Stage("retention", ended, "retention_until", () if ended else (deny[-1],)))

    steps = need.steps
    if not steps:
        return (), held
    if need.conditional:
        steps = tuple(s for s in steps if all(r.evidence.get(k) == v for k, v in s.when))
    person = r.subject.person
    # An exemption lifts the classification steps for a role the requester holds, in their own org.
    if need.exemptions and person.org == r.resource.org and not person.roles.isdisjoint(need.exemptions):
        lifted = next((need.exemptions[x] for x in t.role_order if x in person.roles and x in need.exemptions), None)
        kept = tuple(s for s in steps if s.group != CLASSIFICATION)
        if lifted is not None and len(kept) < len(steps):
            steps = kept
            held.append(say("granted", lifted, lifted.zh, lifted.en))
            if trace is not None:
                stage("classification", "exemption", True, 0)

    filling = fill_steps(steps, r, t.scope)
    missing = []
    for step, got in zip(steps, filling.filled, strict=True):
        if got is None:
            missing.append(step.roles)
            deny.append(words.missing(step))
        elif trace is not None or not deny:
            held.append(words.reason(step, got))
        if trace is not None:
            why = tuple(failure_reason(f, r, t) for f in filling.failures if f.step is step)
            name = "classification" if step.group == CLASSIFICATION else "approval"
            if got is None:
                trace.append(Stage(name, False, step.path, (deny[-1], *why)))
            else:
                trace.append(Stage(name, True, step.path, (held[-1],), got.approver_id))
    for f in filling.failures:
        deny.append(failure_reason(f, r, t))
    return tuple(missing), held


def log_cite(doc: PolicyDocument, fallback: Cite) -> Cite:
    """The rule a `log_unavailable` deny cites: the one that obliges `log_query` (Q-11)."""
    rules = {x.id: x for x in doc.rules}
    for o in doc.obligation_rules:
        if o.id == "log_query" and o.rule in rules:
            rule = rules[o.rule]
            return Cite(rule.id, o.clause or rule.clause, rule.zh, rule.en)
    return fallback


def consent_faults(r: Request) -> list[str]:
    """The consent codes a request fails (Q-03), in the order RULES.md lists them."""
    c = r.consent
    if c is None:
        return ["consent_missing"]
    faults = []
    if r.resource.customer_id is None or c.customer_id != r.resource.customer_id:
        faults.append("consent_customer_mismatch")
    if r.purpose not in c.purposes:
        faults.append("consent_purpose_mismatch")
    if r.at < c.signed_at:
        faults.append("consent_not_yet_valid")
    if c.expires_at is not None and r.at >= c.expires_at:
        faults.append("consent_expired")
    if c.revoked:
        faults.append("consent_revoked")
    return faults
