"""What the commands share: finding and loading the policy (and saying which one answered),
reading JSON, exit codes."""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from .._bundled import resolve_policy_dir
from .._default import load
from .._diagnostic import localized
from .._errors import LogError, PolicyError
from ..decide import DecisionLog, Engine
from ..log import LogStore, open_log

EXIT_DENIED = 1  # denied, invalid, or a check that found something
EXIT_ERROR = 2  # usage error, or a policy that does not load

POLICY_HELP = "Policy directory. Default: $ZXPOLICY_POLICY_DIR, else ./policies if it exists, else the bundled policy."

lang_option = click.option(
    "--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of the messages."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


# Why a directory was the one read, for people: the key is what ``resolve_policy_dir`` says.
_SOURCES = {
    "given": ("命令行指定", "given on the command line"),
    "ZXPOLICY_POLICY_DIR": ("环境变量 $ZXPOLICY_POLICY_DIR", "$ZXPOLICY_POLICY_DIR"),
    "./policies": ("当前目录下的 policies", "./policies of the current folder"),
    "bundled": ("随软件包自带的默认策略", "the bundled default policy"),
}
_USED = "zxpolicy.policy_used"


@dataclass
class PolicyUsed:
    """The policy a command read: its directory, why that one, and (once loaded) its version."""

    directory: Path
    source: str
    version: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"dir": str(self.directory.resolve()), "source": self.source, "version": self.version}

    def line(self, lang: str) -> str:
        """One line for the end of a command's output: which policy answered."""
        zh, en = _SOURCES.get(self.source, (self.source, self.source))
        version = self.version or ("未加载" if lang != "en" else "not loaded")
        if lang == "en":
            return f"policy: {self.directory} ({en}), version {version}"
        return f"策略：{self.directory}（{zh}），版本 {version}"


def policy_used() -> PolicyUsed | None:
    """The policy the running command read, if it read one."""
    ctx = click.get_current_context(silent=True)
    used = ctx.meta.get(_USED) if ctx is not None else None
    return used if isinstance(used, PolicyUsed) else None


def loaded_version(version: str) -> None:
    """Record the version of the policy the running command loaded (``policy_dir`` found it)."""
    used = policy_used()
    if used is not None:
        used.version = version


def policy_line(lang: str) -> str:
    """``策略：DIR（why），版本 V``: which policy answered, for a command's human output."""
    used = policy_used()
    return used.line(lang) if used is not None else ""


def with_policy(data: dict[str, Any]) -> dict[str, Any]:
    """A command's JSON with ``policy`` (``dir``, ``source``, ``version``) added."""
    used = policy_used()
    if used is not None:
        data = {**data, "policy": used.to_dict()}
    return data


def policy_dir(given: str | None, *, must_be_a_directory: bool = True) -> Path:
    """The policy directory to use, said on stderr so that a person sees which one was read, and
    kept for ``policy_line`` and ``with_policy`` (every command's output names it).

    One that is not a directory (missing, or a file) ends the command here with one line and
    exit 2, unless ``must_be_a_directory`` is false (``validate`` reports it as a problem)."""
    try:
        directory, why = resolve_policy_dir(given, look_in_cwd=True)
    except PolicyError as exc:  # the bundled policy is missing from the installation
        click.echo(policy_error_text(exc, command_lang()), err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"policy: {directory} ({why})", err=True)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_USED] = PolicyUsed(directory, why)
    if must_be_a_directory and not directory.is_dir():
        fail(f"策略无法加载：{directory}: 不是目录", f"policy does not load: {directory}: not a directory")
    return directory


def load_engine(given: str | None, log: DecisionLog | None = None, lang: str | None = None) -> Engine:
    """Load the policy; a policy that does not load prints its problems and exits 2. They are in
    ``lang``, by default the command's ``--lang`` (Chinese for a command without one). Any other
    error while loading (a bug, an unreadable file) is one line naming the directory, exit 2."""
    directory = policy_dir(given)
    try:
        engine = load(directory, log=log)
    except PolicyError as exc:
        click.echo(policy_error_text(exc, lang or command_lang()), err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        policy_crashed(directory, exc, lang)
    loaded_version(engine.policy_version)
    return engine


def policy_error_text(exc: PolicyError, lang: str) -> str:
    """A policy's problems for stderr: the head line, then one indented line per problem (as
    ``exc.text``); a lone problem at no line of a file (the directory is missing, has no policy
    files, ...) goes on the head's line, so that the failure is one line."""
    if len(exc.problems) == 1 and not exc.problems[0].line:
        problem = exc.problems[0].text(lang)
        return f"{exc.what} does not load: {problem}" if lang == "en" else f"{exc.what_zh}无法加载：{problem}"
    return exc.text(lang)


def policy_crashed(directory: object, exc: BaseException, lang: str | None = None) -> NoReturn:
    """Loading the policy at ``directory`` raised something other than ``PolicyError``: one line
    naming the directory and the error, exit 2."""
    what = describe(exc)
    fail(f"策略 `{directory}` 加载时出错：{what}", f"policy `{directory}` failed to load: {what}", lang)


def command_lang() -> str:
    """The running command's ``--lang``; ``zh`` outside a command or for one without it."""
    ctx = click.get_current_context(silent=True)
    lang = ctx.params.get("lang") if ctx is not None else None
    return lang if lang in ("zh", "en") else "zh"


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` on one line (its whitespace runs made one space), cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


def describe(exc: BaseException, limit: int = 200) -> str:
    """``ExceptionType: message``, on one line, the message cut to ``limit`` characters. Never
    raises, even for an exception whose ``str()`` does."""
    name = type(exc).__name__
    try:
        message = one_line(str(exc), limit)
    except Exception:
        message = ""
    return f"{name}: {message}" if message else name


def fail(zh: str, en: str, lang: str | None = None) -> NoReturn:
    """The command fails: one line on stderr, in ``lang`` (default: the command's ``--lang``), exit 2."""
    click.echo(one_line(en if (lang or command_lang()) == "en" else zh), err=True)
    sys.exit(EXIT_ERROR)


# ---------------------------------------------------------------------------------------------
# JSON from people: a request file, standard input, or a flag's value. It may be hostile: it is
# bounded in size and in nesting before it is parsed, and whatever json.loads raises on it (a
# RecursionError, the ValueError of an integer over 4,300 digits) is one line and exit 2.

MAX_JSON_BYTES = 1_000_000
MAX_JSON_DEPTH = 64

# A JSON string (escapes included; possessive, so that an unterminated one cannot backtrack), or
# a bracket. Brackets inside strings are not nesting.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')


def json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep ``text``'s arrays and objects nest, counted without recursion; counting stops
    past ``limit``. Brackets in strings do not count; malformed JSON gives some number, and
    ``json.loads`` says what is wrong with it."""
    depth = deepest = 0
    for m in _JSON_TOKEN.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif c in "]}":
            depth -= 1
    return deepest


class JsonRefused(ValueError):
    """JSON that ``parse_json`` will not read; ``str()`` says why in English, ``.zh`` in Chinese.
    (JSON that is not JSON raises ``json.JSONDecodeError``, in English only.)"""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


def _too_large(limit: int = MAX_JSON_BYTES) -> JsonRefused:
    return JsonRefused(f"larger than {limit:,} bytes, refused", f"超过 {limit:,} 字节，拒绝读取")


def _too_deep(limit: int = MAX_JSON_DEPTH) -> JsonRefused:
    return JsonRefused(f"nested deeper than {limit} levels", f"嵌套超过 {limit} 层")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        shown = one_line(text, 40)
        raise JsonRefused(f"number `{shown}` is out of range", f"数值`{shown}`超出范围")
    return value


def _no_constant(name: str) -> Any:
    raise JsonRefused(f"`{name}` is not JSON", f"`{name}`不是 JSON")


def parse_json(text: str, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``text`` as JSON, or ``ValueError`` with a short reason: ``JsonRefused`` when it is too
    large (over ``max_bytes`` in UTF-8), nested too deep (over ``max_depth``), or has a number
    too long or out of range, or ``NaN``; ``json.JSONDecodeError`` when it is not JSON."""
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise _too_large(max_bytes)
    if json_depth(text, max_depth) > max_depth:
        raise _too_deep(max_depth)
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:  # not reached after json_depth; kept as the last guard
        raise _too_deep(max_depth) from None
    except JsonRefused:
        raise
    except ValueError as exc:  # JSONDecodeError, or an integer over sys.get_int_max_str_digits() digits
        if isinstance(exc, json.JSONDecodeError) or "integer string conversion" not in str(exc):
            raise
        digits = sys.get_int_max_str_digits()
        raise JsonRefused(f"a number with more than {digits:,} digits", f"数字超过 {digits:,} 位") from None


def _bad_input(where: str, en: str, zh: str | None = None) -> NoReturn:
    """A JSON input that cannot be used: ``where: reason``, one line, exit 2."""
    fail(f"输入有误：{where}: {zh or en}", f"{where}: {en}")


def _read_bounded(source: str) -> bytes:
    """At most ``MAX_JSON_BYTES`` + 1 bytes of the file, or of standard input for ``-``."""
    if source == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text-only stdin (an embedding program's)
            return sys.stdin.read(MAX_JSON_BYTES + 1).encode("utf-8", "surrogateescape")
        data: bytes = stream.read(MAX_JSON_BYTES + 1)
        return data
    with open(source, "rb") as f:
        return f.read(MAX_JSON_BYTES + 1)


def read_json(source: str, what: str) -> Any:
    """JSON from a file, or from standard input when ``source`` is ``-``. Anything wrong with it
    (missing, a directory, over 1 MB, not UTF-8, not JSON, nested too deep) is one line, exit 2."""
    where = f"{what} `{source}`"
    try:
        raw = _read_bounded(source)
    except OSError as exc:  # its str() repeats the path and starts "[Errno 2] No such ..."
        _bad_input(where, (exc.strerror or describe(exc)).lower())
    except ValueError as exc:  # a path with a NUL in it
        _bad_input(where, one_line(str(exc), 200))
    if len(raw) > MAX_JSON_BYTES:
        refused = _too_large()
        _bad_input(where, str(refused), refused.zh)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _bad_input(where, str(exc), f"不是 UTF-8 编码（第 {exc.start + 1} 个字节）")
    return _parse_or_fail(text, where)


def read_json_text(text: str, what: str) -> Any:
    """A flag's inline JSON; anything wrong with it is one line, exit 2."""
    return _parse_or_fail(text, what)


def _parse_or_fail(text: str, where: str) -> Any:
    try:
        return parse_json(text)
    except JsonRefused as exc:
        _bad_input(where, str(exc), exc.zh)
    except ValueError as exc:  # not JSON: Python's words, in English
        _bad_input(where, one_line(str(exc), 300))


def file_or_json(value: str, what: str) -> Any:
    """A flag's value: inline JSON when it starts with ``{``, else a JSON file."""
    return read_json_text(value, what) if value.lstrip().startswith("{") else read_json(value, what)


def echo_json(data: Any) -> None:
    """``data`` as JSON on stdout; an object also gets ``policy``, the policy the command read
    (``dir``, ``source``, ``version``), when it read one."""
    if isinstance(data, dict):
        data = with_policy(data)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def open_log_or_exit(target: str, lang: str = "zh") -> LogStore:
    """The decision log named on the command line; one that cannot be opened exits 2."""
    try:
        return open_log(target)
    except LogError as exc:  # it names the log already
        click.echo(one_line(localized(exc, lang)), err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # sqlite3's or psycopg's error, or a missing driver
        click.echo(one_line(f"cannot open the log `{target}`: {exc}"), err=True)
        sys.exit(EXIT_ERROR)
