"""Verifying a log's hash chain: the first record that is not what was written, and why.

The records are read in sequence order. Each must (1) hash to its stored hash, so that its
content is what was written; (2) carry the hash of the record before it, so that nothing was
deleted, inserted or moved between them; (3) follow it in sequence. The last must be the chain's
head. The first record that fails is named, by sequence number and decision id.

What a hash chain cannot show by itself: someone who can write the database and recomputes
every hash after the records they changed (and the head) leaves a valid chain. Keep the head
(`seq` and `hash`, printed by ``zxpolicy log verify``) somewhere they cannot write, e.g. in the
day's signed review, and give it back as ``anchor``: a rewritten chain no longer matches it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..decide import LogRecord
from ._record import GENESIS, StoredRecord, chain_hash
from ._store import LogStore

Progress = Callable[[Iterator[StoredRecord], int], Iterable[StoredRecord]]


@dataclass(frozen=True, slots=True)
class Finding:
    """The first bad record, in the diagnostic shape (see ``zxpolicy._diagnostic``). ``code``:
    edited, deleted, inserted, unlinked (reordered, or a deletion or edit hidden by renumbering or
    rehashing), reordered (a sequence number changed), head (the end of the log is not the chain's
    head), anchor; missing_table (a table of the log is not there), missing_head (the chain's head
    is not there, or is not a sequence number and a hash), bad_body (a body that is not text, not
    JSON, or not a record of this version), bad_row (another column that is not text).
    ``message`` is Chinese, ``message_en`` English; ``seq`` and ``decision_id`` name the record
    (0 and "" where there is none)."""

    code: str
    message: str
    message_en: str
    seq: int
    decision_id: str

    def to_dict(self) -> dict[str, str | int]:
        return {
            "code": self.code, "message": self.message, "message_en": self.message_en,
            "seq": self.seq, "decision_id": self.decision_id,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    records: int
    head_seq: int
    head_hash: str
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None


def verify_chain(store: LogStore, *, anchor: tuple[int, str] | None = None, progress: Progress | None = None) -> Verdict:
    """Check the whole chain. ``anchor`` (seq, hash): a record's hash kept elsewhere earlier.
    ``progress`` wraps the records' iterator (and is told their number), e.g. to show a bar.

    Reads only: open the store ``read_only`` (``open_log(..., read_only=True)``) and nothing of
    the log is changed. A log without its tables or its head, and a record whose body is not a
    record, are findings like any other; a log that cannot be read raises ``LogError``."""
    missing, has_head = store.layout()
    if missing:
        names = "、".join(f"`{t}`" for t in missing)
        names_en = ", ".join(f"`{t}`" for t in missing)
        return Verdict(0, 0, "", Finding(
            "missing_table", f"日志缺少数据表{names}：表被删除，或这不是决策日志",
            f"the log has no table {names_en}: it was dropped, or this is not a decision log", 0, "",
        ))
    head = store.head() if has_head else None
    head_seq, head_hash = head if head is not None else (0, "")
    rows: Iterable[StoredRecord] = store.rows()
    if progress is not None:
        rows = progress(iter(rows), store.count())
    prev: StoredRecord | None = None
    before_prev = ""  # the hash of the record before the previous one: tells an insertion
    seen = 0
    anchored = anchor is None
    for row in rows:
        seen += 1
        finding = _check(row, prev, before_prev)
        if finding is None and anchor is not None and row.seq == anchor[0]:
            anchored = True
            if row.hash != anchor[1]:
                finding = _finding(
                    row, "anchor", "it does not have the anchored hash: the chain was rewritten up to here",
                    "与留存的锚定哈希不符：此前的链条被改写",
                )
        if finding is not None:
            return Verdict(seen, head_seq, head_hash, finding)
        before_prev, prev = prev.hash if prev else GENESIS, row
    last_seq, last_hash = (prev.seq, prev.hash) if prev else (0, GENESIS)
    if head is None:
        en = (f"the log has no chain head (one row of a sequence number and a hash), after record {last_seq}: "
              "it was deleted or altered")
        zh = f"日志没有链头（应为一行，含序号与哈希），末条记录为第{last_seq}条：链头被删除或改动"
        return Verdict(seen, 0, "", Finding("missing_head", zh, en, last_seq, prev.decision_id if prev else ""))
    if (last_seq, last_hash) != head and head_seq < last_seq:
        # Records written while the log was read (an engine is running): the head moved on.
        now = store.head()
        if now == (last_seq, last_hash) or now[0] > last_seq:
            head_seq, head_hash = last_seq, last_hash
    if (last_seq, last_hash) != (head_seq, head_hash):
        if last_seq < head_seq:
            en = f"the log ends at record {last_seq} but its head is record {head_seq}: records at the end were deleted"
            zh = f"日志止于第{last_seq}条，链头为第{head_seq}条：末尾记录被删除"
            return Verdict(seen, head_seq, head_hash, Finding("head", zh, en, last_seq + 1, ""))
        en, zh = f"record {last_seq} is not the chain's head (record {head_seq})", f"第{last_seq}条不是链头（第{head_seq}条）"
        return Verdict(seen, head_seq, head_hash, Finding("head", zh, en, last_seq, prev.decision_id if prev else ""))
    if not anchored:
        missing_anchor = Finding("anchor", "日志中没有锚定的记录", "the anchored record is not in the log", anchor[0] if anchor else 0, "")
        return Verdict(seen, head_seq, head_hash, missing_anchor)
    return Verdict(seen, head_seq, head_hash, None)


def _check(row: StoredRecord, prev: StoredRecord | None, before_prev: str) -> Finding | None:
    prev_seq, prev_hash = (prev.seq, prev.hash) if prev else (0, GENESIS)
    odd = [name for name in ("decision_id", "at", "prev_hash", "hash") if not isinstance(getattr(row, name), str)]
    if odd:
        kinds = ", ".join(f"{n} ({type(getattr(row, n)).__name__})" for n in odd)
        return _finding(row, "bad_row", f"a column is not text: {kinds}", f"有列不是文本：{kinds}")
    if not isinstance(row.body, str):
        what = "BLOB" if isinstance(row.body, (bytes, bytearray, memoryview)) else type(row.body).__name__
        return _finding(row, "bad_body", f"its body is stored as {what}, not text", f"内容以 {what} 存储，而非文本")
    if chain_hash(row.prev_hash, row.body) != row.hash:
        return _finding(row, "edited", "its content does not match its hash: the record was edited", "内容与其哈希不符：记录被篡改")
    rec = _record(row.body)
    if not isinstance(rec, LogRecord):
        return _finding(row, "bad_body", rec[0], rec[1])
    if rec.decision_id != row.decision_id or rec.at != row.at:  # the look-up columns say otherwise
        return _finding(row, "edited", "its content does not match its hash: the record was edited", "内容与其哈希不符：记录被篡改")
    if row.prev_hash != prev_hash:
        if prev is not None and before_prev and row.prev_hash == before_prev:
            # it links to the record two back: the one between was put in
            return _finding(
                prev, "inserted",
                f"it was inserted: record {row.seq} (decision {row.decision_id}) links to the record before it",
                f"为插入的记录：第{row.seq}条（决策 {row.decision_id}）链接到其前一条",
            )
        if row.seq > prev_seq + 1:
            gap = f"{prev_seq + 1}" if row.seq == prev_seq + 2 else f"{prev_seq + 1}..{row.seq - 1}"
            return Finding(
                "deleted",
                f"第{gap}条被删除：第{row.seq}条（决策 {row.decision_id}）与第{prev_seq}条不相连",
                f"record {gap} was deleted: record {row.seq} (decision {row.decision_id}) does not link to record {prev_seq}",
                prev_seq + 1, "",
            )
        return _finding(
            row, "unlinked",
            f"it does not link to record {prev_seq}: the records were reordered, one was deleted here, "
            f"or record {prev_seq} was edited and its hash recomputed",
            f"与第{prev_seq}条不相连：记录顺序被调换、此处有记录被删除，或第{prev_seq}条被篡改后重算了哈希",
        )
    if row.seq != prev_seq + 1:
        return _finding(row, "reordered", f"its sequence number does not follow record {prev_seq}", f"序号不接续第{prev_seq}条")
    return None


def _record(body: str) -> LogRecord | tuple[str, str]:
    """The record ``body`` holds, or why it holds none this zxpolicy reads (English, Chinese)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return "its body is not JSON", "内容不是 JSON"
    if not isinstance(data, dict):
        return "its body is not a JSON object", "内容不是 JSON 对象"
    try:
        return LogRecord.from_body(body)
    except ValueError:  # its `v` is not the version this zxpolicy writes
        shown = json.dumps(data.get("v"), ensure_ascii=False)[:40]
        return (f"its body is not a record of the version this zxpolicy reads (its `v` is {shown})",
                f"内容不是本版本 zxpolicy 可读的记录（其`v`为{shown}）")
    except (TypeError, KeyError):
        return ("its fields are not a record's (one is missing, unknown or of the wrong type)",
                "其字段不是记录的字段（有缺少、未知或类型不符者）")


def _finding(row: StoredRecord, code: str, en: str, zh: str) -> Finding:
    did = row.decision_id if isinstance(row.decision_id, str) else ""  # a column that is not text: none
    return Finding(code, f"第{row.seq}条（决策 {did}）：{zh}", f"record {row.seq} (decision {did}): {en}", row.seq, did)
