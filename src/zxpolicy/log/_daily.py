"""查询日核查: one day's queries, each with the flags a reviewer must look at (工作方案 §四.3/§四.4).

A query here is a decision on ``query`` or ``print``, allowed or not. The flags:

- ``off_hours``: outside the working hours of the policy (its time zone, its weekdays);
- ``volume``: its user made more queries (allowed or denied) that day than ``daily_volume_threshold``;
- ``repeat``: its user queried its customer more often that day than ``repeat_threshold``;
- ``denied``: the engine denied it;
- ``review_purpose``: its purpose is one the policy always reviews (``legal``, ``dissent``).

Every query is listed, flagged or not: the review is line by line (逐笔核实). A query's time is
the request's (``at``), which is the time of the check unless the host gave one; the time it was
written (``logged_at``) is kept beside it in the record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from ..policy import Reporting
from ._record import LogRecord, StoredRecord
from ._settings import QUERY_ACTIONS, day_range, in_working_hours, zone
from ._store import LogStore
from ._verify import Progress

FLAGS = ("off_hours", "volume", "repeat", "denied", "review_purpose")


@dataclass(frozen=True, slots=True)
class DailyRow:
    seq: int
    decision_id: str
    local_time: datetime  # in the policy's time zone
    subject_id: str
    subject_org: str
    action: str
    resource_id: str
    customer_id: str | None
    purpose: str
    allowed: bool
    codes: tuple[str, ...]
    flags: tuple[str, ...]

    def to_dict(self, mask: bool = False) -> dict[str, object]:
        return {
            "seq": self.seq,
            "decision_id": self.decision_id,
            "time": self.local_time.isoformat(timespec="seconds"),
            "subject": self.subject_id,
            "org": self.subject_org,
            "action": self.action,
            "resource": self.resource_id,
            "customer": mask_id(self.customer_id) if mask else self.customer_id,
            "purpose": self.purpose,
            "allowed": self.allowed,
            "codes": list(self.codes),
            "flags": list(self.flags),
        }


def mask_id(value: str | None) -> str | None:
    """A customer id for an export: its first two and last two characters, the rest hidden."""
    if value is None:
        return None
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def flag_queries(rows: Iterable[StoredRecord], settings: Reporting) -> list[DailyRow]:
    """The queries among ``rows``, flagged. Volume and repeats are counted per local day."""
    tz = zone(settings)
    queries: list[tuple[StoredRecord, LogRecord, datetime]] = []
    for row in rows:
        try:
            rec = row.record()
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"record {row.seq} (decision {row.decision_id}) cannot be read ({exc}); run `zxpolicy log verify`") from None
        if rec.action in QUERY_ACTIONS:
            queries.append((row, rec, rec.when.astimezone(tz)))
    per_user: Counter[tuple[date, str]] = Counter()
    per_customer: Counter[tuple[date, str, str]] = Counter()
    for _, rec, local in queries:
        per_user[local.date(), rec.subject_id] += 1
        if rec.customer_id is not None:
            per_customer[local.date(), rec.subject_id, rec.customer_id] += 1
    out = []
    for row, rec, local in queries:
        flags = []
        if not in_working_hours(settings, local):
            flags.append("off_hours")
        if per_user[local.date(), rec.subject_id] > settings.daily_volume_threshold:
            flags.append("volume")
        if rec.customer_id is not None and per_customer[local.date(), rec.subject_id, rec.customer_id] > settings.repeat_threshold:
            flags.append("repeat")
        if not rec.allowed:
            flags.append("denied")
        if rec.purpose in settings.review_purposes:
            flags.append("review_purpose")
        out.append(
            DailyRow(
                row.seq, rec.decision_id, local, rec.subject_id, rec.subject_org, rec.action, rec.resource_id,
                rec.customer_id, rec.purpose, rec.allowed, rec.codes, tuple(flags),
            )
        )
    return out


def daily_check(store: LogStore, settings: Reporting, day: date, *, progress: Progress | None = None) -> list[DailyRow]:
    """The queries of one local day, in the order they were logged, each with its flags.
    ``progress`` wraps the records' iterator, as in ``verify``."""
    start, end = day_range(settings, day)
    rows: Iterable[StoredRecord] = store.rows(start, end)
    if progress is not None:
        rows = progress(iter(rows), store.count(start, end))
    return flag_queries(rows, settings)
