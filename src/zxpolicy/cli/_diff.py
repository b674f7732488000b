"""``zxpolicy diff``: what a policy change widens or narrows, class by class."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from .._default import load
from .._errors import DiffError, PolicyError, RevisionError
from ..compliance import (
    MAX_CLASSES,
    diff_policies,
    diff_to_json,
    export_revision,
    render_markdown,
)
from ..decide import Engine
from . import main
from ._common import EXIT_DENIED, EXIT_ERROR, echo_json, json_option, lang_option


def _load(spec: str, scratch: Path, name: str) -> Engine:
    """A policy directory, or ``REV:PATH`` of the git repository around the working directory."""
    path = Path(spec)
    if not path.is_dir():
        if ":" not in spec:
            raise click.UsageError(f"`{spec}` is neither a directory nor REV:PATH")
        path = export_revision(spec, scratch / name)
    return load(path)


@main.command()
@click.argument("old")
@click.argument("new")
@click.option("--allow-widening", is_flag=True, help="Exit 0 even when the change widens access.")
@click.option(
    "--max-classes", type=click.IntRange(min=1), default=MAX_CLASSES, show_default=True,
    help="Refuse (exit 2) a decision space larger than this rather than sample it.",
)
@lang_option
@json_option
def diff(old: str, new: str, allow_widening: bool, max_classes: int, lang: str, as_json: bool) -> None:
    """Compare two policies request class by request class; print what widened or narrowed.

    OLD and NEW are policy directories, or REV:PATH for a directory at a git revision of the
    repository the command runs in. Every class of request (roles, action, kind, purpose,
    level, organisation, consent, evidence, retention) is decided by both policies: the
    comparison is exact, never sampled. Markdown for a pull-request comment, or --json.

    Exit 0 when nothing widened, 1 when something did (unless --allow-widening), 2 when a policy
    does not load or the space is too large to enumerate.

    \b
    Example:
      zxpolicy diff main:policies policies
      zxpolicy diff old-policies policies --lang en --json
    """
    try:
        with tempfile.TemporaryDirectory(prefix="zxpolicy-diff-") as tmp:
            engines = _load(old, Path(tmp), "old"), _load(new, Path(tmp), "new")
            result = diff_policies(*engines, max_classes=max_classes)
    except PolicyError as exc:
        click.echo(exc.text(lang), err=True)
        sys.exit(EXIT_ERROR)
    except (DiffError, RevisionError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_ERROR)
    if as_json:
        echo_json(diff_to_json(result, old, new))
    else:
        levels = list(dict.fromkeys([lv.id for e in engines for lv in e.document.levels]))
        click.echo(render_markdown(result, old, new, lang, levels), nl=False)
    sys.exit(EXIT_DENIED if result.widened and not allow_widening else 0)
