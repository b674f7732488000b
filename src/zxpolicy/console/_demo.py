"""``zxpolicy console demo``: a folder with everything a first look needs, then the console on it.

    zxpolicy console demo                 # ./zxpolicy-demo, then http://127.0.0.1:8282/

The folder holds (``make_demo``):

    store.db        a policy store: the bundled policy, proposed by one demo user and approved by
                    another; and one open proposal, a small widening, for a third to review
    decisions.db    a decision log of the last few working days, written by the bundled policy's
                    engine: plain queries, and flagged ones (off hours, back-dated, the `legal`
                    purpose, denied), for the daily check; the console's tables beside it
    accounts.txt    the demo accounts and their passwords (made at random for this folder: a
                    demo's, never a real one's)
    .zxpolicy-demo  the mark of a demo folder: a folder without it that is not empty is refused

Run again on the same folder, the demo is served as it was left.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from .._bundled import default_policy_dir
from .._errors import ConsoleError
from ..decide import Engine, LogRecord, utc_text
from ..log import LogStore, open_log
from ..policy import load_policy
from ..store import init_store, publish, read_policy_files
from ._accounts import add_user
from ._db import open_console_db
from ._rights import console_rights

__all__ = ["DEMO_USERS", "Demo", "make_demo"]

MARK = ".zxpolicy-demo"
ACCOUNTS = "accounts.txt"
DEMO_USERS = ("u-supervisor-hq", "u-officer-east", "u-riskoff-east", "u-riskmgr-hq", "u-gm-hq")
_WIDER = ("    purposes: [dissent]\n", "    purposes: [dissent, legal]\n")  # dispute handlers may also query for `legal`
_DAYS = 5  # working days of decisions


@dataclass(frozen=True)
class Demo:
    folder: Path
    store: str
    log: str
    accounts: tuple[tuple[str, str, str, str], ...]  # id, name, rights, password


class _WrittenAt:
    """The demo's log: each record written at the time it claims, or at ``written`` where set
    (a back-dated query), so that past days have a daily check."""

    def __init__(self, store: LogStore) -> None:
        self.store = store
        self.written: str | None = None

    def write(self, record: LogRecord) -> None:
        self.write_many([record])

    def write_many(self, records: Sequence[LogRecord]) -> None:
        self.store.write_many([dataclasses.replace(r, logged_at=self.written or r.at) for r in records])


def _working_days(today: date, n: int) -> list[date]:
    days: list[date] = []
    day = today - timedelta(days=1)
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return sorted(days)


def _decisions(engine: Engine, log: _WrittenAt, days: list[date], zone: ZoneInfo) -> None:
    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), zone)

    def query(subject: str, customer: str, when: datetime, purpose: str = "loan_review", consent: bool = True,
              **extra: object) -> None:
        resource = {"id": f"rep-{customer}", "kind": "credit_report", "level": "ordinary", "org": "east-1", "customer_id": customer}
        given = {"id": f"auth-{customer}", "customer_id": customer, "purposes": [purpose],
                 "signed_at": (when - timedelta(days=5)).isoformat()} if consent else None
        engine.check(subject, resource, purpose, consent=given, at=when.isoformat(), **extra)

    for n, day in enumerate(days):
        tag = day.strftime("%m%d")
        for i in range(12):
            query("u-query-east1", f"c{tag}-{i}", at(day, 9 + i // 3, 5 * i % 60))
        query("u-query-east1", f"c{tag}-night", at(day, 21, 40))  # off hours
        query("u-query-east1", f"c{tag}-nocon", at(day, 15, 10), consent=False)  # denied: no consent
        if n % 2 == 0:  # the legal purpose, always reviewed
            query("u-query-east1", f"c{tag}-court", at(day, 11, 20), purpose="legal", consent=False,
                  evidence={"legal_basis": "法院协助查询通知书"},
                  approvals=[{"approver": "u-supervisor-hq", "role": "credit_info_supervisor",
                              "at": at(day, 11, 0).isoformat(), "resource_id": f"rep-c{tag}-court", "action": "query"}])
        if n % 2 == 1:  # written today, dated three days back
            log.written = utc_text(at(day, 10, 30))
            query("u-query-east1", f"c{tag}-late", at(day - timedelta(days=3), 10, 0))
            log.written = None


def make_demo(folder: Path, progress: Callable[[], None] | None = None) -> Demo:
    """Make the demo's folder (see the module's text), or open the one made before. Raises
    ``ConsoleError`` for a folder that is not empty and not a demo's. ``progress()`` is called
    once the folder is found usable, before the data (a few seconds of publish gates) are made."""
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not (folder / MARK).is_file())):
        raise ConsoleError("demo_folder_taken", f"`{folder}`已存在且不是演示目录：请给一个新目录或空目录（--dir）",
                           f"`{folder}` exists and is not a demo folder: give a new or empty folder (--dir)")
    store_url, log_path = f"sqlite:///{(folder / 'store.db').resolve()}", str((folder / "decisions.db").resolve())
    if (folder / MARK).is_file() and (folder / ACCOUNTS).is_file():
        return Demo(folder, store_url, log_path, _read_accounts(folder / ACCOUNTS))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConsoleError("demo_folder_unwritable", f"无法创建`{folder}`：{exc.strerror}", f"cannot make `{folder}`: {exc.strerror}") from None
    if progress is not None:
        progress()
    (folder / MARK).write_text("zxpolicy console demo\n", encoding="utf-8")
    files = read_policy_files(default_policy_dir())
    store = init_store(store_url)
    try:
        done = publish(files, store, by="u-supervisor-hq", message="启用行内征信授权策略（演示）")
        if done.revision is None:
            failed = [g for g in done.gates if not g.ok]
            raise ConsoleError("demo_publish_refused",
                               f"演示策略未能发布：{done.refused}" + "".join(f"；{g.name}：{g.message}" for g in failed),
                               f"the demo policy was not published: {done.refused_en}" + "".join(f"; {g.name}: {g.message_en}" for g in failed))
        store.approve(done.revision, by="u-gm-hq")
        wider = dict(files)
        if wider.get("grants.yaml", "").count(_WIDER[0]) == 1:
            wider["grants.yaml"] = wider["grants.yaml"].replace(*_WIDER)
            publish(wider, store, by="u-officer-east", message="异议处理员可为司法查询调阅征信报告（演示）", allow_widening=True)
    finally:
        store.close()

    loaded = load_policy(default_policy_dir())
    reporting = loaded.document.reporting
    zone = ZoneInfo(reporting.time_zone if reporting is not None else "Asia/Shanghai")
    written = open_log(log_path, durable=False)  # demo data: no fsync per record
    try:
        log = _WrittenAt(written)
        engine = Engine(loaded, log)
        _decisions(engine, log, _working_days(datetime.now(zone).date(), _DAYS), zone)
    finally:
        written.close()

    accounts = []
    db = open_console_db(log_path)
    try:
        for user in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            add_user(db, user, password, by="demo")
            rights = console_rights(engine, user)
            accounts.append((user, rights.label, ",".join(r for r in ("view", "review", "propose", "approve") if rights.has(r)), password))
    finally:
        db.close()
    lines = ["# zxpolicy console demo: accounts (demo passwords, made at random for this folder)", "# id\tname\trights\tpassword"]
    lines += ["\t".join(a) for a in accounts]
    (folder / ACCOUNTS).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / ACCOUNTS).chmod(0o600)  # passwords, if only a demo's
    return Demo(folder, store_url, log_path, tuple(accounts))


def _read_accounts(path: Path) -> tuple[tuple[str, str, str, str], ...]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if not line.startswith("#") and len(parts) == 4:
            out.append((parts[0], parts[1], parts[2], parts[3]))
    return tuple(out)
