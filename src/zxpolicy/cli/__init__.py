"""The ``zxpolicy`` command. Each command wires its flags to the library, prints, and sets the
exit code; one module per command.

Exit codes: 0 allowed (or valid, or passed), 1 denied (or invalid, or failed), 2 usage error or a
policy that does not load. Every failure is one line on stderr, never a traceback (``Group``).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

import click

from .. import __version__
from ._common import EXIT_ERROR, describe, one_line

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


def _say(lang: str | None, zh: str, en: str) -> None:
    """One line on stderr: in ``lang``, or, when the language is not known, Chinese then English."""
    line = zh if lang == "zh" else en if lang == "en" else f"{zh} / {en}"
    click.echo(one_line(line), err=True)


def _lang(ctx: click.Context) -> str | None:
    lang = ctx.params.get("lang")
    return lang if lang in ("zh", "en") else None


def _guarded(ctx: click.Context, run: Callable[[], Any]) -> Any:
    """``run()``, with what escapes it turned into one line on stderr and an exit code.

    click's own exceptions (a usage error found while parsing, ``Exit``, ``Abort``) and
    ``SystemExit`` pass through; a broken pipe is left to click. Ctrl-C is one line, exit 130;
    anything else is ``内部错误：Type: message``, exit 2, never a traceback.
    """
    try:
        return run()
    except (click.exceptions.Exit, click.ClickException, click.Abort):
        raise
    except KeyboardInterrupt:
        _say(_lang(ctx), "已中断", "interrupted")
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            raise  # click quiets a closed stdout (`zxpolicy ... | head`)
        what = describe(exc)
        _say(_lang(ctx), f"内部错误：{what}", f"internal error: {what}")
        raise click.exceptions.Exit(EXIT_ERROR) from None


class Command(click.Command):
    """A command whose failures are one line: a ``UsageError`` its own code raises about its
    input (a file that cannot be read, a value that does not fit) is printed as one line, exit 2
    (click's usage errors from parsing the command line keep click's form); any other exception
    is caught by ``_guarded`` while the command's ``--lang`` is still known."""

    def invoke(self, ctx: click.Context) -> Any:
        def run() -> Any:
            try:
                return super(Command, self).invoke(ctx)
            except click.UsageError as exc:
                message = exc.format_message()
                _say(_lang(ctx) or "zh", f"错误：{message}", f"error: {message}")
                raise click.exceptions.Exit(EXIT_ERROR) from None

        return _guarded(ctx, run)


class Group(click.Group):
    """The ``zxpolicy`` group (and ``zxpolicy log``): its commands are ``Command``s, and whatever
    escapes a command, or the parsing of its options, is one line and exit 2 (``_guarded``)."""

    command_class = Command
    group_class = type  # a subgroup is a Group too

    def invoke(self, ctx: click.Context) -> Any:
        return _guarded(ctx, lambda: super(Group, self).invoke(ctx))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="zxpolicy")
def main() -> None:
    """zxpolicy: authorization for credit-information (征信) access, with reasons.

    \b
    Example:
      zxpolicy check examples/query-allowed.json
      zxpolicy explain --lang en examples/query-denied.json
      zxpolicy validate policies
      zxpolicy test policies --coverage
      zxpolicy diff main:policies policies
      zxpolicy verify policies
      zxpolicy schema policies
      zxpolicy policy publish policies --store sqlite:///policy-store.db -m "说明" --by 张三
      zxpolicy console demo
    """


# Each module adds its command to `main`.
from . import _check, _console, _diff, _explain, _lint, _log, _policy, _reverse, _schema, _serve, _test, _validate, _verify  # noqa: E402,F401

__all__ = ["main"]
