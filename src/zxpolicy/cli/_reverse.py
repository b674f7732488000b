"""``zxpolicy who-can`` and ``zxpolicy what-can``: the policy asked the other way round."""

from __future__ import annotations

import sys

import click

from ..compile import CLASSIFICATION, StepSpec
from ..compliance import Able, Needs, WhatCan, WhoCan, what_can, who_can
from ..decide import Engine
from . import main
from ._common import (
    EXIT_DENIED,
    POLICY_HELP,
    echo_json,
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
    organisation out of scope) are shown apart. Exit 0 when someone can, 1 when no one can.

    \b
    Example:
      zxpolicy who-can copy credit_report --purpose loan_review --level confidential --org east-1
      zxpolicy who-can query credit_report --purpose legal --level ordinary --lang en --json
    """
    engine = load_engine(policy)
    try:
        answer = who_can(engine, action, kind, purpose, level, org)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        echo_json(answer.to_dict())
    else:
        click.echo(render_who_can(answer, engine, lang))
    sys.exit(0 if any(r.users for r in answer.roles) else EXIT_DENIED)


@main.command("what-can")
@click.argument("subject")
@click.option("--policy", type=click.Path(), help=POLICY_HELP)
@lang_option
@json_option
def what_can_command(subject: str, policy: str | None, lang: str, as_json: bool) -> None:
    """Everything SUBJECT (an id of the assignments) may ask for, by kind and purpose.

    Each entry is an action at a level, with what a request on a resource of the subject's own
    organisation still needs (below it, the classification steps apply to everyone). Exit 0 when
    the subject may do something, 1 when nothing.

    \b
    Example:
      zxpolicy what-can u-query-east1
      zxpolicy what-can u-officer-east --lang en --json
    """
    engine = load_engine(policy)
    try:
        answer = what_can(engine, subject)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        echo_json(answer.to_dict())
    else:
        click.echo(render_what_can(answer, engine, lang))
    sys.exit(0 if answer.permissions else EXIT_DENIED)


class Words:
    """The policy's labels in one language."""

    def __init__(self, engine: Engine, lang: str) -> None:
        doc = engine.document
        self.zh = lang == "zh"
        pick = 0 if self.zh else 1
        sections = (doc.roles, doc.orgs, doc.kinds, doc.actions, doc.levels, doc.purposes)
        self.label = {x.id: (x.zh, x.en)[pick] for section in sections for x in section}
        self.user = {a.id: (a.zh if self.zh else a.en) or "" for a in doc.assignments}

    def __call__(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def of(self, value: str) -> str:
        return self.label.get(value, value)

    def roles(self, roles: tuple[str, ...]) -> str:
        return self("或", " or ").join(self.of(r) for r in roles)


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
        lines.append(w(f"{w.of(needs.exempt_role)}在本机构免密级审批", f"a {w.of(needs.exempt_role)} skips the classification steps in their own organisation"))
    if not lines:
        lines.append(w("无", "nothing more"))
    if needs.obligations:
        lines.append(w("须履行：", "obligations: ") + ", ".join(needs.obligations))
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
    name = w.user.get(able.user) or ""
    line = f"{able.user}" + (f" {name}" if name else "") + f" ({w.of(able.org)})"
    if able.exempt:
        line += w("，免密级审批", ", classification steps lifted")
    return line


def render_who_can(answer: WhoCan, engine: Engine, lang: str) -> str:
    w = Words(engine, lang)
    where = w.of(answer.org) if answer.org else w("各用户本机构及下级", "each user's own organisation and below")
    lines = [
        w(f"{w.of(answer.action)} {w.of(answer.kind)}，用途：{w.of(answer.purpose)}，密级：{w.of(answer.level)}，资料所属：{where}",
          f"{w.of(answer.action)} {w.of(answer.kind)}, purpose: {w.of(answer.purpose)}, level: {w.of(answer.level)}, resource of: {where}")
    ]
    if answer.needs is None:
        lines.append(w(f"用途`{answer.purpose}`不适用于`{answer.kind}`：无人可以", f"`{answer.purpose}` does not apply to `{answer.kind}`: no one can"))
        return "\n".join(lines)
    lines.append(w("每一请求尚需：", "each request needs:"))
    lines.extend(f"  - {x}" for x in render_needs(answer.needs, w))
    if not answer.roles:
        lines.append(w("没有角色被授予此操作", "no role is granted this"))
    for role in answer.roles:
        lines.append(f"{w.of(role.role)} ({role.role}, {role.grant})")
        if not role.users:
            lines.append("    " + w("（用户清单中无人可以）", "(no one in the assignments can)"))
        for able in role.users:
            lines.append(f"    {_user_line(able, w)}")
            if able.steps:
                lines.append(f"      {w('审批人', 'approvers')}: {_approvers(able, w)}")
        for b in role.blocked:
            lines.append(f"    ✗ {b.user}: {b.code}")
    return "\n".join(lines)


def render_what_can(answer: WhatCan, engine: Engine, lang: str) -> str:
    w = Words(engine, lang)
    head = f"{answer.subject} ({w.of(answer.org)}): " + ", ".join(w.of(r) for r in answer.roles)
    lines = [head, w("可处理以下机构的资料：", "may act on resources of: ") + ", ".join(w.of(o) for o in answer.orgs)]
    if answer.blocked:
        lines.append(w("角色冲突（Q-08）：不得执行任何操作", "role conflict (Q-08): denied everything"))
    elif not answer.permissions:
        lines.append(w("没有任何被授予的操作", "nothing is granted"))
    for kind, by_purpose in answer.grouped().items():
        lines.append(f"{w.of(kind)} ({kind})")
        for purpose, items in by_purpose.items():
            lines.append(f"  {w.of(purpose)} ({purpose})")
            for p in items:
                lines.append(f"    {w.of(p.action)} · {w.of(p.level)}  [{', '.join(p.roles)}]")
                for need in render_needs(p.needs, w):
                    lines.append(f"      - {need}")
                if p.able.steps:
                    lines.append(f"      {w('审批人', 'approvers')}: {_approvers(p.able, w)}")
    return "\n".join(lines)
