"""The hash chain that links a log's records.

Each stored record carries the hash of the one before it: ``sha256(prev_hash + body)``, where
``body`` is the record's canonical JSON exactly as stored (``LogRecord.body``). Editing, deleting,
inserting or reordering a record breaks the chain at that record (see ``_verify``).

The chain starts with a genesis record (seq 0), written when the log is created: the log's id (a
UUID) and the time it was made. Decisions are numbered from 1 after it. A log whose first records
were deleted, renumbered and rehashed no longer starts with its genesis, so the deletion shows.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from ..decide import LogRecord, utc_text

__all__ = [
    "GENESIS", "Genesis", "LogRecord", "StoredRecord", "chain", "chain_hash", "genesis_row", "is_head", "utc_text",
]

GENESIS = "0" * 64  # the "previous hash" of the genesis record, the first of the chain
GENESIS_KIND = "genesis"


@dataclass(frozen=True, slots=True)
class Genesis:
    """The first record of a log (seq 0): which log this is, and when it was made."""

    log_id: str
    created_at: str  # UTC text, as ``utc_text``

    def body(self) -> str:
        data = {"kind": GENESIS_KIND, "log_id": self.log_id, "created_at": self.created_at, "v": 1}
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_body(cls, body: str) -> Genesis | None:
        """The genesis ``body`` holds, or None where it holds none (exactly these four keys)."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError, TypeError):
            return None
        if not isinstance(data, dict) or set(data) != {"kind", "log_id", "created_at", "v"}:
            return None
        if data["kind"] != GENESIS_KIND or data["v"] != 1:
            return None
        log_id, created = data["log_id"], data["created_at"]
        if not isinstance(log_id, str) or not isinstance(created, str):
            return None
        return cls(log_id, created)


def genesis_row(now: datetime | None = None) -> StoredRecord:
    """A new log's genesis record, seq 0, chained after ``GENESIS``."""
    g = Genesis(str(uuid.uuid4()), utc_text(now or datetime.now(timezone.utc)))
    body = g.body()
    return StoredRecord(0, g.log_id, g.created_at, g.created_at, body, GENESIS, chain_hash(GENESIS, body))


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as a store returns it: its place in the chain and its hashes."""

    seq: int
    decision_id: str  # the genesis: the log's id
    at: str  # the time the request claims; the genesis: when the log was made
    logged_at: str  # when it was written; the reports select by this
    body: str
    prev_hash: str
    hash: str

    def record(self) -> LogRecord:
        return LogRecord.from_body(self.body)


def chain(records: list[LogRecord], seq: int, prev_hash: str) -> list[StoredRecord]:
    """Link ``records`` after the record ``seq`` whose hash is ``prev_hash``."""
    out = []
    for rec in records:
        seq += 1
        body = rec.body()
        digest = chain_hash(prev_hash, body)
        out.append(StoredRecord(seq, rec.decision_id, rec.at, rec.logged_at, body, prev_hash, digest))
        prev_hash = digest
    return out


def is_head(row: tuple[object, ...]) -> bool:
    """A chain head's row as stored: a sequence number and a hash (their values are checked
    against the records by ``verify``)."""
    seq, digest = row[0], row[1]
    return isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 and isinstance(digest, str)
