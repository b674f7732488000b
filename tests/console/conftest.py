"""The console's browser tests: a store, a decision log and accounts made through the library, a
real ``zxpolicy console`` process on a free loopback port, and headless Chromium to drive it.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``$ZXPOLICY_CHROMIUM``), driven
by Playwright for Python: ``playwright install`` is never run, and no browser is downloaded.
``.ci/run`` installs it and sets ``ZXPOLICY_REQUIRE_CHROMIUM``, under which a missing browser is
a failure, not a skip. Screenshots of every page go to ``$ZXPOLICY_ARTIFACTS/screenshots`` or
``test-artifacts/screenshots`` (git-ignored).

The data, written before the console starts:

- a SQLite policy store holding the bundled policy (its console section granting ``approve`` to
  the credit information supervisor too), proposed by one person and approved by another;
- a SQLite decision log written by an engine (``zxpolicy.load(log=...)``) whose records are
  written at the time their requests claim, as if each check had been made then: so the daily
  check has whole past days to review (``DAYS``), with flagged lines (off hours, denied);
- console accounts (``zxpolicy.console.add_user``) for users of the policy's assignments, whose
  rights come from the policy's ``console`` section;
- one day already reviewed and signed off through the library, with a line found in violation,
  so the quarterly summary has something to count whatever order the tests run in.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import zxpolicy
from zxpolicy import Subject
from zxpolicy.log import LogRecord, LogStore, open_log

from ..conftest import CST, POLICIES, REPO, consent, report
from ..serve._server import free_port

CHROMIUM = Path(os.environ.get("ZXPOLICY_CHROMIUM", "/usr/bin/chromium"))
# The flags of the design: no sandbox (CI runs as root in a container), no GPU, and nothing that
# reaches out to the network on its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

# The console section of the store's policy: the bundled one, with the credit information
# supervisor also allowed to approve, so that a user who may approve proposes a change and is
# refused its approval as its proposer (in the bundled section no one holds both rights).
APPROVE = "    approve: [risk_control_manager, general_manager]"
APPROVE_TOO = "    approve: [risk_control_manager, general_manager, credit_info_supervisor]"

# Console users (ids of the bundled assignments) and their rights in the store's policy.
PASSWORD = {
    "u-officer-east": "officer-password-1",    # credit_info_officer: view, propose
    "u-supervisor-hq": "supervisor-password-1",  # credit_info_supervisor: view, review, propose, approve
    "u-riskmgr-hq": "riskmgr-password-1",      # risk_control_manager: view, approve
    "u-gm-hq": "general-manager-pw-1",         # general_manager: view, approve
    "u-query-east1": "query-operator-pw-1",    # query_operator: no console right at all
}

# The days of the log (Asia/Shanghai): a day with more queries than one page of the daily check,
# a day signed off before the tests, and two days to review in the browser.
PAGED_DAY = date(2026, 11, 23)  # Monday: 130 queries, 3 of them flagged
SIGNED_DAY = date(2026, 11, 24)  # Tuesday: reviewed and signed through the library, one violation
REVIEW_DAY = date(2026, 11, 26)  # Thursday: 2 flagged lines, reviewed and signed in the browser
REFUSED_DAY = date(2026, 11, 27)  # Friday: 2 flagged lines, one left unreviewed: sign-off refused
PAGED_ROWS = 130


def chromium_or_skip(path: Path = CHROMIUM) -> Path:
    """The browser's path; without one a skip that says why, or a failure where CI installed it."""
    if path.is_file() and os.access(path, os.X_OK):
        return path
    why = f"no Chromium at {path} (Debian: apt-get install chromium; .ci/run installs it)"
    if os.environ.get("ZXPOLICY_REQUIRE_CHROMIUM"):
        pytest.fail(why + "; ZXPOLICY_REQUIRE_CHROMIUM is set")
    pytest.skip(why)


def artifacts() -> Path:
    root = Path(os.environ["ZXPOLICY_ARTIFACTS"]) if os.environ.get("ZXPOLICY_ARTIFACTS") else REPO / "test-artifacts"
    folder = root / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class WrittenWhenAsked:
    """A log whose records are written at the time their requests claim (the engine writes its own
    clock, and the daily check selects by it), so that a test can fill past days."""

    def __init__(self, store: LogStore) -> None:
        self.store = store

    def write(self, record: LogRecord) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[LogRecord]) -> None:
        self.store.write_many([dataclasses.replace(r, logged_at=r.at) for r in records])


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


def write_day(engine: zxpolicy.Engine, day: date, *, plain: int, off_hours: int, denied: int, tag: str) -> None:
    """``plain`` allowed queries in working hours, ``off_hours`` allowed ones at night, ``denied``
    ones without the customer's consent (flagged `denied`). Customers differ, so nothing repeats;
    the plain ones are asked by ten tellers the host passes whole (not in the assignments), so that
    no one exceeds the daily volume that would flag them all."""
    n = 0
    for i in range(plain):
        n += 1
        when = at(day, 9) + timedelta(seconds=20 * i)
        teller = Subject(f"u-teller-{tag}{i % 10}", ["query_operator"], "east-1")
        d = engine.check(teller, report(customer=f"c-{tag}{n}", rid=f"r-{tag}{n}"), "loan_review",
                         consent=consent(customer=f"c-{tag}{n}", signed_at=when - timedelta(days=3)), at=when)
        assert d.allowed, d.codes
    for i in range(off_hours):
        n += 1
        when = at(day, 21, 10 + i)
        d = engine.check("u-query-east1", report(customer=f"c-{tag}{n}", rid=f"r-{tag}{n}"), "loan_review",
                         consent=consent(customer=f"c-{tag}{n}", signed_at=when - timedelta(days=3)), at=when)
        assert d.allowed, d.codes
    for i in range(denied):
        n += 1
        d = engine.check("u-query-east1", report(customer=f"c-{tag}{n}", rid=f"r-{tag}{n}"), "loan_review",
                         at=at(day, 14, 5 + i))
        assert not d.allowed and "consent_missing" in d.codes


@dataclass
class ConsoleData:
    folder: Path
    store_url: str
    log: str
    version: str  # the current policy version when the console starts
    revision: int


def make_data(folder: Path) -> ConsoleData:
    from zxpolicy.console import add_user, open_console_db, record_outcome, sign_off
    from zxpolicy.log import daily_check, review_settings
    from zxpolicy.store import init_store, publish, read_policy_files

    store_url = f"sqlite:///{folder / 'store.db'}"
    store = init_store(store_url)
    try:
        files = read_policy_files(POLICIES)
        files["console.yaml"] = files["console.yaml"].replace(APPROVE, APPROVE_TOO)
        done = publish(files, store, by="u-supervisor-hq", message="启用行内征信授权策略")
        assert done.revision is not None, done.refused
        store.approve(done.revision, by="u-gm-hq")
        current = store.current()
        assert current is not None
        version, revision = current.version, current.revision
    finally:
        store.close()

    log = str(folder / "decisions.db")
    written = open_log(log, durable=False)  # no fsync per record: these are test data
    try:
        engine = zxpolicy.load(POLICIES, log=WrittenWhenAsked(written))
        write_day(engine, PAGED_DAY, plain=PAGED_ROWS - 3, off_hours=2, denied=1, tag="p")
        write_day(engine, SIGNED_DAY, plain=3, off_hours=1, denied=1, tag="s")
        write_day(engine, REVIEW_DAY, plain=3, off_hours=1, denied=1, tag="a")
        write_day(engine, REFUSED_DAY, plain=2, off_hours=2, denied=0, tag="b")
        head_seq, head_hash = written.head()
    finally:
        written.close()

    db = open_console_db(log)
    try:
        for user, password in PASSWORD.items():
            add_user(db, user, password)
        # SIGNED_DAY reviewed and signed through the library: one line compliant, one a violation.
        reading = open_log(log, read_only=True)
        try:
            check = daily_check(reading, review_settings(zxpolicy.load(POLICIES).document), SIGNED_DAY)
        finally:
            reading.close()
        flagged = [r for r in check.rows if r.flags]
        assert len(flagged) == 2, [r.flags for r in check.rows]
        for row, outcome in zip(flagged, ("compliant", "violation"), strict=True):
            record_outcome(db, day=SIGNED_DAY, seq=row.seq, decision_id=row.decision_id, outcome=outcome,
                           note="已与信贷业务逐笔核实", reference="贷-2026-1124", by="u-supervisor-hq")
        sign_off(db, day=SIGNED_DAY, by="u-supervisor-hq", head_seq=head_seq, head_hash=head_hash,
                 flagged=[r.seq for r in flagged])
    finally:
        db.close()
    return ConsoleData(folder, store_url, log, version, revision)


class Console:
    """A running ``python -m zxpolicy console``: its base URL, its process, what it printed."""

    def __init__(self, process: subprocess.Popen[str], url: str, out: Path, data: ConsoleData) -> None:
        self.process = process
        self.url = url
        self.data = data
        self._out = out

    def output(self) -> str:
        return self._out.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_console(data: ConsoleData, timeout: float = 60) -> Console:
    port = free_port()
    out = data.folder / f"console-{port}.out"
    environ = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(out, "w", encoding="utf-8") as f:
        process = subprocess.Popen(
            [sys.executable, "-m", "zxpolicy", "console", "--store", data.store_url, "--log", data.log,
             "--port", str(port)],
            stdout=f, stderr=subprocess.STDOUT, text=True, env=environ, cwd=data.folder,
        )
    console = Console(process, f"http://127.0.0.1:{port}", out, data)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"the console exited with {process.returncode}:\n{console.output()}")
        try:
            if httpx.get(f"{console.url}/login", timeout=2).status_code == 200:
                return console
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            console.stop()
            pytest.fail(f"the console did not answer /login within {timeout} s:\n{console.output()}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    return chromium_or_skip()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Console]:
    """The console on its data, for one module of tests; the process is stopped afterwards."""
    data = make_data(tmp_path_factory.mktemp("console"))
    running = start_console(data)
    try:
        yield running
    finally:
        code = running.stop()
        assert code in (0, -signal.SIGTERM), f"the console exited with {code}:\n{running.output()}"


@pytest.fixture(scope="module")  # not the session: sync_playwright runs an event loop on this thread until it closes
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser: Any, console: Console) -> Iterator[Any]:
    """Pages of their own browser contexts (cookies apart, as two people at two machines),
    opening on the console; each test may open several."""
    contexts: list[Any] = []

    def make(**kwargs: Any) -> Any:
        context = browser.new_context(base_url=console.url, accept_downloads=True, locale="zh-CN",
                                      viewport={"width": 1280, "height": 900}, **kwargs)
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()
