"""The decision log: every decision an engine makes, hash-chained, and the reports made from it.

    engine = zxpolicy.load(log="decisions.db")          # or a postgresql:// URL, or a DecisionLog
    engine.check(...)                                     # each decision is written
    verify_chain(open_log("decisions.db", read_only=True)).ok   # the chain is intact
    daily_check(store, settings, date(2026, 11, 27))      # 查询日核查
    monthly_report(store, settings, 2026, 11, recorded)   # the monthly statistics for the PBoC
"""

from ..decide import DecisionLog
from ._csv import csv_cell, csv_text
from ._daily import FLAGS, DailyRow, daily_check
from ._monthly import MonthlyReport, monthly_report
from ._record import GENESIS, LogRecord, StoredRecord
from ._settings import ReviewSettings, review_settings
from ._store import LogStore, is_postgres, open_log
from ._verify import Finding, Verdict, verify_chain

__all__ = [
    "FLAGS",
    "GENESIS",
    "DailyRow",
    "DecisionLog",
    "Finding",
    "LogRecord",
    "LogStore",
    "MonthlyReport",
    "ReviewSettings",
    "StoredRecord",
    "Verdict",
    "csv_cell",
    "csv_text",
    "daily_check",
    "is_postgres",
    "monthly_report",
    "open_log",
    "review_settings",
    "verify_chain",
]
