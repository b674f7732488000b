"""``zxpolicy check``: decide one request and print the decision with its reasons."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..decide import KEYWORDS, Decision
from . import main
from ._common import (
    EXIT_DENIED,
    POLICY_HELP,
    echo_json,
    json_option,
    lang_option,
    load_engine,
    open_log_or_exit,
)
from ._request_input import read_request_input, request_options


@main.command()
@click.option("--policy", type=click.Path(), help=POLICY_HELP)
@click.option("--log", "log_target", metavar="PATH|URL", help="Write the decision to this decision log (a SQLite file, or a postgresql:// URL).")
@request_options
@lang_option
@json_option
def check(request: str | None, policy: str | None, log_target: str | None, **flags: Any) -> None:
    """Decide one request, given as JSON (a file, or - for stdin) or by flags.

    The JSON has check()'s fields: subject (an id or an object), resource, purpose, action,
    consent, approvals, evidence, at (see the README). Flags override its fields; --approval and
    --evidence add to them.

    \b
    Example:
      zxpolicy check examples/query-allowed.json
      zxpolicy check --log decisions.db examples/query-allowed.json
      zxpolicy check --subject u-query-east1 --kind credit_report --level ordinary \\
          --org east-1 --customer c-1001 --purpose loan_review --lang en \\
          --consent '{"customer_id": "c-1001", "purposes": ["loan_review"],
                      "signed_at": "2026-11-01T09:00:00+08:00"}'
    """
    lang, as_json = flags.pop("lang"), flags.pop("as_json")
    body = read_request_input(request, flags)
    store = open_log_or_exit(log_target, lang) if log_target else None
    try:
        engine = load_engine(policy, store)
        args = {k: body[k] for k in KEYWORDS if k in body}
        decision = engine.check(body.get("subject"), body.get("resource"), body.get("purpose"), **args)
    finally:
        if store is not None:
            store.close()
    if as_json:
        echo_json(decision.to_dict())
    else:
        labels = {r.id: (r.zh, r.en) for r in engine.document.roles}
        click.echo(render(decision, lang, labels))
    sys.exit(0 if decision.allowed else EXIT_DENIED)


def render(decision: Decision, lang: str, role_labels: dict[str, tuple[str, str]] | None = None) -> str:
    """A decision as text for a person."""
    labels = role_labels or {}
    pick = 0 if lang == "zh" else 1
    zh = lang == "zh"
    head = ("允许" if zh else "ALLOWED") if decision.allowed else ("拒绝" if zh else "DENIED")
    lines = [f"{head}  ({decision.policy_version})"]
    mark = "+" if decision.allowed else "-"
    for r in decision.reasons:
        lines.append(f"  {mark} {r.rule} {r.code} [{r.clause}] {r.message if zh else r.message_en}")
    if decision.missing_approvals:
        label = "尚缺审批" if zh else "missing approvals"
        steps = [
            ("或" if pick == 0 else " or ").join(labels.get(role, (role, role))[pick] for role in step)
            for step in decision.missing_approvals
        ]
        lines.append(f"  {label}: " + "; ".join(steps))
    if decision.obligations:
        lines.append(f"  {'须履行' if zh else 'obligations'}: {', '.join(decision.obligations)}")
    return "\n".join(lines)


