"""``zxpolicy validate``: load a policy directory and list every problem."""

from __future__ import annotations

import sys

import click

from .._errors import PolicyError
from .._loader import load_policy
from . import main
from ._common import policy_dir


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
    path = policy_dir(directory)
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
