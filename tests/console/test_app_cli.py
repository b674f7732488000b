"""``zxpolicy console``, ``console add-user`` and ``console demo``: what they refuse (one line,
exit 2) before a port is opened, accounts for users of the store's policy, the demo's folder."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from zxpolicy.cli import main
from zxpolicy.console import check_password, make_demo, open_console_db
from zxpolicy.log import daily_check, open_log, review_settings
from zxpolicy.policy import load_policy
from zxpolicy.store import init_store, open_store, publish, read_policy_files

from ..conftest import POLICIES


def run(*args: object, input: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def one_line_exit_2(result: Result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('console-cli') / 'store.db'}"
    store = init_store(url)
    try:
        done = publish(read_policy_files(POLICIES), store, by="u-supervisor-hq", message="启用")
        assert done.revision is not None, done.refused
        store.approve(done.revision, by="u-gm-hq")
    finally:
        store.close()
    return url


def test_the_console_refuses_what_it_cannot_serve_in_one_line(tmp_path: Path, store_url: str) -> None:
    assert "--store" in one_line_exit_2(run("console"))
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    init_store(empty).close()
    line = one_line_exit_2(run("console", "--store", empty, "--log", tmp_path / "log.db"))
    assert "策略库" in line
    assert "store.db" in one_line_exit_2(run("console", "--store", "store.db", "--log", tmp_path / "log.db", "--lang", "en"))
    line = one_line_exit_2(run("console", "--store", store_url, "--log", tmp_path / "no-such-folder" / "log.db"))
    assert "no-such-folder" in line
    line = one_line_exit_2(run("console", "--store", store_url, "--log", tmp_path / "log.db", "--tls-cert", tmp_path / "c.pem"))
    assert "--tls-key" in line
    line = one_line_exit_2(run("console", "--store", store_url, "--log", tmp_path / "log.db", "--trusted-proxy", "proxy.example"))
    assert "--trusted-proxy" in line
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_exit_2(run("console", "--store", store_url, "--log", tmp_path / "log.db", "--port", port))
    assert str(port) in line


def test_add_user_sets_a_password_for_a_user_of_the_policy_only(tmp_path: Path, store_url: str) -> None:
    log = tmp_path / "decisions.db"
    done = run("console", "add-user", "u-supervisor-hq", "--store", store_url, "--log", log, "--password-stdin",
               input="a-long-enough-password\n")
    assert done.exit_code == 0, done.output
    assert "征信信息主管" in done.output
    with open_console_db(str(log)) as db:
        assert check_password(db, "u-supervisor-hq", "a-long-enough-password")
    line = one_line_exit_2(run("console", "add-user", "u-nobody", "--store", store_url, "--log", log, "--password-stdin",
                               input="a-long-enough-password\n"))
    assert "u-nobody" in line
    line = one_line_exit_2(run("console", "add-user", "u-gm-hq", "--store", store_url, "--log", log, "--password-stdin",
                               "--lang", "en", input="short\n"))
    assert "too short" in line
    prompted = run("console", "add-user", "u-gm-hq", "--store", store_url, "--log", log, input="another-long-password\n" * 2)
    assert prompted.exit_code == 0, prompted.output


def test_the_demo_folder_is_made_once_and_a_foreign_folder_is_refused(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine", encoding="utf-8")
    line = one_line_exit_2(run("console", "demo", "--dir", taken))
    assert "taken" in line

    folder = tmp_path / "demo"
    demo = make_demo(folder)
    assert {a[0] for a in demo.accounts} >= {"u-supervisor-hq", "u-officer-east", "u-riskmgr-hq", "u-gm-hq"}
    rights = {a[0]: a[2] for a in demo.accounts}
    assert "review" in rights["u-supervisor-hq"] and "approve" in rights["u-gm-hq"]
    with open_console_db(demo.log) as db:
        user, _, _, password = demo.accounts[0]
        assert check_password(db, user, password)
    store = open_store(demo.store)
    try:
        states = [r.state for r in store.revisions()]
    finally:
        store.close()
    assert states == ["current", "proposed"]  # the bundled policy, and one widening to review
    settings = review_settings(load_policy(POLICIES).document)
    today = datetime.now(ZoneInfo(settings.time_zone)).date()
    log = open_log(demo.log, read_only=True)
    try:
        flags = {f for n in range(1, 10) for row in daily_check(log, settings, today - timedelta(days=n), verify=False).rows
                 for f in row.flags}
    finally:
        log.close()
    assert {"off_hours", "denied", "review_purpose", "backdated"} <= flags
    again = make_demo(folder)  # a demo's folder is opened as it was left
    assert again.accounts == demo.accounts
