"""The hash chain that links a log's records.

Each stored record carries the hash of the one before it: ``sha256(prev_hash + body)``, where
``body`` is the record's canonical JSON exactly as stored (``LogRecord.body``). Editing, deleting,
inserting or reordering a record breaks the chain at that record (see ``_verify``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..decide import LogRecord, utc_text

__all__ = ["GENESIS", "LogRecord", "StoredRecord", "chain", "chain_hash", "is_head", "utc_text"]

GENESIS = "0" * 64  # the "previous hash" of the first record


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as a store returns it: its place in the chain and its hashes."""

    seq: int
    decision_id: str
    at: str
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
        out.append(StoredRecord(seq, rec.decision_id, rec.at, body, prev_hash, digest))
        prev_hash = digest
    return out


def is_head(row: tuple[object, ...]) -> bool:
    """A chain head's row as stored: a sequence number and a hash (their values are checked
    against the records by ``verify``)."""
    seq, digest = row[0], row[1]
    return isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 and isinstance(digest, str)
