"""``zxpolicy validate``: load a policy directory and list every problem."""

from __future__ import annotations

import sys

import click

from .._default import load
from .._errors import PolicyError
from . import main
from ._common import (
    loaded_version,
    policy_line,
    EXIT_DENIED,
    echo_json,
    json_option,
    lang_option,
    policy_crashed,
    policy_dir,
)


@main.command()
@click.argument("directory", required=False, type=click.Path())
@lang_option
@json_option
def validate(directory: str | None, lang: str, as_json: bool) -> None:
    """Check a policy directory; print every problem with its file, line and column.

    DIRECTORY defaults to $ZXPOLICY_POLICY_DIR, else ./policies if it exists, else the bundled
    policy. Exit 0 when it loads, 1 when it does not (2 when loading fails on something other
    than the policy's content, e.g. a file that cannot be read). Each problem is printed as
    `file:line:column: path: message` in --lang (Chinese by default); --json gives each one's
    `code`, `message` (Chinese), `message_en`, `file`, `line`, `column` and `path`.

    \b
    Example:
      zxpolicy validate policies
      zxpolicy validate --lang en --json policies
    """
    path = policy_dir(directory, must_be_a_directory=False)  # not a directory: a problem, exit 1
    try:
        engine = load(path)  # what `zxpolicy.load` does, compiling included: the two never disagree
    except PolicyError as exc:
        if as_json:
            echo_json({"ok": False, "problems": [p.to_dict() for p in exc.problems]})
        else:
            for problem in exc.problems:
                click.echo(problem.text(lang))
            n = len(exc.problems)
            click.echo(f"{n} 个问题" if lang == "zh" else f"{n} problem{'s' if n != 1 else ''}", err=True)
        sys.exit(EXIT_DENIED)
    except Exception as exc:
        policy_crashed(path, exc, lang)
    loaded_version(engine.policy_version)
    doc = engine.document
    counts = {
        "grants": len(doc.grants),
        "approvals": len(doc.approvals),
        "purposes": len(doc.purposes),
        "roles": len(doc.roles),
        "orgs": len(doc.orgs),
        "assignments": len(doc.assignments),
    }
    if as_json:
        echo_json({"ok": True, "policy_version": engine.policy_version, "counts": counts})
    elif lang == "zh":
        click.echo(
            f"有效：授权 {counts['grants']} 条，审批规则 {counts['approvals']} 条，用途 {counts['purposes']} 个，"
            f"角色 {counts['roles']} 个，机构 {counts['orgs']} 个，用户 {counts['assignments']} 个（{engine.policy_version}）"
        )
    else:
        click.echo(
            f"ok: {counts['grants']} grants, {counts['approvals']} approval rules, {counts['purposes']} purposes, "
            f"{counts['roles']} roles, {counts['orgs']} orgs, {counts['assignments']} assignments ({engine.policy_version})"
        )
    if not as_json:
        click.echo(policy_line(lang))
