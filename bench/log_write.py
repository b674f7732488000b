"""Decision-log write latency through the engine, and the speed of verifying the chain.

    python -m bench.log_write                                   # 2,000 decisions, a temporary SQLite file
    python -m bench.log_write 10000 --sqlite decisions.db       # keep the file
    python -m bench.log_write 10000 --postgres postgresql://localhost/zxbench

Writes N allowed queries one by one through ``Engine.check`` (one transaction and, on SQLite, one
fsync each, as in production), times the same checks without a log, then verifies the chain.
Then the same on SQLite with ``open_log(..., durable=False)`` (no fsync per write: kept through a
crash of the process, not of the machine), always in a temporary file.
The log must be new or empty: the benchmark's decisions are real records of a hash chain and
cannot be removed from it afterwards, so give a scratch file or a scratch database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import zxpolicy
from zxpolicy import Consent, Resource
from zxpolicy.log import LogStore, Verdict, is_postgres, open_log, verify_chain

AT = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=8)))
DEFAULT_N = 2000


def run(store: LogStore, n: int, what: str) -> Verdict:
    """Write ``n`` decisions into ``store`` (an empty log) through an engine, print the timings;
    the chain's verdict."""
    engine = zxpolicy.load(log=store)
    consent = Consent("c-1", ["loan_review"], AT - timedelta(days=1))
    times: list[float] = []
    for i in range(n):
        resource = Resource(f"r-{i}", "credit_report", "ordinary", "east-1", "c-1")
        t = time.perf_counter()
        d = engine.check("u-query-east1", resource, "loan_review", consent=consent, at=AT)
        times.append(time.perf_counter() - t)
        assert d.allowed, d.codes
    nolog = zxpolicy.load()
    resources = [Resource(f"r-{i}", "credit_report", "ordinary", "east-1", "c-1") for i in range(n)]
    t = time.perf_counter()
    for resource in resources:
        nolog.check("u-query-east1", resource, "loan_review", consent=consent, at=AT)
    base = (time.perf_counter() - t) / n
    t = time.perf_counter()
    v = verify_chain(store)
    took = time.perf_counter() - t
    times.sort()
    p99 = times[min(n - 1, int(n * 0.99))]
    print(f"{what}: check with log median {statistics.median(times) * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms; "
          f"without log {base * 1e3:.3f} ms; verify {v.records:,} records in {took:.2f} s ({'ok' if v.ok else 'BAD'})",
          flush=True)
    return v


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"`{text}`: a whole number, at least 1")
    return int(text)


def _postgres(text: str) -> str:
    if not is_postgres(text):
        raise argparse.ArgumentTypeError(f"`{text}`: a postgresql:// URL")
    return text


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.log_write", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("n", nargs="?", type=_positive, default=DEFAULT_N, help=f"decisions to write (default {DEFAULT_N:,})")
    p.add_argument("--sqlite", type=Path, metavar="FILE",
                   help="the SQLite file to write, new or empty (default: one in a temporary folder, removed after)")
    p.add_argument("--postgres", type=_postgres, metavar="URL",
                   help="also write to PostgreSQL at this URL (a scratch database: its zxpolicy log tables must be empty)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        targets: list[tuple[str | Path, str, bool]] = [
            (args.sqlite or Path(tmp) / "decisions.db", "sqlite", True),
            (Path(tmp) / "not-durable.db", "sqlite (durable=False)", False),
        ]
        if args.postgres is not None:
            targets.append((args.postgres, "postgres", True))
        stores: list[tuple[LogStore, str]] = []
        try:
            for target, what, durable in targets:
                stores.append((open_log(target, durable=durable), what))
            for store, what in stores:  # all checked before anything is written
                if store.count():
                    p.error(f"{what}: the log already holds {store.count():,} records; give a new file or a scratch database")
            verdicts = [run(store, args.n, what) for store, what in stores]
        finally:
            for store, _ in stores:
                store.close()
    if not all(v.ok for v in verdicts):
        sys.exit(1)


if __name__ == "__main__":
    main()
