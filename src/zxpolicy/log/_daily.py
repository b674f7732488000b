"""查询日核查: one day's queries, each with the flags a reviewer must look at (工作方案 §四.3/§四.4).

A query here is a decision on ``query`` or ``print``, allowed or not. The day's queries are those
*written* that day (``logged_at``, the engine's clock, in the policy's time zone), whatever time
the request claims (``at``, which a host may give): a check made today and dated three days back
is in today's review, flagged, and not hidden in a day already reviewed. The flags:

- ``off_hours``: written, or claimed, outside the working hours of the policy (its time zone, its
  weekdays);
- ``backdated`` / ``future_dated``: the time the request claims is earlier / later than the time
  it was written by more than ``clock_tolerance_minutes`` (default 5);
- ``volume``: its user made more queries (allowed or denied) that day than ``daily_volume_threshold``;
- ``repeat``: its user queried its customer more often that day than ``repeat_threshold``;
- ``denied``: the engine denied it;
- ``review_purpose``: its purpose is one the policy always reviews (``legal``, ``dissent``).

Every query is listed, flagged or not: the review is line by line (逐笔核实). Before it is made
the whole chain is verified, from its genesis to its head (``verify_chain``): a log that does not
verify gives no review (``LogError`` ``log_tampered``, naming the first bad record), so a record
flipped from denied to allowed, or deleted, cannot pass unseen. The review carries the head it
verified, for the reviewer to sign and give back later as an anchor.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .._errors import LogError
from ..policy import Reporting
from ._record import LogRecord, StoredRecord
from ._settings import QUERY_ACTIONS, day_range, in_working_hours, zone
from ._store import LogStore
from ._verify import Progress, verify_chain

FLAGS = ("off_hours", "backdated", "future_dated", "volume", "repeat", "denied", "review_purpose")

# Each flag and result for people: (Chinese, English); shown with the id beside it.
FLAG_LABELS = {
    "off_hours": ("非工作时间", "off hours"),
    "backdated": ("请求时间早于写入时间", "back-dated"),
    "future_dated": ("请求时间晚于写入时间", "future-dated"),
    "volume": ("单日查询量超限", "over the daily volume"),
    "repeat": ("重复查询同一客户", "repeated queries of one customer"),
    "denied": ("被拒绝", "denied"),
    "review_purpose": ("须复核的用途", "purpose always reviewed"),
}
RESULT_LABELS = {True: ("允许", "allowed"), False: ("拒绝", "denied")}


@dataclass(frozen=True, slots=True)
class DailyRow:
    seq: int
    decision_id: str
    local_time: datetime  # the time the request claims, in the policy's time zone
    written_time: datetime  # when it was written, in the policy's time zone
    subject_id: str
    subject_org: str
    action: str
    resource_id: str
    resource_kind: str
    customer_id: str | None
    purpose: str
    allowed: bool
    codes: tuple[str, ...]
    flags: tuple[str, ...]
    caller: str | None = None  # the system that asked, where a service knew it (zxpolicy serve)

    def to_dict(self, mask: bool = False) -> dict[str, object]:
        return {
            "seq": self.seq,
            "decision_id": self.decision_id,
            "time": self.local_time.isoformat(timespec="seconds"),
            "written": self.written_time.isoformat(timespec="seconds"),
            "subject": self.subject_id,
            "caller": self.caller,
            "org": self.subject_org,
            "action": self.action,
            "kind": self.resource_kind,
            "resource": self.resource_id,
            "customer": mask_id(self.customer_id) if mask else self.customer_id,
            "purpose": self.purpose,
            "allowed": self.allowed,
            "codes": list(self.codes),
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class DailyCheck:
    """A day's review: its queries (iterating it gives them), and the chain's head as verified
    (``verified`` false: the chain was not checked, the review must say so)."""

    day: date
    rows: tuple[DailyRow, ...]
    head_seq: int
    head_hash: str
    verified: bool

    def __iter__(self) -> Iterator[DailyRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def head(self) -> str:
        """``SEQ:HASH``, as ``zxpolicy log verify --anchor`` takes it back."""
        return f"{self.head_seq}:{self.head_hash}"

    @property
    def flagged(self) -> int:
        return sum(1 for r in self.rows if r.flags)


def mask_id(value: str | None) -> str | None:
    """A customer id for an export: its first two and last two characters, the rest hidden."""
    if value is None:
        return None
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def flag_queries(rows: Iterable[StoredRecord], settings: Reporting) -> list[DailyRow]:
    """The queries among ``rows``, flagged. Volume and repeats are counted per local day of
    writing."""
    tz = zone(settings)
    tolerance = timedelta(minutes=settings.clock_tolerance_minutes)
    queries: list[tuple[StoredRecord, LogRecord, datetime, datetime]] = []
    for row in rows:
        try:
            rec = row.record()
            written = datetime.fromisoformat(rec.logged_at).astimezone(tz)
            claimed = rec.when.astimezone(tz)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"record {row.seq} (decision {row.decision_id}) cannot be read ({exc}); run `zxpolicy log verify`") from None
        if rec.action in QUERY_ACTIONS:
            queries.append((row, rec, claimed, written))
    per_user: Counter[tuple[date, str]] = Counter()
    per_customer: Counter[tuple[date, str, str]] = Counter()
    for _, rec, _, written in queries:
        per_user[written.date(), rec.subject_id] += 1
        if rec.customer_id is not None:
            per_customer[written.date(), rec.subject_id, rec.customer_id] += 1
    out = []
    for row, rec, claimed, written in queries:
        day = written.date()
        flags = []
        if not (in_working_hours(settings, claimed) and in_working_hours(settings, written)):
            flags.append("off_hours")
        if written - claimed > tolerance:
            flags.append("backdated")
        if claimed - written > tolerance:
            flags.append("future_dated")
        if per_user[day, rec.subject_id] > settings.daily_volume_threshold:
            flags.append("volume")
        if rec.customer_id is not None and per_customer[day, rec.subject_id, rec.customer_id] > settings.repeat_threshold:
            flags.append("repeat")
        if not rec.allowed:
            flags.append("denied")
        if rec.purpose in settings.review_purposes:
            flags.append("review_purpose")
        out.append(
            DailyRow(
                row.seq, rec.decision_id, claimed, written, rec.subject_id, rec.subject_org, rec.action,
                rec.resource_id, rec.resource_kind, rec.customer_id, rec.purpose, rec.allowed, rec.codes, tuple(flags),
                rec.caller,
            )
        )
    return out


def verified_head(store: LogStore, verify: bool, progress: Progress | None = None) -> tuple[int, str]:
    """The chain's head, verified from the genesis when ``verify``; a chain that does not verify
    raises ``LogError`` (``log_tampered``) naming its first bad record. Unverified, the head as
    the log says it is (empty where it has none)."""
    if not verify:
        try:
            return store.head()
        except LogError:
            return 0, ""
    v = verify_chain(store, progress=progress)
    if v.finding is not None:
        raise LogError(
            "log_tampered",
            f"决策日志校验未通过，不出具报告：{v.finding.message}（`zxpolicy log verify` 可复核）",
            f"the decision log does not verify, no report is made: {v.finding.message_en} (see `zxpolicy log verify`)",
        )
    return v.head_seq, v.head_hash


def daily_check(
    store: LogStore, settings: Reporting, day: date, *, verify: bool = True, progress: Progress | None = None
) -> DailyCheck:
    """The queries written on one local day, in the order they were logged, each with its flags.
    ``verify`` (the default): the whole chain is verified first, and a chain that does not verify
    raises ``LogError`` (``log_tampered``). ``progress`` wraps the records' iterators, as in
    ``verify_chain``."""
    head_seq, head_hash = verified_head(store, verify, progress)
    start, end = day_range(settings, day)
    rows: Iterable[StoredRecord] = store.rows(start, end)
    if progress is not None:
        rows = progress(iter(rows), store.count(start, end))
    if verify:  # records written since the chain was verified are not in the review
        rows = (r for r in rows if r.seq <= head_seq)
    return DailyCheck(day, tuple(flag_queries(rows, settings)), head_seq, head_hash, verify)
