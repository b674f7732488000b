"""The benchmark harness runs, and zxpolicy, pycasbin and cedarpy agree on its requests.

No timings are asserted: speed is measured by ``python -m bench``, not tested here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import zxpolicy
from bench import log_write
from bench import reload as reload_bench
from bench.institution import build
from bench.others import casbin_enforcer, cedar_policies
from bench.requests import MIX, as_json, make_requests
from bench.run import Disagreement, agree, json_report, main, measure, same_as_json, table
from zxpolicy.log import open_log, verify_chain


def test_the_harness_runs_on_a_tiny_institution_and_the_three_engines_agree() -> None:
    row = measure(50, 5, requests=300, rounds=1)
    agreement = row["agreement"]
    assert agreement["requests"] == row["requests"] == 300
    # The mix has requests granted and not, and granted requests that zxpolicy still denies
    # (no consent, a missing approval, a classified level).
    assert 0 < agreement["allowed"] < agreement["grant_part_allowed"] < 300
    assert set(row["check_p50_by_request_us"]) == {name for name, _ in MIX}
    for key in ("load_s", "rss_mb", "check_p50_us", "check_p99_us", "check_many_per_s", "casbin_p50_us", "cedar_p50_us",
                "check_json_p50_us", "check_json_p99_us", "to_dict_p50_us", "to_dict_orjson_p50_us", "to_dict_json_p50_us"):
        assert row[key] > 0, key
    assert set(row["check_json_p50_by_request_us"]) == set(row["check_p50_by_request_us"])
    text = table([row])
    assert "× casbin" in text and "× cedar" in text and "| 50 | 5 |" in text and "JSON p50 µs" in text
    assert "check on the mix as JSON" in json_report(row) and "orjson.dumps" in json_report(row)


def test_the_mix_as_json_is_what_json_carries_and_is_decided_alike(tmp_path: Path) -> None:
    inst = build(tmp_path / "policies", 40, 4)
    engine = zxpolicy.load(inst.directory)
    reqs = make_requests(inst, 200)
    sent = [as_json(r.args) for r in reqs]
    for a in sent:
        assert json.loads(json.dumps(a)) == a  # nothing but dicts, lists, strings
        assert isinstance(a["at"], str) and isinstance(a["resource"], dict)
    assert any(isinstance(a["subject"], dict) for a in sent) and any(isinstance(a["subject"], str) for a in sent)
    assert any(a.get("approvals") for a in sent) and any(a.get("consent") for a in sent)
    same_as_json(engine, reqs, sent)
    # A request read otherwise as JSON than on the engine's types stops the run.
    broken = [dict(a) for a in sent]
    broken[0]["at"] = broken[0]["at"].replace("+08:00", "")
    with pytest.raises(Disagreement, match="as JSON"):
        same_as_json(engine, reqs, broken)


def test_a_disagreement_stops_the_run(tmp_path: Path) -> None:
    import cedarpy

    inst = build(tmp_path / "policies", 40, 4)
    engine = zxpolicy.load(inst.directory)
    reqs = make_requests(inst, 50)
    cedar = {"inst": inst, "policies": cedarpy.PolicySet.from_str(cedar_policies(engine.document))}
    assert agree(engine, reqs, casbin_enforcer(engine.document), cedar)["requests"] == 50

    class Yes:
        def enforce(self, *args: Any) -> bool:
            return True

    with pytest.raises(Disagreement, match="casbin True"):
        agree(engine, reqs, Yes(), cedar)


def test_the_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--users", "40", "--orgs", "4", "--requests", "100", "--rounds", "1"])
    out = capsys.readouterr().out
    assert out.startswith("| users | orgs |") and "| 40 | 4 |" in out
    assert "agree" in out and "on all 100 requests" in out
    assert "check on the mix as JSON" in out and "to_dict + orjson.dumps" in out


def test_a_generated_institution_loads_with_its_sizes(tmp_path: Path) -> None:
    inst = build(tmp_path / "policies", 120, 23)
    engine = zxpolicy.load(inst.directory)
    assert len(engine.document.assignments) == 120 and len(engine.document.orgs) == 23
    assert all(inst.ancestors(o)[-1] == inst.orgs[0] for o in inst.orgs)


def test_the_log_benchmark_writes_a_chain_that_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "decisions.db"
    log_write.main(["20", "--sqlite", str(db)])
    out = capsys.readouterr().out
    assert out.startswith("sqlite: check with log median ") and "verify 20 records in " in out and "(ok)" in out
    store = open_log(db)
    try:
        v = verify_chain(store)
    finally:
        store.close()
    assert v.ok and v.records == 20
    with pytest.raises(SystemExit) as again:  # a log with records in it is not written to
        log_write.main(["5", "--sqlite", str(db)])
    assert again.value.code == 2 and "already holds 20 records" in capsys.readouterr().err


def test_the_two_versions_of_the_reload_benchmark_decide_its_probe_differently(tmp_path: Path) -> None:
    inst = build(tmp_path / "policies", 40, 4)
    versions = reload_bench.Versions(inst)
    args, kwargs = reload_bench.probe_call(inst)
    first = zxpolicy.load(inst.directory)
    assert versions.flip() == 1
    second = zxpolicy.load(inst.directory)
    assert first.policy_version != second.policy_version
    assert first.check(*args, **kwargs).allowed
    assert "role_not_permitted" in second.check(*args, **kwargs).codes
    assert versions.flip() == 0 and zxpolicy.load(inst.directory).policy_version == first.policy_version


def test_the_reload_benchmark_runs_at_a_tiny_size(capsys: pytest.CaptureFixture[str]) -> None:
    reload_bench.main(["--quick", "--users", "60", "--json"])
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["users"], row["reloads"]) == (60, 2)
    assert row["reload_max_s"] >= row["reload_median_s"] > 0 and row["load_policy_s"] > 0 and row["engine_s"] > 0
    for phase in ("steady", "reloading"):
        for kind in ("closed", "paced"):
            m = row[phase][kind]
            assert m["checks"] > 0 and 0 < m["p50_us"] <= m["p99_us"] <= m["p999_us"] <= m["max_us"], (phase, kind)
    # Each run while reloading reloaded at least once, and each reload that swapped was counted.
    for kind in ("closed", "paced"):
        assert row["reloading"][f"{kind}_reloads"] >= row["reloading"][f"{kind}_swaps"] >= 1
        assert row[f"{kind}_p99_ratio"] > 0
    text = reload_bench.tables([row])
    assert text.startswith("| users | orgs | reloads | reload median s |") and "| 60 | 10 | 2 |" in text
    assert text.count("| 60 | per call, 1 thread(s) |") == 2 and text.count("| 60 | paced, 2,000/s |") == 2


def test_the_reload_benchmark_prints_its_tables_and_profile(capsys: pytest.CaptureFixture[str]) -> None:
    reload_bench.main(["--quick", "--users", "60", "--profile"])
    out = capsys.readouterr().out
    assert out.startswith("| users | orgs | reloads |") and "p99 × steady" in out
    assert "60 users: p99 while reloading / steady: per call × " in out and "goal ≤ 2×" in out
    for label, _ in reload_bench.STAGES:
        assert label in out
    assert "calls into C by their own time per call" in out and out.count(" ms  ") == 3


# -- python -m bench serve: what runs without wrk or Cerbos, then the run itself where wrk is ------

# What wrk 4.1 printed for a run of bench/wrk/rotate.lua (captured), its done hook's line last.
WRK_SAMPLE = """\
Running 2s test @ http://127.0.0.1:3592/api/check/resources
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.33ms    8.64ms  59.99ms   78.86%
    Req/Sec   351.85     97.42   580.00     70.00%
  Latency Distribution
     50%    9.80ms
     75%   14.94ms
     90%   23.17ms
     99%   48.60ms
  708 requests in 2.02s, 241.99KB read
Requests/sec:    351.24
Transfer/sec:    120.05KB
WRK_JSON {"requests": 708, "duration_us": 2015723, "bytes": 247800, "errors": {"connect": 0, "read": 0, "write": 0, \
"status": 0, "timeout": 0}, "latency_us": {"min": 1055, "mean": 12329.66, "stdev": 8639.96, "max": 59992, "p50": 9797, \
"p75": 14938, "p90": 23172, "p99": 48604, "p99_9": 59992}}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, zxpolicy.Engine, list[Any]]:
    inst = build(tmp_path_factory.mktemp("serve") / "policies", 120, 25)
    return inst, zxpolicy.load(inst.directory), make_requests(inst, 200)


def test_the_service_bodies_ask_what_the_mix_asks(served: tuple[Any, zxpolicy.Engine, list[Any]], tmp_path: Path) -> None:
    import json

    from bench import serve

    inst, engine, reqs = served
    lines = serve.write_bodies(tmp_path / "bodies.jsonl", [serve.zx_body(r) for r in reqs]).read_text().splitlines()
    assert len(lines) == len(reqs)
    for r, line in zip(reqs, lines, strict=True):
        body = json.loads(line)
        assert isinstance(body["at"], str) and set(body) <= {"subject", "resource", "purpose", "action", "consent",
                                                             "approvals", "evidence", "at"}
        mine, theirs = engine.check(**body), r.call(engine.check)
        assert (mine.allowed, mine.codes) == (theirs.allowed, theirs.codes), r.name
    batch_body = serve.zx_batch_body(reqs[:3])
    assert list(batch_body) == [serve.ZX_BATCH_KEY] and batch_body[serve.ZX_BATCH_KEY][1] == serve.zx_body(reqs[1])


def test_the_cerbos_bodies_carry_the_grant_and_scope_part(served: tuple[Any, zxpolicy.Engine, list[Any]]) -> None:
    from bench import cerbos
    from bench.requests import make_batches

    inst, _, reqs = served
    roles = {u.id: u.role for u in inst.users}
    r = reqs[0]
    body = cerbos.check_body(r, roles[r.user])
    assert body["principal"] == {"id": r.user, "roles": [roles[r.user]], "attr": {"org": r.user_org}}
    assert body["resources"] == [{"actions": [r.action], "resource": {
        "kind": r.kind, "id": r.args["resource"].id, "attr": {"level": r.level, "org": r.resource_org, "purpose": r.purpose}}}]
    batches = make_batches(inst, 3, 50)
    assert [len(b) for b in batches] == [50, 50, 50]
    for b in batches:  # one query operator's each, as Cerbos takes one principal per request
        assert len({(x.user, x.user_org) for x in b}) == 1 and roles[b[0].user] == "query_operator"
        assert len(cerbos.batch_body(b, "query_operator")["resources"]) == 50
    with pytest.raises(ValueError, match="one principal"):
        cerbos.batch_body([batches[0][0], batches[1][0]], "query_operator")
    with pytest.raises(ValueError, match="at most 50"):
        cerbos.batch_body(batches[0] + batches[0][:1], "query_operator")
    answer = {"results": [{"resource": {"id": "a"}, "actions": {"query": "EFFECT_ALLOW", "print": "EFFECT_DENY"}}]}
    assert cerbos.allowed(answer) == [{"query": True, "print": False}]


def test_the_cerbos_policy_has_a_rule_per_grant_and_kind_and_the_org_tree(served: tuple[Any, zxpolicy.Engine, list[Any]]) -> None:
    import yaml

    from bench import cerbos

    inst, engine, _ = served
    doc = engine.document
    files = cerbos.policies(doc)
    kinds = {k for g in doc.grants for k in g.kinds}
    assert set(files) == {f"{k}.yaml" for k in kinds}
    rules = 0
    for name, text in files.items():
        policy = yaml.safe_load(text)["resourcePolicy"]
        assert policy["resource"] == name.removesuffix(".yaml") and policy["version"] == "default"
        scope = policy["constants"]["local"]["scope"]
        assert set(scope) == set(inst.orgs) and all(scope[o] == inst.ancestors(o) for o in inst.orgs)
        for rule in policy["rules"]:
            grant = doc.grants[int(rule["name"].split("_")[1])]
            assert rule["roles"] == list(grant.roles) and rule["actions"] == list(grant.actions)
            exprs = [c["expr"] for c in rule["condition"]["match"]["all"]["of"]]
            assert any(e.startswith("R.attr.purpose in ") and all(f'"{p}"' in e for p in grant.purposes) for e in exprs)
            assert any("P.attr.org in C.scope[R.attr.org]" in e for e in exprs)
            rules += 1
    assert rules == sum(len(g.kinds) for g in doc.grants)
    conf = yaml.safe_load(cerbos.config(Path("p"), 1234, 1235))
    assert conf["server"]["httpListenAddr"] == "127.0.0.1:1234" and conf["server"]["grpcListenAddr"] == "127.0.0.1:1235"
    assert conf["telemetry"] == {"disabled": True} and conf["audit"] == {"enabled": False}
    assert cerbos.environment()["CERBOS_NO_TELEMETRY"] == "1"


def test_the_grid_agreement_counts_every_combination_and_stops_at_a_difference(
    served: tuple[Any, zxpolicy.Engine, list[Any]],
) -> None:
    from bench import cerbos, serve

    inst, engine, _ = served
    doc = engine.document
    pairs = serve.org_pairs(inst)
    assert [p.in_scope for p in pairs] == [p.user_org in inst.ancestors(p.resource_org) for p in pairs]
    assert sum(p.in_scope for p in pairs) == 3
    cases = serve.grid(doc, inst)
    assert len(cases) == len(doc.roles) * 7 * len(doc.kinds) * len(doc.purposes) * len(doc.levels) * len(doc.actions)
    scope = cerbos.scope_map(doc)
    levels = [lv.id for lv in doc.levels]

    def permits(role: str, org: str, action: str, res: dict[str, Any]) -> bool:
        a = res["attr"]
        return org in scope[a["org"]] and any(
            role in g.roles and action in g.actions and res["kind"] in g.kinds and a["purpose"] in g.purposes
            and a["level"] in (g.levels or levels) for g in doc.grants)

    posts: list[int] = []

    def fake_cerbos(body: dict[str, Any], flip: int | None = None) -> dict[str, Any]:
        posts.append(len(body["resources"]))
        p = body["principal"]
        results = []
        for entry in body["resources"]:
            effects = {}
            for action in entry["actions"]:
                ok = permits(p["roles"][0], p["attr"]["org"], action, entry["resource"])
                effects[action] = "EFFECT_ALLOW" if ok != (flip == len(posts)) else "EFFECT_DENY"
            results.append({"resource": entry["resource"], "actions": effects})
        return {"results": results}

    counts = serve.agree_grid(engine, cases, fake_cerbos)
    assert counts["combinations"] == len(cases) and 0 < counts["allowed"] < len(cases)
    assert max(posts) <= cerbos.MAX_RESOURCES and sum(posts) * len(doc.actions) == len(cases)
    posts.clear()
    with pytest.raises(Disagreement, match="zxpolicy .*, cerbos"):
        serve.agree_grid(engine, cases, lambda body: fake_cerbos(body, flip=3))


def test_the_wrk_script_and_its_result_line(tmp_path: Path) -> None:
    from bench import serve

    bodies = serve.write_bodies(tmp_path / "b.jsonl", [{"a": "第一"}, {"b": [1, 2]}])
    assert bodies.read_text(encoding="utf-8") == '{"a":"第一"}\n{"b":[1,2]}\n'
    cmd = serve.wrk_command("http://127.0.0.1:1/v1/check", bodies, 16, 2, 10)
    assert cmd[:5] == ["wrk", "-t2", "-c16", "-d10s", "--timeout"] and "--latency" in cmd
    assert cmd[cmd.index("-s") + 1] == str(serve.LUA) and cmd[-2:] == ["--", str(bodies)]
    assert serve.wrk_command("http://x/", bodies, 1, 2, 1)[1] == "-t1"  # never more threads than connections
    lua = serve.LUA.read_text()
    for hook in ("function setup(", "function init(", "function request()", "function done("):
        assert hook in lua
    assert serve.WRK_MARK.strip() in lua
    result = serve.parse_wrk(WRK_SAMPLE)
    assert result["requests"] == 708 and result["p50_ms"] == 9.797 and result["p99_ms"] == 48.604
    assert round(result["req_s"], 1) == 351.2 and result["errors"]["status"] == 0
    with pytest.raises(serve.BenchFailure, match="result lines"):
        serve.parse_wrk(WRK_SAMPLE.replace("WRK_JSON", "nothing"))


def test_the_serve_report_puts_zxpolicy_against_cerbos_and_the_goals() -> None:
    from bench import serve

    def row(rate: float, p50: float, p99: float) -> dict[str, Any]:
        return {"req_s": rate, "p50_ms": p50, "p99_ms": p99, "decisions_s": rate}

    report = {
        "servers": {"cerbos": "Cerbos", "zx1": "one", "zx2": "two", "zx1log": "logged"},
        "results": {
            "cerbos": {"c1": row(1000, 0.7, 1.5), "c16": row(3000, 4.0, 12.0), "batch": row(18000, 10.0, 20.0)},
            "zx1": {"c1": row(4000, 0.25, 0.5), "c16": row(6000, 2.0, 6.0), "batch": row(30000, 5.0, 9.0)},
            "zx2": {"c1": row(3500, 0.28, 0.6), "c16": row(10000, 1.5, 13.0), "batch": row(45000, 4.0, 8.0)},
            "zx1log": {"c1": row(500, 2.0, 3.0), "c16": row(600, 25.0, 40.0)},
        },
    }
    text = serve.table(report)
    assert "| two ÷ Cerbos | × 3.50 |" in text and "| logged | 500 |" in text and "logged ÷" not in text
    one, rate, p99, batch, logged = serve.goals(report)
    assert one["met"] and "0.25 ms (one)" in one["measured"]
    assert rate["met"] and "10,000 req/s (two) against 3,000: × 3.33" in rate["measured"]
    assert p99["met"] and "6.00 ms (one) against 12.00 ms" in p99["measured"]
    assert batch["met"] and "× 2.50" in batch["measured"]
    assert logged["met"] is None and "500 req/s at 1 connection" in logged["measured"]
    assert "**not met**" not in serve.goals_table(serve.goals(report))
    report["results"]["zx2"]["c16"]["req_s"] = 8000
    assert "**not met**" in serve.goals_table(serve.goals(report))


@pytest.mark.skipif(shutil.which("wrk") is None, reason="the run itself needs wrk (Debian: apt-get install wrk)")
def test_bench_serve_quick_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bench import serve

    serve.main(["--quick", "--warmup", "0", "--json"])
    report = json.loads(capsys.readouterr().out)
    zx = [k for k in report["servers"] if k.startswith("zx")]
    assert zx == ["zx1", "zx2", "zx1log"]
    for key in zx:
        assert report["same_as_engine"][key] >= 300
        assert all(report["results"][key][m]["req_s"] > 0 for m in ("c1", "c16"))
    assert report["results"]["zx2"]["batch"]["decisions_s"] == report["results"]["zx2"]["batch"]["req_s"] * 50
    if "cerbos" in report["results"]:  # npm was there: Cerbos ran, after agreeing
        assert report["agreement"]["combinations"] == 78_624 and report["agreement"]["requests"] == 300
        assert report["results"]["cerbos"]["batch"]["req_s"] > 0
    else:
        assert report["cerbos"].startswith("not run: ")


def test_the_profile_sums_py_spy_samples_by_layer() -> None:
    from bench import serve_profile

    top = 'process 4242:"python -m zxpolicy serve --policy p";run (uvicorn/main.py:643);Handle._run (asyncio/events.py:84)'
    raw = "\n".join([
        f"{top};app (zxpolicy/serve/_app.py:210);Engine.check (zxpolicy/decide/_engine.py:119);read_fast (zxpolicy/decide/_fastread.py:40) 6",
        f"{top};app (zxpolicy/serve/_app.py:210);Engine.check (zxpolicy/decide/_engine.py:119);SqliteLog.write (zxpolicy/log/_sqlite.py:90) 2",
        f"{top};app (zxpolicy/serve/_app.py:214) 4",
        f"{top};Response.__call__ (starlette/responses.py:150) 3",
        f"{top} 5",
        "not a sample line",
    ])
    s = serve_profile.summarize(raw)
    assert s["samples"] == 20 and s["inside_engine"] == 40.0
    layers = dict(s["layers"])
    assert layers == {"zxpolicy: deciding (decide/, compile/)": 30.0, "asyncio, uvloop": 25.0,
                      "zxpolicy serve: its request handling (serve/)": 20.0, "Starlette": 15.0,
                      "zxpolicy: the decision log (log/)": 10.0}
    assert s["functions"][0] == ("read_fast (zxpolicy/decide/_fastread.py)", 30.0)
    assert serve_profile.parse_frame('process 1:"x"') == ('process 1:"x"', "")


# -- python -m bench console: the console's pages on a tiny institution ------------------------------

def test_bench_console_quick_times_every_page_of_a_running_console(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bench import console

    console.main(["--quick", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert (report["users"], report["records"], report["rounds"], report["goal_ms"]) == (60, 250, 3, 300.0)
    assert report["log"]["records"] == report["log"]["head_seq"] == 250
    assert 0 < report["log"]["allowed"] < 250  # one in twenty has no consent: denied
    assert report["revisions"] == {"current": 1, "proposal": 2}
    rows = report["pages"]
    assert [r["path"] for r in rows] == [p.path for p in console.pages(2, 250)]
    for r in rows:
        assert 0 < r["median_ms"] <= r["max_ms"] and r["first_ms"] > 0 and r["bytes"] > 0, r
    paths = {r["path"] for r in rows}
    assert {"/policy", "/try", "/changes", "/changes/2", "/changes/history", "/reports"} <= paths
    assert "/daily?date=2026-11-27&page=3" in paths  # 250 records: the last of three pages
    text = console.table(report)
    assert text.startswith("60 users, 10 orgs; one day (2026-11-27) of 250 log records")
    assert "| page | first ms | median ms | max ms | KiB | goal ≤ 300 ms |" in text
    assert text.count("\n| ") == len(rows) + 1
