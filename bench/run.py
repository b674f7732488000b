"""Measure zxpolicy, pycasbin and cedarpy on generated institutions; print the table.

    python -m bench                                  # the standard sizes, one subprocess each
    python -m bench --users 10000 --orgs 100         # one size
    python -m bench --users 1000,10000 --orgs 10,100 --repeat 3

Each size runs in its own process, so that peak memory and garbage are its own. Within a run:
load the policy (timed), note the peak RSS, build the Casbin enforcer and the Cedar policy set,
check that the three agree on every request of the mix (and stop if they do not), then time
``check`` per request, on the engine's own types and on the same mix as JSON (``as_json``: what
a service has once it has parsed its request body), ``check_many`` over the whole mix,
``Decision.to_dict`` and its encoding with orjson and with ``json``, ``Enforcer.enforce`` and
``cedarpy.is_authorized``.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import zxpolicy

from .institution import build
from .others import casbin_args, casbin_enforcer, cedar_policies, cedar_request
from .requests import GRANT_CODES, BenchRequest, as_json, make_requests

STANDARD = [(1_000, 100), (10_000, 10), (10_000, 100), (10_000, 1_000), (100_000, 100), (100_000, 1_000)]


class Disagreement(Exception):
    """The engines decided a benchmark request differently: the timings would compare nothing."""


def grant_part(decision: zxpolicy.Decision) -> bool:
    """zxpolicy's answer to what Casbin and Cedar are asked: granted and in scope."""
    if {"invalid_request", "unknown_subject", "engine_error"} & set(decision.codes):
        raise Disagreement(f"a benchmark request was not read: {decision.reasons}")
    return not (GRANT_CODES & set(decision.codes))


def agree(engine: zxpolicy.Engine, reqs: list[BenchRequest], enforcer: Any, cedar: Any) -> dict[str, int]:
    """Check every request on all three engines; raise ``Disagreement`` on the first difference."""
    import cedarpy

    roles = {u.id: u.role for u in cedar["inst"].users}
    counts = {"requests": len(reqs), "allowed": 0, "grant_part_allowed": 0}
    for r in reqs:
        d = r.call(engine.check)
        z = grant_part(d)
        c = bool(enforcer.enforce(*casbin_args(r)))
        request, entities = cedar_request(cedar["inst"], r, roles[r.user])
        e = cedarpy.is_authorized(request, cedar["policies"], entities).allowed
        if not z == c == e:
            raise Disagreement(f"{r.name}: zxpolicy {z} ({d.codes}), casbin {c}, cedar {e}: {casbin_args(r)}")
        counts["allowed"] += d.allowed
        counts["grant_part_allowed"] += z
    return counts


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


Call = tuple[Any, tuple[Any, ...], dict[str, Any]]  # a function, its arguments and its keywords


def _time_each(calls: list[Call], rounds: int) -> list[float]:
    """Per-call latency in µs (timer included: about 0.05 µs)."""
    clock = time.perf_counter_ns
    samples: list[float] = []
    for _ in range(rounds):
        for f, args, kwargs in calls:
            t = clock()
            f(*args, **kwargs)
            samples.append((clock() - t) / 1000)
    return samples


def _time_encoding(calls: list[Call], rounds: int, encode: Any) -> list[float]:
    """Per-decision latency in µs of ``encode``, each time on a decision just made (as a service
    encodes each decision once), the ``check`` itself not timed."""
    clock = time.perf_counter_ns
    samples: list[float] = []
    for _ in range(rounds):
        for f, args, kwargs in calls:
            d = f(*args, **kwargs)
            t = clock()
            encode(d)
            samples.append((clock() - t) / 1000)
    return samples


def _calls(check: Any, requests: list[dict[str, Any]]) -> list[Call]:
    return [
        (check, (a["subject"], a["resource"], a["purpose"]),
         {k: a[k] for k in ("action", "consent", "approvals", "evidence", "at") if k in a})
        for a in requests
    ]


def same_as_json(engine: zxpolicy.Engine, reqs: list[BenchRequest], as_sent: list[dict[str, Any]]) -> None:
    """Each request of the mix, sent as JSON, is decided as it is on the engine's own types;
    raise ``Disagreement`` on the first that is not (the timings would compare nothing)."""
    for r, (f, args, kwargs) in zip(reqs, _calls(engine.check, as_sent)):
        own, sent = r.call(engine.check), f(*args, **kwargs)
        if own != sent:
            raise Disagreement(f"{r.name}: as JSON {sent.codes}, on the engine's types {own.codes}")


def measure(
    users: int, orgs: int, *, requests: int = 2000, rounds: int = 20, others: bool = True, written: Path | None = None
) -> dict[str, Any]:
    """One size, in this process: every number of one row of the table. With ``written``, the
    policy is already in that directory (``build`` wrote it in another process), so that the peak
    RSS measured is the engine's, not the generator's."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = written or build(Path(tmp) / "policies", users, orgs).directory
        gc.collect()
        t = time.perf_counter()
        engine = zxpolicy.load(directory)
        load_s = time.perf_counter() - t
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        inst = build(directory, users, orgs, write=False)
        reqs = make_requests(inst, requests)
        for r in reqs:
            r.call(engine.check)

        row: dict[str, Any] = {"users": users, "orgs": orgs, "load_s": load_s, "rss_mb": rss_mb, "requests": len(reqs)}
        enforcer: Any = None
        cedar: dict[str, Any] = {}
        if others:
            import cedarpy

            t = time.perf_counter()
            enforcer = casbin_enforcer(engine.document)
            row["casbin_load_s"] = time.perf_counter() - t
            cedar = {"inst": inst, "policies": cedarpy.PolicySet.from_str(cedar_policies(engine.document))}
            row["agreement"] = agree(engine, reqs, enforcer, cedar)

        z_calls = _calls(engine.check, [r.args for r in reqs])
        samples = _time_each(z_calls, rounds)
        row["check_p50_us"], row["check_p99_us"] = _percentiles(samples)
        row["check_mean_us"] = statistics.fmean(samples)
        row["check_p50_by_request_us"] = _by_request(reqs, samples)

        as_sent = [as_json(r.args) for r in reqs]
        same_as_json(engine, reqs, as_sent)
        j_calls = _calls(engine.check, as_sent)
        j_samples = _time_each(j_calls, rounds)
        row["check_json_p50_us"], row["check_json_p99_us"] = _percentiles(j_samples)
        row["check_json_mean_us"] = statistics.fmean(j_samples)
        row["check_json_p50_by_request_us"] = _by_request(reqs, j_samples)

        import orjson

        encode_rounds = max(1, rounds // 4)
        for key, encode in (
            ("to_dict", zxpolicy.Decision.to_dict),
            ("to_dict_orjson", lambda d: orjson.dumps(d.to_dict())),
            ("to_dict_json", lambda d: json.dumps(d.to_dict(), ensure_ascii=False)),
        ):
            e = _time_encoding(j_calls, encode_rounds, encode)
            row[f"{key}_p50_us"], row[f"{key}_p99_us"] = _percentiles(e)

        items = [r.args for r in reqs]
        rates = []
        for _ in range(max(3, rounds // 4)):
            t = time.perf_counter()
            engine.check_many(items)
            rates.append(len(items) / (time.perf_counter() - t))
        row["check_many_per_s"] = statistics.median(rates)

        if others:
            roles = {u.id: u.role for u in inst.users}
            c_calls: list[Call] = [(enforcer.enforce, casbin_args(r), {}) for r in reqs]
            c_samples = _time_each(c_calls, 1)
            row["casbin_p50_us"], row["casbin_p99_us"] = _percentiles(c_samples)
            row["casbin_mean_us"] = statistics.fmean(c_samples)
            prepared = [cedar_request(inst, r, roles[r.user]) for r in reqs]
            e_calls: list[Call] = [(cedarpy.is_authorized, (req, cedar["policies"], ents), {}) for req, ents in prepared]
            e_samples = _time_each(e_calls, 2)
            row["cedar_p50_us"], row["cedar_p99_us"] = _percentiles(e_samples)
            row["cedar_mean_us"] = statistics.fmean(e_samples)
            row["x_casbin"] = row["casbin_p50_us"] / row["check_p50_us"]
            row["x_cedar"] = row["cedar_p50_us"] / row["check_p50_us"]
            row["x_casbin_mean"] = row["casbin_mean_us"] / row["check_mean_us"]
            row["x_cedar_mean"] = row["cedar_mean_us"] / row["check_mean_us"]
        return row


def _by_request(reqs: list[BenchRequest], samples: list[float]) -> dict[str, float]:
    """The p50 of each kind of request of the mix (``samples`` in the mix's order, round after round)."""
    by_name: dict[str, list[float]] = {}
    for i, s in enumerate(samples):
        by_name.setdefault(reqs[i % len(reqs)].name, []).append(s)
    return {k: _percentiles(v)[0] for k, v in by_name.items()}


def _run_child(users: int, orgs: int, args: argparse.Namespace, written: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench", "--one", "--users", str(users), "--orgs", str(orgs),
           "--requests", str(args.requests), "--rounds", str(args.rounds), "--written", str(written)]
    if args.no_others:
        cmd.append("--no-others")
    here = Path(__file__).resolve().parent.parent  # where `python -m bench` finds the package
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=here)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the run of {users} users, {orgs} orgs failed")
    return dict(json.loads(done.stdout))


def _median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(rows[0])
    for key, value in rows[0].items():
        if isinstance(value, float):
            out[key] = statistics.median(r[key] for r in rows)
    return out


COLUMNS = [
    ("users", "users", "{:,}"), ("orgs", "orgs", "{:,}"), ("load_s", "load s", "{:.2f}"), ("rss_mb", "peak RSS MB", "{:.0f}"),
    ("check_p50_us", "check p50 µs", "{:.1f}"), ("check_p99_us", "check p99 µs", "{:.1f}"),
    ("check_json_p50_us", "JSON p50 µs", "{:.1f}"), ("check_json_p99_us", "JSON p99 µs", "{:.1f}"),
    ("check_many_per_s", "check_many /s", "{:,.0f}"),
    ("casbin_p50_us", "casbin p50 µs", "{:.0f}"), ("casbin_p99_us", "casbin p99 µs", "{:.0f}"),
    ("cedar_p50_us", "cedar p50 µs", "{:.0f}"), ("cedar_p99_us", "cedar p99 µs", "{:.0f}"),
    ("x_casbin", "× casbin", "{:.0f}"), ("x_cedar", "× cedar", "{:.0f}"),
]


def table(rows: list[dict[str, Any]]) -> str:
    cols = [c for c in COLUMNS if all(c[0] in r for r in rows)]
    lines = ["| " + " | ".join(c[1] for c in cols) + " |", "|" + "---:|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(c[2].format(r[c[0]]) for c in cols) + " |")
    return "\n".join(lines)


def by_request_table(row: dict[str, Any]) -> str:
    lines = ["| request | check p50 µs | as JSON p50 µs |", "|---|---:|---:|"]
    as_sent = row.get("check_json_p50_by_request_us", {})
    for name, value in row["check_p50_by_request_us"].items():
        sent = as_sent.get(name)
        lines.append(f"| {name} | {value:.1f} | {'' if sent is None else f'{sent:.1f}'} |")
    return "\n".join(lines)


def json_report(row: dict[str, Any]) -> str:
    """The mix as JSON against the mix on the engine's own types, and a decision's encoding."""
    r = row
    return "\n".join([
        f"check on the mix as JSON (plain dicts, ISO 8601 strings): p50 {r['check_json_p50_us']:.1f} µs,"
        f" p99 {r['check_json_p99_us']:.1f} µs, mean {r['check_json_mean_us']:.1f} µs;"
        f" on the engine's own types: p50 {r['check_p50_us']:.1f} µs, p99 {r['check_p99_us']:.1f} µs,"
        f" mean {r['check_mean_us']:.1f} µs (JSON × {r['check_json_p50_us'] / r['check_p50_us']:.2f} at p50)",
        f"a decision as JSON (p50 / p99, each decision encoded once): to_dict {r['to_dict_p50_us']:.2f} / {r['to_dict_p99_us']:.2f} µs;"
        f" to_dict + orjson.dumps {r['to_dict_orjson_p50_us']:.2f} / {r['to_dict_orjson_p99_us']:.2f} µs;"
        f" to_dict + json.dumps {r['to_dict_json_p50_us']:.2f} / {r['to_dict_json_p99_us']:.2f} µs",
    ])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", help="comma-separated user counts (default: the standard sizes)")
    p.add_argument("--orgs", help="comma-separated org counts")
    p.add_argument("--requests", type=int, default=2000, help="requests in the mix (default 2000)")
    p.add_argument("--rounds", type=int, default=20, help="times check runs over the mix (default 20)")
    p.add_argument("--repeat", type=int, default=1, help="runs per size; the table shows medians (default 1)")
    p.add_argument("--no-others", action="store_true", help="zxpolicy only: no pycasbin or cedarpy")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child process: one size, JSON out
    p.add_argument("--written", type=Path, help=argparse.SUPPRESS)  # where the parent wrote the policy
    args = p.parse_args(argv)

    if args.users or args.orgs:
        users = [int(x) for x in (args.users or "10000").split(",")]
        orgs = [int(x) for x in (args.orgs or "100").split(",")]
        sizes = [(u, o) for u in users for o in orgs]
    else:
        sizes = STANDARD
    if args.one:
        (u, o), = sizes
        row = measure(u, o, requests=args.requests, rounds=args.rounds, others=not args.no_others, written=args.written)
        print(json.dumps(row))
        return
    rows = []
    for u, o in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            written = build(Path(tmp) / "policies", u, o).directory
            runs = [_run_child(u, o, args, written) for _ in range(args.repeat)]
        rows.append(_median_row(runs))
        print(f"{u:,} users, {o:,} orgs: done", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(table(rows))
    print()
    mid = next((r for r in rows if (r["users"], r["orgs"]) == (10_000, 100)), rows[0])
    print(f"check p50 by kind of request ({mid['users']:,} users, {mid['orgs']:,} orgs):\n")
    print(by_request_table(mid))
    print()
    print(json_report(mid))
    if "x_casbin_mean" in mid:
        print(f"\nmeans ({mid['users']:,} users, {mid['orgs']:,} orgs): check {mid['check_mean_us']:.1f} µs,"
              f" casbin {mid['casbin_mean_us']:.0f} µs (× {mid['x_casbin_mean']:.0f}),"
              f" cedar {mid['cedar_mean_us']:.0f} µs (× {mid['x_cedar_mean']:.0f})")
    if "agreement" in mid:
        a = mid["agreement"]
        print(f"\nagreement: zxpolicy, pycasbin and cedarpy decide the grant and org scope alike on all {a['requests']} requests"
              f" ({a['grant_part_allowed']} granted and in scope; zxpolicy allows {a['allowed']} in full).")
