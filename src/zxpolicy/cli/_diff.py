"""``zxpolicy diff``: what a policy change widens or narrows, class by class."""

from __future__ import annotations

import dataclasses
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
from ._common import (
    EXIT_DENIED,
    EXIT_ERROR,
    describe,
    echo_json,
    fail,
    json_option,
    lang_option,
    policy_crashed,
    policy_error_text,
)


def _load(spec: str, scratch: Path, name: str, lang: str) -> Engine:
    """A policy directory, or ``REV:PATH`` of the git repository around the working directory.

    What cannot be read is one line and exit 2 (never 1, which reads as "widened"): neither a
    directory nor ``REV:PATH``, a revision git refuses or a tree entry that is not a plain file
    name (``RevisionError``), a file that cannot be written, or loading that raises anything
    but ``PolicyError`` (which the caller prints with its problems)."""
    path = Path(spec)
    if not path.is_dir():
        if ":" not in spec:
            fail(f"`{spec}` 既不是目录，也不是 REV:PATH", f"`{spec}` is neither a directory nor REV:PATH", lang)
        try:
            path = export_revision(spec, scratch / name)
        except RevisionError as exc:
            fail(f"无法读取该版本：{exc}", str(exc), lang)
        except OSError as exc:
            what = describe(exc)
            fail(f"无法读取 `{spec}`：{what}", f"`{spec}`: cannot export it: {what}", lang)
    try:
        return load(path)
    except PolicyError as exc:
        if path.is_relative_to(scratch):  # name the revision, not the scratch folder it was exported to
            raise PolicyError([dataclasses.replace(p, file=spec) if p.file == str(path) else p for p in exc.problems]) from None
        raise
    except Exception as exc:
        policy_crashed(spec, exc, lang)


@main.command()
@click.argument("old")
@click.argument("new")
@click.option("--allow-widening", is_flag=True, help="Exit 0 even when the change widens access.")
@click.option("--all-role-sets", is_flag=True, help="List the classes of role sets no one in the assignments holds too.")
@click.option(
    "--max-classes", type=click.IntRange(min=1), default=MAX_CLASSES, show_default=True,
    help="Refuse (exit 2) a decision space larger than this rather than sample it.",
)
@lang_option
@json_option
def diff(old: str, new: str, allow_widening: bool, all_role_sets: bool, max_classes: int, lang: str, as_json: bool) -> None:
    """Compare two policies request class by request class; print what widened or narrowed.

    OLD and NEW are policy directories, or REV:PATH for a directory at a git revision of the
    repository the command runs in. Every class of request (roles, action, kind, purpose,
    level, organisation, consent, evidence, retention) is decided by both policies: the
    comparison is exact, never sampled. Markdown for a pull-request comment, or --json.
    Listed are the classes whose role set is one role or within some user's roles in either
    policy; the others are counted (--all-role-sets lists them), and still count as widened.

    Exit 0 when nothing widened, 1 when something did (unless --allow-widening), 2 when a policy
    does not load or the space is too large to enumerate.

    \b
    Example:
      zxpolicy diff main:policies policies
      zxpolicy diff old-policies policies --lang en --json
    """
    try:
        with tempfile.TemporaryDirectory(prefix="zxpolicy-diff-") as tmp:
            engines = _load(old, Path(tmp), "old", lang), _load(new, Path(tmp), "new", lang)
            result = diff_policies(*engines, max_classes=max_classes)
    except PolicyError as exc:
        click.echo(policy_error_text(exc, lang), err=True)
        sys.exit(EXIT_ERROR)
    except DiffError as exc:
        fail(f"无法比较：{exc}", str(exc), lang)
    except OSError as exc:  # the scratch folder cannot be made or removed
        what = describe(exc)
        fail(f"无法比较：临时目录出错：{what}", f"cannot compare: the scratch folder: {what}", lang)
    # Any other exception is the command group's: one line, exit 2 (never 1, "widened").
    # Which two policies answered: each as named on the command line, with its version.
    policies = {
        side: {"spec": spec, "dir": str(e.policy_dir.resolve()) if Path(spec).is_dir() else "", "version": e.policy_version}
        for side, spec, e in (("old", old, engines[0]), ("new", new, engines[1]))
    }
    if as_json:
        echo_json({**diff_to_json(result, old, new, all_role_sets), "policies": policies})
    else:
        levels = list(dict.fromkeys([lv.id for e in engines for lv in e.document.levels]))
        click.echo(render_markdown(result, old, new, lang, levels, all_role_sets), nl=False)
        click.echo("")
        for side, zh, en in (("old", "旧策略", "old policy"), ("new", "新策略", "new policy")):
            p = policies[side]
            click.echo(f"{en}: {p['spec']}, version {p['version']}" if lang == "en" else f"{zh}：{p['spec']}，版本 {p['version']}")
    sys.exit(EXIT_DENIED if result.widened and not allow_widening else 0)
