"""The request a command decides: a JSON file (or standard input) and flags that override it.

``check`` and ``explain`` take the same request, so they share these options.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .._hints import clip, hint
from ..decide import FIELD_NAMES
from ._common import file_or_json, read_json, read_json_text

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.argument("request", required=False),
    click.option("--subject", help="Subject id from the policy's assignments (or a JSON object)."),
    click.option("--resource-id", default="resource", show_default=True, help="Resource id."),
    click.option("--kind", help="Resource kind, e.g. credit_report."),
    click.option("--level", help="Resource level: ordinary, confidential, top_secret."),
    click.option("--org", help="The resource's organisation."),
    click.option("--customer", help="The resource's customer id."),
    click.option("--retention-until", help="The resource's retention end (ISO 8601 with offset)."),
    click.option("--purpose", help="Purpose, e.g. loan_review."),
    click.option("--action", help="Action (default: query)."),
    click.option("--consent", "consent_file", metavar="FILE|JSON", help="The customer's written authorization: a JSON file or inline JSON."),
    click.option("--approval", "approval_files", multiple=True, metavar="FILE|JSON", help="One approval, a JSON file or inline JSON; repeatable, added to the request's."),
    click.option("--evidence", multiple=True, metavar="KEY=VALUE", help="Evidence, e.g. case_id=D-1 (repeatable)."),
    click.option("--at", help="Time of the request (ISO 8601 with offset; default now)."),
]


def request_options(f: F) -> F:
    """The REQUEST argument and the request's flags (they arrive in the command's ``**flags``)."""
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


REQUEST_FLAGS = ("subject", "resource_id", "kind", "level", "org", "customer", "retention_until", "purpose",
                 "action", "consent_file", "approval_files", "evidence", "at")


def read_request_input(request: str | None, flags: dict[str, Any]) -> dict[str, Any]:
    """The request as ``check``'s fields by name, from the JSON and the flags."""
    if request is None and not any(flags[f] for f in REQUEST_FLAGS if f != "resource_id"):
        raise click.UsageError("no request: give a JSON file, - to read standard input, or flags (see --help)")
    body = read_json(request, "request") if request else {}
    problem = shape_problem(body)
    if problem is not None:
        raise click.UsageError(problem[1])
    _apply_flags(body, flags)
    return body


def shape_problem(body: Any) -> tuple[str, str, str] | None:
    """Why parsed JSON is not a request — ``(code, English, Chinese)``: not an object
    (``not_an_object``), or a key that is not one of check's fields (``unknown_field``) — or
    None. (What the fields hold is the engine's to read: a bad value is a deny.)"""
    if not isinstance(body, dict):
        return "not_an_object", "the request JSON must be an object", "请求 JSON 须为对象"
    unknown = sorted(set(body) - set(FIELD_NAMES))
    if unknown:
        key = clip(unknown[0])
        return (
            "unknown_field",
            f"the request JSON has an unknown field `{key}`; {hint(key, FIELD_NAMES)}",
            f"请求 JSON 有未知字段`{key}`；{hint(key, FIELD_NAMES, lang='zh')}",
        )
    return None


def _apply_flags(body: dict[str, Any], flags: dict[str, Any]) -> None:
    if flags["subject"]:
        subject = flags["subject"]
        body["subject"] = read_json_text(subject, "--subject") if subject.lstrip().startswith("{") else subject
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
        body["consent"] = file_or_json(flags["consent_file"], "--consent")
    if flags["approval_files"]:
        given = body.get("approvals")
        given = list(given) if isinstance(given, list) else []
        body["approvals"] = given + [file_or_json(f, "--approval") for f in flags["approval_files"]]
    for item in flags["evidence"]:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--evidence `{item}`: expected KEY=VALUE")
        evidence = body.setdefault("evidence", {})
        if not isinstance(evidence, dict):
            raise click.UsageError("the request JSON's `evidence` must be an object to add --evidence to it")
        evidence[key] = value
