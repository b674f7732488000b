"""The benchmark harness runs, and zxpolicy, pycasbin and cedarpy agree on its requests.

No timings are asserted: speed is measured by ``python -m bench``, not tested here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import zxpolicy
from bench import log_write
from bench.institution import build
from bench.others import casbin_enforcer, cedar_policies
from bench.requests import MIX, make_requests
from bench.run import Disagreement, agree, main, measure, table
from zxpolicy.log import open_log, verify_chain


def test_the_harness_runs_on_a_tiny_institution_and_the_three_engines_agree() -> None:
    row = measure(50, 5, requests=300, rounds=1)
    agreement = row["agreement"]
    assert agreement["requests"] == row["requests"] == 300
    # The mix has requests granted and not, and granted requests that zxpolicy still denies
    # (no consent, a missing approval, a classified level).
    assert 0 < agreement["allowed"] < agreement["grant_part_allowed"] < 300
    assert set(row["check_p50_by_request_us"]) == {name for name, _ in MIX}
    for key in ("load_s", "rss_mb", "check_p50_us", "check_p99_us", "check_many_per_s", "casbin_p50_us", "cedar_p50_us"):
        assert row[key] > 0, key
    text = table([row])
    assert "× casbin" in text and "× cedar" in text and "| 50 | 5 |" in text


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
