"""The store's history: append-only entries, hash-chained as the decision log's records are.

Each entry's ``hash`` is ``sha256(prev_hash + body)`` (``zxpolicy.log.chain_hash``), ``body``
its canonical JSON as stored. The first entry (seq 0) is the store's genesis: its id, when it
was made, and its settings (how many approvers, whether one person may propose and approve), so
that the settings are under the chain too. Then, in the order they happened:

    propose   a new revision: its files and version, who proposed it and why, the gates' results,
              the diff against the revision it was proposed on (``base``), whether it widens
    approve   one approval of a revision; ``effective`` when it made the revision current
    reject    a proposal closed without being made current

The look-up columns (``kind``, ``revision``, ``effective``, ``at``) repeat what the body says;
``verify`` checks both, so an edited column shows as much as an edited body.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..log import GENESIS, chain_hash

__all__ = ["Chained", "Entry", "HistoryFinding", "canonical", "first_break", "verify_entries"]


def canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Entry:
    """One entry of the history, as stored."""

    seq: int
    at: str
    kind: str
    revision: int
    effective: bool
    body: str
    prev_hash: str
    hash: str
    data: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Entry:
        seq, at, kind, revision, effective, body, prev, digest = row
        try:
            data = json.loads(body)
        except (ValueError, TypeError, RecursionError):
            data = {}
        return cls(int(seq), str(at), str(kind), int(revision), bool(effective), str(body), str(prev), str(digest),
                   data if isinstance(data, dict) else {})

    @classmethod
    def make(cls, seq: int, prev_hash: str, data: dict[str, Any]) -> Entry:
        body = canonical(data)
        return cls(seq, str(data["at"]), str(data["kind"]), int(data.get("revision", 0)), bool(data.get("effective", False)),
                   body, prev_hash, chain_hash(prev_hash, body), data)

    def row(self) -> tuple[Any, ...]:
        return (self.seq, self.at, self.kind, self.revision, 1 if self.effective else 0, self.body, self.prev_hash, self.hash)

    def intact(self) -> bool:
        """Its own hash recomputes from its body, and its columns say what its body says."""
        d = self.data
        return (
            chain_hash(self.prev_hash, self.body) == self.hash
            and d.get("kind") == self.kind and d.get("at") == self.at
            and int(d.get("revision", 0)) == self.revision and bool(d.get("effective", False)) == self.effective
        )


@dataclass(frozen=True)
class HistoryFinding:
    """Where the history's chain breaks: the first bad entry and what is wrong with it."""

    seq: int
    message: str
    message_en: str


class Chained(Protocol):
    """An entry of a hash chain: its place, its kind, its link and whether it is itself intact."""

    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    def intact(self) -> bool: ...


def verify_entries(entries: list[Entry]) -> HistoryFinding | None:
    """The whole chain, from the genesis: None when intact, else the first break."""
    return first_break(entries, genesis="genesis")


def first_break(entries: Iterable[Chained], *, genesis: str | None = None, start: int = 1) -> HistoryFinding | None:
    """The first break of a chain of entries numbered from ``start`` (0 where its first entry
    is of kind ``genesis``, which it alone may be), linked from ``GENESIS``: an entry missing,
    one not linking to the one before, or one whose hash or columns do not match its body.
    None when intact. The store's history and the console's ledgers use it alike."""
    prev, expected = GENESIS, 0 if genesis is not None else start
    for e in entries:
        if e.seq != expected:
            return HistoryFinding(expected, f"第 {expected} 条记录缺失（下一条是第 {e.seq} 条）",
                                  f"entry {expected} is missing (the next is entry {e.seq})")
        if genesis is not None and (e.seq == 0) != (e.kind == genesis):
            return HistoryFinding(e.seq, "历史的第一条应为创世记录，且只有它是", "the history must start with its genesis entry, and only it")
        if e.prev_hash != prev:
            return HistoryFinding(e.seq, f"第 {e.seq} 条记录与前一条不相连：前一条被改动或删除",
                                  f"entry {e.seq} does not link to the one before it: that one was edited or removed")
        if not e.intact():
            return HistoryFinding(e.seq, f"第 {e.seq} 条记录的内容与其哈希不符：它被改动过",
                                  f"entry {e.seq} does not match its hash: it was edited")
        prev, expected = e.hash, expected + 1
    return None
