"""``zxpolicy lint``: warnings about a policy that loads (what is allowed but probably not meant)."""

from __future__ import annotations

import sys

import click

from .._errors import PolicyError
from ..compliance import lint as lint_policy
from ..policy import load_policy
from . import main
from ._common import (
    loaded_version,
    policy_line,
    EXIT_DENIED,
    EXIT_ERROR,
    echo_json,
    json_option,
    lang_option,
    policy_crashed,
    policy_dir,
    policy_error_text,
)


@main.command()
@click.argument("directory", required=False, type=click.Path())
@click.option("--strict", is_flag=True, help="Exit 1 when there is any warning.")
@lang_option
@json_option
def lint(directory: str | None, strict: bool, lang: str, as_json: bool) -> None:
    """Warn about what a valid policy allows but probably does not mean.

    A role granted nothing, a purpose no role may use, an approval step whose roles no one in
    the assignments holds, an assignment against separation of duties (a role that must stand
    alone held with others; one user able to fill two steps of one chain), one user id shared by
    people or one person holding two ids (细则 第十二条, where an assignment names its `person`),
    a grant that an earlier grant shadows, a grant (or part) that never applies (its role barred
    from the kind by separation of duties, or held by no one), and requests of a grant that no
    set of distinct approvers in the assignments can ever approve (approval_unfillable, naming
    the step). Each warning shows its code and file:line:column.

    Exit 0 (even with warnings), 1 with --strict and any warning, 2 when the policy does not
    load. DIRECTORY defaults as for validate.

    \b
    Example:
      zxpolicy lint policies
      zxpolicy lint --strict --lang en policies
    """
    path = policy_dir(directory)
    try:
        loaded = load_policy(path)
        warnings = lint_policy(loaded)
    except PolicyError as exc:
        click.echo(policy_error_text(exc, lang), err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        policy_crashed(path, exc, lang)
    loaded_version(loaded.version)
    if as_json:
        echo_json({"warnings": [w.to_dict() for w in warnings]})
    else:
        for w in warnings:
            click.echo(w.render(lang))
        n = len(warnings)
        click.echo((f"{n} 条警告" if lang == "zh" else f"{n} warning{'s' if n != 1 else ''}"), err=True)
        click.echo(policy_line(lang))
    sys.exit(EXIT_DENIED if strict and warnings else 0)
