"""The decision log: every decision an engine makes, hash-chained, and the reports made from it.

    engine = zxpolicy.load(log="decisions.db")          # or a postgresql:// URL, or a DecisionLog
    engine.check(...)                                     # each decision is written
    verify_chain(open_log("decisions.db", read_only=True)).ok   # the chain is intact
    daily_check(store, settings, date(2026, 11, 27))      # 查询日核查 (verifies the chain first)
    monthly_report(store, settings, 2026, 11, recorded)   # the monthly statistics for the PBoC
"""

from ..decide import DecisionLog
from ._csv import csv_cell, csv_text
from ._daily import FLAG_LABELS, FLAGS, RESULT_LABELS, DailyCheck, DailyRow, daily_check
from ._monthly import MonthlyReport, monthly_report
from ._record import GENESIS, Genesis, LogRecord, StoredRecord, chain_hash
from ._settings import ReviewSettings, review_settings
from ._store import LogStore, is_postgres, open_log, redacted
from ._verify import Anchor, Finding, Verdict, verify_chain, verify_link, verify_since

__all__ = [
    "FLAGS",
    "FLAG_LABELS",
    "GENESIS",
    "RESULT_LABELS",
    "Anchor",
    "DailyCheck",
    "DailyRow",
    "DecisionLog",
    "Finding",
    "Genesis",
    "LogRecord",
    "LogStore",
    "MonthlyReport",
    "ReviewSettings",
    "StoredRecord",
    "Verdict",
    "chain_hash",
    "csv_cell",
    "csv_text",
    "daily_check",
    "is_postgres",
    "monthly_report",
    "open_log",
    "redacted",
    "review_settings",
    "verify_chain",
    "verify_link",
    "verify_since",
]
