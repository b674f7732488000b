"""Every failure of the ``zxpolicy`` command is one line on stderr and exit 2, never a traceback.

Each command gets hostile input: JSON nested 100,000 deep, a 5,000-digit integer, a file that is
not UTF-8, a directory where a file goes, a missing file, a policy directory that is a file, and
a policy whose loading raises something that is not a ``PolicyError``. Whatever else escapes a
command is the group's: ``内部错误：Type: message`` (``internal error`` under ``--lang en``), exit 2;
Ctrl-C is one line and exit 130. The `policy: ... (given)` note that commands print on stderr is
not counted as a line of the failure.

CliRunner never prints a traceback, so "no traceback" here means the command ended with
``SystemExit`` (``result.exception``) rather than another exception; the subprocess tests at the
end show the same with a real interpreter and the real stderr.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

import zxpolicy.cli._common as common
from zxpolicy import decide
from zxpolicy.cli import Group, main
from zxpolicy.log import open_log
from zxpolicy.policy import load_policy

from ..conftest import POLICIES, REPO

EXAMPLES = REPO / "examples"
ALLOWED = EXAMPLES / "query-allowed.json"
DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "9" * 5_000


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZXPOLICY_POLICY_DIR", raising=False)


def run(*args: object, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def failure_lines(result: Result) -> list[str]:
    """stderr without the `policy: DIR (why)` note."""
    return [line for line in result.stderr.splitlines() if not (line.startswith("policy: ") and line.endswith(")"))]


def assert_one_line(result: Result, code: int = 2) -> str:
    """The command ended by exiting ``code`` (no other exception), with one line on stderr and no
    traceback anywhere; returns that line."""
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = failure_lines(result)
    assert len(lines) == 1, result.stderr
    return lines[0]


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def with_subject(value: str) -> str:
    """The allowed example with its subject replaced by raw JSON ``value``."""
    body = json.loads(ALLOWED.read_text(encoding="utf-8"))
    body["subject"] = "@@"
    return json.dumps(body).replace('"@@"', value)


# --------------------------------------------------------------------------------------------
# The request: a file or standard input, for check and explain


@pytest.fixture
def hostile_requests(tmp_path: Path) -> dict[str, Path]:
    return {
        "deep": write(tmp_path / "deep.json", DEEP),
        "deep_inside": write(tmp_path / "deep-inside.json", with_subject(DEEP)),
        "huge_int": write(tmp_path / "huge.json", with_subject(HUGE)),
        "huge_float": write(tmp_path / "float.json", with_subject(HUGE + ".5")),
        "nan": write(tmp_path / "nan.json", with_subject("NaN")),
        "not_utf8": write(tmp_path / "latin1.json", with_subject('"u-\xe9"').encode("latin-1")),
        "over_1mb": write(tmp_path / "big.json", with_subject(json.dumps("x" * (common.MAX_JSON_BYTES + 10)))),
        "directory": tmp_path,
        "missing": tmp_path / "missing.json",
    }


KINDS = ["deep", "deep_inside", "huge_int", "huge_float", "nan", "not_utf8", "over_1mb", "directory", "missing"]


@pytest.mark.parametrize("command", ["check", "explain"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_request_file_is_one_line(command: str, kind: str, hostile_requests: dict[str, Path]) -> None:
    path = hostile_requests[kind]
    line = assert_one_line(run(command, "--policy", POLICIES, path))
    assert f"request `{path}`" in line
    assert line.startswith("输入有误：")
    en = assert_one_line(run(command, "--policy", POLICIES, "--lang", "en", path))
    assert en.startswith(f"request `{path}`: ")


@pytest.mark.parametrize("command", ["check", "explain"])
@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("directory", "missing")])
def test_a_hostile_request_on_stdin_is_one_line(command: str, kind: str, hostile_requests: dict[str, Path]) -> None:
    line = assert_one_line(run(command, "--policy", POLICIES, "-", input=hostile_requests[kind].read_bytes()))
    assert "request `-`" in line


@pytest.mark.parametrize(
    ("kind", "reason", "zh"),
    [("deep", "nested deeper than 64 levels", "嵌套超过 64 层"), ("huge_int", "more than 4,300 digits", "数字超过 4,300 位"),
     ("over_1mb", "larger than 1,000,000 bytes", "超过 1,000,000 字节"), ("nan", "`NaN` is not JSON", "`NaN`不是 JSON"),
     ("huge_float", "out of range", "超出范围"), ("not_utf8", "can't decode byte 0xe9", "不是 UTF-8 编码")],
)
def test_the_line_says_what_is_wrong(kind: str, reason: str, zh: str, hostile_requests: dict[str, Path]) -> None:
    assert reason in assert_one_line(run("check", "--policy", POLICIES, "--lang", "en", hostile_requests[kind]))
    assert zh in assert_one_line(run("check", "--policy", POLICIES, hostile_requests[kind]))


@pytest.mark.parametrize("flag", ["--consent", "--approval", "--subject"])
@pytest.mark.parametrize("value", [DEEP.replace("[", '{"a":[', 1) + "}", f'{{"n": {HUGE}}}',
                                   
                                   "{" + '"a":{' * 100 + "}" * 101], ids=["deep", "huge_int", "deep_object"])
def test_hostile_inline_json_in_a_flag_is_one_line(flag: str, value: str) -> None:
    line = assert_one_line(run("check", "--policy", POLICIES, ALLOWED, flag, value))
    assert flag in line


@pytest.mark.parametrize("flag", ["--consent", "--approval"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_file_in_a_flag_is_one_line(flag: str, kind: str, hostile_requests: dict[str, Path]) -> None:
    path = hostile_requests[kind]
    line = assert_one_line(run("explain", "--policy", POLICIES, ALLOWED, flag, path))
    assert f"{flag} `{path}`" in line


def test_json_within_the_bounds_is_read(tmp_path: Path) -> None:
    """64 levels (the request object is the first) and 4,300 digits are still read; brackets
    inside strings are not nesting."""
    nested = "[" * (common.MAX_JSON_DEPTH - 1) + "]" * (common.MAX_JSON_DEPTH - 1)
    for value in (nested, "9" * 4_300, json.dumps("[" * 1000 + '\\"{' * 100)):
        result = run("check", "--policy", POLICIES, "--json", "-", input=with_subject(value))
        assert result.exit_code == 1, result.output  # read, then denied: a subject must be an id or an object
        assert json.loads(result.stdout)["allowed"] is False
    too_deep = "[" * common.MAX_JSON_DEPTH + "]" * common.MAX_JSON_DEPTH
    assert "deeper than 64" in assert_one_line(run("check", "--policy", POLICIES, "--lang", "en", "-", input=with_subject(too_deep)))


def test_json_depth_counts_without_recursion() -> None:
    assert common.json_depth("{}") == 1
    assert common.json_depth('{"a": [1, {"b": "]]]{{{"}], "c": "\\"[["}') == 3
    assert common.json_depth("[" * 1_000_000) == common.MAX_JSON_DEPTH + 1  # stops counting past the limit
    assert common.json_depth('"' + "\\" * 999 + "[") >= 0  # an unterminated string: no hang, some number


def test_a_request_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    body = with_subject('"u-query-east1"<PAD>')
    text = body.replace("<PAD>", " " * (common.MAX_JSON_BYTES - len(body.encode()) + len("<PAD>")))
    assert len(text.encode()) == common.MAX_JSON_BYTES
    result = run("check", "--policy", POLICIES, write(tmp_path / "r.json", text))
    assert result.exit_code in (0, 1), result.output
    over = run("check", "--policy", POLICIES, write(tmp_path / "r.json", text + " "))
    assert "超过 1,000,000 字节" in assert_one_line(over)


def test_request_content_errors_are_one_line() -> None:
    """Usage errors raised by a command's own code, about its input, are one line too."""
    for args, words in [
        ((), "no request"),
        (("-",), "must be an object"),
        (("--evidence", "case_id", ALLOWED), "expected KEY=VALUE"),
    ]:
        line = assert_one_line(run("check", "--policy", POLICIES, *args, input="[]"))
        assert line.startswith("错误：") and words in line, line
        en = assert_one_line(run("check", "--policy", POLICIES, "--lang", "en", *args, input="[]"))
        assert en.startswith("error: ") and words in en, en


def test_click_usage_errors_keep_clicks_form() -> None:
    result = run("check", "--no-such-flag")
    assert result.exit_code == 2
    assert "Usage:" in result.stderr and "No such option" in result.stderr
    assert run("check", "--lang", "fr", ALLOWED).exit_code == 2
    assert run("who-can", "query").exit_code == 2


# --------------------------------------------------------------------------------------------
# The policy: a directory that is a file, is missing, or whose loading raises a non-PolicyError


def _commands(policy: Path, log: Path) -> dict[str, list[object]]:
    return {
        "check": ["check", "--policy", policy, ALLOWED],
        "explain": ["explain", "--policy", policy, ALLOWED],
        "test": ["test", policy],
        "lint": ["lint", policy],
        "diff-old": ["diff", policy, POLICIES],
        "diff-new": ["diff", POLICIES, policy],
        "who-can": ["who-can", "--policy", policy, "query", "credit_report", "--purpose", "loan_review", "--level", "ordinary"],
        "what-can": ["what-can", "--policy", policy, "u-query-east1"],
        "verify": ["verify", policy],
        "log-daily-check": ["log", "daily-check", log, "--date", "2026-11-27", "--policy", policy],
        "log-monthly-report": ["log", "monthly-report", log, "--month", "2026-11", "--policy", policy],
    }


COMMANDS = list(_commands(Path(), Path()))


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "decisions.db"
    open_log(path).close()
    return path


@pytest.fixture
def loader_raises(monkeypatch: pytest.MonkeyPatch) -> Callable[[BaseException], None]:
    """Make every use of ``load_policy`` (each module holds its own name for it) raise ``exc``."""

    def install(exc: BaseException) -> None:
        def broken(directory: Any) -> Any:
            raise exc

        for name, module in list(sys.modules.items()):
            if name.startswith("zxpolicy") and getattr(module, "load_policy", None) is load_policy:
                monkeypatch.setattr(module, "load_policy", broken)

    return install


@pytest.mark.parametrize("command", [*COMMANDS, "validate"])
@pytest.mark.parametrize("exc", [RuntimeError("boom"), MemoryError(), OSError(5, "Input/output error")], ids=["runtime", "memory", "oserror"])
def test_loading_that_raises_is_one_line(command: str, exc: BaseException, loader_raises: Callable[[BaseException], None],
                                         policy_copy: Path, log_file: Path) -> None:
    loader_raises(exc)
    args = ["validate", policy_copy] if command == "validate" else _commands(policy_copy, log_file)[command]
    line = assert_one_line(run(*args))
    assert type(exc).__name__ in line
    if command.startswith("diff"):  # the first of the two to load names itself
        assert f"`{POLICIES}`" in line or f"`{policy_copy}`" in line, line
    elif not command.startswith("log-"):  # the log commands load their policy themselves; the group's net catches it
        assert str(policy_copy) in line, line


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", ["file", "missing"])
def test_a_policy_directory_that_is_not_one_is_one_line(command: str, kind: str, tmp_path: Path, log_file: Path) -> None:
    policy = write(tmp_path / "policy.yaml", "grants: []\n") if kind == "file" else tmp_path / "nowhere"
    line = assert_one_line(run(*_commands(policy, log_file)[command]))
    assert str(policy) in line


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_validate_reports_a_policy_directory_that_is_not_one(kind: str, tmp_path: Path) -> None:
    """validate's answer is "invalid" (exit 1, the problem on stdout), as documented; still no
    traceback, and one line (the count) on stderr."""
    policy = write(tmp_path / "policy.yaml", "grants: []\n") if kind == "file" else tmp_path / "nowhere"
    result = run("validate", policy)
    assert assert_one_line(result, code=1) == "1 个问题"
    assert result.stdout == f"{policy}: 不是目录\n"


# --------------------------------------------------------------------------------------------
# diff: every error path is exit 2 and one line (never 1, which reads as "widened")


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          check=True, capture_output=True, input=stdin)
    return done.stdout.decode().strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if subprocess.run(["git", "--version"], capture_output=True, check=False).returncode != 0:
        pytest.skip("needs git")
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    for f in POLICIES.iterdir():
        if f.is_file():
            (repo / "policies" / f.name).write_bytes(f.read_bytes())
    (repo / "empty").mkdir()
    (repo / "empty" / "README.md").write_text("nothing\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "policy")
    monkeypatch.chdir(repo)
    return repo


LATIN1_NAME = b"b\xffd.yaml"


def _odd_commit(repo: Path, name: bytes) -> str:
    listing = subprocess.run(["git", "-C", str(repo), "ls-tree", "-z", "HEAD:policies"], check=True, capture_output=True).stdout
    oid = _git(repo, "rev-parse", "HEAD:policies/orgs.yaml")
    tree = _git(repo, "mktree", "-z", stdin=listing + b"100644 blob " + oid.encode() + b"\t" + name + b"\0")
    top = _git(repo, "mktree", stdin=f"040000 tree {tree}\tpolicies\n".encode())
    return _git(repo, "commit-tree", top, "-m", "odd")


@pytest.mark.parametrize("old", [
    "nowhere",                 # neither a directory nor REV:PATH
    "no-such-rev:policies",    # git refuses the revision
    "HEAD:no-such-dir",        # no such directory at the revision
    "HEAD:empty",              # no files there
    ":policies",               # no revision
    "--output=x:policies",     # a revision that would be an option
    "..", "odd-dots", "odd-latin1",
])
def test_every_diff_error_is_one_line(old: str, repo: Path) -> None:
    if old == "odd-dots":
        old = f"{_odd_commit(repo, b'..')}:policies"
    elif old == "odd-latin1":
        old = _odd_commit(repo, LATIN1_NAME) + ":policies"
    elif old == "..":
        old = "HEAD:policies/../.."
    result = CliRunner().invoke(main, ["diff", "--", old, "policies"])
    assert_one_line(result)
    assert not (repo / "x").exists()


def test_diff_outside_a_git_repository_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_one_line(run("diff", "HEAD:policies", POLICIES))


def test_diff_when_the_comparison_raises_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("zxpolicy.cli._diff.diff_policies", broken)
    line = assert_one_line(run("diff", POLICIES, POLICIES))
    assert line == "内部错误：RecursionError: maximum recursion depth exceeded"


def test_diff_when_the_scratch_folder_cannot_be_made(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "nowhere"))
    line = assert_one_line(run("diff", "--lang", "en", POLICIES, POLICIES))
    assert line.startswith("cannot compare: the scratch folder: ")


# --------------------------------------------------------------------------------------------
# The log commands' own inputs


@pytest.mark.parametrize("command", [["verify"], ["daily-check", "--date", "2026-11-27"], ["monthly-report", "--month", "2026-11"]],
                         ids=["verify", "daily-check", "monthly-report"])
@pytest.mark.parametrize("kind", ["missing", "directory", "not_a_log", "not_utf8"])
def test_a_hostile_log_is_one_line(command: list[str], kind: str, tmp_path: Path) -> None:
    target: Path = {
        "missing": tmp_path / "missing.db",
        "directory": tmp_path,
        "not_a_log": write(tmp_path / "text.db", "this is a text file, not a decision log; " * 10),
        "not_utf8": write(tmp_path / "latin1.db", b"\xff\xfe" * 300),
    }[kind]
    assert_one_line(run("log", command[0], target, *command[1:], "--policy", POLICIES) if command[0] != "verify"
                    else run("log", "verify", target))


# --------------------------------------------------------------------------------------------
# The safety net: whatever escapes a command


def _raise_in_check(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise exc

    monkeypatch.setattr(decide.Engine, "check", broken)


def test_an_unexpected_exception_is_one_line_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    _raise_in_check(monkeypatch, ValueError("first line\nsecond line " + "x" * 500))
    line = assert_one_line(run("check", "--policy", POLICIES, ALLOWED))
    assert line.startswith("内部错误：ValueError: first line second line xxx")
    assert len(line) <= len("内部错误：ValueError: ") + 200


def test_an_unexpected_exception_under_lang_en(monkeypatch: pytest.MonkeyPatch) -> None:
    _raise_in_check(monkeypatch, KeyError("k"))
    line = assert_one_line(run("check", "--policy", POLICIES, "--lang", "en", ALLOWED))
    assert line == "internal error: KeyError: 'k'"


def test_an_exception_whose_str_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    class Nasty(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    _raise_in_check(monkeypatch, Nasty())
    assert assert_one_line(run("check", "--policy", POLICIES, ALLOWED)) == "内部错误：Nasty"


def test_an_exception_before_the_language_is_known_is_said_in_both(monkeypatch: pytest.MonkeyPatch) -> None:
    """Raised while click parses the command's options: the command's --lang is not known yet."""

    def broken(self: Any, value: Any, param: Any, ctx: Any) -> Any:
        raise RuntimeError("while parsing")

    monkeypatch.setattr(click.Path, "convert", broken)
    line = assert_one_line(run("check", "--lang", "en", "--policy", POLICIES, ALLOWED))
    assert line == "内部错误：RuntimeError: while parsing / internal error: RuntimeError: while parsing"


@pytest.mark.parametrize("command", [
    ["log", "verify"], ["log", "daily-check", "--date", "2026-11-27", "--policy", POLICIES],
    ["log", "monthly-report", "--month", "2026-11", "--policy", POLICIES],
], ids=["verify", "daily-check", "monthly-report"])
def test_the_log_commands_are_under_the_net(command: list[object], log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("division by zero")

    for name in ("verify_chain", "daily_check", "monthly_report"):
        monkeypatch.setattr(f"zxpolicy.cli._log.{name}", broken)
    line = assert_one_line(run(*command[:2], log_file, *command[2:]))
    assert line == "内部错误：ZeroDivisionError: division by zero"


def test_ctrl_c_exits_130_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _raise_in_check(monkeypatch, KeyboardInterrupt())
    assert assert_one_line(run("check", "--policy", POLICIES, ALLOWED), code=130) == "已中断"
    assert assert_one_line(run("check", "--policy", POLICIES, "--lang", "en", ALLOWED), code=130) == "interrupted"


def test_system_exit_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    _raise_in_check(monkeypatch, SystemExit(7))
    result = run("check", "--policy", POLICIES, ALLOWED)
    assert result.exit_code == 7
    assert failure_lines(result) == []


def test_every_command_is_under_the_net() -> None:
    def walk(group: click.Group) -> Iterator[click.Command]:
        for cmd in group.commands.values():
            yield cmd
            if isinstance(cmd, click.Group):
                yield from walk(cmd)

    assert isinstance(main, Group)
    commands = list(walk(main))
    assert {c.name for c in commands} >= {"check", "explain", "validate", "test", "lint", "diff", "who-can", "what-can", "verify", "log"}
    for cmd in commands:
        assert isinstance(cmd, Group if isinstance(cmd, click.Group) else click.Command)
        assert type(cmd).invoke is not click.Command.invoke, cmd.name


def test_the_console_script_is_the_group() -> None:
    (script,) = [ep for ep in importlib.metadata.entry_points(group="console_scripts") if ep.name == "zxpolicy"]
    assert script.load() is main


# --------------------------------------------------------------------------------------------
# A real interpreter: nothing but one line reaches the terminal


def _real(args: list[str], stdin: bytes = b"", script: bool = False) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "ZXPOLICY_POLICY_DIR"}
    if script:
        exe = Path(sys.executable).with_name("zxpolicy")
        if not exe.exists():
            pytest.skip("no zxpolicy console script beside the interpreter")
        cmd = [str(exe), *args]
    else:
        cmd = [sys.executable, "-m", "zxpolicy", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=120, check=False)


def _assert_real_one_line(done: subprocess.CompletedProcess[bytes], code: int = 2) -> str:
    out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    assert done.returncode == code, (done.returncode, err)
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if not (line.startswith("policy: ") and line.endswith(")"))]
    assert len(lines) == 1, err
    return lines[0]


def test_python_dash_m_deep_json_on_stdin() -> None:
    line = _assert_real_one_line(_real(["check", "--policy", str(POLICIES), "-"], DEEP.encode()))
    assert "request `-`" in line


def test_the_console_script_with_a_huge_integer(tmp_path: Path) -> None:
    path = write(tmp_path / "huge.json", with_subject(HUGE))
    line = _assert_real_one_line(_real(["explain", "--lang", "en", "--policy", str(POLICIES), str(path)], script=True))
    assert line == f"request `{path}`: a number with more than 4,300 digits"


def test_a_real_crash_is_one_line() -> None:
    """The group's net in a real process: a command that raises prints one line, exit 2."""
    code = (
        "import sys, zxpolicy.decide as d\n"
        "def boom(*a, **k): raise RuntimeError('boom')\n"
        "d.Engine.check = boom\n"
        "from zxpolicy.cli import main\n"
        "sys.argv = ['zxpolicy', 'check', '--policy', sys.argv[1], sys.argv[2]]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(POLICIES), str(ALLOWED)], capture_output=True, timeout=120, check=False)
    assert _assert_real_one_line(done) == "内部错误：RuntimeError: boom"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_a_real_ctrl_c_exits_130_with_one_line() -> None:
    code = (
        "import signal, sys, time, zxpolicy.decide as d\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the test runs where SIGINT is ignored\n"
        "def slow(*a, **k): time.sleep(60)\n"
        "d.Engine.check = slow\n"
        "from zxpolicy.cli import main\n"
        "sys.argv = ['zxpolicy', 'check', '--policy', sys.argv[1], sys.argv[2]]\n"
        "main()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(POLICIES), str(ALLOWED)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    first = proc.stderr.readline()  # `policy: ...`: the command is running
    assert first.startswith(b"policy: ")
    proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert out == b"" and rest.decode() == "已中断\n"
