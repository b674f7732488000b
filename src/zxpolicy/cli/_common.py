"""What the commands share: finding and loading the policy, reading JSON, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .._bundled import resolve_policy_dir
from .._default import load
from .._errors import PolicyError
from ..decide import DecisionLog, Engine
from ..log import LogStore, open_log

EXIT_DENIED = 1  # denied, invalid, or a check that found something
EXIT_ERROR = 2  # usage error, or a policy that does not load

POLICY_HELP = "Policy directory. Default: $ZXPOLICY_POLICY_DIR, else ./policies if it exists, else the bundled policy."

lang_option = click.option(
    "--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of the messages."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def policy_dir(given: str | None) -> Path:
    """The policy directory to use, said on stderr so that a person sees which one was read."""
    directory, why = resolve_policy_dir(given, look_in_cwd=True)
    click.echo(f"policy: {directory} ({why})", err=True)
    return directory


def load_engine(given: str | None, log: DecisionLog | None = None, lang: str | None = None) -> Engine:
    """Load the policy; a policy that does not load prints its problems and exits 2. They are in
    ``lang``, by default the command's ``--lang`` (Chinese for a command without one)."""
    directory = policy_dir(given)
    try:
        return load(directory, log=log)
    except PolicyError as exc:
        click.echo(exc.text(lang or command_lang()), err=True)
        sys.exit(EXIT_ERROR)


def command_lang() -> str:
    """The running command's ``--lang``; ``zh`` outside a command or for one without it."""
    ctx = click.get_current_context(silent=True)
    lang = ctx.params.get("lang") if ctx is not None else None
    return lang if lang in ("zh", "en") else "zh"


def read_json(source: str, what: str) -> Any:
    """JSON from a file, or from standard input when ``source`` is ``-``."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as exc:  # its str() repeats the path and starts "[Errno 2] No such ..."
        raise click.UsageError(f"{what} `{source}`: {(exc.strerror or str(exc)).lower()}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.UsageError(f"{what} `{source}`: {exc}") from None


def read_json_text(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"{what}: {exc}") from None


def file_or_json(value: str, what: str) -> Any:
    """A flag's value: inline JSON when it starts with ``{``, else a JSON file."""
    return read_json_text(value, what) if value.lstrip().startswith("{") else read_json(value, what)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def open_log_or_exit(target: str) -> LogStore:
    """The decision log named on the command line; one that cannot be opened exits 2."""
    try:
        return open_log(target)
    except Exception as exc:  # sqlite3's or psycopg's error, or a missing driver
        click.echo(f"cannot open the log `{target}`: {exc}", err=True)
        sys.exit(EXIT_ERROR)
