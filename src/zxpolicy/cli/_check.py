"""``zxpolicy check``: decide one request and print the decision with its reasons; or, with
``--batch``, many requests, one JSON decision a line (``_batch``)."""

from __future__ import annotations

import sys
from typing import Any, BinaryIO

import click

from ..decide import KEYWORDS, Decision, Engine
from ..policy import Labels
from . import main
from ._batch import BatchRefused, TextAsBytes, batch_items, json_line
from ._common import (
    EXIT_DENIED,
    POLICY_HELP,
    echo_json,
    fail,
    json_option,
    lang_option,
    load_engine,
    open_log_or_exit,
    policy_line,
)
from ._request_input import REQUEST_FLAGS, read_request_input, request_options


@main.command()
@click.option("--policy", type=click.Path(), help=POLICY_HELP)
@click.option("--log", "log_target", metavar="PATH|URL", help="Write the decision to this decision log (a SQLite file, or a postgresql:// URL).")
@click.option("--batch", metavar="FILE|-", help="Decide many requests: JSON lines (or one JSON array) of request objects; one JSON decision a line, in order (see above).")
@request_options
@lang_option
@json_option
def check(request: str | None, policy: str | None, log_target: str | None, batch: str | None, **flags: Any) -> None:
    """Decide one request, given as JSON (a file, or - for stdin) or by flags.

    The JSON has check()'s fields: subject (an id or an object), resource, purpose, action,
    consent, approvals, evidence, at (see the README). Flags override its fields; --approval and
    --evidence add to them.

    With --batch FILE (or - for stdin), the input is many such requests: one JSON object a line
    (blank lines skipped; a line at most 1,000,000 bytes), or one JSON array of them (at most
    64,000,000 bytes); at most 1,000,000 requests. The output is one line of JSON per request,
    in order: its decision, as --json prints it (without `policy`: the policy is named on
    stderr, its version is in each decision). A line that check would refuse as a usage error
    (not JSON, not an object, an unknown field, too long) does not end the batch: its line is
    {"allowed": false, "error": {"code", "message", "message_en", "line"}} ("item" in an array).
    A request whose fields cannot be read is a deny, as in check. Exit 0 if every request is
    allowed, 1 if any is denied or is an error line, 2 if the input cannot be read at all.

    \b
    Example:
      zxpolicy check examples/query-allowed.json
      zxpolicy check --log decisions.db examples/query-allowed.json
      zxpolicy check --subject u-query-east1 --kind credit_report --level ordinary \\
          --org east-1 --customer c-1001 --purpose loan_review --lang en \\
          --consent '{"customer_id": "c-1001", "purposes": ["loan_review"],
                      "signed_at": "2026-11-01T09:00:00+08:00"}'
      zxpolicy check --batch requests.jsonl > decisions.jsonl
    """
    lang, as_json = flags.pop("lang"), flags.pop("as_json")
    if batch is not None:
        if request is not None or flags["resource_id"] != "resource" or any(
            flags[f] for f in REQUEST_FLAGS if f != "resource_id"
        ):
            raise click.UsageError("--batch reads every request from its input: give no REQUEST or request flags with it")
        check_batch(batch, policy, log_target, lang)
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
        click.echo(render(decision, lang, Labels.of(engine.document)))
        click.echo(policy_line(lang))
    sys.exit(0 if decision.allowed else EXIT_DENIED)


def check_batch(source: str, policy: str | None, log_target: str | None, lang: str) -> None:
    """``check --batch``: every request of ``source`` decided and written as it is read."""
    stream = _open_batch(source, lang)
    store = open_log_or_exit(log_target, lang) if log_target else None
    all_allowed = True
    try:
        engine = load_engine(policy, store)
        try:
            for item in batch_items(stream):
                if isinstance(item, tuple):
                    allowed, data = _decide(engine, item[1])
                else:
                    allowed, data = False, item.to_dict()
                all_allowed &= allowed
                click.echo(json_line(data))
        except BatchRefused as exc:
            fail(f"批量请求 `{source}`：{exc.zh}", f"batch `{source}`: {exc}", lang)
    finally:
        if source != "-":
            stream.close()
        if store is not None:
            store.close()
    sys.exit(0 if all_allowed else EXIT_DENIED)


def _decide(engine: Engine, body: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    args = {k: body[k] for k in KEYWORDS if k in body}
    decision = engine.check(body.get("subject"), body.get("resource"), body.get("purpose"), **args)
    return decision.allowed, decision.to_dict()


def _open_batch(source: str, lang: str) -> Any:
    """The batch's bytes: the file, or standard input for ``-``. One that cannot be opened is one
    line, exit 2."""
    if source == "-":
        stream: BinaryIO | None = getattr(sys.stdin, "buffer", None)
        return stream if stream is not None else TextAsBytes(sys.stdin)
    try:
        return open(source, "rb")  # closed by check_batch
    except OSError as exc:
        what = (exc.strerror or type(exc).__name__).lower()
        fail(f"批量请求 `{source}`：{what}", f"batch `{source}`: {what}", lang)
    except ValueError as exc:  # a path with a NUL in it
        fail(f"批量请求 `{source}`：{exc}", f"batch `{source}`: {exc}", lang)


def render(decision: Decision, lang: str, labels: Labels | None = None) -> str:
    """A decision as text for a person: roles and obligations by their labels, the id beside."""
    names = labels or Labels()
    zh = lang == "zh"
    head = ("允许" if zh else "ALLOWED") if decision.allowed else ("拒绝" if zh else "DENIED")
    lines = [f"{head}  ({decision.policy_version})"]
    mark = "+" if decision.allowed else "-"
    for r in decision.reasons:
        lines.append(f"  {mark} {r.rule} {r.code} [{r.clause}] {r.message if zh else r.message_en}")
    if decision.missing_approvals:
        label = "尚缺审批" if zh else "missing approvals"
        steps = [names.names("roles", step, lang, "或" if zh else " or ") for step in decision.missing_approvals]
        lines.append(f"  {label}: " + "; ".join(steps))
    if decision.obligations:
        lines.append(f"  {'须履行' if zh else 'obligations'}: {names.names('obligations', decision.obligations, lang)}")
    return "\n".join(lines)
