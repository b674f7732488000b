"""``zxpolicy explain``: the same request as ``check``, with every stage it passed through."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..compliance import STAGE_NAMES, still_needed, target_label
from ..decide import KEYWORDS, Explanation, Stage
from ..policy import Labels, PolicyDocument
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
    d = explanation.decision
    lines = []
    for stage in explanation.stages:
        lines.extend(_stage_lines(stage, doc, lang))
    head = ("允许" if zh else "ALLOWED") if d.allowed else ("拒绝" if zh else "DENIED")
    lines.append(f"{'结论' if zh else 'decision'}: {head}  ({d.policy_version})")
    if d.allowed:
        if d.obligations:
            lines.append(f"  {'须履行' if zh else 'obligations'}: {Labels.of(doc).names('obligations', d.obligations, lang)}")
        return "\n".join(lines)

    still = still_needed(explanation, doc, lang)
    if still.needs:
        lines.append("尚需：" if zh else "still needed:")
        lines.extend(f"  - {n}" for n in still.needs)
    if still.blockers:
        lines.append("不能靠补充材料解决：" if zh else "not solved by bringing more:")
        lines.extend(f"  - {b}" for b in still.blockers)
    return "\n".join(lines)


def _stage_lines(stage: Stage, doc: PolicyDocument, lang: str) -> list[str]:
    pick = 0 if lang == "zh" else 1
    name = STAGE_NAMES.get(stage.name, (stage.name, stage.name))[pick]
    target = stage.target
    what = target_label(stage.name, target, doc, lang)
    if what:
        target = f"{target} ({what})"
    head = f"{'✓' if stage.passed else '✗'} {name}  {target}".rstrip()
    if stage.approver:
        head += f"  {'审批人' if pick == 0 else 'approved by'} `{stage.approver}`"
    out = [head]
    for r in stage.reasons:
        out.append(f"    {r.rule} {r.code} [{r.clause}] {r.message if pick == 0 else r.message_en}")
    return out
