"""``zxpolicy policy``: publish → approve → status, history and the change report, show, diff,
export, rollback, verify; Chinese by default; every failure one line and exit 2."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path

from click.testing import CliRunner, Result

from zxpolicy.cli import main

from ..conftest import POLICIES
from .test_store import _add_user

FAST = ["--max-examples", "5"]


def run(*args: object) -> Result:
    return CliRunner().invoke(main, ["policy", *map(str, args)])


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(POLICIES, target, ignore=shutil.ignore_patterns("schema"))
    return target


def _two_revisions(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert run("publish", _copy(tmp_path, "p1"), "--store", url, "-m", "首个版本", "--by", "张三", *FAST).exit_code == 0
    assert run("approve", "1", "--store", url, "--by", "李四").exit_code == 0
    wider = _copy(tmp_path, "p2")
    _add_user(wider)
    assert run("publish", wider, "--store", url, "-m", "=HYPERLINK(\"x\")", "--by", "张三", "--allow-widening", *FAST).exit_code == 0
    assert run("approve", "2", "--store", url, "--by", "李四").exit_code == 0
    return url


def test_publish_creates_the_store_and_speaks_chinese(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = run("publish", _copy(tmp_path, "p"), "--store", url, "-m", "首个版本", "--by", "张三", *FAST)
    assert result.exit_code == 0, result.output
    assert "✓ suite：105 例通过" in result.stdout and "已提交第 1 版" in result.stdout
    own = run("approve", "1", "--store", url, "--by", "张三")
    assert own.exit_code == 2 and own.stderr.count("\n") == 1 and "不能自己审批" in own.stderr
    version = json.loads(run("show", "1", "--store", url, "--json").stdout)["version"]
    ok = run("approve", version, "--store", url, "--by", "李四")  # a VERSION may be the policy's version
    assert ok.exit_code == 0 and "第 1 版" in ok.stdout and "已生效" in ok.stdout
    status = run("status", "--store", url, "--lang", "en")
    assert status.exit_code == 0 and "current: revision 1" in status.stdout and "history: 3 entries, intact" in status.stdout


def test_a_widening_without_the_flag_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    run("publish", _copy(tmp_path, "p1"), "--store", url, "-m", "a", "--by", "张三", *FAST)
    run("approve", "1", "--store", url, "--by", "李四")
    wider = _copy(tmp_path, "p2")
    _add_user(wider)
    result = run("publish", wider, "--store", url, "-m", "b", "--by", "张三", *FAST, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["revision"] is None and data["widening"] and data["diff"]["widened"] == 1


def test_history_is_the_change_report(tmp_path: Path) -> None:
    url = _two_revisions(tmp_path)
    text = run("history", "--store", url)
    assert text.exit_code == 0
    assert "第 2 版" in text.stdout and "当前生效" in text.stdout and "放宽 1" in text.stdout and "审批人 李四" in text.stdout
    md = run("history", "--store", url, "--since", "2000-01-01", "--format", "md")
    assert md.stdout.startswith("# 策略变更报备（自 2000-01-01 起）") and "## 第 2 版的变化" in md.stdout and "u-query-east9" in md.stdout
    rows = list(csv.reader(io.StringIO(run("history", "--store", url, "--format", "csv").stdout)))
    assert rows[0][:3] == ["版本号", "策略版本", "状态"] and len(rows) == 3
    assert rows[2][3] == "'=HYPERLINK(\"x\")"  # a message is never a formula in a spreadsheet
    assert rows[2][4] == "张三" and rows[2][6] == "李四" and rows[2][8] == "1"
    later = run("history", "--store", url, "--since", "2999-01-01")
    assert later.exit_code == 0 and "没有变更" in later.stdout
    data = json.loads(run("history", "--store", url, "--json").stdout)
    assert [r["state"] for r in data["revisions"]] == ["superseded", "current"]


def test_show_diff_export_and_rollback(tmp_path: Path) -> None:
    url = _two_revisions(tmp_path)
    shown = run("show", "2", "--store", url, "--lang", "en")
    assert shown.exit_code == 0 and "✓ invariants" in shown.stdout and "tests/query.yaml" in shown.stdout
    diff = run("diff", "1", "2", "--store", url)
    assert diff.exit_code == 0 and "u-query-east9" in diff.stdout and "**放宽 1**" in diff.stdout
    out = tmp_path / "exported"
    assert run("export", "1", out, "--store", url).exit_code == 0
    assert (out / "grants.yaml").read_bytes() == (POLICIES / "grants.yaml").read_bytes()
    assert (out / "tests" / "query.yaml").is_file()
    again = run("export", "1", out, "--store", url)
    assert again.exit_code == 2 and "不为空" in again.stderr
    back = run("rollback", "1", "--store", url, "-m", "回退", "--by", "王五", *FAST)
    assert back.exit_code == 0 and "已提交第 3 版" in back.stdout
    assert run("approve", "3", "--store", url, "--by", "李四").exit_code == 0
    status = json.loads(run("status", "--store", url, "--json").stdout)
    assert status["current"]["revision"] == 3 and status["current"]["rollback_of"] == 1
    assert status["current"]["version"] == json.loads(run("show", "1", "--store", url, "--json").stdout)["version"]


def test_verify_and_status_show_an_edited_history(tmp_path: Path) -> None:
    url = _two_revisions(tmp_path)
    assert run("verify", "--store", url).exit_code == 0
    with sqlite3.connect(tmp_path / "store.db") as conn:
        conn.execute("UPDATE zxpolicy_store_history SET body = replace(body, '首个版本', '别的') WHERE seq = 1")
    result = run("verify", "--store", url)
    assert result.exit_code == 1 and "第 1 条" in result.stdout
    assert run("status", "--store", url).exit_code == 1
    report = run("history", "--store", url, "--format", "md")
    assert report.exit_code == 2 and "不出报告" in report.stderr


def test_failures_are_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    for args in (
        ("status", "--store", url),
        ("approve", "1", "--store", url, "--by", "x"),
        ("status", "--store", "mysql://x"),
        ("status", "--store", "postgresql://u:pw@127.0.0.1:1/x"),
    ):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr and "pw@" not in result.stderr
    good = _two_revisions(tmp_path)
    for args in (("show", "9", "--store", good), ("approve", "x", "--store", good, "--by", "a"),
                 ("approve", "1", "--store", good, "--by", "王五")):
        result = run(*args)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, (args, result.output)
