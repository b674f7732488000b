"""Decision-log write latency through the engine, and verify's speed.

    python benchmarks/log_write.py [N] [postgresql://...]

Writes N allowed queries one by one (one transaction each, as in production) into a fresh SQLite
file, and into PostgreSQL when a URL is given, then verifies the chain.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import zxpolicy
from zxpolicy import Consent, Resource
from zxpolicy.log import LogStore, open_log, verify_chain
from zxpolicy.log._postgres import PostgresLog
from zxpolicy.log._sqlite import SqliteLog

AT = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def run(store: LogStore, n: int, what: str) -> None:
    engine = zxpolicy.load(log=store)
    consent = Consent("c-1", ["loan_review"], AT - timedelta(days=1))
    times = []
    for i in range(n):
        t = time.perf_counter()
        d = engine.check("u-query-east1", Resource(f"r-{i}", "credit_report", "ordinary", "east-1", "c-1"), "loan_review", consent=consent, at=AT)
        times.append(time.perf_counter() - t)
        assert d.allowed, d.codes
    nolog = zxpolicy.load()
    t = time.perf_counter()
    for i in range(n):
        nolog.check("u-query-east1", Resource(f"r-{i}", "credit_report", "ordinary", "east-1", "c-1"), "loan_review", consent=consent, at=AT)
    base = (time.perf_counter() - t) / n
    t = time.perf_counter()
    v = verify_chain(store)
    took = time.perf_counter() - t
    times.sort()
    print(f"{what}: check with log median {statistics.median(times) * 1e3:.3f} ms, p99 {times[int(n * 0.99)] * 1e3:.3f} ms; "
          f"without log {base * 1e3:.3f} ms; verify {v.records} records in {took:.2f} s ({'ok' if v.ok else 'BAD'})")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        store = open_log(Path(tmp) / "decisions.db")
        run(store, n, "sqlite (durable)")
        store.close()
        fast = SqliteLog(Path(tmp) / "fast.db", durable=False)
        run(fast, n, "sqlite (durable=False)")
        fast.close()
    if len(sys.argv) > 2:
        pg = PostgresLog(sys.argv[2], name="bench_" + uuid.uuid4().hex[:8])
        run(pg, n, "postgres")
        pg.close()


if __name__ == "__main__":
    main()
