"""The policy store: revisions proposed, approved by someone else, and made current, in one history.

A revision's life: ``propose`` (with the gates' results, see ``_gates``) → ``approve`` by as
many people as the store asks, none of them the proposer → current; or ``reject``. A proposal
is made on the revision current at the time (its ``base``): its diff says what it changes from
that one. Once another revision has become current, the diff no longer says what approving it
would do, so it cannot be approved (``proposal_stale``): publish it again.

Every state is worked out from the history (``_history``); nothing is updated in place. Hosts
read the current revision with two indexed look-ups, and follow ``head()`` (or, on PostgreSQL,
a NOTIFY sent when an entry is appended).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._errors import StoreError
from ..decide import utc_text
from ..log import GENESIS
from ._db import PREFIX, Db
from ._history import Entry, HistoryFinding, verify_entries

__all__ = ["PolicyStore", "Revision", "StoreSettings", "StoreVersion", "init_store", "open_store"]

_H = f"{PREFIX}_history"
_COLUMNS = "seq, at, kind, revision, effective, body, prev_hash, hash"
MAX_APPROVERS = 9


@dataclass(frozen=True)
class StoreSettings:
    store_id: str
    created_at: str
    approvers: int  # approvals a revision needs to become current
    single_person: bool  # the proposer may approve their own change (a store made so on purpose)


@dataclass(frozen=True)
class StoreVersion:
    """A revision's policy, as hosts load it: ``files`` maps each file's path (top-level
    ``*.yaml``: the policy; ``tests/…``: its suites) to its text."""

    revision: int
    version: str
    files: dict[str, str]
    approved_at: str = ""

    def write_to(self, directory: Path) -> None:
        """Write the files into ``directory`` (which must exist)."""
        for name, text in sorted(self.files.items()):
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))


@dataclass(frozen=True)
class Revision:
    """A revision as the history tells it."""

    revision: int
    version: str
    state: str  # proposed, current, superseded, rejected, stale
    proposed_by: str
    proposed_at: str
    message: str
    base: int | None
    rollback_of: int | None
    widening: bool
    gates: tuple[dict[str, Any], ...]
    diff: dict[str, Any] | None
    approvals: tuple[tuple[str, str], ...]  # (by, at)
    closed_by: str = ""  # who rejected it
    closed_at: str = ""  # when it was made current or rejected
    close_message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision, "version": self.version, "state": self.state,
            "proposed_by": self.proposed_by, "proposed_at": self.proposed_at, "message": self.message,
            "base": self.base, "rollback_of": self.rollback_of, "widening": self.widening,
            "gates": list(self.gates), "diff": self.diff,
            "approvals": [{"by": b, "at": a} for b, a in self.approvals],
            "closed_by": self.closed_by, "closed_at": self.closed_at, "close_message": self.close_message,
        }


def _now() -> str:
    return str(utc_text(datetime.now(timezone.utc)))


def init_store(url: str, *, approvers: int = 1, single_person: bool = False) -> PolicyStore:
    """Create the store's tables and its genesis entry (``approvers`` and ``single_person`` are
    kept there for good). A store that exists is opened as it is, and its settings must be the
    ones asked for (``store_settings_differ``); an older schema is migrated."""
    if not 1 <= approvers <= MAX_APPROVERS:
        raise StoreError("store_settings_invalid", f"审批人数须在 1 到 {MAX_APPROVERS} 之间", f"approvers must be 1 to {MAX_APPROVERS}")
    db = Db(url, create=True)
    try:
        db.migrate()
        with db.write() as tx:
            if not tx.query(f"SELECT 1 FROM {_H} WHERE seq = 0"):
                data = {"kind": "genesis", "at": _now(), "store_id": str(uuid.uuid4()), "approvers": approvers,
                        "single_person": single_person, "revision": 0, "v": 1}
                tx.execute(f"INSERT INTO {_H} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", Entry.make(0, GENESIS, data).row())
                tx.notify()
        store = PolicyStore(db)
        s = store.settings()
        if (s.approvers, s.single_person) != (approvers, single_person):
            raise StoreError("store_settings_differ",
                             f"策略库`{db.shown}`已存在，设置为：审批人数 {s.approvers}，单人模式{'开' if s.single_person else '关'}",
                             f"the store `{db.shown}` exists with approvers {s.approvers}, single-person mode "
                             f"{'on' if s.single_person else 'off'}")
        return store
    except BaseException:
        db.close()
        raise


def open_store(url: str) -> PolicyStore:
    """An existing store. Raises ``StoreError``: ``store_unreachable`` when it cannot be reached,
    ``store_not_initialised`` when it has no tables (``zxpolicy policy init``)."""
    db = Db(url, create=False)
    try:
        reached = db.schema_version()
        if reached == 0:
            raise StoreError("store_not_initialised", f"策略库`{db.shown}`尚未建立：先运行 zxpolicy policy init，或首次发布",
                             f"the store `{db.shown}` has no tables yet: run zxpolicy policy init, or publish first")
        from ._db import LATEST

        if reached != LATEST:
            db.migrate()  # raises store_too_new for a newer one
        return PolicyStore(db)
    except BaseException:
        db.close()
        raise


class PolicyStore:
    """One store, open. Made by ``open_store`` or ``init_store``."""

    def __init__(self, db: Db) -> None:
        self._db = db
        self.url, self.shown = db.url, db.shown

    # -- reading ----------------------------------------------------------------------------

    def head(self) -> int:
        """The seq of the history's last entry: it changes whenever anything is appended."""
        found = self._db.read(f"SELECT max(seq) FROM {_H}")
        return int(found[0][0]) if found and found[0][0] is not None else -1

    def settings(self) -> StoreSettings:
        found = self._db.read(f"SELECT {_COLUMNS} FROM {_H} WHERE seq = 0")
        if not found:
            raise StoreError("store_not_initialised", f"策略库`{self.shown}`没有创世记录", f"the store `{self.shown}` has no genesis entry")
        g = Entry.from_row(found[0])
        if not g.intact() or g.kind != "genesis" or g.prev_hash != GENESIS:
            raise StoreError("store_history_broken", f"策略库`{self.shown}`的创世记录被改动过",
                             f"the genesis entry of the store `{self.shown}` was edited")
        d = g.data
        return StoreSettings(str(d["store_id"]), str(d["at"]), int(d["approvers"]), bool(d["single_person"]))

    def entries(self) -> list[Entry]:
        return [Entry.from_row(r) for r in self._db.read(f"SELECT {_COLUMNS} FROM {_H} ORDER BY seq")]

    def verify(self) -> HistoryFinding | None:
        """The history's whole chain: None when intact, else its first break."""
        return verify_entries(self.entries())

    def current(self) -> StoreVersion | None:
        """The revision in force (the last one made current), or None before any was approved.
        Raises ``StoreError`` (``store_history_broken``) when its entries do not match their hashes."""
        made = self._db.read(f"SELECT {_COLUMNS} FROM {_H} WHERE effective = 1 ORDER BY seq DESC LIMIT 1")
        if not made:
            return None
        approval = Entry.from_row(made[0])
        proposal = self._proposal(approval.revision)
        if not approval.intact() or proposal is None or not proposal.intact():
            raise StoreError("store_history_broken", f"策略库`{self.shown}`中第 {approval.revision} 版的记录与其哈希不符",
                             f"the entries of revision {approval.revision} in the store `{self.shown}` do not match their hashes")
        d = proposal.data
        return StoreVersion(proposal.revision, str(d["version"]), {str(k): str(v) for k, v in d["files"].items()}, approval.at)

    def version(self, revision: int) -> StoreVersion:
        """Any revision's files, approved or not."""
        proposal = self._proposal(revision)
        if proposal is None:
            raise self._unknown(revision)
        d = proposal.data
        return StoreVersion(revision, str(d["version"]), {str(k): str(v) for k, v in d["files"].items()})

    def _proposal(self, revision: int) -> Entry | None:
        found = self._db.read(f"SELECT {_COLUMNS} FROM {_H} WHERE kind = 'propose' AND revision = ?", (revision,))
        return Entry.from_row(found[0]) if found else None

    def _unknown(self, revision: int) -> StoreError:
        return StoreError("revision_unknown", f"策略库中没有第 {revision} 版", f"the store has no revision {revision}")

    def revisions(self, entries: list[Entry] | None = None) -> list[Revision]:
        """Every revision, oldest first, with its state."""
        entries = self.entries() if entries is None else entries
        return list(_revisions(entries).values())

    def revision(self, revision: int) -> Revision:
        found = _revisions(self.entries()).get(revision)
        if found is None:
            raise self._unknown(revision)
        return found

    def current_revision(self) -> int | None:
        made = self._db.read(f"SELECT revision FROM {_H} WHERE effective = 1 ORDER BY seq DESC LIMIT 1")
        return int(made[0][0]) if made else None

    # -- changing ---------------------------------------------------------------------------

    def propose(
        self, files: Mapping[str, str], *, version: str, by: str, message: str, gates: list[dict[str, Any]],
        diff: dict[str, Any] | None, widening: bool, base: int | None, rollback_of: int | None = None,
    ) -> int:
        """Append a proposal; its revision number. The gates are the caller's (``publish``):
        this records what they found. ``base`` must still be the current revision."""
        _person(by, "--by")
        with self._db.write() as tx:
            self._intact(tx)
            now_current = _current_in(tx)
            if now_current != base:
                raise StoreError("proposal_stale", f"当前版本已变为第 {now_current} 版，与比较时不同；请重新发布",
                                 f"the current revision is now {now_current}, not the one compared against; publish again")
            seq, prev = _last(tx)
            revision = int(tx.query(f"SELECT count(*) FROM {_H} WHERE kind = 'propose'")[0][0]) + 1
            data = {
                "kind": "propose", "at": _now(), "revision": revision, "version": version, "files": dict(files),
                "by": by, "message": message, "gates": gates, "diff": diff, "widening": widening,
                "base": base, "rollback_of": rollback_of, "effective": False, "v": 1,
            }
            tx.execute(f"INSERT INTO {_H} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", Entry.make(seq + 1, prev, data).row())
            tx.notify()
        return revision

    def approve(self, revision: int, *, by: str) -> Revision:
        """One approval; the revision becomes current when it has as many as the store asks.
        Raises ``StoreError`` when it may not be approved, or not by ``by``."""
        _person(by, "--by")
        with self._db.write() as tx:
            entries = self._intact(tx)
            settings = _settings_of(entries)
            found = _revisions(entries).get(revision)
            if found is None:
                raise self._unknown(revision)
            _open(found)
            if by == found.proposed_by and not settings.single_person:
                raise StoreError("approver_is_proposer", f"`{by}`提出了第 {revision} 版，不能自己审批；须由另一人审批",
                                 f"`{by}` proposed revision {revision} and cannot approve it: another person must")
            if by in {b for b, _ in found.approvals}:
                raise StoreError("already_approved", f"`{by}`已审批过第 {revision} 版", f"`{by}` has already approved revision {revision}")
            effective = len(found.approvals) + 1 >= settings.approvers
            seq, prev = _last(tx)
            data = {"kind": "approve", "at": _now(), "revision": revision, "by": by, "effective": effective, "v": 1}
            tx.execute(f"INSERT INTO {_H} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", Entry.make(seq + 1, prev, data).row())
            tx.notify()
        return self.revision(revision)

    def reject(self, revision: int, *, by: str, message: str = "") -> Revision:
        """Close a proposal without making it current."""
        _person(by, "--by")
        with self._db.write() as tx:
            entries = self._intact(tx)
            found = _revisions(entries).get(revision)
            if found is None:
                raise self._unknown(revision)
            _open(found, stale_ok=True)
            seq, prev = _last(tx)
            data = {"kind": "reject", "at": _now(), "revision": revision, "by": by, "message": message, "effective": False, "v": 1}
            tx.execute(f"INSERT INTO {_H} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", Entry.make(seq + 1, prev, data).row())
            tx.notify()
        return self.revision(revision)

    def _intact(self, tx: Any) -> list[Entry]:
        """The history, verified before anything is appended to it: a broken chain is never
        extended (the new entry would vouch for the edit)."""
        entries = [Entry.from_row(r) for r in tx.query(f"SELECT {_COLUMNS} FROM {_H} ORDER BY seq")]
        finding = verify_entries(entries)
        if finding is not None:
            raise StoreError("store_history_broken", f"策略库`{self.shown}`的历史记录被改动：{finding.message}",
                             f"the history of the store `{self.shown}` was tampered with: {finding.message_en}")
        return entries

    # -- following --------------------------------------------------------------------------

    def wait(self, timeout: float, head: int | None = None) -> bool:
        """Block up to ``timeout`` seconds for an entry after ``head`` (default: the head now).
        True when one came (on PostgreSQL: when a NOTIFY came). Raises ``StoreError`` when the
        connection is lost."""
        return self._db.wait(timeout, self.head() if head is None else head, self.head)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PolicyStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _person(name: str, flag: str) -> None:
    if not name.strip() or len(name) > 200 or any(c in name for c in "\r\n\t"):
        raise StoreError("person_invalid", f"{flag} 须是一个人的名字（1 到 200 个字符，不含换行）",
                         f"{flag} must name a person (1 to 200 characters, no line breaks)")


def _last(tx: Any) -> tuple[int, str]:
    seq, digest = tx.query(f"SELECT seq, hash FROM {_H} ORDER BY seq DESC LIMIT 1")[0]
    return int(seq), str(digest)


def _current_in(tx: Any) -> int | None:
    made = tx.query(f"SELECT revision FROM {_H} WHERE effective = 1 ORDER BY seq DESC LIMIT 1")
    return int(made[0][0]) if made else None


def _settings_of(entries: list[Entry]) -> StoreSettings:
    d = entries[0].data
    return StoreSettings(str(d["store_id"]), str(d["at"]), int(d["approvers"]), bool(d["single_person"]))


def _open(r: Revision, *, stale_ok: bool = False) -> None:
    if r.state == "proposed" or (stale_ok and r.state == "stale"):
        return
    words = {"current": ("已是当前版本", "is already current"), "superseded": ("已生效过", "was already made current"),
             "rejected": ("已被驳回", "was rejected"), "stale": ("已过时：此后另一版本已生效，请重新发布",
                                                              "is stale: another revision became current since; publish again")}
    zh, en = words.get(r.state, (r.state, r.state))
    raise StoreError("proposal_closed" if r.state != "stale" else "proposal_stale",
                     f"第 {r.revision} 版{zh}", f"revision {r.revision} {en}")


def _revisions(entries: list[Entry]) -> dict[int, Revision]:
    """Each revision's state, replayed from the history."""
    found: dict[int, dict[str, Any]] = {}
    current: int | None = None
    for e in entries:
        d = e.data
        if e.kind == "propose":
            found[e.revision] = {"d": d, "approvals": [], "state": "proposed", "closed_by": "", "closed_at": "", "close": ""}
        elif e.kind in ("approve", "reject") and e.revision in found:
            r = found[e.revision]
            if e.kind == "approve":
                r["approvals"].append((str(d.get("by", "")), e.at))
                if e.effective:
                    if current is not None and current in found:
                        found[current]["state"] = "superseded"
                    r["state"], r["closed_at"], current = "current", e.at, e.revision
                    for other in found.values():  # the open proposals were made on another base
                        if other["state"] == "proposed":
                            other["state"] = "stale"
            else:
                r["state"], r["closed_by"], r["closed_at"], r["close"] = "rejected", str(d.get("by", "")), e.at, str(d.get("message", ""))
    out = {}
    for number, r in found.items():
        d = r["d"]
        out[number] = Revision(
            number, str(d.get("version", "")), r["state"], str(d.get("by", "")), str(d.get("at", "")),
            str(d.get("message", "")), d.get("base"), d.get("rollback_of"), bool(d.get("widening")),
            tuple(d.get("gates") or ()), d.get("diff"), tuple(r["approvals"]), r["closed_by"], r["closed_at"], r["close"],
        )
    return out
