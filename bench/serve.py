"""The decision service against the Cerbos PDP over HTTP: ``python -m bench serve``.

    python -m bench serve                  # 10,000 users, 100 orgs; 10 s per measure, median of 3
    python -m bench serve --quick          # a small institution, 1 s per measure, once
    python -m bench serve --json           # the results as JSON

In one run: write the institution's policy (``bench/institution.py``) and the equivalent Cerbos
policy (``bench/cerbos.py``); install Cerbos from the npm registry at the pinned version when
``npm`` is there (without it, zxpolicy runs alone and the report says so); start Cerbos (loopback
only, no telemetry, no audit log) and ``zxpolicy serve`` with 1 and 2 workers without a log, and
with 1 worker and a durable SQLite log; check that Cerbos and zxpolicy's grant and org scope
agree on every combination of role × action × kind × purpose × level × org relation and on every
request of the mix and the batches, and that every zxpolicy server answers as the engine does in
process (stopping at the first difference); then drive each server with ``wrk`` over loopback,
with ``bench/wrk/rotate.lua`` sending the same mix's bodies in turn:

- 1 connection, one decision per request: requests/s, p50, p99;
- 16 connections: requests/s, p50, p99;
- batches of 50 decisions, 4 connections: decisions/s (Cerbos: one principal and 50 resources
  per request; zxpolicy: the same 50 requests in one ``POST /v1/check/batch``).

The measures run in turn over the servers, all started up front, so that a change in the
machine's load falls on all of them alike. The client and the servers share the machine's cores:
``wrk`` runs one thread (``--threads``).
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import zxpolicy

from . import cerbos
from .institution import Institution, build
from .requests import AT, BenchRequest, make_batches, make_requests
from .run import Disagreement, grant_part

LUA = Path(__file__).resolve().parent / "wrk" / "rotate.lua"
BATCH = 50  # decisions per request of the batch measure
ZX_BATCH_KEY = "requests"  # POST /v1/check/batch: {"requests": [...]}
WRK_MARK = "WRK_JSON "


class BenchFailure(Exception):
    """The run cannot measure what it says it measures: a server that does not start or answer
    wrongly, a load generator that fails. The message says which."""


# -- bodies ---------------------------------------------------------------------------------------


def as_json(value: Any) -> Any:
    """A request's value as the JSON that ``zxpolicy check --json`` reads: the engine's types as
    objects of their fields (fields left at None omitted), times in ISO 8601 with their offset."""
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name)) for f in dataclasses.fields(value) if getattr(value, f.name) is not None}
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(as_json(v) for v in value)
    return value


def zx_body(r: BenchRequest) -> dict[str, Any]:
    """``POST /v1/check`` for a request of the mix."""
    return dict(as_json(r.args))


def zx_batch_body(reqs: list[BenchRequest]) -> dict[str, Any]:
    return {ZX_BATCH_KEY: [zx_body(r) for r in reqs]}


def dumps(body: Any) -> str:
    """One line of compact JSON: a line of a bodies file."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def write_bodies(path: Path, bodies: list[Any]) -> Path:
    """The bodies, one per line, as ``rotate.lua`` reads them."""
    path.write_text("".join(dumps(b) + "\n" for b in bodies), encoding="utf-8")
    return path


# -- what is checked for agreement ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pair:
    """Where the subject and the resource are, and whether that is in the subject's scope."""

    name: str
    user_org: str
    resource_org: str
    in_scope: bool


def org_pairs(inst: Institution) -> list[Pair]:
    """Seven places of a subject and a resource in the org tree: three in scope, four not."""
    root = inst.orgs[0]
    top = inst.children(root)
    if len(top) < 2 or not inst.children(top[0]) or not inst.children(top[1]):
        raise ValueError("the org pairs need two orgs below the root with children each: at least 22 orgs")
    a, b = top[0], top[1]
    ca, cb = inst.children(a)[0], inst.children(b)[0]
    return [
        Pair("own org", a, a, True),
        Pair("a child org", a, ca, True),
        Pair("from the root, two levels down", root, cb, True),
        Pair("the parent org", a, root, False),
        Pair("a sibling org", a, b, False),
        Pair("a sibling's child", a, cb, False),
        Pair("a child asks of its parent", ca, a, False),
    ]


@dataclasses.dataclass(frozen=True)
class GridCase:
    role: str
    pair: Pair
    kind: str
    purpose: str
    level: str
    action: str

    @property
    def user(self) -> str:
        return f"grid-{self.role}-{self.pair.user_org}"

    def zx_body(self, n: int) -> dict[str, Any]:
        return {
            "subject": {"id": self.user, "roles": [self.role], "org": self.pair.user_org},
            "resource": {"id": f"grid-{n}", "kind": self.kind, "level": self.level, "org": self.pair.resource_org},
            "purpose": self.purpose,
            "action": self.action,
            "at": AT.isoformat(),
        }


def grid(doc: Any, inst: Institution) -> list[GridCase]:
    """Every role × org pair × kind × purpose × level × action of the policy's vocabulary."""
    return [
        GridCase(role.id, pair, kind.id, purpose.id, level.id, action.id)
        for role in doc.roles
        for pair in org_pairs(inst)
        for kind in doc.kinds
        for purpose in doc.purposes
        for level in doc.levels
        for action in doc.actions
    ]


def agree_grid(engine: zxpolicy.Engine, cases: list[GridCase], cerbos_post: Any) -> dict[str, int]:
    """Each case through zxpolicy (in process) and Cerbos (over HTTP, one principal and up to 50
    resources per request, every action of a resource at once); ``Disagreement`` on a difference."""
    bodies = [c.zx_body(n) for n, c in enumerate(cases)]
    zx = [grant_part(d) for d in engine.check_many(bodies)]
    groups: dict[tuple[str, str, str, str, str, str], list[int]] = {}
    for i, c in enumerate(cases):
        groups.setdefault((c.role, c.pair.user_org, c.pair.resource_org, c.kind, c.purpose, c.level), []).append(i)
    keys = list(groups)
    allowed = 0
    for start in range(0, len(keys), cerbos.MAX_RESOURCES):
        chunk = keys[start : start + cerbos.MAX_RESOURCES]
        by_principal: dict[tuple[str, str], list[tuple[str, str, str, str, str, str]]] = {}
        for key in chunk:
            by_principal.setdefault((key[0], key[1]), []).append(key)
        for (role, user_org), resource_keys in by_principal.items():
            body = {
                "principal": cerbos.principal(f"grid-{role}-{user_org}", role, user_org),
                "resources": [
                    {
                        "actions": [cases[i].action for i in groups[k]],
                        "resource": {"kind": k[3], "id": f"grid-{groups[k][0]}",
                                     "attr": {"level": k[5], "org": k[2], "purpose": k[4]}},
                    }
                    for k in resource_keys
                ],
            }
            answers = cerbos.allowed(cerbos_post(body))
            for k, answer in zip(resource_keys, answers, strict=True):
                for i in groups[k]:
                    c = cases[i]
                    if answer[c.action] != zx[i]:
                        raise Disagreement(
                            f"{c.role} in {c.pair.user_org} ({c.pair.name}) {c.action} {c.kind} {c.level} for"
                            f" {c.purpose} in {c.pair.resource_org}: zxpolicy {zx[i]}, cerbos {answer[c.action]}"
                        )
                    allowed += zx[i]
    return {"combinations": len(cases), "allowed": allowed}


def agree_requests(engine: zxpolicy.Engine, reqs: list[BenchRequest], batches: list[list[BenchRequest]],
                   roles: dict[str, str], cerbos_post: Any) -> dict[str, int]:
    """The mix one by one and the batches whole, through Cerbos, against zxpolicy's grant and
    scope on the same requests; ``Disagreement`` on a difference."""
    counted = 0
    for r in reqs:
        c = cerbos.allowed(cerbos_post(cerbos.check_body(r, roles[r.user])))[0][r.action]
        z = grant_part(engine.check(**zx_body(r)))
        if c != z:
            raise Disagreement(f"{r.name}: zxpolicy {z}, cerbos {c}: {cerbos.check_body(r, roles[r.user])}")
        counted += 1
    for batch in batches:
        answers = cerbos.allowed(cerbos_post(cerbos.batch_body(batch, roles[batch[0].user])))
        for r, answer in zip(batch, answers, strict=True):
            z = grant_part(engine.check(**zx_body(r)))
            if answer[r.action] != z:
                raise Disagreement(f"batch, {r.name}: zxpolicy {z}, cerbos {answer[r.action]}")
            counted += 1
    return {"requests": len(reqs), "batch_decisions": counted - len(reqs)}


def same_as_engine(engine: zxpolicy.Engine, reqs: list[BenchRequest], batches: list[list[BenchRequest]],
                   post: Any) -> int:
    """Every body of the load through a zxpolicy server, against the engine in process on the
    same JSON: the same outcome and the same reasons. Raises ``BenchFailure`` on a difference."""

    def expect(r: BenchRequest) -> tuple[bool, tuple[str, ...]]:
        d = engine.check(**zx_body(r))
        return d.allowed, d.codes

    def got(answer: dict[str, Any]) -> tuple[bool, tuple[str, ...]]:
        return answer["allowed"], tuple(reason["code"] for reason in answer["reasons"])

    n = 0
    for r in reqs:
        if got(post("/v1/check", zx_body(r))) != expect(r):
            raise BenchFailure(f"{r.name}: the service decided otherwise than the engine: {got(post('/v1/check', zx_body(r)))}")
        n += 1
    for batch in batches:
        answers = post("/v1/check/batch", zx_batch_body(batch))["decisions"]
        if len(answers) != len(batch):
            raise BenchFailure(f"a batch of {len(batch)} came back with {len(answers)} decisions")
        for r, answer in zip(batch, answers, strict=True):
            if got(answer) != expect(r):
                raise BenchFailure(f"batch, {r.name}: the service decided otherwise than the engine: {got(answer)}")
            n += 1
    return n


# -- servers --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """JSON over one kept-alive loopback connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: Any) -> Any:
        self.conn.request("POST", path, dumps(body).encode(), {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        raw = response.read()
        if response.status != 200:
            raise BenchFailure(f"POST {path} on port {self.port}: HTTP {response.status}: {raw[:300]!r}")
        return json.loads(raw)

    def close(self) -> None:
        self.conn.close()


@dataclasses.dataclass
class Server:
    """A server process of the run, in a process group of its own (its workers with it)."""

    key: str
    label: str
    command: list[str]
    port: int
    single_path: str
    batch_path: str | None
    probe: Any  # a body whose POST to single_path answers 200 once the server is up
    env: dict[str, str] | None = None
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    output: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, logs: Path) -> None:
        self.output = logs / f"{self.key}.log"
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                            cwd=self.cwd, start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BenchFailure(f"{self.label} exited with {self.process.returncode}: {self.tail()}")
            client = Client(self.port)
            try:
                client.post(self.single_path, self.probe)
                return
            except (OSError, http.client.HTTPException, BenchFailure) as e:
                last = str(e)
            finally:
                client.close()
            time.sleep(0.1)
        raise BenchFailure(f"{self.label} did not answer on port {self.port} within {timeout:.0f} s ({last}): {self.tail()}")

    def tail(self) -> str:
        if self.output is None or not self.output.exists():
            return ""
        return " | ".join(self.output.read_text(errors="replace").strip().splitlines()[-5:])

    def stop(self) -> None:
        """SIGTERM (the server drains and exits), then its process group is killed if it lingers."""
        p = self.process
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the group is this server's alone (start_new_session)
        except ProcessLookupError:
            pass
        p.wait(timeout=15)


def zxpolicy_command(policy: Path, port: int, workers: int, log: Path | None) -> list[str]:
    cmd = [sys.executable, "-m", "zxpolicy", "serve", "--policy", str(policy), "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers)]
    if log is not None:
        cmd += ["--log", str(log)]
    return cmd


@contextmanager
def running(servers: list[Server], logs: Path) -> Iterator[list[Server]]:
    try:
        for s in servers:
            s.start(logs)
        for s in servers:
            s.wait_ready()
        yield servers
    finally:
        for s in servers:
            s.stop()


# -- the load -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Measure:
    key: str
    label: str
    connections: int
    batch: bool


MEASURES = (
    Measure("c1", "1 connection", 1, False),
    Measure("c16", "16 connections", 16, False),
    Measure("batch", f"batches of {BATCH}, 4 connections", 4, True),
)


def wrk_command(url: str, bodies: Path, connections: int, threads: int, seconds: int) -> list[str]:
    return ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
            "--latency", "-s", str(LUA), url, "--", str(bodies)]


def parse_wrk(stdout: str) -> dict[str, Any]:
    """The JSON line that ``rotate.lua``'s ``done`` prints, with the rates worked out."""
    lines = [line for line in stdout.splitlines() if line.startswith(WRK_MARK)]
    if len(lines) != 1:
        raise BenchFailure(f"wrk printed {len(lines)} result lines, not 1: {stdout[-500:]!r}")
    raw = json.loads(lines[0][len(WRK_MARK):])
    seconds = raw["duration_us"] / 1e6
    lat = raw["latency_us"]
    return {
        "requests": raw["requests"],
        "seconds": seconds,
        "req_s": raw["requests"] / seconds if seconds > 0 else 0.0,
        "p50_ms": lat["p50"] / 1000,
        "p90_ms": lat["p90"] / 1000,
        "p99_ms": lat["p99"] / 1000,
        "p99_9_ms": lat["p99_9"] / 1000,
        "mean_ms": lat["mean"] / 1000,
        "max_ms": lat["max"] / 1000,
        "errors": raw["errors"],
    }


def run_wrk(url: str, bodies: Path, connections: int, threads: int, seconds: int) -> dict[str, Any]:
    cmd = wrk_command(url, bodies, connections, threads, seconds)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=seconds + 60)
    if done.returncode != 0:
        raise BenchFailure(f"`{' '.join(cmd)}` exited with {done.returncode}: {done.stderr.strip()[-300:]}")
    result = parse_wrk(done.stdout)
    errors = result["errors"]
    if errors["status"] or errors["connect"] or errors["read"] or errors["write"]:
        raise BenchFailure(f"{url}: wrk counted errors {errors} in {result['requests']} requests")
    if result["requests"] == 0:
        raise BenchFailure(f"{url}: no request completed in {seconds} s")
    return result


def median_result(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(runs[-1])
    for key in ("req_s", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "mean_ms", "max_ms", "decisions_s"):
        if key in runs[0]:
            out[key] = statistics.median(r[key] for r in runs)
    out["runs"] = len(runs)
    out["req_s_runs"] = [round(r["req_s"], 1) for r in runs]
    return out


# -- the report -----------------------------------------------------------------------------------


def _cell(result: dict[str, Any] | None, key: str, fmt: str) -> str:
    return "–" if result is None or key not in result else fmt.format(result[key])


def table(report: dict[str, Any]) -> str:
    """The results: a row per server, and rows of zxpolicy ÷ Cerbos when Cerbos ran."""
    head = ["server", "1 conn req/s", "p50 ms", "p99 ms", "16 conn req/s", "p50 ms", "p99 ms",
            f"batches of {BATCH}, 4 conn: decisions/s", "p50 ms"]
    cols = [("c1", "req_s", "{:,.0f}"), ("c1", "p50_ms", "{:.2f}"), ("c1", "p99_ms", "{:.2f}"),
            ("c16", "req_s", "{:,.0f}"), ("c16", "p50_ms", "{:.2f}"), ("c16", "p99_ms", "{:.2f}"),
            ("batch", "decisions_s", "{:,.0f}"), ("batch", "p50_ms", "{:.2f}")]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * len(cols)]
    results = report["results"]
    for key, label in report["servers"].items():
        lines.append(f"| {label} | " + " | ".join(_cell(results[key].get(m), f, fmt) for m, f, fmt in cols) + " |")
    if "cerbos" in results:
        base = results["cerbos"]
        for key, label in report["servers"].items():
            if key == "cerbos" or "log" in key:
                continue
            cells = []
            for m, f, _ in cols:
                mine, theirs = results[key].get(m), base.get(m)
                cells.append("–" if mine is None or theirs is None else f"× {mine[f] / theirs[f]:.2f}")
            lines.append(f"| {label} ÷ Cerbos | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goals, each against the zxpolicy server (without a log) that does best on it."""
    results = report["results"]
    labels = report["servers"]
    zx = [k for k in results if k.startswith("zx") and "log" not in k]
    base = results.get("cerbos")
    out: list[dict[str, Any]] = []

    def best(measure: str, field: str, low: bool) -> tuple[str, float]:
        values = [(k, results[k][measure][field]) for k in zx if measure in results[k]]
        return min(values, key=lambda kv: kv[1]) if low else max(values, key=lambda kv: kv[1])

    k, p50 = best("c1", "p50_ms", True)
    out.append({"goal": "1 connection, one decision per request: p50 ≤ 0.3 ms", "met": p50 <= 0.3,
                "measured": f"{p50:.2f} ms ({labels[k]})" + (f"; Cerbos {base['c1']['p50_ms']:.2f} ms" if base else "")})
    if base:
        k, rate = best("c16", "req_s", False)
        ratio = rate / base["c16"]["req_s"]
        out.append({"goal": "16 connections: throughput ≥ 3 × Cerbos's", "met": ratio >= 3,
                    "measured": f"{rate:,.0f} req/s ({labels[k]}) against {base['c16']['req_s']:,.0f}: × {ratio:.2f}"})
        k, p99 = best("c16", "p99_ms", True)
        out.append({"goal": "16 connections: p99 ≤ Cerbos's", "met": p99 <= base["c16"]["p99_ms"],
                    "measured": f"{p99:.2f} ms ({labels[k]}) against {base['c16']['p99_ms']:.2f} ms"})
        k, rate = best("batch", "decisions_s", False)
        ratio = rate / base["batch"]["decisions_s"]
        out.append({"goal": f"batches of {BATCH}: decisions/s ≥ 2 × Cerbos's", "met": ratio >= 2,
                    "measured": f"{rate:,.0f}/s ({labels[k]}) against {base['batch']['decisions_s']:,.0f}/s: × {ratio:.2f}"})
    for key in [k for k in results if "log" in k]:
        r = results[key]
        parts = [f"{r[m]['req_s']:,.0f} req/s at {c}, p50 {r[m]['p50_ms']:.2f} ms, p99 {r[m]['p99_ms']:.2f} ms"
                 for m, c in (("c1", "1 connection"), ("c16", "16 connections")) if m in r]
        out.append({"goal": "with the log on (SQLite, durable): single-request throughput stated", "met": None,
                    "measured": f"{labels[key]}: " + "; ".join(parts)})
    return out


def goals_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| goal | measured | |", "|---|---|---|"]
    for g in rows:
        verdict = "stated" if g["met"] is None else ("met" if g["met"] else "**not met**")
        lines.append(f"| {g['goal']} | {g['measured']} | {verdict} |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    versions: dict[str, str | None] = {}
    for dist in ("uvicorn", "starlette", "orjson"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(), "zxpolicy": zxpolicy.__version__,
        "wrk": (wrk.stdout.strip().splitlines() or [""])[0].split(" Copyright")[0], **versions,
    }


def busy_cpu_seconds() -> float | None:
    """CPU time the whole machine has spent busy since boot (user, system, interrupts), or None
    where ``/proc/stat`` is not there."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time of this process and of every process it started and waited for (wrk, the
    servers and their workers)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


class CpuWatch:
    """How much of the machine's CPU time went to processes that are not the run's: on a shared
    machine, the measure of how clean a run was."""

    def __init__(self) -> None:
        self.wall, self.busy, self.own = time.monotonic(), busy_cpu_seconds(), own_cpu_seconds()

    def others_share(self) -> float | None:
        busy = busy_cpu_seconds()
        if busy is None or self.busy is None:
            return None
        elapsed = (time.monotonic() - self.wall) * (os.cpu_count() or 1)
        others = (busy - self.busy) - (own_cpu_seconds() - self.own)
        return max(0.0, others / elapsed) if elapsed > 0 else None


# -- the run --------------------------------------------------------------------------------------


QUICK = {"users": 500, "orgs": 30, "requests": 300, "batches": 20, "duration": 1, "warmup": 1, "repeat": 1}
FULL = {"users": 10_000, "orgs": 100, "requests": 2_000, "batches": 200, "duration": 10, "warmup": 3, "repeat": 3}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise BenchFailure("wrk is not on PATH: install it (Debian: apt-get install wrk)")
    report: dict[str, Any] = {"machine": machine(), "settings": {
        k: getattr(args, k) for k in ("users", "orgs", "requests", "batches", "duration", "warmup", "repeat", "threads")}}
    report["settings"]["batch_size"] = BATCH
    report["load_average_start"] = os.getloadavg()
    watch = CpuWatch()

    inst = build(work / "policies", args.users, args.orgs)
    engine = zxpolicy.load(inst.directory)
    reqs = make_requests(inst, args.requests)
    batches = make_batches(inst, args.batches, BATCH)
    roles = {u.id: u.role for u in inst.users}
    bodies = {
        ("zx", False): write_bodies(work / "zx-single.jsonl", [zx_body(r) for r in reqs]),
        ("zx", True): write_bodies(work / "zx-batch.jsonl", [zx_batch_body(b) for b in batches]),
        ("cerbos", False): write_bodies(work / "cerbos-single.jsonl", [cerbos.check_body(r, roles[r.user]) for r in reqs]),
        ("cerbos", True): write_bodies(work / "cerbos-batch.jsonl", [cerbos.batch_body(b, roles[b[0].user]) for b in batches]),
    }

    servers: list[Server] = []
    binary: Path | None = None
    if args.no_cerbos:
        report["cerbos"] = "not run (--no-cerbos)"
    else:
        try:
            binary = cerbos.installed(args.cache)
            report["cerbos"] = f"Cerbos {cerbos.VERSION} ({cerbos.PACKAGE} from the npm registry)"
        except cerbos.CerbosUnavailable as e:
            report["cerbos"] = f"not run: {e}"
    _say(f"cerbos: {report['cerbos']}")
    if binary is not None:
        cerbos.write_policies(engine.document, work / "cerbos-policies")
        http_port, grpc_port = free_port(), free_port()
        conf = work / "cerbos.yaml"
        conf.write_text(cerbos.config(work / "cerbos-policies", http_port, grpc_port), encoding="utf-8")
        compiled = subprocess.run([str(binary), "compile", str(work / "cerbos-policies")], capture_output=True, text=True,
                                  check=False, timeout=120)
        if compiled.returncode != 0:
            raise BenchFailure(f"the generated Cerbos policy does not compile: {compiled.stdout[-500:]}{compiled.stderr[-500:]}")
        servers.append(Server("cerbos", f"Cerbos {cerbos.VERSION}", [str(binary), "server", f"--config={conf}", "--log-level=error"],
                              http_port, "/api/check/resources", "/api/check/resources",
                              cerbos.check_body(reqs[0], roles[reqs[0].user]), env=cerbos.environment(), cwd=work))
    probe = zx_body(reqs[0])
    for key, label, workers, log in (
        ("zx1", "zxpolicy serve, 1 worker", 1, None),
        ("zx2", "zxpolicy serve, 2 workers", 2, None),
        ("zx1log", "zxpolicy serve, 1 worker, log on (SQLite, durable)", 1, work / "decisions.db"),
    ):
        port = free_port()
        servers.append(Server(key, label, zxpolicy_command(inst.directory, port, workers, log), port, "/v1/check",
                              None if log else "/v1/check/batch", probe, cwd=work))
    report["servers"] = {s.key: s.label for s in servers}

    with running(servers, work):
        _say("servers up: " + ", ".join(f"{s.label} on {s.port}" for s in servers))
        if binary is not None:
            c = Client(servers[0].port)
            try:
                t = time.perf_counter()
                ask = lambda body: c.post("/api/check/resources", body)  # noqa: E731
                report["agreement"] = {**agree_grid(engine, grid(engine.document, inst), ask),
                                       **agree_requests(engine, reqs, batches, roles, ask)}
                report["agreement"]["seconds"] = time.perf_counter() - t
            finally:
                c.close()
            a = report["agreement"]
            _say(f"agreement: Cerbos and zxpolicy's grant and org scope agree on all {a['combinations']:,} combinations"
                 f" ({a['allowed']:,} allowed), the {a['requests']:,} requests of the mix and the"
                 f" {a['batch_decisions']:,} decisions of the batches")
        checked = {}
        for s in servers:
            if s.key.startswith("zx"):
                c = Client(s.port)
                try:
                    checked[s.key] = same_as_engine(engine, reqs, batches if s.batch_path else [], c.post)
                finally:
                    c.close()
        report["same_as_engine"] = checked
        _say("every zxpolicy server decides the load's bodies as the engine does in process")

        plan = [(s, m) for s in servers for m in MEASURES if not m.batch or s.batch_path]
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}

        def load(s: Server, m: Measure, seconds: int) -> dict[str, Any]:
            url = s.url + (s.batch_path if m.batch and s.batch_path else s.single_path)
            result = run_wrk(url, bodies[("cerbos" if s.key == "cerbos" else "zx", m.batch)], m.connections, args.threads, seconds)
            result["decisions_s"] = result["req_s"] * (BATCH if m.batch else 1)
            return result

        if args.warmup:
            for s, m in plan:
                load(s, m, args.warmup)
        for i in range(args.repeat):
            for s, m in plan:
                result = load(s, m, args.duration)
                runs.setdefault((s.key, m.key), []).append(result)
                _say(f"round {i + 1}/{args.repeat}: {s.label}, {m.label}: {result['req_s']:,.0f} req/s,"
                     f" p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms")
    report["results"] = {s.key: {m: median_result(runs[(s.key, m)]) for (k, m) in runs if k == s.key} for s in servers}
    report["load_average_end"] = os.getloadavg()
    report["others_cpu_share"] = watch.others_share()  # after the servers were waited for: their time is the run's
    report["goals"] = goals(report)
    return report


def profile(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """``--profile``: zxpolicy alone, 1 worker, each load sampled by py-spy (``bench/serve_profile.py``)."""
    import threading

    from . import serve_profile

    if shutil.which("wrk") is None:
        raise BenchFailure("wrk is not on PATH: install it (Debian: apt-get install wrk)")
    if serve_profile.py_spy() is None:
        raise BenchFailure("py-spy is not on PATH: pip install py-spy (or pip install '.[bench]')")
    inst = build(work / "policies", args.users, args.orgs)
    reqs = make_requests(inst, args.requests)
    batches = make_batches(inst, args.batches, BATCH)
    single = write_bodies(work / "zx-single.jsonl", [zx_body(r) for r in reqs])
    batch = write_bodies(work / "zx-batch.jsonl", [zx_batch_body(b) for b in batches])
    servers = []
    for key, label, log in (("zx1", "zxpolicy serve, 1 worker", None),
                            ("zx1log", "zxpolicy serve, 1 worker, log on (SQLite, durable)", work / "decisions.db")):
        port = free_port()
        servers.append(Server(key, label, zxpolicy_command(inst.directory, port, 1, log), port, "/v1/check",
                              "/v1/check/batch", zx_body(reqs[0]), cwd=work))
    loads = [(servers[0], m) for m in MEASURES] + [(servers[1], MEASURES[0])]
    out: dict[str, Any] = {"settings": {k: getattr(args, k) for k in ("users", "orgs", "requests", "batches", "duration")},
                           "profiles": []}
    with running(servers, work):
        for s, m in loads:
            url = s.url + (s.batch_path if m.batch and s.batch_path else s.single_path)
            if args.warmup:
                run_wrk(url, batch if m.batch else single, m.connections, args.threads, args.warmup)
            result: dict[str, Any] = {}

            def drive(url: str = url, m: Measure = m, result: dict[str, Any] = result) -> None:
                result.update(run_wrk(url, batch if m.batch else single, m.connections, args.threads, args.duration + 2))

            thread = threading.Thread(target=drive)
            thread.start()
            time.sleep(1.0)  # the load under way before sampling starts
            raw = work / f"profile-{s.key}-{m.key}.txt"
            assert s.process is not None
            spy = serve_profile.record(s.process.pid, args.duration, raw)
            _, err = spy.communicate(timeout=args.duration + 60)
            thread.join()
            if spy.returncode != 0 or not raw.exists():
                raise BenchFailure(f"py-spy failed on {s.label}: {err.decode(errors='replace').strip()[-300:]}")
            summary = serve_profile.summarize(raw.read_text())
            label = f"{s.label}, {m.label}"
            out["profiles"].append({"load": label, "rate": result, "summary": summary})
            _say(f"profiled {label}")
    return out


def print_profile(out: dict[str, Any]) -> None:
    from . import serve_profile

    st = out["settings"]
    print(f"py-spy, {st['duration']} s per load; {st['users']:,} users, {st['orgs']:,} orgs.\n")
    print("\n\n".join(serve_profile.report_text(p["load"], p["rate"], p["summary"]) for p in out["profiles"]))


def print_report(report: dict[str, Any]) -> None:
    m, st = report["machine"], report["settings"]
    print(f"{m['cpus']} cores ({m['cpu']}), Python {m['python']}, zxpolicy {m['zxpolicy']}, uvicorn {m['uvicorn']},"
          f" {m['wrk']}; {st['users']:,} users, {st['orgs']:,} orgs; wrk with {st['threads']} thread(s), {st['duration']} s"
          f" per measure after {st['warmup']} s of warm-up, median of {st['repeat']}; load average"
          f" {report['load_average_start'][0]:.2f} at the start, {report['load_average_end'][0]:.2f} at the end.")
    if report.get("others_cpu_share") is not None:
        print(f"Other processes on the machine took {100 * report['others_cpu_share']:.0f} % of its CPU time during the run.")
    print(f"Cerbos: {report['cerbos']}.")
    if "cerbos" not in report["results"]:
        print("zxpolicy ran alone: no ratios to Cerbos in this run.")
    print()
    print(table(report))
    print()
    print(goals_table(report["goals"]))
    if "agreement" in report:
        a = report["agreement"]
        print(f"\nagreement: Cerbos and zxpolicy's grant and org scope decide alike on all {a['combinations']:,} combinations"
              f" (role × action × kind × purpose × level × 7 org relations; {a['allowed']:,} allowed), the {a['requests']:,}"
              f" requests of the mix and the {a['batch_decisions']:,} decisions of the batches.")
    n = ", ".join(f"{report['servers'][k]}: {v:,}" for k, v in report["same_as_engine"].items())
    print(f"zxpolicy serve answered every body of the load as the engine does in process ({n} decisions).")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench serve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a small institution, 1 s per measure, one round (a smoke run)")
    p.add_argument("--users", type=int, help=f"users of the institution (default {FULL['users']:,})")
    p.add_argument("--orgs", type=int, help=f"orgs of the institution, at least 22 (default {FULL['orgs']})")
    p.add_argument("--requests", type=int, help=f"requests in the mix (default {FULL['requests']:,})")
    p.add_argument("--batches", type=int, help=f"batches of {BATCH} in the batch load (default {FULL['batches']})")
    p.add_argument("--duration", type=int, help=f"seconds per measure (default {FULL['duration']})")
    p.add_argument("--warmup", type=int, help=f"seconds of load before the first round of each measure (default {FULL['warmup']})")
    p.add_argument("--repeat", type=int, help=f"rounds; the table shows medians (default {FULL['repeat']})")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the client shares the cores with the servers)")
    p.add_argument("--no-cerbos", action="store_true", help="zxpolicy alone")
    p.add_argument("--cache", type=Path, help=f"where the Cerbos binary is kept (default {cerbos.cache_dir()})")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--profile", action="store_true",
                   help="instead of the comparison: where zxpolicy serve (1 worker) spends its time under each load (py-spy)")
    args = p.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("users", "orgs", "requests", "batches", "duration", "repeat", "threads"):
        if getattr(args, key) < 1:
            p.error(f"--{key} must be at least 1")
    try:
        with tempfile.TemporaryDirectory(prefix="zxpolicy-bench-serve-") as tmp:
            report = (profile if args.profile else bench)(args, Path(tmp))
    except (BenchFailure, Disagreement, ValueError) as e:
        raise SystemExit(f"bench serve: {type(e).__name__}: {e}") from None
    if args.profile and not args.json:
        print_profile(report)
    elif args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report)
