"""``zxpolicy verify``: check a policy's invariants on generated requests."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import main
from ._common import (
    EXIT_DENIED,
    EXIT_ERROR,
    echo_json,
    fail,
    json_option,
    lang_option,
    load_engine,
    policy_line,
)


@main.command()
@click.argument("directory", required=False, type=click.Path())
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated requests: the same seed, the same run.")
@click.option("--max-examples", type=click.IntRange(min=1), default=200, show_default=True, help="Requests generated per invariant.")
@click.option("--only", multiple=True, metavar="ID", help="Check only this invariant (repeatable).")
@click.option("--junit", type=click.Path(dir_okay=False), help="Also write the results as JUnit XML to this file.")
@lang_option
@json_option
def verify(directory: str | None, seed: int, max_examples: int, only: tuple[str, ...], junit: str | None, lang: str, as_json: bool) -> None:
    """Check every invariant of the policy's invariants.yaml on generated requests.

    A failure prints the invariant's id and clause and the smallest request found that breaks
    it, as JSON that `zxpolicy check` reads. The run is reproducible: the same policy, seed and
    --max-examples give the same result. Exit 0 when every invariant holds, 1 when one does not,
    2 when the policy does not load or has no invariants. Needs zxpolicy[testing].

    \b
    Example:
      zxpolicy verify policies
      zxpolicy verify policies --seed 7 --max-examples 500 --junit verify.xml
    """
    try:
        from ..testing import verify as run
    except ImportError:
        click.echo("zxpolicy verify needs hypothesis: pip install 'zxpolicy[testing]' (from a checkout: pip install '.[testing]')", err=True)
        sys.exit(EXIT_ERROR)
    engine = load_engine(directory)
    known = [inv.id for inv in engine.document.invariants]
    if not known:
        click.echo(f"no invariants in `{engine.policy_dir}`; add an `invariants` section (invariants.yaml)", err=True)
        sys.exit(EXIT_ERROR)
    unknown = [i for i in only if i not in known]
    if unknown:
        raise click.UsageError(f"--only `{unknown[0]}` is not an invariant of the policy")
    report = run(engine, seed=seed, max_examples=max_examples, only=only or None)
    if junit:
        try:
            Path(junit).write_text(report.junit_xml(), encoding="utf-8")
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            fail(f"--junit `{junit}`：无法写入（{reason}）", f"--junit `{junit}`: cannot write it ({reason})")
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.render_text(lang))
        click.echo(policy_line(lang))
    sys.exit(0 if report.passed else EXIT_DENIED)
