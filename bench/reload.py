"""Live reloads: how long ``LivePolicy.reload`` takes, and what it does to ``check`` meanwhile.

    python -m bench reload                                  # 10,000 and 100,000 users, 100 orgs
    python -m bench reload --users 10000 --seconds 5
    python -m bench reload --quick                          # a tiny institution: that it runs

Each size runs in its own process (so that its garbage and its threads are its own). The parent
writes the policy (``bench/institution.py``); the child follows it with ``zxpolicy.watch`` and
alternates two versions of ``assignments.yaml`` that decide differently: in the second, one
query operator holds ``client_developer`` instead, so that a probe request of theirs is allowed
by one version and denied by the other (checked after every reload, so that a swap that did not
happen cannot pass for a fast one). Then:

- **reload**: write the other version, wait out the loader's 25 ms for a freshly written file to
  settle, time ``live.reload()`` (it must return True: swapped),
  then let the watcher load the same change (it does, 0.1–0.3 s after the write, and finds the
  version running) before the next one; the median and the longest of ``--reloads``. The two
  halves of a reload, ``load_policy`` and building the ``Engine``, are timed on their own.
- **check, per call**: ``--checkers`` threads run the request mix (``bench/requests.py``) on
  the live policy back to back for ``--seconds``, each call timed; once with no reload, once
  while another thread reloads continuously (write the other version, ``reload()``, again).
- **check, paced**: one thread asks at a fixed rate (``--rate`` per second) and each latency runs
  from when the request was due, not from when the thread got round to it, so that time spent
  waiting for the GIL behind a reload is counted for every request that waited (a closed loop
  counts it once: it does not ask while it waits). Steady, then while reloading.

The goal is a p99 while reloading at most twice the steady p99. Every thread of a CPython
process shares one GIL: a reload running in a thread holds it for ``sys.getswitchinterval()``
(5 ms) at a time between the checks' turns, and for the whole of any single long C call.
``--profile`` shows where a reload's time goes (cProfile: the profiler's overhead included,
so the shares matter, not the times).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import zxpolicy
from zxpolicy.policy import load_policy

from .institution import Institution, build
from .requests import AT, make_requests

SIZES = (10_000, 100_000)
ORGS = 100
# The second version: one query operator made a client developer (a role that may not query).
PROBE_USER = "u-000000"
PROBE_FROM, PROBE_TO = "query_operator", "client_developer"
# After a write, the watcher yields its batch within DEBOUNCE_MS (0.3 s) and then loads the same
# change; a reload timed before it has done so would be timed against it.
SETTLE_S = 0.5
# The loader waits until a file written less than 25 ms ago has settled (_SETTLE_NS): a reload
# timed sooner would time that wait. Well before the watcher's first batch (0.1 s after a write).
FRESH_S = 0.04
# The watcher also reloads once after its first quiet second (WAIT_S, 1 s), in case of a change
# made as it started.
FIRST_QUIET_S = 1.0

Call = tuple[tuple[Any, ...], dict[str, Any]]  # check's arguments and keywords


class BenchError(Exception):
    """The benchmark did not measure what it says: a reload that did not swap, a probe decided
    by the wrong version."""


class Versions:
    """The two versions of ``assignments.yaml``, written in turn (whole, by a rename, as a
    deploy writes them)."""

    def __init__(self, inst: Institution) -> None:
        self.path = inst.directory / "assignments.yaml"
        first = self.path.read_text(encoding="utf-8")
        old = f"{{id: {PROBE_USER}, roles: [{PROBE_FROM}],"
        second = first.replace(old, f"{{id: {PROBE_USER}, roles: [{PROBE_TO}],", 1)
        if second == first:
            raise BenchError(f"`{PROBE_USER}` is not a `{PROBE_FROM}` in the generated institution")
        self.texts = (first, second)
        self.on_disk = 0
        self._scratch = inst.directory.parent / ".assignments.yaml.next"  # outside the watched folder

    def flip(self) -> int:
        """Write the other version; which one it is (0: the first, whose probe is allowed)."""
        self.on_disk = 1 - self.on_disk
        self._scratch.write_text(self.texts[self.on_disk], encoding="utf-8")
        os.replace(self._scratch, self.path)
        return self.on_disk

    def close(self) -> None:
        self._scratch.unlink(missing_ok=True)  # left by a write cut short


def probe_call(inst: Institution) -> Call:
    """A query with consent by the probe user, in their own org."""
    org = next(u.org for u in inst.users if u.id == PROBE_USER)
    resource = zxpolicy.Resource("rep-probe", "credit_report", "ordinary", org, customer_id="c-probe")
    consent = zxpolicy.Consent("c-probe", ["loan_review"], signed_at=AT - timedelta(days=5), id="auth-probe")
    return (PROBE_USER, resource, "loan_review"), {"consent": consent, "at": AT}


def _expect(live: zxpolicy.LivePolicy, probe: Call, version: int) -> None:
    d = live.check(*probe[0], **probe[1])
    if d.allowed != (version == 0):
        raise BenchError(f"after the reload, the probe was decided as by the other version: {d.codes}")


def _percentiles(samples: array[int] | list[float], *qs: float) -> list[float]:
    ordered = sorted(samples)
    return [ordered[min(len(ordered) - 1, int(len(ordered) * q))] for q in qs]


def _settle(live: zxpolicy.LivePolicy, written_at: float) -> None:
    """Wait for the watcher to have taken the last write, and for its load to be over (``reload``
    waits for the reload in progress, then finds nothing new)."""
    time.sleep(max(0.0, written_at + SETTLE_S - time.perf_counter()))
    if live.reload():
        raise BenchError("a reload of an unchanged directory swapped the engine")


def time_reloads(live: zxpolicy.LivePolicy, versions: Versions, probe: Call, count: int) -> list[float]:
    """Seconds per ``reload()`` of a changed directory, the watcher idle at each start."""
    took: list[float] = []
    for _ in range(3 * count):
        version = versions.flip()
        written = time.perf_counter()
        time.sleep(FRESH_S)
        t = time.perf_counter()
        swapped = live.reload()
        seconds = time.perf_counter() - t
        failure = live.status().last_failure
        if failure is not None:
            raise BenchError(f"the reload failed: {failure.text('en')}")
        _expect(live, probe, version)
        if swapped:
            took.append(seconds)
        # else the watcher loaded the change first (and reload() waited for it): not a reload's time
        _settle(live, written)
        if len(took) == count:
            return took
    raise BenchError(f"in {3 * count - len(took)} of {3 * count} tries, the watcher had loaded the change first")


def _closed(live: zxpolicy.LivePolicy, calls: list[Call], stop: threading.Event, out: array[int]) -> None:
    clock, check, n, i = time.perf_counter_ns, live.check, len(calls), 0
    while not stop.is_set():
        args, kwargs = calls[i % n]
        i += 1
        t = clock()
        check(*args, **kwargs)
        out.append(clock() - t)


def _paced(live: zxpolicy.LivePolicy, calls: list[Call], stop: threading.Event, out: array[int], rate: int) -> None:
    clock, check, n, i = time.perf_counter_ns, live.check, len(calls), 0
    step = 1_000_000_000 // rate
    due = clock()
    while not stop.is_set():
        due += step
        wait = due - clock()
        if wait > 0:
            time.sleep(wait / 1e9)
        args, kwargs = calls[i % n]
        i += 1
        check(*args, **kwargs)
        out.append(clock() - due)  # from when it was due: a request held up behind the GIL counts its wait


class Reloader:
    """A thread that reloads continuously: write the other version, ``reload()``, again."""

    def __init__(self, live: zxpolicy.LivePolicy, versions: Versions) -> None:
        self.live, self.versions = live, versions
        self.stop = threading.Event()
        self.swaps = 0
        self.calls = 0
        self.last_write = 0.0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bench-reloader", daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                self.versions.flip()
                self.last_write = time.perf_counter()
                self.calls += 1
                # False when the watcher took this write first; the version runs all the same.
                self.swaps += self.live.reload()
        except BaseException as exc:  # said by the main thread
            self.error = exc

    def __enter__(self) -> Reloader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join()
        if self.error is not None:
            raise BenchError(f"the reloading thread failed: {self.error!r}") from self.error


class GcPauses:
    """The garbage collector's pauses while it is installed: a collection runs in whichever
    thread's allocation set it off, and holds the GIL throughout."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._start))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def summary(self) -> dict[str, float]:
        return {"gc_max_ms": max((s for _, s in self.pauses), default=0.0) * 1000,
                "gc_full": sum(g == 2 for g, _ in self.pauses)}


def run_threads(targets: list[Callable[[threading.Event], None]], seconds: float) -> None:
    stop = threading.Event()
    threads = [threading.Thread(target=f, args=(stop,), daemon=True) for f in targets]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()


def latency(
    live: zxpolicy.LivePolicy, versions: Versions, calls: list[Call], *, checkers: int, seconds: float,
    rate: int, reloading: bool,
) -> dict[str, Any]:
    """check's latencies (µs) per call and paced, with or without a thread reloading."""
    out: dict[str, Any] = {}
    for kind in ("closed", "paced"):
        samples: list[array[int]] = [array("q") for _ in range(checkers if kind == "closed" else 1)]
        targets: list[Callable[[threading.Event], None]]
        if kind == "closed":
            targets = [partial(_closed, live, calls, out=s) for s in samples]
        else:
            targets = [partial(_paced, live, calls, out=samples[0], rate=rate)]
        gc.collect()
        with GcPauses() as pauses:
            if reloading:
                with Reloader(live, versions) as r:
                    run_threads(targets, seconds)
                out[f"{kind}_reloads"], out[f"{kind}_swaps"] = r.calls, r.swaps
            else:
                run_threads(targets, seconds)
        if reloading:
            _settle(live, r.last_write)
        merged = array("q")
        for s in samples:
            merged.extend(s)
        p50, p99, p999 = (x / 1000 for x in _percentiles(merged, 0.5, 0.99, 0.999))
        out[kind] = {"checks": len(merged), "per_s": len(merged) / seconds, "p50_us": p50, "p99_us": p99,
                     "p999_us": p999, "max_us": max(merged) / 1000, **pauses.summary()}
    return out


# What a reload's profile is read for: each stage by the function that does it, cumulative.
STAGES = (
    ("read files", "_read_directory"),
    ("YAML", "read_yaml"),
    ("schema (pydantic)", "validate_python"),
    ("cross-checks", "crosscheck"),
    ("compile (Engine)", "compile_policy"),
)


def profile(directory: Path) -> dict[str, Any]:
    """One load and build under cProfile: each stage's share, and the functions that take most."""
    prof = cProfile.Profile()
    prof.enable()
    zxpolicy.Engine(load_policy(directory))
    prof.disable()
    stats = pstats.Stats(prof)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())  # every function's own time
    stages: dict[str, float] = {}
    for label, name in STAGES:
        stages[label] = sum(v[3] for k, v in raw.items() if k[2] == name or f"'{name}'" in k[2]) / total
    top = sorted(raw.items(), key=lambda kv: -kv[1][2])[:10]
    # A call into C holds the GIL from its start to its end (but where it calls back into
    # Python): the longest such calls are the longest a check can wait behind a reload.
    in_c = sorted(((k, v) for k, v in raw.items() if k[0] == "~"), key=lambda kv: -kv[1][2] / kv[1][1])[:3]
    return {
        "stages": stages,
        "top": [{"function": f"{Path(k[0]).name}:{k[1]}({k[2]})" if k[1] else k[2], "calls": v[1],
                 "own_share": v[2] / total} for k, v in top],
        "longest_c_calls": [{"function": k[2], "calls": v[1], "longest_ms": v[2] / v[1] * 1000} for k, v in in_c],
    }


def measure(
    users: int, orgs: int = ORGS, *, reloads: int = 8, seconds: float = 10.0, checkers: int = 1, rate: int = 2000,
    requests: int = 2000, with_profile: bool = False, written: Path | None = None,
) -> dict[str, Any]:
    """One size, in this process: every number of one row of the tables."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = written or build(Path(tmp) / "policies", users, orgs).directory
        inst = build(directory, users, orgs, write=False)
        versions = Versions(inst)
        try:
            probe = probe_call(inst)
            reqs = make_requests(inst, requests)
            calls: list[Call] = [((a["subject"], a["resource"], a["purpose"]),
                                  {k: a[k] for k in ("action", "consent", "approvals", "evidence", "at") if k in a})
                                 for a in (r.args for r in reqs)]
            row: dict[str, Any] = {"users": users, "orgs": orgs, "checkers": checkers, "rate": rate,
                                   "seconds": seconds, "switch_interval_ms": sys.getswitchinterval() * 1000}
            halves: dict[str, list[float]] = {"load_policy_s": [], "engine_s": []}
            for _ in range(3):
                t = time.perf_counter()
                loaded = load_policy(directory)
                halves["load_policy_s"].append(time.perf_counter() - t)
                t = time.perf_counter()
                zxpolicy.Engine(loaded)
                halves["engine_s"].append(time.perf_counter() - t)
            row.update({k: statistics.median(v) for k, v in halves.items()})
            del loaded

            with zxpolicy.watch(directory) as live:
                _expect(live, probe, 0)
                for args, kwargs in calls:  # every request is read, and warm
                    d = live.check(*args, **kwargs)
                    if {"invalid_request", "unknown_subject", "engine_error"} & set(d.codes):
                        raise BenchError(f"a benchmark request was not read: {d.reasons}")
                # The watcher's first quiet second (a second after it starts) reloads once.
                _settle(live, time.perf_counter() + FIRST_QUIET_S)
                took = time_reloads(live, versions, probe, reloads)
                row.update({"reloads": len(took), "reload_median_s": statistics.median(took), "reload_max_s": max(took)})
                kw: dict[str, Any] = {"checkers": checkers, "seconds": seconds, "rate": rate}
                row["steady"] = latency(live, versions, calls, reloading=False, **kw)
                row["reloading"] = latency(live, versions, calls, reloading=True, **kw)
                _expect(live, probe, versions.on_disk)
            for kind in ("closed", "paced"):
                row[f"{kind}_p99_ratio"] = row["reloading"][kind]["p99_us"] / row["steady"][kind]["p99_us"]
            if with_profile:
                row["profile"] = profile(directory)
            row["load_average"] = os.getloadavg()[0]
        finally:
            versions.close()
        return row


def _run_child(users: int, orgs: int, args: argparse.Namespace, written: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench", "reload", "--one", "--users", str(users), "--orgs", str(orgs),
           "--reloads", str(args.reloads), "--seconds", str(args.seconds), "--checkers", str(args.checkers),
           "--rate", str(args.rate), "--requests", str(args.requests), "--written", str(written)]
    if args.profile:
        cmd.append("--profile")
    if args.switch_interval is not None:
        cmd += ["--switch-interval", str(args.switch_interval)]
    here = Path(__file__).resolve().parent.parent  # where `python -m bench` finds the package
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=here)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the reload run of {users} users, {orgs} orgs failed")
    return dict(json.loads(done.stdout))


RELOAD_COLUMNS = [
    ("users", "users", "{:,}"), ("orgs", "orgs", "{:,}"), ("reloads", "reloads", "{}"),
    ("reload_median_s", "reload median s", "{:.3f}"), ("reload_max_s", "reload max s", "{:.3f}"),
    ("load_policy_s", "of which load_policy s", "{:.3f}"), ("engine_s", "Engine s", "{:.3f}"),
]
LATENCY_COLUMNS = [
    ("p50_us", "p50 µs", "{:.1f}"), ("p99_us", "p99 µs", "{:.1f}"), ("p999_us", "p99.9 µs", "{:,.0f}"),
    ("max_us", "max µs", "{:,.0f}"), ("per_s", "checks /s", "{:,.0f}"),
    ("gc_full", "full GCs", "{}"), ("gc_max_ms", "longest GC ms", "{:.1f}"),
]


def tables(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(c[1] for c in RELOAD_COLUMNS) + " |", "|" + "---:|" * len(RELOAD_COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(c[2].format(r[c[0]]) for c in RELOAD_COLUMNS) + " |")
    lines += ["", "| users | check | while | " + " | ".join(c[1] for c in LATENCY_COLUMNS) + " | p99 × steady |",
              "|---:|---|---|" + "---:|" * (len(LATENCY_COLUMNS) + 1)]
    for r in rows:
        for kind, shown in (("closed", f"per call, {r['checkers']} thread(s)"), ("paced", f"paced, {r['rate']:,}/s")):
            for phase in ("steady", "reloading"):
                m = r[phase][kind]
                during = f"reloading ({r['reloading'][f'{kind}_swaps']} swaps)" if phase == "reloading" else "steady"
                ratio = f"× {r[f'{kind}_p99_ratio']:.1f}" if phase == "reloading" else ""
                lines.append(f"| {r['users']:,} | {shown} | {during} | "
                             + " | ".join(c[2].format(m[c[0]]) for c in LATENCY_COLUMNS) + f" | {ratio} |")
    return "\n".join(lines)


def profile_text(row: dict[str, Any]) -> str:
    p = row["profile"]
    lines = [f"where one reload's time goes ({row['users']:,} users, cProfile, cumulative shares):", ""]
    lines += [f"  {label:<20} {share:6.1%}" for label, share in p["stages"].items()]
    lines += ["", "  functions by own time:"]
    lines += [f"  {t['own_share']:6.1%}  {t['calls']:>8,}×  {t['function']}" for t in p["top"]]
    lines += ["", "  calls into C by their own time per call (the GIL held throughout):"]
    lines += [f"  {t['longest_ms']:8.1f} ms  {t['calls']:>6,}×  {t['function']}" for t in p["longest_c_calls"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench reload", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", help="comma-separated user counts (default 10000,100000)")
    p.add_argument("--orgs", type=int, default=ORGS, help=f"orgs (default {ORGS})")
    p.add_argument("--reloads", type=int, default=8, help="reloads timed one by one (default 8)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each latency run (default 10)")
    p.add_argument("--checkers", type=int, default=1, help="threads checking back to back (default 1)")
    p.add_argument("--rate", type=int, default=2000, help="requests per second of the paced thread (default 2000)")
    p.add_argument("--requests", type=int, default=2000, help="requests in the mix (default 2000)")
    p.add_argument("--switch-interval", type=float, metavar="MS",
                   help="sys.setswitchinterval in the measuring process, in ms (default: Python's, 5 ms)")
    p.add_argument("--profile", action="store_true", help="profile one reload: where its time goes")
    p.add_argument("--quick", action="store_true", help="a tiny institution, short runs: that the bench runs")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child process: one size, JSON out
    p.add_argument("--written", type=Path, help=argparse.SUPPRESS)  # where the parent wrote the policy
    args = p.parse_args(argv)
    if args.quick:
        args.users = args.users or "200"
        args.orgs, args.reloads, args.seconds, args.requests = 10, 2, 0.3, 200
    users = [int(x) for x in args.users.split(",")] if args.users else list(SIZES)
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval / 1000)
    if args.one:
        (u,) = users
        row = measure(u, args.orgs, reloads=args.reloads, seconds=args.seconds, checkers=args.checkers, rate=args.rate,
                      requests=args.requests, with_profile=args.profile, written=args.written)
        print(json.dumps(row))
        return
    rows = []
    for u in users:
        with tempfile.TemporaryDirectory() as tmp:
            written = build(Path(tmp) / "policies", u, args.orgs).directory
            rows.append(_run_child(u, args.orgs, args, written))
        print(f"{u:,} users, {args.orgs:,} orgs: done", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(tables(rows))
    for r in rows:
        met = "met" if r["closed_p99_ratio"] <= 2 else "not met"
        paced = "met" if r["paced_p99_ratio"] <= 2 else "not met"
        print(f"\n{r['users']:,} users: p99 while reloading / steady: per call × {r['closed_p99_ratio']:.1f} ({met}),"
              f" paced × {r['paced_p99_ratio']:.1f} ({paced}); goal ≤ 2×. GIL switch interval"
              f" {r['switch_interval_ms']:g} ms; load average {r['load_average']:.2f}.")
    for r in rows:
        if "profile" in r:
            print()
            print(profile_text(r))


if __name__ == "__main__":
    main()
