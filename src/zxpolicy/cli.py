"""The ``zxpolicy`` command: wires flags to the library, prints, and sets the exit code.

Exit codes: 0 allowed (or valid), 1 denied (or invalid policy), 2 usage or policy error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from ._bundled import model_conf, resolve_policy_dir
from ._decision import Decision
from ._engine import KEYWORDS, REQUEST_FIELDS, Engine
from ._errors import PolicyError
from ._hints import hint
from ._loader import load_policy

EXIT_DENIED = 1
EXIT_ERROR = 2

_POLICY_HELP = "Policy directory. Default: $ZXPOLICY_POLICY_DIR, else ./policies if it exists, else the bundled policy."


def _engine(policy: str | None) -> Engine:
    directory, why = resolve_policy_dir(policy, look_in_cwd=True)
    click.echo(f"policy: {directory} ({why})", err=True)
    try:
        return Engine.from_directory(directory, model_conf())
    except PolicyError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_ERROR)


def _read_json(source: str, what: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.UsageError(f"{what} `{source}`: {exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="zxpolicy")
def main() -> None:
    """zxpolicy: authorization for credit-information (征信) access, with reasons.

    \b
    Example:
      zxpolicy check examples/query-allowed.json
      zxpolicy validate policies
    """


@main.command()
@click.argument("request", required=False)
@click.option("--policy", type=click.Path(), help=_POLICY_HELP)
@click.option("--subject", help="Subject id from the policy's assignments (or a JSON object).")
@click.option("--resource-id", default="resource", show_default=True, help="Resource id.")
@click.option("--kind", help="Resource kind, e.g. credit_report.")
@click.option("--level", help="Resource level: ordinary, confidential, top_secret.")
@click.option("--org", help="The resource's organisation.")
@click.option("--customer", help="The resource's customer id.")
@click.option("--retention-until", help="The resource's retention end (ISO 8601 with offset).")
@click.option("--purpose", help="Purpose, e.g. loan_review.")
@click.option("--action", help="Action (default: query).")
@click.option("--consent", "consent_file", metavar="FILE|JSON", help="The customer's written authorization: a JSON file or inline JSON.")
@click.option("--approval", "approval_files", multiple=True, metavar="FILE|JSON", help="One approval, a JSON file or inline JSON; repeatable, added to the request's.")
@click.option("--evidence", multiple=True, metavar="KEY=VALUE", help="Evidence, e.g. case_id=D-1 (repeatable).")
@click.option("--at", help="Time of the request (ISO 8601 with offset; default now).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of the messages.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def check(request: str | None, policy: str | None, **flags: Any) -> None:
    """Decide one request, given as JSON (a file, or - for stdin) or by flags.

    The JSON has check()'s fields: subject (an id or an object), resource, purpose, action,
    consent, approvals, evidence, at (see the README). Flags override its fields; --approval and
    --evidence add to them.

    \b
    Example:
      zxpolicy check examples/query-allowed.json
      zxpolicy check --subject u-query-east1 --kind credit_report --level ordinary \\
          --org east-1 --customer c-1001 --purpose loan_review --lang en \\
          --consent '{"customer_id": "c-1001", "purposes": ["loan_review"],
                      "signed_at": "2026-11-01T09:00:00+08:00"}'
    """
    lang, as_json = flags.pop("lang"), flags.pop("as_json")
    if request is None and not any(flags[f] for f in flags if f != "resource_id"):
        raise click.UsageError("no request: give a JSON file, - to read standard input, or flags (see --help)")
    body = _read_json(request, "request") if request else {}
    if not isinstance(body, dict):
        raise click.UsageError("the request JSON must be an object")
    unknown = sorted(set(body) - set(REQUEST_FIELDS))
    if unknown:
        raise click.UsageError(f"the request JSON has an unknown field `{unknown[0]}`; {hint(unknown[0], REQUEST_FIELDS)}")
    _apply_flags(body, flags)
    engine = _engine(policy)
    args = {k: body[k] for k in KEYWORDS if k in body}
    decision = engine.check(body.get("subject"), body.get("resource"), body.get("purpose"), **args)
    if as_json:
        click.echo(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    else:
        labels = {r.id: (r.zh, r.en) for r in engine.document.roles}
        click.echo(render(decision, lang, labels))
    sys.exit(0 if decision.allowed else EXIT_DENIED)


def _apply_flags(body: dict[str, Any], flags: dict[str, Any]) -> None:
    if flags["subject"]:
        subject = flags["subject"]
        body["subject"] = _read_json_text(subject, "--subject") if subject.lstrip().startswith("{") else subject
    resource = body.get("resource") if isinstance(body.get("resource"), dict) else None
    fields = {"kind": "kind", "level": "level", "org": "org", "customer": "customer_id", "retention_until": "retention_until"}
    if any(flags[f] for f in fields):
        resource = dict(resource or {"id": flags["resource_id"]})
        for flag, name in fields.items():
            if flags[flag] is not None:
                resource[name] = flags[flag]
        body["resource"] = resource
    for name in ("purpose", "action", "at"):
        if flags[name] is not None:
            body[name] = flags[name]
    if flags["consent_file"]:
        body["consent"] = _file_or_json(flags["consent_file"], "--consent")
    if flags["approval_files"]:
        given = body.get("approvals")
        given = list(given) if isinstance(given, list) else []
        body["approvals"] = given + [_file_or_json(f, "--approval") for f in flags["approval_files"]]
    for item in flags["evidence"]:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--evidence `{item}`: expected KEY=VALUE")
        evidence = body.setdefault("evidence", {})
        if not isinstance(evidence, dict):
            raise click.UsageError("the request JSON's `evidence` must be an object to add --evidence to it")
        evidence[key] = value


def _file_or_json(value: str, what: str) -> Any:
    return _read_json_text(value, what) if value.lstrip().startswith("{") else _read_json(value, what)


def _read_json_text(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"{what}: {exc}") from None


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


@main.command()
@click.argument("directory", required=False, type=click.Path())
def validate(directory: str | None) -> None:
    """Check a policy directory; print every problem with its file, line and column.

    DIRECTORY defaults to $ZXPOLICY_POLICY_DIR, else ./policies if it exists, else the bundled
    policy. Exit 0 when it loads, 1 when it does not.

    \b
    Example:
      zxpolicy validate policies
    """
    path, why = resolve_policy_dir(directory, look_in_cwd=True)
    click.echo(f"policy: {path} ({why})", err=True)
    try:
        loaded = load_policy(path)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        click.echo(f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}", err=True)
        sys.exit(1)
    doc = loaded.document
    click.echo(
        f"ok: {len(doc.grants)} grants, {len(doc.approvals)} approval rules, {len(doc.purposes)} purposes, "
        f"{len(doc.roles)} roles, {len(doc.orgs)} orgs, {len(doc.assignments)} assignments ({loaded.version})"
    )
