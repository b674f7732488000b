"""Words for reasons: the details that say, in Chinese and English, what exactly held or failed."""

from __future__ import annotations

from datetime import datetime, timezone

from .._diagnostic import Reason, new_reason
from ..compile import StepSpec, Tables
from ._approvals import Failure
from ._request import ReadApproval, Request


def consent_detail(code: str, r: Request) -> tuple[str, str]:
    if code == "consent_purpose_mismatch":
        return f"`{r.purpose}`", f"`{r.purpose}`"
    if code == "consent_customer_mismatch" and r.consent is not None:
        if r.resource.customer_id is None:
            return "资料未注明客户（`customer_id`）", "the resource names no customer (`customer_id`)"
        pair = f"`{r.consent.customer_id}` ≠ `{r.resource.customer_id}`"
        return f"授权客户与资料客户不同：{pair}", f"the consent's customer is not the resource's: {pair}"
    return "", ""


def failure_detail(f: Failure, r: Request, t: Tables) -> tuple[str, str]:
    """Why one approval did not count, in Chinese and English."""
    ap = f.approval
    who = f"`{ap.approver_id}`"
    role_zh, role_en = t.role_label.get(ap.role, (ap.role, ap.role))
    if f.code == "self_approval" and f.why == "same_person":
        me = f"`{r.subject.person.id}`"
        return f"{who}与申请人{me}为同一人", f"{who} is the requester {me} under another id"
    if f.code == "self_approval":
        return f"{who}是申请人本人", f"{who} is the requester"
    if f.code == "approver_lacks_role" and f.why == "unknown":
        return f"{who}不在用户清单中", f"{who} is not in the assignments"
    if f.code == "approver_lacks_role":
        return f"{who}不具备{role_zh}角色", f"{who} does not hold {role_en}"
    if f.code == "approval_mismatch":
        what = f"`{ap.action}` `{ap.resource_id}`"
        return f"{who}的审批针对{what}", f"{who} approved {what}"
    if f.code == "approver_out_of_scope" and f.why == "own_org":
        return f"{who}须为申请人本机构的{role_zh}", f"{who} must be a {role_en} of the requester's own organisation"
    if f.code == "approver_out_of_scope":
        return f"{who}不属于申请人所在或上级机构", f"{who} is not of the requester's organisation or one above it"
    if f.code == "approver_reused" and f.why == "same_person":
        other = f"`{f.other}`"
        return f"{who}与{other}为同一人，已审批另一环节", f"{who} is the same person as {other}, who already fills another step"
    if f.code == "approver_reused":
        return f"{who}已审批另一环节", f"{who} already fills another step"
    if f.why == "after_request":
        return f"{who}的审批晚于申请时间", f"{who} approved after the request"
    return f"{who}的审批须晚于上一环节", f"{who} must approve after the step before"


def failure_reason(f: Failure, r: Request, t: Tables) -> Reason:
    """The deny reason for one approval that did not count."""
    zh, en = failure_detail(f, r, t)
    return t.messages.reason(f.code, f.step.cite, zh, en)


def approved_by(ap: ReadApproval, step: StepSpec, t: Tables, lang: str) -> str:
    label = t.role_label.get(ap.role, (ap.role, ap.role))
    if lang == "zh":
        return f"{step.cite.zh}：`{ap.approver_id}`（{label[0]}）"
    return f"{step.cite.en}: `{ap.approver_id}` ({label[1]})"


_MARK = "\x00"  # stands for the approver in a prebuilt message (a policy text holding it takes the slow way)
_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)


class StepGrants:
    """The reasons of approval steps. A filled step's `granted` reason, as ``approved_by`` words
    it, is built by joining the approver's id into texts prepared once per step and role; an
    empty step's reason is built once per step. Both are kept per step (so bounded by the
    policy's steps and their roles), filled lazily: a race only writes the same value twice."""

    def __init__(self, t: Tables) -> None:
        self._t = t
        self._texts: dict[tuple[int, str], tuple[StepSpec, tuple[str, ...]]] = {}
        self._missing: dict[int, tuple[StepSpec, Reason]] = {}

    def missing(self, step: StepSpec) -> Reason:
        """The deny reason of a step left empty: its words are the policy's, so it is built once."""
        known = self._missing.get(id(step))
        if known is None or known[0] is not step:
            known = step, self._t.messages.reason(step.code, step.cite, step.zh, step.en)
            self._missing[id(step)] = known
        return known[1]

    def reason(self, step: StepSpec, ap: ReadApproval) -> Reason:
        known = self._texts.get((id(step), ap.role))  # keyed by identity: steps live in the tables
        if known is None or known[0] is not step:
            known = step, self._prepare(step, ap.role)
            self._texts[id(step), ap.role] = known
        texts, who = known[1], ap.approver_id
        if len(texts) == 4:
            return new_reason("granted", step.cite.rule, step.cite.clause, texts[0] + who + texts[1], texts[2] + who + texts[3])
        t = self._t  # the message names the detail more than once, or its text holds the mark
        return t.messages.reason("granted", step.cite, approved_by(ap, step, t, "zh"), approved_by(ap, step, t, "en"))

    def _prepare(self, step: StepSpec, role: str) -> tuple[str, ...]:
        t = self._t
        fake = ReadApproval(None, _MARK, role, _AT, "", "", _MARK)
        made = t.messages.reason("granted", step.cite, approved_by(fake, step, t, "zh"), approved_by(fake, step, t, "en"))
        zh, en = made.message.split(_MARK), made.message_en.split(_MARK)
        return (*zh, *en) if len(zh) == 2 and len(en) == 2 else ()
