"""``zxpolicy console``: the compliance console; ``console add-user``: an account; ``console demo``.

``zxpolicy.console`` (Starlette, Jinja2, uvicorn, argon2) is imported when one of these runs,
not when ``zxpolicy check`` starts. Every failure is one line on stderr, exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from .._diagnostic import localized
from .._errors import ConsoleError, LogError, PolicyError, StoreError
from . import main
from ._common import EXIT_ERROR, fail, lang_option, one_line, policy_error_text

T = TypeVar("T")

store_option = click.option("--store", "store", envvar="ZXPOLICY_STORE", metavar="URL",
                            help="The policy store (sqlite:///PATH or postgresql://…); the console runs its current version. "
                                 "Default: $ZXPOLICY_STORE.")
log_option = click.option("--log", "log_target", envvar="ZXPOLICY_LOG", metavar="PATH|URL",
                          help="The decision log (SQLite file or postgresql:// URL); the console keeps its accounts, "
                               "review ledger and audit trail beside it. Default: $ZXPOLICY_LOG.")


def _guard(lang: str, work: Callable[[], T]) -> T:
    """``work()``; the errors it may raise are one line in ``lang``, exit 2."""
    try:
        return work()
    except PolicyError as exc:
        click.echo(one_line(policy_error_text(exc, lang)), err=True)
    except (ConsoleError, StoreError, LogError) as exc:
        click.echo(one_line(localized(exc, lang)), err=True)
    except OSError as exc:
        click.echo(one_line(f"{exc.strerror or exc}: {exc.filename or ''}"), err=True)
    sys.exit(EXIT_ERROR)


@main.group("console", invoke_without_command=True)
@store_option
@log_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8282, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="Server certificate (PEM) for HTTPS; cookies are then Secure.")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="Server private key (PEM).")
@click.option("--trusted-header", metavar="NAME", help="A header naming the signed-in user, set by a trusted reverse proxy.")
@click.option("--trusted-proxy", "trusted_proxies", multiple=True, metavar="IP|NET",
              help="A peer whose --trusted-header is believed (repeatable). Default: 127.0.0.1.")
@lang_option
@click.pass_context
def console_command(ctx: click.Context, store: str | None, log_target: str | None, host: str, port: int,
                    tls_cert: str | None, tls_key: str | None, trusted_header: str | None,
                    trusted_proxies: tuple[str, ...], lang: str) -> None:
    """The compliance console in a browser: the policy, trying a request, changes to review and
    approve, the daily check (日核查) to sign off, the monthly and quarterly reports.

    Console users are users of the policy's assignments with an account (console add-user);
    their rights come from the policy's `console` section. Chinese by default, English a click
    away; no asset is fetched from the internet.

    \b
    Example:
      zxpolicy console demo                         # demo data in ./zxpolicy-demo, then serve
      zxpolicy console add-user --store sqlite:///store.db --log decisions.db u-supervisor-hq
      zxpolicy console --store sqlite:///store.db --log decisions.db --port 8282
    """
    if ctx.invoked_subcommand is not None:
        return
    if not store or not log_target:
        fail("请给出 --store 与 --log（或子命令 demo、add-user）", "give --store and --log (or the subcommand demo or add-user)", lang)
    from ..console import ConsoleOptions, run_console

    options = ConsoleOptions(store=store, log=log_target, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key,
                             trusted_header=trusted_header, trusted_proxies=trusted_proxies or ("127.0.0.1",))
    sys.exit(_guard(lang, lambda: run_console(options)))


@console_command.command("add-user")
@click.argument("user_id")
@store_option
@log_option
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@lang_option
def add_user_command(user_id: str, store: str | None, log_target: str | None, password_stdin: bool, lang: str) -> None:
    """Give USER_ID (a user of the store's current policy) a console account, or a new password.

    The password is asked twice, or read from standard input (--password-stdin); it is kept only
    as its argon2id hash, and a new one ends the user's sessions.
    """
    if not store or not log_target:
        fail("请给出 --store 与 --log", "give --store and --log", lang)
    from ..console import MIN_PASSWORD, add_user, console_rights, open_console_db
    from ..live import watch

    def known() -> str:
        with watch(store) as live:
            rights = console_rights(live.engine, user_id)
        if rights.denial is not None and rights.denial.code in ("console_unknown_user",):
            raise ConsoleError("console_unknown_user", rights.denial.message, rights.denial.message_en)
        return rights.label

    label = _guard(lang, known)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"{'密码' if lang != 'en' else 'Password'} ({user_id}, ≥ {MIN_PASSWORD})", hide_input=True,
                                confirmation_prompt=True, err=True)

    def add() -> None:
        with open_console_db(log_target) as db:
            add_user(db, user_id, password, by="zxpolicy console add-user")

    _guard(lang, add)
    click.echo(f"已为 {label}（{user_id}）设置控制台账户" if lang != "en" else f"console account set for {label} ({user_id})")


@console_command.command("demo")
@click.option("--dir", "folder", default="zxpolicy-demo", show_default=True, type=click.Path(file_okay=False),
              help="The demo's folder: made, or served again when it is a demo's.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8282, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@lang_option
def demo_command(folder: str, host: str, port: int, lang: str) -> None:
    """One command to a running console with demo data: a store with the bundled policy (and one
    proposal to review), a decision log of a few working days (some queries flagged), demo
    accounts printed with their passwords and rights; then serve."""
    from ..console import ConsoleOptions, make_demo, run_console

    zh = lang != "en"
    def making() -> None:
        click.echo("正在准备演示数据（运行发布检查需要几秒）…" if zh else "making the demo data (the publish gates take a few seconds)…", err=True)

    demo = _guard(lang, lambda: make_demo(Path(folder), making))
    click.echo(f"演示目录：{demo.folder.resolve()}" if zh else f"demo folder: {demo.folder.resolve()}")
    click.echo(f"控制台：http://{host}:{port}/  演示账户（{'编号、姓名、权限、密码' if zh else 'id, name, rights, password'}）："
               if zh else f"console: http://{host}:{port}/  demo accounts (id, name, rights, password):")
    for user, name, rights, password in demo.accounts:
        click.echo(f"  {user:<18} {name:<14} {rights:<22} {password}")
    options = ConsoleOptions(store=demo.store, log=demo.log, host=host, port=port)
    sys.exit(_guard(lang, lambda: run_console(options)))
