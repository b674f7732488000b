"""``zxpolicy who-can`` and ``zxpolicy what-can``: the policy asked the other way round."""

from __future__ import annotations

import sys

import click

from ..compile import CLASSIFICATION, StepSpec
from ..compliance import Able, Blocked, Needs, UnknownWord, WhatCan, WhoCan, what_can, who_can
from ..decide import Engine
from ..policy import Labels
from . import main
from ._common import (
    policy_line,
    EXIT_DENIED,
    POLICY_HELP,
    echo_json,
    fail,
    json_option,
    lang_option,
    load_engine,
)


@main.command("who-can")
@click.argument("action")
@click.argument("kind")
@click.option("--purpose", required=True, help="Purpose, e.g. loan_review.")
@click.option("--level", required=True, help="Resource level: ordinary, confidential, top_secret.")
@click.option("--org", help="The resource's organisation (default: each user's own and those below it).")
@click.option("--policy", type=click.Path(), help=POLICY_HELP)
@lang_option
@json_option
def who_can_command(
    action: str, kind: str, purpose: str, level: str, org: str | None, policy: str | None, lang: str, as_json: bool
) -> None:
    """The roles granted ACTION on KIND, the users who hold them, and what each still needs.

    A user is listed when check would allow them with what is listed as needed: consent,
    evidence, and one approval per step (with the users of the assignments who may give it).
    Users who hold a granted role but are denied (separation of duties; with --org, an
    organisation out of scope) are shown apart, and so are users whose request no set of distinct
    approvers of the assignments can approve (无人可审批). Exit 0 when someone can, 1 when no one
    can.

    \b
    Example:
      zxpolicy who-can copy credit_report --purpose loan_review --level confidential --org east-1
      zxpolicy who-can query credit_report --purpose legal --level ordinary --lang en --json
    """
    engine = load_engine(policy)
    try:
        answer = who_can(engine, action, kind, purpose, level, org)
    except UnknownWord as exc:
        fail(exc.message, exc.message_en, lang)
    if as_json:
        echo_json(answer.to_dict())
    else:
        click.echo(render_who_can(answer, engine, lang))
        click.echo(policy_line(lang))
    sys.exit(0 if any(r.users for r in answer.roles) else EXIT_DENIED)


@main.command("what-can")
@click.argument("subject")
@click.option("--kind", "kinds", multiple=True, help="Only this kind (repeatable: any of them).")
@click.option("--purpose", "purposes", multiple=True, help="Only this purpose (repeatable).")
@click.option("--action", "actions", multiple=True, help="Only this action (repeatable).")
@click.option("--policy", type=click.Path(), help=POLICY_HELP)
@lang_option
@json_option
def what_can_command(
    subject: str, kinds: tuple[str, ...], purposes: tuple[str, ...], actions: tuple[str, ...],
    policy: str | None, lang: str, as_json: bool,
) -> None:
    """Everything SUBJECT (an id of the assignments) may ask for, by kind and purpose.

    Each entry is an action at a level, with what a request on a resource of the subject's own
    organisation still needs (below it, the classification steps apply to everyone); one that
    no distinct approvers of the assignments can approve is marked as such. --kind, --purpose
    and --action narrow the list (each repeatable). Exit 0 when the subject may do something
    (of what the filters keep), 1 when nothing.

    \b
    Example:
      zxpolicy what-can u-query-east1
      zxpolicy what-can u-officer-east --kind credit_report --action copy --lang en --json
    """
    engine = load_engine(policy)
    try:
        answer = what_can(engine, subject, kinds=kinds, purposes=purposes, actions=actions)
    except UnknownWord as exc:
        fail(exc.message, exc.message_en, lang)
    if as_json:
        echo_json(answer.to_dict())
    else:
        click.echo(render_what_can(answer, engine, lang))
        click.echo(policy_line(lang))
    sys.exit(0 if answer.permissions else EXIT_DENIED)


class Words:
    """The policy's labels in one language (``Labels``: the label with the id beside it)."""

    def __init__(self, engine: Engine, lang: str) -> None:
        doc = engine.document
        self.zh = lang == "zh"
        self.lang = lang
        self.labels = Labels.of(doc)
        self.user = {a.id: (a.zh if self.zh else a.en) or "" for a in doc.assignments}

    def __call__(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def of(self, section: str, value: str) -> str:
        return self.labels.name(section, value, self.lang)

    def roles(self, roles: tuple[str, ...]) -> str:
        return self.labels.names("roles", roles, self.lang, self("或", " or "))

    def person(self, user: str) -> str:
        name = self.user.get(user) or ""
        return f"{name}（{user}）" if name and self.zh else f"{name} ({user})" if name else user


def render_needs(needs: Needs, w: Words) -> list[str]:
    lines = []
    if needs.consent:
        lines.append(w("客户书面授权（涵盖此用途）", "the customer's written authorization, covering the purpose"))
    for key, values in needs.evidence:
        lines.append(w("证据", "evidence") + f" `{key}`" + (f" ∈ {{{', '.join(values)}}}" if values else ""))
    if needs.retention_ended:
        lines.append(w("保管期已满（retention_until 早于请求时间）", "the retention has ended (retention_until before the request)"))
    for s in needs.steps:
        lines.append(_step_line(s, w))
    if needs.exempt_role:
        role = w.of("roles", needs.exempt_role)
        lines.append(w(f"{role}在本机构免密级审批", f"a {role} skips the classification steps in their own organisation"))
    if not lines:
        lines.append(w("无", "nothing more"))
    if needs.obligations:
        lines.append(w("须履行：", "obligations: ") + w.labels.names("obligations", needs.obligations, w.lang))
    return lines


def _step_line(s: StepSpec, w: Words) -> str:
    name = w("密级审批", "classification step") if s.group == CLASSIFICATION else w("审批", "approval")
    line = f"{name} {s.path}: {w.roles(s.roles)}"
    if s.same_org:
        line += w("（须为本机构）", " (of the requester's own organisation)")
    if s.when:
        line += w("，仅当", ", only when ") + ", ".join(f"{k} = {v}" for k, v in s.when)
    return line


def _approvers(able: Able, w: Words) -> str:
    parts = []
    for s, names, plan in zip(able.steps, able.approvers, able.plan, strict=True):
        shown = ", ".join(names) if names else w("用户清单中无人", "no one in the assignments")
        if names and not plan:
            shown += w("（均已审批其他环节）", " (all fill other steps)")
        parts.append(f"{s.path} ← {shown}")
    return "; ".join(parts)


def _user_line(able: Able, w: Words) -> str:
    line = f"{w.person(able.user)}, {w.of('orgs', able.org)}"
    if able.exempt:
        line += w("，免密级审批", ", classification steps lifted")
    return line


def _blocked_line(b: Blocked, answer: WhoCan, w: Words) -> str:
    """Why a user holding a granted role is denied, as check says it (its code beside)."""
    if b.code == "role_conflict":
        why = w(f"角色冲突（Q-08 职责分离）：不得对{w.of('kinds', answer.kind)}执行任何操作",
                f"role conflict (Q-08, separation of duties): denied every action on {w.of('kinds', answer.kind)}")
    elif b.code == "org_out_of_scope" and answer.org:
        why = w(f"资料所属机构{w.of('orgs', answer.org)}不在其管辖范围内",
                f"the resource's organisation {w.of('orgs', answer.org)} is outside their scope")
    else:
        why = b.code
    return f"✗ {w.person(b.user)}: {why} [{b.code}]"


def render_who_can(answer: WhoCan, engine: Engine, lang: str) -> str:
    w = Words(engine, lang)
    where = w.of("orgs", answer.org) if answer.org else w("各用户本机构及下级", "each user's own organisation and below")
    action, kind = w.of("actions", answer.action), w.of("kinds", answer.kind)
    purpose, level = w.of("purposes", answer.purpose), w.of("levels", answer.level)
    lines = [
        w(f"{action} {kind}，用途：{purpose}，密级：{level}，资料所属：{where}",
          f"{action} {kind}, purpose: {purpose}, level: {level}, resource of: {where}")
    ]
    if answer.needs is None:
        lines.append(w(f"用途{purpose}不适用于{kind}：无人可以", f"{purpose} does not apply to {kind}: no one can"))
        return "\n".join(lines)
    lines.append(w("每一请求尚需：", "each request needs:"))
    lines.extend(f"  - {x}" for x in render_needs(answer.needs, w))
    if not answer.roles:
        lines.append(w("没有角色被授予此操作", "no role is granted this"))
    for role in answer.roles:
        lines.append(f"{w.of('roles', role.role)} [{role.grant}]")
        if not role.users:
            lines.append("    " + w("（用户清单中无人可以）", "(no one in the assignments can)"))
        for able in role.users:
            lines.append(f"    {_user_line(able, w)}")
            if able.steps:
                lines.append(f"      {w('审批人', 'approvers')}: {_approvers(able, w)}")
        if role.unapprovable:
            lines.append("    " + w("无人可审批（用户清单中凑不齐各环节互不相同的审批人）：",
                                     "no one can approve (the assignments lack distinct approvers for every step):"))
        for able in role.unapprovable:
            lines.append(f"    ⊘ {_user_line(able, w)}")
            lines.append(f"      {w('审批人', 'approvers')}: {_approvers(able, w)}")
        for b in role.blocked:
            lines.append(f"    {_blocked_line(b, answer, w)}")
    return "\n".join(lines)


def render_what_can(answer: WhatCan, engine: Engine, lang: str) -> str:
    w = Words(engine, lang)
    head = f"{w.person(answer.subject)}, {w.of('orgs', answer.org)}: " + w.labels.names("roles", answer.roles, lang)
    lines = [head, w("可处理以下机构的资料：", "may act on resources of: ") + w.labels.names("orgs", answer.orgs, lang)]
    if answer.blocked:
        lines.append(w("角色冲突（Q-08 职责分离）：不得执行任何操作 [role_conflict]",
                       "role conflict (Q-08, separation of duties): denied everything [role_conflict]"))
    elif not answer.permissions:
        lines.append(w("没有任何被授予的操作", "nothing is granted"))
    for kind, by_purpose in answer.grouped().items():
        lines.append(w.of("kinds", kind))
        for purpose, items in by_purpose.items():
            lines.append(f"  {w.of('purposes', purpose)}")
            for p in items:
                stuck = "" if p.approvable else w("  ⊘ 无人可审批", "  ⊘ no one can approve")
                lines.append(f"    {w.of('actions', p.action)} · {w.of('levels', p.level)}  [{w.labels.names('roles', p.roles, lang)}]{stuck}")
                for need in render_needs(p.needs, w):
                    lines.append(f"      - {need}")
                if p.able.steps:
                    lines.append(f"      {w('审批人', 'approvers')}: {_approvers(p.able, w)}")
    return "\n".join(lines)
