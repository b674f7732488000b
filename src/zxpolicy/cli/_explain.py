"""``zxpolicy explain``: the same request as ``check``, with every stage it passed through."""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from ..decide import KEYWORDS, Explanation, Stage
from ..policy import Labels, PolicyDocument, Step
from . import main
from ._common import (
    EXIT_DENIED,
    POLICY_HELP,
    echo_json,
    json_option,
    lang_option,
    load_engine,
    policy_line,
)
from ._request_input import read_request_input, request_options

STAGE_NAMES = {
    "request": ("请求", "request"),
    "subject": ("用户", "subject"),
    "purpose": ("用途", "purpose"),
    "grant": ("授权", "grant"),
    "org_scope": ("机构范围", "org scope"),
    "consent": ("书面授权", "consent"),
    "evidence": ("证据", "evidence"),
    "retention": ("保管期", "retention"),
    "approval": ("审批", "approval"),
    "classification": ("密级审批", "classification"),
}

# Stages a person can satisfy by bringing something; the others need a change of role, org or account.
_OBTAINABLE = ("consent", "evidence", "retention", "approval", "classification")


@main.command()
@click.option("--policy", type=click.Path(), help=POLICY_HELP)
@request_options
@lang_option
@json_option
def explain(request: str | None, policy: str | None, **flags: Any) -> None:
    """Decide one request like check, and show each stage it passed through.

    For a person asking "why was I denied, and what do I still need?": the subject, purpose,
    grant, org scope, consent, evidence, each approval step with the approver who filled it (or
    why none did), and the classification steps. The request is given as for check. Exit 0
    allowed, 1 denied.

    \b
    Example:
      zxpolicy explain examples/query-denied.json
      zxpolicy explain --subject u-officer-east --kind credit_report --level confidential \\
          --org east-1 --purpose loan_review --action copy --lang en
    """
    lang, as_json = flags.pop("lang"), flags.pop("as_json")
    body = read_request_input(request, flags)
    engine = load_engine(policy)
    args = {k: body[k] for k in KEYWORDS if k in body}
    explanation = engine.explain(body.get("subject"), body.get("resource"), body.get("purpose"), **args)
    if as_json:
        echo_json(explanation.to_dict())
    else:
        click.echo(render_explanation(explanation, engine.document, lang))
        click.echo(policy_line(lang))
    sys.exit(0 if explanation.decision.allowed else EXIT_DENIED)


def render_explanation(explanation: Explanation, doc: PolicyDocument, lang: str) -> str:
    """An explanation as text: one line per stage, then the decision and what is still needed."""
    zh = lang == "zh"
    pick = 0 if zh else 1
    labels = {r.id: (r.zh, r.en) for r in doc.roles}
    d = explanation.decision
    lines = []
    for stage in explanation.stages:
        lines.extend(_stage_lines(stage, doc, labels, pick))
    head = ("允许" if zh else "ALLOWED") if d.allowed else ("拒绝" if zh else "DENIED")
    lines.append(f"{'结论' if zh else 'decision'}: {head}  ({d.policy_version})")
    if d.allowed:
        if d.obligations:
            lines.append(f"  {'须履行' if zh else 'obligations'}: {Labels.of(doc).names('obligations', d.obligations, lang)}")
        return "\n".join(lines)

    needs: list[str] = []
    for stage in explanation.stages:
        if stage.passed or stage.name not in ("consent", "evidence", "retention"):
            continue
        for r in stage.reasons:
            needs.append(r.message if zh else r.message_en)
    for step in d.missing_approvals:
        needs.append(("审批：" if zh else "an approval by ") + ("或" if zh else " or ").join(labels.get(x, (x, x))[pick] for x in step))
    blockers = [s for s in explanation.stages if not s.passed and s.name not in _OBTAINABLE]
    if needs:
        lines.append("尚需：" if zh else "still needed:")
        lines.extend(f"  - {n}" for n in needs)
    if blockers:
        lines.append("不能靠补充材料解决：" if zh else "not solved by bringing more:")
        for s in blockers:
            lines.append(f"  - {STAGE_NAMES.get(s.name, (s.name, s.name))[pick]}")
    return "\n".join(lines)


def _stage_lines(stage: Stage, doc: PolicyDocument, labels: dict[str, tuple[str, str]], pick: int) -> list[str]:
    name = STAGE_NAMES.get(stage.name, (stage.name, stage.name))[pick]
    target = stage.target
    what = _target_label(stage.name, target, doc, labels, pick)
    if what:
        target = f"{target} ({what})"
    head = f"{'✓' if stage.passed else '✗'} {name}  {target}".rstrip()
    if stage.approver:
        head += f"  {'审批人' if pick == 0 else 'approved by'} `{stage.approver}`"
    out = [head]
    for r in stage.reasons:
        out.append(f"    {r.rule} {r.code} [{r.clause}] {r.message if pick == 0 else r.message_en}")
    return out


_STEP = re.compile(r"^(?:approvals\[(\d+)\]\.steps|purposes\[(\d+)\]\.approvals\.steps|classification\.steps\.([a-z0-9_-]+))\[(\d+)\]$")
_GRANT = re.compile(r"^grants\[(\d+)\]$")


def _target_label(name: str, target: str, doc: PolicyDocument, labels: dict[str, tuple[str, str]], pick: int) -> str:
    """What a stage's target is, in words: the roles of a step, the rule of a grant, an org."""
    if name in ("org_scope", "purpose"):
        section = doc.orgs if name == "org_scope" else doc.purposes
        named = {x.id: (x.zh, x.en) for x in section if x.id == target}
        return named[target][pick] if target in named else ""
    try:
        grant = _GRANT.match(target)
        if grant:
            g = doc.grants[int(grant.group(1))]
            return g.rule
        m = _STEP.match(target)
        if not m:
            return ""
        n = int(m.group(4))
        step: Step
        if m.group(1) is not None:
            step = doc.approvals[int(m.group(1))].steps[n]
        elif m.group(2) is not None:
            chain = doc.purposes[int(m.group(2))].approvals
            if chain is None:
                return ""
            step = chain.steps[n]
        else:
            step = doc.classification.steps[m.group(3)][n]
        return ("或" if pick == 0 else " or ").join(labels.get(x, (x, x))[pick] for x in step.roles)
    except (IndexError, KeyError):  # a path that does not resolve: show it bare
        return ""
