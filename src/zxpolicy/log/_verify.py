"""Verifying a log's hash chain: the first record that is not what was written, and why.

The records are read in sequence order. The first must be the log's genesis record (seq 0,
written when the log was made): a log whose first records were deleted, and the rest renumbered
and rehashed, does not start with it. Each record after it must (1) hash to its stored hash, so that its
content is what was written; (2) carry the hash of the record before it, so that nothing was
deleted, inserted or moved between them; (3) follow it in sequence. The last must be the chain's
head. The first record that fails is named, by sequence number and decision id.

What a hash chain cannot show by itself: someone who can write the database and recomputes
every hash after the records they changed (and the head) leaves a valid chain. Keep the head
(`seq` and `hash`, printed by ``zxpolicy log verify``) somewhere they cannot write, e.g. in the
day's signed review (``zxpolicy log daily-check`` ends with it), and give it back as an anchor:
a rewritten chain no longer matches it, and a chain cut short before it no longer reaches it.

A log with its genesis and no decision is ``empty``: there is nothing to check, which is not the
same as intact.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..decide import LogRecord
from ._record import GENESIS, Genesis, StoredRecord, chain_hash
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
    """``records``: the decision records read (the genesis not counted); ``log_id`` and
    ``created_at``: the genesis record's, where it was read."""

    records: int
    head_seq: int
    head_hash: str
    finding: Finding | None
    log_id: str = ""
    created_at: str = ""

    @property
    def ok(self) -> bool:
        """Nothing found: the log is intact, or empty."""
        return self.finding is None

    @property
    def status(self) -> str:
        """``tampered`` (a finding), ``empty`` (a genesis and no decision) or ``intact``."""
        if self.finding is not None:
            return "tampered"
        return "empty" if self.records == 0 else "intact"


Anchor = tuple[int, str]  # a record's seq and hash, kept outside the log


def verify_chain(
    store: LogStore,
    *,
    anchor: Anchor | None = None,
    anchors: Iterable[Anchor] = (),
    progress: Progress | None = None,
) -> Verdict:
    """Check the whole chain, from its genesis to its head. ``anchor`` and ``anchors`` (seq,
    hash): records' hashes kept elsewhere earlier; each must be the hash of the record at its seq,
    and a seq past the end of the log means its tail was cut. ``progress`` wraps the records'
    iterator (and is told their number), e.g. to show a bar.

    Reads only: open the store ``read_only`` (``open_log(..., read_only=True)``) and nothing of
    the log is changed. A log without its tables or its head, and a record whose body is not a
    record, are findings like any other; a log that cannot be read raises ``LogError``."""
    wanted: dict[int, set[str]] = {}
    for seq, digest in [*anchors, *([anchor] if anchor is not None else [])]:
        wanted.setdefault(seq, set()).add(digest)
    missing, has_head = store.layout()
    if any("." in t for t in missing):  # a column missing: a log made before genesis records
        return Verdict(0, 0, "", Finding(
            "legacy_log", "日志由早期版本写成，没有创世记录与写入时间：无法证明其开头的记录完整；请启用新日志并归档此日志",
            "the log was made by an earlier version, without a genesis record or write times: nothing shows that "
            "its first records are all there; start a new log and archive this one", 0, "",
        ))
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
    genesis: Genesis | None = None

    def verdict(finding: Finding | None) -> Verdict:
        log_id, created = (genesis.log_id, genesis.created_at) if genesis else ("", "")
        return Verdict(max(seen - 1, 0), head_seq, head_hash, finding, log_id, created)

    for row in rows:
        seen += 1
        if prev is None:
            found = _genesis(row)
            if isinstance(found, Finding):
                return verdict(found)
            genesis = found
        else:
            finding = _check(row, prev, before_prev)
            if finding is not None:
                return verdict(finding)
        if row.seq in wanted and wanted[row.seq] != {row.hash}:
            return verdict(_finding(
                row, "anchor", "it does not have the anchored hash: the chain was rewritten up to here",
                "与留存的锚定哈希不符：此前的链条被改写",
            ))
        before_prev, prev = (prev.hash if prev else ""), row
    if prev is None:
        seen = 0
        return verdict(Finding(
            "genesis", "日志没有任何记录，连创世记录（第0条）也没有：记录被全部删除",
            "the log has no record, not even its genesis record (seq 0): every record was deleted", 0, "",
        ))
    last_seq, last_hash = prev.seq, prev.hash
    if head is None:
        en = (f"the log has no chain head (one row of a sequence number and a hash), after record {last_seq}: "
              "it was deleted or altered")
        zh = f"日志没有链头（应为一行，含序号与哈希），末条记录为第{last_seq}条：链头被删除或改动"
        head_hash = ""
        return verdict(Finding("missing_head", zh, en, last_seq, prev.decision_id))
    if (last_seq, last_hash) != head and head_seq < last_seq:
        # Records written while the log was read (an engine is running): the head moved on.
        now = store.head()
        if now == (last_seq, last_hash) or now[0] > last_seq:
            head_seq, head_hash = last_seq, last_hash
    if (last_seq, last_hash) != (head_seq, head_hash):
        if last_seq < head_seq:
            en = f"the log ends at record {last_seq} but its head is record {head_seq}: records at the end were deleted"
            zh = f"日志止于第{last_seq}条，链头为第{head_seq}条：末尾记录被删除"
            return verdict(Finding("head", zh, en, last_seq + 1, ""))
        en, zh = f"record {last_seq} is not the chain's head (record {head_seq})", f"第{last_seq}条不是链头（第{head_seq}条）"
        return verdict(Finding("head", zh, en, last_seq, prev.decision_id))
    beyond = [seq for seq in wanted if seq > last_seq]
    if beyond:
        first = min(beyond)
        return verdict(Finding(
            "cut_tail",
            f"日志止于第{last_seq}条，而留存的锚定记录为第{first}条：日志末尾的记录被截去",
            f"the log ends at record {last_seq} but an anchor names record {first}: records at its end were cut off",
            last_seq + 1, "",
        ))
    return verdict(None)


def _genesis(row: StoredRecord) -> Genesis | Finding:
    """The log's first row as its genesis record, or what is wrong with it."""
    if row.seq != 0:
        return Finding(
            "genesis",
            f"日志不以创世记录（第0条）开头，首条为第{row.seq}条（决策 {row.decision_id}）：开头的记录被删除",
            f"the log does not begin with its genesis record (seq 0) but with record {row.seq} "
            f"(decision {row.decision_id}): its first records were deleted",
            0, "",
        )
    found = Genesis.from_body(row.body) if isinstance(row.body, str) else None
    intact = (
        found is not None and row.prev_hash == GENESIS and isinstance(row.hash, str)
        and chain_hash(GENESIS, row.body) == row.hash
        and (row.decision_id, row.at, row.logged_at) == (found.log_id, found.created_at, found.created_at)
    )
    if found is None or not intact:
        return Finding(
            "genesis", "第0条（创世记录）不是本日志写下的创世记录：被改动或替换",
            "record 0 (the genesis record) is not the one the log was made with: it was altered or replaced", 0, "",
        )
    return found


def _check(row: StoredRecord, prev: StoredRecord, before_prev: str) -> Finding | None:
    prev_seq, prev_hash = prev.seq, prev.hash
    odd = [name for name in ("decision_id", "at", "logged_at", "prev_hash", "hash") if not isinstance(getattr(row, name), str)]
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
    if (rec.decision_id, rec.at, rec.logged_at) != (row.decision_id, row.at, row.logged_at):  # the look-up columns say otherwise
        return _finding(row, "edited", "its content does not match its hash: the record was edited", "内容与其哈希不符：记录被篡改")
    if row.prev_hash != prev_hash:
        if before_prev and row.prev_hash == before_prev:
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


def verify_link(store: LogStore, row: StoredRecord) -> Finding | None:
    """One record's link in the chain, without reading the rest: its hash recomputes from its
    body and the hash of the record before it (for the genesis, from nothing), it is a record
    whose look-up columns say what its body says, and the record after it, if any, links to it.
    None when all hold; else what does not. Only ``verify_chain`` shows the whole chain intact."""
    if row.seq == 0:
        found = _genesis(row)
        if isinstance(found, Finding):
            return found
    else:
        prev = store.row_at(row.seq - 1)
        if prev is None:
            return _finding(row, "deleted", f"record {row.seq - 1} before it is not in the log",
                            f"其前一条（第{row.seq - 1}条）不在日志中")
        finding = _check(row, prev, "")
        if finding is not None:
            return finding
    after = store.row_at(row.seq + 1)
    if after is not None and after.prev_hash != row.hash:
        return _finding(row, "unlinked", f"record {row.seq + 1} after it does not link to it: it was edited and rehashed, or that record was",
                        f"其后一条（第{row.seq + 1}条）与其不相连：本条被篡改后重算了哈希，或后一条被改动")
    return None


def verify_since(store: LogStore, seq: int, digest: str, *, limit: int = 10_000) -> tuple[int, str] | None:
    """The log's new head, once the records written after a record already verified (``seq``,
    ``digest``: the head of an earlier ``verify_chain``) check out: that record still has its
    hash, and each record after it links to the one before and matches its own hash, up to the
    head. None when that cannot be said — a record is missing or does not check, the verified
    record changed, or more than ``limit`` records came since (reading them one by one would
    cost more than the whole chain) —: then ``verify_chain`` is the answer, and names what is
    wrong. A record up to ``seq`` edited since that verification is not seen here: that takes
    the whole chain again."""
    head = store.head()
    if head[0] < seq or head[0] - seq > limit:
        return None
    prev = store.row_at(seq)
    if prev is None or prev.hash != digest:
        return None
    before = prev.prev_hash if isinstance(prev.prev_hash, str) else ""
    for at in range(seq + 1, head[0] + 1):
        row = store.row_at(at)
        if row is None or _check(row, prev, before) is not None:
            return None
        before, prev = prev.hash, row
    return (prev.seq, prev.hash) if (prev.seq, prev.hash) == head else None
