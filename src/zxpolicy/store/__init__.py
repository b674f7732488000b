"""The policy store: every change proposed through gates, approved by another person, recorded.

    store = init_store("sqlite:///policy-store.db")            # or postgresql://… for many hosts
    done = publish(Path("policies"), store, by="张三", message="新增贷后管理用途")
    done.revision, done.gates, done.widening                     # proposed, or done.refused
    store.approve(done.revision, by="李四")                      # current now: hosts reload
    store.current().version, store.verify()                      # None: the history is intact

A store keeps one append-only, hash-chained history (``_history``) in SQLite (one machine) or
PostgreSQL (many hosts, which follow it with LISTEN/NOTIFY): the store's genesis and settings,
then each proposal with its files, gates and diff, each approval and each rejection. Hosts load
the current revision with ``zxpolicy.watch(url)``.

    _db        the connection, the SQL dialects, the numbered migrations (``Db``, for any
               set of tables: the console's too)
    _history   entries and their chain
    _store     PolicyStore: propose, approve, reject, current, revisions
    _gates     publish: the gates, then the proposal
    _report    the change report for the regulator (制度变更报备)
"""

from ._db import CHANNEL, MIGRATIONS, STORE_TABLES, Db, DbSchema, Migrations, Tx, is_postgres, store_path
from ._gates import GATES, Gate, Published, publish, read_policy_files, version_of
from ._history import Chained, Entry, HistoryFinding, canonical, first_break, verify_entries
from ._report import STATES, change_report, local_time, since
from ._store import PolicyStore, Revision, StoreSettings, StoreVersion, init_store, open_store

__all__ = [
    "CHANNEL",
    "GATES",
    "MIGRATIONS",
    "STATES",
    "STORE_TABLES",
    "Chained",
    "Db",
    "DbSchema",
    "Entry",
    "Gate",
    "HistoryFinding",
    "Migrations",
    "PolicyStore",
    "Published",
    "Revision",
    "StoreSettings",
    "StoreVersion",
    "Tx",
    "canonical",
    "change_report",
    "first_break",
    "init_store",
    "is_postgres",
    "local_time",
    "open_store",
    "publish",
    "read_policy_files",
    "since",
    "store_path",
    "verify_entries",
    "version_of",
]
