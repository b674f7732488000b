"""The compliance console's pages at scale: how long each takes, against the 300 ms goal.

    python -m bench console                        # 10,000 users, one day of 100,000 log records
    python -m bench console --users 2000 --records 20000 --rounds 10
    python -m bench console --quick                # a tiny institution: that the bench runs
    python -m bench console --json

What it sets up, in a temporary folder:

- **the policy**: the bundled rules with an org tree and ``--users`` users (``bench/institution.py``),
  written into a SQLite policy store as revision 1 and approved by a second person, then a small
  widening (dispute handlers may query for ``legal``) proposed as revision 2 and left open, so
  that a proposal page carries a real semantic diff. The store is written with
  ``PolicyStore.propose``, not ``publish``: the generated institution has no test suites (the
  bundled suites name the bundled users), so the ``suite`` and ``invariants`` gates are recorded as
  not run; ``loads`` and the semantic ``diff`` are computed as ``publish`` computes them.
- **the decision log**: ``--records`` queries by the institution's query operators, decided by an
  engine on that policy, spread over one working day (2026-11-27, 08:00–18:30 in the policy's time
  zone, so that the last hour is off hours; one in twenty without the customer's consent, so
  denied). The engine writes its records into a list; they are then written to a SQLite log with
  ``open_log(..., durable=False)`` (no fsync per record: this is set-up, not what is measured), in
  batches, each record's write time set to the time its request claims, as if each check had been
  made then. The chain is the real one: the console verifies it before it shows the day.
- **a console account** for a credit information supervisor (rights: view, review, propose).

Then it starts ``python -m zxpolicy console`` on a free loopback port, signs in over HTTP (the
login form, its CSRF field, the session cookie) and GETs each page ``--rounds`` times after a
first GET, one request at a time on one keep-alive connection, each timed from the request to the
last byte of the body. A page answered otherwise than 200, or without the element that shows it
is the page asked for (a sign-in page instead of the daily check), stops the run.

The first GET is reported apart: for the daily check it is the one that reads the day and verifies
the whole chain (the console keeps the computed day per log head, so paging does not read the
log again). The goal is each page under 300 ms; the table says which pages meet it: on every
GET, on every GET after the first, or on their median only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import zxpolicy
from zxpolicy import Consent, Resource
from zxpolicy.compliance import MARKS, NARROWED, WIDENED, diff_policies, render_markdown
from zxpolicy.log import LogRecord, open_log
from zxpolicy.store import init_store, read_policy_files

from .institution import Institution, build

GOAL_MS = 300.0
DAY = date(2026, 11, 27)  # a Friday
CST = timezone(timedelta(hours=8))
FIRST, LAST = datetime(2026, 11, 27, 8, 0, tzinfo=CST), datetime(2026, 11, 27, 18, 30, tzinfo=CST)
PER_PAGE = 100  # the daily check's page size
USER = "u-credit_info_supervisor-0"  # bench/institution.py: one of the root's approvers
PASSWORD = "bench-console-password"  # noqa: S105 - a scratch account in a temporary folder
WIDER = ("    purposes: [dissent]\n", "    purposes: [dissent, legal]\n")


class BenchFailure(Exception):
    """The bench did not measure what it says: the console did not start, or a page was not the
    page asked for."""


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    marker: str  # an id the page must carry
    form: dict[str, str] | None = None  # a POST's fields (the CSRF field is added)


def pages(proposal: int, records: int) -> list[Page]:
    last = max(1, -(-records // PER_PAGE))
    return [
        Page("策略 policy", "/policy", 'id="grants"'),
        Page("试算 try: the form", "/try", 'id="try-form"'),
        Page("试算 try: a decision", "/try", 'id="result"', {
            "subject": "u-credit_info_supervisor-0", "action": "query", "purpose": "loan_review",
            "resource_kind": "credit_report", "resource_level": "ordinary", "resource_org": "org-00000",
            "resource_id": "r-1", "customer_id": "c-1", "at": "2026-11-27T10:00"}),
        Page("变更 changes", "/changes", 'id="proposals"'),
        Page("变更 a proposal and its diff", f"/changes/{proposal}", 'id="diff"'),
        Page("变更 propose: the form", "/changes/propose", 'id="propose-form"'),
        Page("变更 history", "/changes/history", 'id="history"'),
        Page("日核查 daily: page 1", f"/daily?date={DAY.isoformat()}", 'id="rows"'),
        Page(f"日核查 daily: page {last:,} (the last)", f"/daily?date={DAY.isoformat()}&page={last}", 'id="rows"'),
        Page("日核查 daily: flagged only", f"/daily?date={DAY.isoformat()}&only=flagged", 'id="rows"'),
        Page("报表 reports", "/reports", 'href="/reports/monthly'),
        Page("报表 monthly", f"/reports/monthly?month={DAY:%Y-%m}", 'name="count_'),
        Page("报表 quarterly", f"/reports/quarterly?quarter={DAY.year}-Q{(DAY.month - 1) // 3 + 1}", "<table"),
    ]


# -- setting up ------------------------------------------------------------------------------------

def make_store(inst: Institution, url: str) -> tuple[int, int]:
    """Revision 1 (current) and revision 2 (open, a widening) of the institution's policy."""
    files = read_policy_files(inst.directory)
    first = zxpolicy.load(inst.directory)
    not_run: list[dict[str, Any]] = [{"gate": g, "ok": False, "message": "未运行：基准测试生成的机构没有测试用例",
                "message_en": "not run: the benchmark's generated institution has no suites"}
               for g in ("suite", "invariants")]
    store = init_store(url)
    try:
        loads = {"gate": "loads", "ok": True, "message": f"可以加载（{first.policy_version}）",
                 "message_en": f"loads ({first.policy_version})"}
        diff = {"first": True, "base": None, "widened": 0, "narrowed": 0, "changed": 0, "markdown": "",
                "markdown_en": ""}
        one = store.propose(files, version=first.policy_version, by="u-credit_info_officer-bench", message="基准：初始策略",
                            gates=[loads, *not_run, {"gate": "diff", "ok": True, "message": "首个版本",
                                                     "message_en": "the first revision"}],
                            diff=diff, widening=False, base=None)
        store.approve(one, by="u-general_manager-0")

        wider = dict(files)
        if wider["grants.yaml"].count(WIDER[0]) != 1:
            raise BenchFailure("grants.yaml no longer has the dispute handlers' grant this bench widens")
        wider["grants.yaml"] = wider["grants.yaml"].replace(*WIDER)
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            for name, text in wider.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text, encoding="utf-8")
            second = zxpolicy.load(folder)
        result = diff_policies(first, second)
        levels = [lv.id for lv in second.document.levels]
        old_name = f"#{one} {first.policy_version}"
        counts = result.marks
        diff = {"first": False, "base": one, **{m: counts[m] for m in MARKS},
                "markdown": render_markdown(result, old_name, second.policy_version, "zh", levels),
                "markdown_en": render_markdown(result, old_name, second.policy_version, "en", levels)}
        gates: list[dict[str, Any]] = [{"gate": "loads", "ok": True, "message": f"可以加载（{second.policy_version}）",
                  "message_en": f"loads ({second.policy_version})"}, *not_run,
                 {"gate": "diff", "ok": True,
                  "message": f"与第 {one} 版相比：放宽 {counts[WIDENED]}，收紧 {counts[NARROWED]}",
                  "message_en": f"against revision {one}: {counts[WIDENED]} widened, {counts[NARROWED]} narrowed"}]
        two = store.propose(wider, version=second.policy_version, by="u-credit_info_officer-bench",
                            message="基准：异议处理员可为司法查询调阅征信报告", gates=gates, diff=diff,
                            widening=bool(result.widened), base=one)
    finally:
        store.close()
    return one, two


class _Collected:
    def __init__(self) -> None:
        self.records: list[LogRecord] = []

    def write(self, record: LogRecord) -> None:
        self.records.append(record)


def make_log(inst: Institution, path: Path, n: int, seed: int = 11) -> dict[str, Any]:
    """``n`` queries of one day, decided by an engine and written at the times they claim."""
    rng = random.Random(seed)
    sink = _Collected()
    engine = zxpolicy.load(inst.directory, log=sink)
    operators = inst.by_role["query_operator"]
    span = (LAST - FIRST).total_seconds()
    started = time.perf_counter()
    times = sorted(FIRST + timedelta(seconds=rng.uniform(0, span)) for _ in range(n))
    allowed = 0
    for i, when in enumerate(times):
        user = rng.choice(operators)
        customer = f"c-{rng.randrange(n * 4)}"
        given = None if i % 20 == 19 else Consent(customer, ["loan_review"], when - timedelta(days=2))
        d = engine.check(user.id, Resource(f"r-{i}", "credit_report", "ordinary", user.org, customer_id=customer),
                         "loan_review", consent=given, at=when)
        allowed += d.allowed
    decided = time.perf_counter() - started
    if len(sink.records) != n:
        raise BenchFailure(f"the engine wrote {len(sink.records)} records for {n} decisions")
    store = open_log(path, durable=False)
    started = time.perf_counter()
    try:
        batch = 10_000
        for k in range(0, n, batch):
            store.write_many([_written_at_claim(r) for r in sink.records[k:k + batch]])
        head = store.head()
    finally:
        store.close()
    return {"records": n, "allowed": allowed, "decide_s": decided, "write_s": time.perf_counter() - started,
            "head_seq": head[0]}


def _written_at_claim(r: LogRecord) -> LogRecord:
    import dataclasses

    return dataclasses.replace(r, logged_at=r.at)


def add_account(log: Path) -> None:
    from zxpolicy.console import add_user, open_console_db

    db = open_console_db(str(log))
    try:
        add_user(db, USER, PASSWORD)
    finally:
        db.close()


# -- the console -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One keep-alive HTTP connection to the console, keeping the cookies it is given (the standard
    library's: the bench needs nothing beyond what ``zxpolicy`` installs)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def ask(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = {"Origin": self.origin, "Referer": f"{self.origin}/"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self._conn.request(method, path, body=body, headers=headers)
        answer = self._conn.getresponse()
        content = answer.read()
        for value in answer.headers.get_all("set-cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, content

    def close(self) -> None:
        self._conn.close()


def answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/login")
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except OSError:
        return False


def start(store_url: str, log: Path, folder: Path, timeout: float = 120) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    out = folder / "console.out"
    with open(out, "wb") as f:
        process = subprocess.Popen([sys.executable, "-m", "zxpolicy", "console", "--store", store_url, "--log", str(log),
                                    "--port", str(port)], stdout=f, stderr=subprocess.STDOUT, cwd=folder,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise BenchFailure(f"the console exited with {process.returncode}:\n{out.read_text(errors='replace')}")
        if answers(port):
            return process, port, out
        if time.monotonic() > deadline:
            process.kill()
            raise BenchFailure(f"the console did not answer within {timeout:.0f} s:\n{out.read_text(errors='replace')}")
        time.sleep(0.1)


CSRF = re.compile(r'name="csrf"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf"')


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    if m is None:
        raise BenchFailure("no CSRF field on the page")
    return m[1] or m[2]


def sign_in(client: Client) -> None:
    _, _, form = client.ask("GET", "/login")
    status, headers, body = client.ask("POST", "/login", {"username": USER, "password": PASSWORD,
                                                           "csrf": csrf_of(form.decode())})
    if status != 303 or not headers.get("location", "").endswith("/policy"):
        raise BenchFailure(f"signing in answered {status} {headers.get('location')}: {body[:300]!r}")


def fetch(client: Client, page: Page, csrf: str) -> tuple[float, int]:
    started = time.perf_counter()
    if page.form is None:
        status, _, body = client.ask("GET", page.path)
    else:
        status, _, body = client.ask("POST", page.path, {**page.form, "csrf": csrf})
    took = time.perf_counter() - started
    if status != 200 or page.marker.encode() not in body:
        raise BenchFailure(f"{page.path} answered {status} without `{page.marker}`: {body[:300]!r}")
    return took * 1000, len(body)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"users": args.users, "orgs": args.orgs, "records": args.records, "rounds": args.rounds,
                              "day": DAY.isoformat(), "goal_ms": GOAL_MS}
    with tempfile.TemporaryDirectory(prefix="zxpolicy-bench-console-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        inst = build(folder / "policies", args.users, args.orgs)
        store_url = f"sqlite:///{folder / 'store.db'}"
        current, proposal = make_store(inst, store_url)
        report["store_s"] = time.perf_counter() - started
        log = folder / "decisions.db"
        report["log"] = make_log(inst, log, args.records)
        add_account(log)
        started = time.perf_counter()
        process, port, out = start(store_url, log, folder)
        report["start_s"] = time.perf_counter() - started
        try:
            client = Client(port)
            try:
                sign_in(client)
                csrf = csrf_of(client.ask("GET", "/try")[2].decode())
                rows = []
                for page in pages(proposal, args.records):
                    first, size = fetch(client, page, csrf)
                    times = [fetch(client, page, csrf)[0] for _ in range(args.rounds)]
                    rows.append({"page": page.name, "path": page.path, "method": "POST" if page.form else "GET",
                                 "first_ms": first, "median_ms": statistics.median(times), "max_ms": max(times),
                                 "bytes": size})
                report["pages"] = rows
            finally:
                client.close()
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        report["revisions"] = {"current": current, "proposal": proposal}
    report["load_average"] = os.getloadavg()[0]
    return report


def table(report: dict[str, Any]) -> str:
    goal = report["goal_ms"]
    lines = [
        f"{report['users']:,} users, {report['orgs']:,} orgs; one day ({report['day']}) of {report['records']:,} log "
        f"records; {report['rounds']} GETs a page after a first one",
        "",
        "| page | first ms | median ms | max ms | KiB | goal ≤ 300 ms |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in report["pages"]:
        if r["max_ms"] <= goal:
            met = "met" if r["first_ms"] <= goal else "after the first view"
        else:
            met = "median only" if r["median_ms"] <= goal else "**not met**"
        name = r["page"] + (" (POST)" if r["method"] == "POST" else "")
        lines.append(f"| {name} | {r['first_ms']:,.1f} | {r['median_ms']:,.1f} | {r['max_ms']:,.1f} | "
                     f"{r['bytes'] / 1024:.0f} | {met} |")
    log = report["log"]
    lines += ["", f"Set-up: the policy store in {report['store_s']:.1f} s; {log['records']:,} decisions "
              f"({log['allowed']:,} allowed) in {log['decide_s']:.1f} s, written (durable=False) in {log['write_s']:.1f} s; "
              f"the console answered after {report['start_s']:.1f} s. Load average {report['load_average']:.2f}."]
    return "\n".join(lines)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"`{text}`: a whole number, at least 1")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench console", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=_positive, default=10_000, help="users of the policy (default 10,000)")
    p.add_argument("--orgs", type=_positive, default=100, help="orgs (default 100)")
    p.add_argument("--records", type=_positive, default=100_000, help="log records, all of one day (default 100,000)")
    p.add_argument("--rounds", type=_positive, default=20, help="GETs of each page after the first (default 20)")
    p.add_argument("--quick", action="store_true", help="a tiny institution and log, 3 rounds: that the bench runs")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    if args.quick:
        args.users, args.orgs, args.records, args.rounds = 60, 10, 250, 3
    try:
        report = measure(args)
    except BenchFailure as exc:
        print(f"bench console: {exc}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else table(report))


if __name__ == "__main__":
    main()
