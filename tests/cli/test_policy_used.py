"""Every command that reads a policy says which one answered: its human output ends with the
policy's directory, why that one was read, and its version; its JSON carries them as ``policy``.

The same folder may hold a ``./policies`` that the CLI reads and a bundled policy that
``zxpolicy.load()`` reads: a person must be able to see which one a result came from.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import zxpolicy
from zxpolicy.cli import main
from zxpolicy.log import open_log

from ..conftest import POLICIES, REPO

EXAMPLE = REPO / "examples" / "query-allowed.json"
NOW = datetime.now(timezone(timedelta(hours=8)))


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZXPOLICY_POLICY_DIR", raising=False)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("log") / "decisions.db"
    engine = zxpolicy.load(POLICIES, log=path)
    report = zxpolicy.Resource("r-1", kind="credit_report", level="ordinary", org="east-1", customer_id="c-1")
    consent = zxpolicy.Consent("c-1", ["loan_review"], signed_at=NOW - timedelta(days=1))
    engine.check("u-query-east1", report, "loan_review", consent=consent)
    engine.check("u-query-west1", report, "loan_review")
    return path


def _last_decision_id(log: Path) -> str:
    store = open_log(log, read_only=True)
    try:
        *_, last = store.rows()
        return str(last.decision_id)
    finally:
        store.close()


def _commands(log: Path) -> dict[str, list[str]]:
    day, month = NOW.strftime("%Y-%m-%d"), NOW.strftime("%Y-%m")
    p = str(POLICIES)
    return {
        "check": ["check", "--policy", p, str(EXAMPLE)],
        "explain": ["explain", "--policy", p, str(EXAMPLE)],
        "validate": ["validate", p],
        "test": ["test", p],
        "verify": ["verify", p, "--max-examples", "1", "--only", "INV-01"],
        "lint": ["lint", p],
        "who-can": ["who-can", "query", "credit_report", "--purpose", "loan_review", "--level", "ordinary", "--policy", p],
        "what-can": ["what-can", "u-query-east1", "--policy", p],
        "daily-check": ["log", "daily-check", str(log), "--date", day, "--policy", p],
        "log-show": ["log", "show", str(log), _last_decision_id(log), "--policy", p],
        "monthly-report": ["log", "monthly-report", str(log), "--month", month, "--policy", p,
                           "--count", "illegal_provision=0", "--count", "misuse=0", "--count", "report_leak=0"],
    }


COMMANDS = ["check", "explain", "validate", "test", "verify", "lint", "who-can", "what-can", "daily-check", "monthly-report",
            "log-show"]


def _run(args: list[str]) -> Result:
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), (args, result.output)
    return result


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_human_output_ends_with_the_policy_that_answered(command: str, lang: str, log: Path) -> None:
    version = zxpolicy.load(POLICIES).policy_version
    result = _run([*_commands(log)[command], "--lang", lang])
    lines = result.stdout.rstrip("\n").splitlines()
    # the daily check ends with the chain head the reviewer signs; the policy comes just before
    last = lines[-2] if command == "daily-check" else lines[-1]
    if lang == "zh":
        assert last == f"策略：{POLICIES}（命令行指定），版本 {version}"
    else:
        assert last == f"policy: {POLICIES} (given on the command line), version {version}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "log-show"])  # its JSON reads no policy
def test_the_json_carries_the_policy_that_answered(command: str, log: Path) -> None:
    version = zxpolicy.load(POLICIES).policy_version
    result = _run([*_commands(log)[command], "--json"])
    data = json.loads(result.stdout)
    assert data["policy"] == {"dir": str(POLICIES.resolve()), "source": "given", "version": version}


def test_the_cli_names_a_policies_folder_of_the_current_folder_which_the_library_does_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "policies"
    shutil.copytree(POLICIES, local)
    with (local / "orgs.yaml").open("a", encoding="utf-8") as f:
        f.write("  - {id: north-9, zh: 北区第九基层社, en: north 9, parent: hq}\n")
    monkeypatch.chdir(tmp_path)
    local_version = zxpolicy.load(local).policy_version
    assert local_version != zxpolicy.load().policy_version  # the library reads the bundled one
    result = _run(["check", str(EXAMPLE)])
    assert result.stdout.rstrip().splitlines()[-1] == f"策略：policies（当前目录下的 policies），版本 {local_version}"
    data = json.loads(_run(["check", str(EXAMPLE), "--json"]).stdout)
    assert data["policy"] == {"dir": str(local.resolve()), "source": "./policies", "version": local_version}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_diff_names_both_policies_with_their_versions(lang: str) -> None:
    version = zxpolicy.load(POLICIES).policy_version
    result = CliRunner().invoke(main, ["diff", str(POLICIES), str(POLICIES), "--lang", lang])
    assert result.exit_code == 0, result.output
    old, new = result.stdout.rstrip("\n").splitlines()[-2:]
    if lang == "zh":
        assert (old, new) == (f"旧策略：{POLICIES}，版本 {version}", f"新策略：{POLICIES}，版本 {version}")
    else:
        assert (old, new) == (f"old policy: {POLICIES}, version {version}", f"new policy: {POLICIES}, version {version}")
    data = json.loads(CliRunner().invoke(main, ["diff", str(POLICIES), str(POLICIES), "--json"]).stdout)
    assert data["policies"]["old"]["version"] == data["policies"]["new"]["version"] == version
