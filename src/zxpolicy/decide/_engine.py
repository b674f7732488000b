"""The engine: a compiled policy that answers ``check`` requests.

An ``Engine`` is immutable once built, so any number of threads may call ``check`` at once; a
changed policy is loaded into a new engine. ``check`` never raises into the host: a request it
cannot read, and any fault of its own, is a deny with a reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._approvals import fill_steps
from ..compile._tables import CLASSIFICATION, Cite, Requirement, Tables, compile_policy
from ._decision import ENGINE_CLAUSE, ENGINE_RULE, Decision, Explanation, Reason, Stage, new_decision
from ._wording import StepGrants, consent_detail, failure_reason
from ._fastread import read_fast
from .._hints import hint
from ..policy._loader import LoadedPolicy, load_policy
from ._request import BadField, Request, read_request
from ..policy._schema import PolicyDocument
from ..log._record import record_of
from ..log._store import DecisionLog

__all__ = ["Engine"]

# The fields of a request: check's arguments by name, as a batch item or the CLI's JSON has them.
KEYWORDS = ("action", "consent", "approvals", "evidence", "at")
REQUEST_FIELDS = ("subject", "resource", "purpose", *KEYWORDS)
_FIELD_SET = frozenset(REQUEST_FIELDS)
_join = "".join


def _is_field(key: object) -> bool:
    return isinstance(key, str) and key in REQUEST_FIELDS


class Engine:
    """Decides requests against one loaded policy. Build it with ``zxpolicy.load``."""

    def __init__(self, policy: LoadedPolicy, model_conf: Path, log: DecisionLog | None = None) -> None:
        self._policy = policy
        self._tables = compile_policy(policy.document)
        self._model_conf = model_conf
        self._enforcer: Any = None
        self._enforcer_lock = threading.Lock()
        self._log = log
        self._log_cite = _log_cite(policy.document, self._tables.engine)
        self._step_grants = StepGrants(self._tables)

    @classmethod
    def from_directory(cls, directory: str | Path, model_conf: Path, log: DecisionLog | None = None) -> Engine:
        return cls(load_policy(directory), model_conf, log)

    @property
    def log(self) -> DecisionLog | None:
        """The decision log every ``check`` writes to, if any."""
        return self._log

    @property
    def policy_version(self) -> str:
        """A hash of the policy files this engine was built from."""
        return self._policy.version

    @property
    def policy_dir(self) -> Path:
        return self._policy.directory

    @property
    def document(self) -> PolicyDocument:
        """The validated policy, as read from its files."""
        return self._policy.document

    @property
    def tables(self) -> Tables:
        """The compiled look-up tables, read-only: for questions about the policy as a whole
        (``who_can``, ``what_can``). Their shape is internal and may change."""
        return self._tables

    @property
    def casbin(self) -> Any:
        """A ``casbin.Enforcer`` over this policy, for Casbin's management API (built on first use).

        It is not used to decide. Changes made through it are not saved and do not change this
        engine's decisions: edit the policy files and load a new engine.
        """
        with self._enforcer_lock:
            if self._enforcer is None:
                from ..compile._casbin import build_enforcer

                self._enforcer = build_enforcer(self._policy.document, self._model_conf)
            return self._enforcer

    def check(
        self,
        subject: Any,
        resource: Any,
        purpose: Any,
        *,
        action: Any = "query",
        consent: Any = None,
        approvals: Any = (),
        evidence: Any = None,
        at: Any = None,
    ) -> Decision:
        """Decide one request. Never raises; never allows what it cannot read."""
        return self._check(subject, resource, purpose, action, consent, approvals, evidence, at)

    def _check(
        self, subject: Any, resource: Any, purpose: Any, action: Any, consent: Any, approvals: Any, evidence: Any, at: Any
    ) -> Decision:
        """``check`` with its arguments by position (so ``check_many`` calls it without keywords)."""
        try:
            vocab = self._tables.vocabulary  # _read, inlined: this is the request path
            read: Request | list[BadField] | None
            read = read_fast(vocab, subject, resource, purpose, action, consent, approvals, evidence, at)
            if read is None:
                read = read_request(vocab, subject, resource, purpose, action, consent, approvals, evidence, at)
            if isinstance(read, list):
                return self._unreadable(read)
            decision = self._decide(read, None)
            if self._log is None:
                return decision
            return self._logged(self._log, read, decision)
        except Exception as exc:  # fail closed: a fault of the engine is a deny, never an exception
            return self._failed(exc)

    def explain(
        self,
        subject: Any,
        resource: Any,
        purpose: Any,
        *,
        action: Any = "query",
        consent: Any = None,
        approvals: Any = (),
        evidence: Any = None,
        at: Any = None,
    ) -> Explanation:
        """``check``, with every stage the request passed through: for a person asking why they
        were denied and what they still need. The decision is the one ``check`` gives."""
        stages: list[Stage] = []
        try:
            read = self._read(subject, resource, purpose, action, consent, approvals, evidence, at)
            if isinstance(read, list):
                decision = self._unreadable(read)
            else:
                decision = self._decide(read, stages)
        except Exception as exc:  # fail closed, as in check
            decision = self._failed(exc)
            stages.clear()
        if not stages:  # the request was not read, or the engine failed
            stages.append(Stage("request", False, "", decision.reasons))
        return Explanation(decision, tuple(stages))

    def check_many(self, requests: Iterable[Mapping[str, Any]]) -> list[Decision]:
        """Decide a batch; each item is a mapping of ``check``'s arguments by name.

        Like ``check`` it never raises: an item it cannot read is a deny in its place, and a
        ``requests`` that cannot be iterated is one deny.
        """
        try:
            items = list(requests)
        except Exception:
            return [self._unreadable([BadField("requests", "expected an iterable of mappings", "应为请求的列表")])]
        check, item_ = self._check, self._check_item
        decisions = []
        for item in items:
            # A plain dict of known fields goes straight to check; anything else is read slowly.
            # Its keys must be strings (join raises on any other key): an object that hashes and
            # compares as a field name is an unknown argument, as _check_item reads it.
            try:
                if type(item) is dict and _FIELD_SET.issuperset(item) and _join(item):
                    get = item.get
                    decision = check(
                        get("subject"), get("resource"), get("purpose"), get("action", "query"),
                        get("consent"), get("approvals", ()), get("evidence"), get("at"),
                    )
                else:
                    decision = item_(item)
            except Exception:  # a key that cannot be compared, or compares differently the next time
                decision = item_(item)  # (check and _check_item never raise)
            decisions.append(decision)
        return decisions

    def _read(self, *request: Any) -> Request | list[BadField]:
        """The request read, or the fields that could not be: the fast reader for the plain case,
        else the full reader, which names every bad field."""
        vocab = self._tables.vocabulary
        read = read_fast(vocab, *request)
        return read if read is not None else read_request(vocab, *request)

    def _check_item(self, item: Any) -> Decision:
        try:
            if not isinstance(item, Mapping):
                return self._unreadable([BadField("request", "expected a mapping of check's arguments", "应为 check 参数的映射")])
            unknown = sorted(k if isinstance(k, str) else repr(k) for k in item if not _is_field(k))
            if unknown:
                return self._unreadable([BadField(k, "unknown argument", "未知参数") for k in unknown])
            keywords = {k: item[k] for k in KEYWORDS if k in item}
            return self.check(item.get("subject"), item.get("resource"), item.get("purpose"), **keywords)
        except Exception as exc:  # fail closed, as in check
            return self._failed(exc)

    def _logged(self, log: DecisionLog, r: Request, d: Decision) -> Decision:
        """Write the decision to the log. What is granted must leave a trace (Q-11): an allowed
        query or print, or any allowed decision obliged to `log_query`, that cannot be written is
        a deny. A deny that cannot be written stays a deny."""
        try:
            log.write(record_of(r, d))
        except Exception as exc:
            if not d.allowed or (r.action not in ("query", "print") and "log_query" not in d.obligations):
                return d
            name = f"`{type(exc).__name__}`: {exc}"[:200]
            reason = self._tables.messages.reason("log_unavailable", self._log_cite, name, name)
            return Decision(False, (reason,), policy_version=self._policy.version)
        return d

    # -- deciding ---------------------------------------------------------------------------

    def _failed(self, exc: Exception) -> Decision:
        name = f"`{type(exc).__name__}`"
        try:
            reason = self._tables.messages.reason("engine_error", self._tables.engine, name, name)
        except Exception:  # the message itself failed: a fixed text, still a deny
            reason = Reason("engine_error", ENGINE_RULE, ENGINE_CLAUSE, "授权引擎内部错误，已拒绝", "internal engine error, denied")
        return Decision(False, (reason,), policy_version=self._policy.version)

    def _unreadable(self, bad: list[BadField]) -> Decision:
        t = self._tables
        reasons = []
        for b in bad:
            cite = t.checks["level"] if b.field == "resource.level" else t.engine
            reasons.append(t.messages.reason(b.code, cite, f"`{b.field}`：{b.message_zh}", f"`{b.field}`: {b.message}"))
        return Decision(False, tuple(reasons), policy_version=self._policy.version)

    def _decide(self, r: Request, trace: list[Stage] | None) -> Decision:
        """Decide a read request. With ``trace``, also record each stage in it (for explain);
        ``check`` passes None, and pays only for the checks of ``trace``."""
        t = self._tables
        say = t.messages.reason
        person, res = r.subject.person, r.resource
        deny: list[Reason] = []

        if r.subject.status == "suspended":
            deny.append(say("subject_suspended", t.checks["status"]))
        if r.subject.must_change_password:
            deny.append(say("password_change_required", t.checks["password"]))
        if r.subject.password_changed_at is not None and r.at - r.subject.password_changed_at > t.password_max_age:
            deny.append(say("password_expired", t.checks["password"]))

        for sep in t.separations:
            if sep.role not in person.roles:
                continue
            zh, en = t.role_label[sep.role]
            if sep.exclusive and len(person.roles) > 1:
                others = [t.role_label[x] for x in t.role_order if x in person.roles and x != sep.role]
                deny.append(
                    say(
                        "role_conflict", sep.cite,
                        f"{zh}不得兼任{'、'.join(o[0] for o in others)}",
                        f"{en} cannot be held with {', '.join(o[1] for o in others)}",
                    )
                )
            elif res.kind in sep.barred_kinds:
                deny.append(say("role_conflict", sep.cite, f"{zh}不得接触征信信息", f"{en} never acts on credit information"))
        if trace is not None:
            trace.append(Stage("subject", not deny, person.id, tuple(deny)))

        key = (r.action, res.kind, r.purpose, res.level)
        purpose_ok = res.kind in t.purposes.get(r.purpose, ())
        grant: Reason | None = None
        if not purpose_ok:
            if r.purpose in t.purposes:
                zh = f"`{r.purpose}`不适用于`{res.kind}`"
                en = f"`{r.purpose}` does not apply to `{res.kind}`"
            else:
                zh = f"`{r.purpose}`不是策略中的用途；{hint(r.purpose, t.purposes, t.vocabulary.aliases, 'zh')}"
                en = f"`{r.purpose}` is not a purpose of the policy; {hint(r.purpose, t.purposes, t.vocabulary.aliases)}"
            deny.append(say("purpose_not_permitted", t.checks["purpose"], zh, en))
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
                # Roles the policy does not know grant nothing; name them, they may be typos.
                unknown = sorted(r.subject.unknown_roles)
                note_zh = f"；策略中没有的角色：{'、'.join(f'`{x}`' for x in unknown)}" if unknown else ""
                note_en = f"; roles not in the policy: {', '.join(f'`{x}`' for x in unknown)}" if unknown else ""
                could = t.roles_for.get(key)
                if could:
                    zh = "需要" + "或".join(t.role_label[x][0] for x in could) + note_zh
                    en = "needs " + " or ".join(t.role_label[x][1] for x in could) + note_en
                    deny.append(say("role_not_permitted", t.checks["grant"], zh, en))
                else:
                    what = f"`{r.action}` `{res.kind}` `{r.purpose}` `{res.level}`"
                    deny.append(say("no_rule_permits", t.checks["deny_by_default"], what + note_zh, what + note_en))
            if trace is not None:
                if grant is None:
                    trace.append(Stage("grant", False, " ".join(key), (deny[-1],)))
                else:
                    role = next(x for x in t.role_order if x in person.roles and t.grants.get((x, *key)) is grant)
                    trace.append(Stage("grant", True, t.grant_path[role, *key], (grant,)))

        in_scope = person.org in t.scope[res.org]
        if not in_scope:
            deny.append(
                say(
                    "org_out_of_scope", t.checks["org_scope"],
                    f"资料属{t.org_label[res.org][0]}，本人属{t.org_label[person.org][0]}",
                    f"the resource is of {t.org_label[res.org][1]}, the subject of {t.org_label[person.org][1]}",
                )
            )
        if trace is not None:
            trace.append(Stage("org_scope", in_scope, res.org, () if in_scope else (deny[-1],)))

        missing: tuple[tuple[str, ...], ...] = ()
        granted: list[Reason] = []
        obligations: tuple[str, ...] = ()
        if purpose_ok:
            need = t.requirements[key]
            missing, granted = self._requirements(r, need, deny, trace)
            obligations = need.obligations

        if deny:
            return new_decision(False, tuple(deny), missing, (), self._policy.version)
        if grant is None:  # cannot happen: a missing grant always leaves a reason in `deny`
            raise AssertionError("no deny and no grant")  # not `assert`: `python -O` drops those
        return new_decision(True, (grant, *granted), (), obligations, self._policy.version)

    def _requirements(
        self, r: Request, need: Requirement, deny: list[Reason], trace: list[Stage] | None
    ) -> tuple[tuple[tuple[str, ...], ...], list[Reason]]:
        """Consent, evidence, retention and approvals: append what fails to ``deny``; return the
        missing steps and, for an allow, what held."""
        t = self._tables
        say = t.messages.reason
        held: list[Reason] = []

        def stage(name: str, target: str, ok: bool, since: int, approver: str = "") -> None:
            if trace is not None:  # what this stage added: to `held` if it passed, to `deny` if not
                trace.append(Stage(name, ok, target, (held[-1],) if ok else tuple(deny[since:]), approver))

        if need.consent is not None:
            since = len(deny)
            failed = _consent_faults(r)
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
                deny.append(self._step_grants.missing(step))
            elif trace is not None or not deny:
                held.append(self._step_grants.reason(step, got))
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


def _log_cite(doc: PolicyDocument, fallback: Cite) -> Cite:
    """The rule a `log_unavailable` deny cites: the one that obliges `log_query` (Q-11)."""
    rules = {x.id: x for x in doc.rules}
    for o in doc.obligation_rules:
        if o.id == "log_query" and o.rule in rules:
            rule = rules[o.rule]
            return Cite(rule.id, o.clause or rule.clause, rule.zh, rule.en)
    return fallback


def _consent_faults(r: Request) -> list[str]:
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
