"""The daily review's ledger, and the console's audit trail: two hash-chained, append-only tables.

The ledger (``review``) holds what the reviewers of the daily check (查询日核查) found:

    outcome   one flagged line of the decision log (its ``seq`` and decision id) verified against
              the business it belongs to (逐笔核实): 合规 / 违规 / 待查, a note, the loan or case
              reference. A later outcome for the same line is a correction: the newest counts,
              and the earlier one stays.
    signoff   a day signed off: who, when, the log's chain head at that moment (so that the
              records reviewed are pinned), the flagged lines and their outcomes. Refused while a
              flagged line has no outcome or only 待查, and for a day signed already.

The audit trail (``audit``) records every page view and action of the console, in a chain of its
own so that verifying the review is not mixed with page views.

Entries are chained as the decision log's records and the policy store's history are: each
``hash`` is ``sha256(prev_hash + body)`` (``zxpolicy.log.chain_hash``), ``body`` its canonical
JSON, the first linked from ``GENESIS``; the look-up columns repeat what the body says, and a
``heads`` row keeps each chain's last entry, so that ``verify_ledger`` / ``verify_audit`` find an
entry edited, removed (in the middle or at the end) or put out of order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .._errors import ConsoleError
from ..log import GENESIS, chain_hash
from ..store import HistoryFinding, Tx, canonical, first_break
from ._db import PREFIX, ConsoleDb

__all__ = [
    "AUDIT_KINDS",
    "DAY_STATES",
    "OUTCOMES",
    "OUTCOME_LABELS",
    "LedgerEntry",
    "LedgerFinding",
    "audit",
    "audit_entries",
    "day_states",
    "outcomes",
    "record_outcome",
    "sign_off",
    "signoff",
    "verify_audit",
    "verify_ledger",
]

OUTCOMES = ("compliant", "violation", "pending")
OUTCOME_LABELS: Mapping[str, tuple[str, str]] = {
    "compliant": ("合规", "compliant"),
    "violation": ("违规", "violation"),
    "pending": ("待查", "pending"),
}
DAY_STATES = ("not_started", "in_progress", "signed")
AUDIT_KINDS = ("view", "action", "signin", "signin_failed", "signout")

MAX_NOTE = 2000
MAX_REFERENCE = 200
MAX_DAYS = 1000  # the longest range day_states answers
_MAX_DETAIL = 20  # keys of an audit entry's detail
_MAX_VALUE = 500  # characters of an audit entry's `what` and of each detail value

_REVIEW, _AUDIT, _HEADS = f"{PREFIX}_review", f"{PREFIX}_audit", f"{PREFIX}_heads"
_COLUMNS = "seq, at, kind, day, who, body, prev_hash, hash"

# What a LedgerFinding is: the first broken entry of a chain, as the store's history reports it.
LedgerFinding = HistoryFinding


def stamp(at: datetime) -> str:
    """A time as the console stores it: ISO 8601 in UTC to the microsecond, one width (so that
    stored times sort as text)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def bounded_text(value: object, name: str, limit: int, noun: str, noun_en: str, *, required: bool = False,
                 one_line: bool = False) -> str:
    """``value`` stripped, with its line ends made ``\\n``; refused (``ConsoleError`` ``{name}_invalid``
    or ``{name}_too_long``) when not text, longer than ``limit``, empty where ``required``, or
    holding a control character (a line break too, where ``one_line``)."""
    if not isinstance(value, str):
        raise ConsoleError(f"{name}_invalid", f"{noun}应为文本", f"the {noun_en} must be text")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    allowed = "" if one_line else "\n\t"
    if any((ord(c) < 32 and c not in allowed) or 0x7F <= ord(c) < 0xA0 for c in text):
        raise ConsoleError(f"{name}_invalid", f"{noun}含有控制字符", f"the {noun_en} holds a control character")
    if required and not text:
        raise ConsoleError(f"{name}_invalid", f"{noun}不能为空", f"the {noun_en} is empty")
    if len(text) > limit:
        raise ConsoleError(f"{name}_too_long", f"{noun}过长：至多 {limit} 个字符（现为 {len(text)} 个）",
                           f"the {noun_en} is too long: at most {limit} characters (it has {len(text)})")
    return text


@dataclass(frozen=True)
class LedgerEntry:
    """One entry of the ledger or of the audit trail, as stored. ``day`` is the day reviewed
    (``YYYY-MM-DD``; for an audit entry, the UTC day it was made); ``data`` its body, parsed."""

    seq: int
    at: str
    kind: str
    day: str
    by: str
    data: dict[str, Any] = field(compare=False, repr=False)
    prev_hash: str
    hash: str
    body: str = field(default="", repr=False)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> LedgerEntry:
        seq, at, kind, day, who, body, prev, digest = row
        try:
            data = json.loads(body)
        except (ValueError, TypeError, RecursionError):
            data = {}
        return cls(int(seq), str(at), str(kind), str(day), str(who), data if isinstance(data, dict) else {}, str(prev),
                   str(digest), str(body))

    @classmethod
    def make(cls, seq: int, prev_hash: str, data: dict[str, Any]) -> LedgerEntry:
        body = canonical(data)
        return cls(seq, str(data["at"]), str(data["kind"]), str(data["day"]), str(data["by"]), data, prev_hash,
                   chain_hash(prev_hash, body), body)

    def row(self) -> tuple[Any, ...]:
        return (self.seq, self.at, self.kind, self.day, self.by, self.body, self.prev_hash, self.hash)

    def intact(self) -> bool:
        """Its hash recomputes from its body, and its columns say what its body says."""
        d = self.data
        return (chain_hash(self.prev_hash, self.body) == self.hash and d.get("kind") == self.kind
                and d.get("at") == self.at and d.get("day") == self.day and d.get("by") == self.by)

    @property
    def outcome(self) -> str:
        """An outcome entry's outcome ("" for other entries)."""
        return str(self.data.get("outcome", ""))


# -- the chains ------------------------------------------------------------------------------

def _append(tx: Tx, table: str, data: dict[str, Any]) -> LedgerEntry:
    """Append ``data`` to the chain of ``table`` (inside the write transaction ``tx``)."""
    found = tx.query(f"SELECT seq, hash FROM {_HEADS} WHERE chain = ?", (table,))
    seq, prev = (int(found[0][0]), str(found[0][1])) if found else (0, GENESIS)
    entry = LedgerEntry.make(seq + 1, prev, data)
    tx.execute(f"INSERT INTO {table} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", entry.row())
    tx.execute(f"INSERT INTO {_HEADS} (chain, seq, hash) VALUES (?, ?, ?)"
               " ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash", (table, entry.seq, entry.hash))
    return entry


def _verify(db: ConsoleDb, table: str) -> LedgerFinding | None:
    entries = [LedgerEntry.from_row(r) for r in db.db.read(f"SELECT {_COLUMNS} FROM {table} ORDER BY seq")]
    broken = first_break(entries, start=1)
    if broken is not None:
        return broken
    head = db.db.read(f"SELECT seq, hash FROM {_HEADS} WHERE chain = ?", (table,))
    last = (entries[-1].seq, entries[-1].hash) if entries else (0, GENESIS)
    kept = (int(head[0][0]), str(head[0][1])) if head else (0, GENESIS)
    if last != kept:
        return LedgerFinding(last[0] + 1, f"最后一条记录应为第 {kept[0]} 条，现为第 {last[0]} 条：末尾的记录被删除或改动",
                             f"the last entry should be entry {kept[0]}, not entry {last[0]}: entries at the end were removed or edited")
    return None


def verify_ledger(db: ConsoleDb) -> LedgerFinding | None:
    """The review ledger's chain, whole: None when intact, else its first broken entry."""
    return _verify(db, _REVIEW)


def verify_audit(db: ConsoleDb) -> LedgerFinding | None:
    """The audit trail's chain, whole: None when intact, else its first broken entry."""
    return _verify(db, _AUDIT)


def _now() -> str:
    return stamp(datetime.now(UTC))


def _by(by: str) -> str:
    return bounded_text(by, "by", 200, "操作人", "person acting", required=True, one_line=True)


# -- the daily review --------------------------------------------------------------------------

def _signed(tx: Tx, day: date) -> bool:
    return bool(tx.query(f"SELECT 1 FROM {_REVIEW} WHERE day = ? AND kind = 'signoff'", (day.isoformat(),)))


def _day_signed(day: date) -> ConsoleError:
    return ConsoleError("day_already_signed", f"{day.isoformat()} 已签核，不能再次签核或更改",
                        f"{day.isoformat()} is signed off already: it cannot be signed again or changed")


def record_outcome(db: ConsoleDb, *, day: date, seq: int, decision_id: str, outcome: str, note: str, reference: str,
                   by: str) -> LedgerEntry:
    """Record what verifying the flagged line ``seq`` of ``day`` found. A later outcome of the
    same line is a correction (``outcomes`` gives the newest). Refused (``ConsoleError``) for an
    unknown outcome, text too long (note ``MAX_NOTE``, reference ``MAX_REFERENCE`` characters),
    and for a day signed off already (``day_already_signed``)."""
    if outcome not in OUTCOMES:
        raise ConsoleError("outcome_unknown", f"未知核实结果`{outcome}`；应为 合规（compliant）、违规（violation）或 待查（pending）",
                           f"unknown outcome `{outcome}`; expected compliant, violation or pending")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ConsoleError("seq_invalid", "日志记录序号应为非负整数", "the log record's seq must be a non-negative integer")
    data = {
        "kind": "outcome", "at": _now(), "day": day.isoformat(), "by": _by(by), "log_seq": seq,
        "decision_id": bounded_text(decision_id, "decision_id", 200, "决定编号", "decision id", one_line=True),
        "outcome": outcome,
        "note": bounded_text(note, "note", MAX_NOTE, "说明", "note"),
        "reference": bounded_text(reference, "reference", MAX_REFERENCE, "业务编号", "reference", one_line=True),
        "v": 1,
    }
    with db.db.write() as tx:
        if _signed(tx, day):
            raise _day_signed(day)
        return _append(tx, _REVIEW, data)


def _outcomes_in(rows: list[tuple[Any, ...]]) -> dict[int, LedgerEntry]:
    newest: dict[int, LedgerEntry] = {}
    for row in rows:
        entry = LedgerEntry.from_row(row)
        newest[int(entry.data.get("log_seq", -1))] = entry  # rows in chain order: the later wins
    return newest


def outcomes(db: ConsoleDb, day: date) -> dict[int, LedgerEntry]:
    """The newest outcome of each line of ``day``, by the line's log seq."""
    return _outcomes_in(db.db.read(f"SELECT {_COLUMNS} FROM {_REVIEW} WHERE day = ? AND kind = 'outcome' ORDER BY seq",
                                   (day.isoformat(),)))


def sign_off(db: ConsoleDb, *, day: date, by: str, head_seq: int, head_hash: str, flagged: Iterable[int]) -> LedgerEntry:
    """Sign ``day`` off, recording the decision log's chain head (``head_seq``, ``head_hash``:
    the caller verifies the log's chain first). Refused (``ConsoleError``) while a line of
    ``flagged`` has no outcome or only 待查 (``day_not_reviewed``, naming how many and the first),
    and for a day signed already (``day_already_signed``)."""
    lines = sorted({int(s) for s in flagged})
    data: dict[str, Any] = {"kind": "signoff", "at": _now(), "day": day.isoformat(), "by": _by(by),
                            "head_seq": int(head_seq),
                            "head_hash": bounded_text(head_hash, "head_hash", 200, "日志链头", "log chain head", one_line=True),
                            "flagged": lines, "v": 1}
    with db.db.write() as tx:
        if _signed(tx, day):
            raise _day_signed(day)
        newest = _outcomes_in(tx.query(f"SELECT {_COLUMNS} FROM {_REVIEW} WHERE day = ? AND kind = 'outcome' ORDER BY seq",
                                       (day.isoformat(),)))
        open_lines = [s for s in lines if s not in newest or newest[s].outcome == "pending"]
        if open_lines:
            first = "、".join(str(s) for s in open_lines[:5]) + ("…" if len(open_lines) > 5 else "")
            first_en = ", ".join(str(s) for s in open_lines[:5]) + ("…" if len(open_lines) > 5 else "")
            raise ConsoleError(
                "day_not_reviewed",
                f"{day.isoformat()} 尚有 {len(open_lines)} 条标记记录未核实或仍为待查（日志序号 {first}），不能签核",
                f"{day.isoformat()} has {len(open_lines)} flagged line{'s' if len(open_lines) != 1 else ''} without an "
                f"outcome or still pending (log seq {first_en}): it cannot be signed off",
            )
        counts = {o: 0 for o in OUTCOMES}
        for s in lines:
            counts[newest[s].outcome] += 1
        data["outcomes"] = counts
        return _append(tx, _REVIEW, data)


def signoff(db: ConsoleDb, day: date) -> LedgerEntry | None:
    """The sign-off of ``day``, or None."""
    found = db.db.read(f"SELECT {_COLUMNS} FROM {_REVIEW} WHERE day = ? AND kind = 'signoff' ORDER BY seq LIMIT 1",
                       (day.isoformat(),))
    return LedgerEntry.from_row(found[0]) if found else None


def day_states(db: ConsoleDb, first: date, last: date) -> dict[date, str]:
    """Each day from ``first`` to ``last`` (both included) → ``not_started`` (no outcome),
    ``in_progress`` (outcomes, no sign-off) or ``signed``. At most ``MAX_DAYS`` days."""
    if last < first:
        return {}
    if (last - first).days >= MAX_DAYS:
        raise ConsoleError("range_too_long", f"日期范围过长：至多 {MAX_DAYS} 天", f"the range of days is too long: at most {MAX_DAYS}")
    states = {first + timedelta(days=i): "not_started" for i in range((last - first).days + 1)}
    rows = db.db.read(f"SELECT DISTINCT day, kind FROM {_REVIEW} WHERE day >= ? AND day <= ?", (first.isoformat(), last.isoformat()))
    for day_text, kind in rows:
        try:
            day = date.fromisoformat(str(day_text))
        except ValueError:
            continue
        if day in states and (kind == "signoff" or states[day] == "not_started"):
            states[day] = "signed" if kind == "signoff" else "in_progress"
    return states


# -- the audit trail ---------------------------------------------------------------------------

def audit(db: ConsoleDb, *, by: str, kind: str, what: str, detail: dict[str, str] | None = None) -> None:
    """Record a page view or an action: ``kind`` one of ``AUDIT_KINDS``, ``what`` the page or the
    action, ``detail`` a few short values (bounded: longer ones are cut, not refused, so that
    recording never fails on what a request carried)."""
    if kind not in AUDIT_KINDS:
        raise ConsoleError("audit_kind_unknown", f"未知审计记录类型`{kind}`", f"unknown audit kind `{kind}`")
    at = datetime.now(UTC)
    data = {
        "kind": kind, "at": stamp(at), "day": at.date().isoformat(), "by": _cut(by) or "-", "what": _cut(what),
        "detail": {_cut(str(k)): _cut(str(v)) for k, v in list((detail or {}).items())[:_MAX_DETAIL]}, "v": 1,
    }
    with db.db.write() as tx:
        _append(tx, _AUDIT, data)


def _cut(text: str) -> str:
    """``text`` on one line, without control characters, at most ``_MAX_VALUE`` characters."""
    return "".join(c if ord(c) >= 32 and not 0x7F <= ord(c) < 0xA0 else " " for c in str(text)[:_MAX_VALUE]).strip()


def audit_entries(db: ConsoleDb, *, since: datetime | None = None, limit: int = 500) -> list[LedgerEntry]:
    """The newest ``limit`` entries of the audit trail made at or after ``since``, newest first."""
    limit = max(0, min(int(limit), 10_000))
    if since is None:
        rows = db.db.read(f"SELECT {_COLUMNS} FROM {_AUDIT} ORDER BY seq DESC LIMIT ?", (limit,))
    else:
        rows = db.db.read(f"SELECT {_COLUMNS} FROM {_AUDIT} WHERE at >= ? ORDER BY seq DESC LIMIT ?", (stamp(since), limit))
    return [LedgerEntry.from_row(r) for r in rows]
