"""The service while it runs: a policy changed under load, SIGHUP, SIGTERM with requests in
flight, and metrics summed across two workers."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import zxpolicy
from zxpolicy.log import open_log, verify_chain
from zxpolicy.serve import MAX_BATCH

from ..conftest import POLICIES
from ..live._helpers import grants_text, policy_copy, replace_file
from ._server import ALLOWED, running


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def test_a_policy_change_is_served_without_a_failed_request(tmp_path: Path) -> None:
    policy = policy_copy(tmp_path / "policy", "a")
    old = zxpolicy.load(policy).policy_version
    with running(tmp_path, "--policy", str(policy)) as s:
        answers: list[tuple[int, str, bool]] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=s.url, timeout=30) as http:
                while not stop.is_set():
                    r = http.post("/v1/check", json=ALLOWED)
                    body = r.json()
                    answers.append((r.status_code, body.get("policy_version", ""), bool(body.get("allowed"))))

        threads = [threading.Thread(target=load) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(answers) > 50, "answers before the change")
            replace_file(policy / "grants.yaml", grants_text("b"))  # the query operator loses the grant
            new = zxpolicy.load(policy).policy_version
            with httpx.Client(base_url=s.url, timeout=30) as http:
                wait_for(lambda: http.get("/v1/policy").json()["version"] == new, "the new version in /v1/policy")
            count = len(answers)
            wait_for(lambda: len(answers) > count + 50, "answers after the change")
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert {status for status, _, _ in answers} == {200}
        assert {v for _, v, _ in answers} == {old, new}
        # each decision is its version's: allowed under the old policy, denied under the new one
        assert all(allowed == (version == old) for _, version, allowed in answers)
        with httpx.Client(base_url=s.url, timeout=30) as http:
            status = http.get("/v1/policy").json()
            assert status["reloads"] >= 1 and status["last_failure"] is None
            wait_for(lambda: _metric(http.get("/metrics").text, "zxpolicy_policy_reloads_total") >= 1, "the reload counted")

            # a change that does not load replaces nothing, and is said
            (policy / "grants.yaml").write_text("grants: [", encoding="utf-8")
            wait_for(lambda: http.get("/v1/policy").json()["last_failure"] is not None, "the failed reload reported")
            assert http.post("/v1/check", json=ALLOWED).json()["policy_version"] == new
            wait_for(lambda: _metric(http.get("/metrics").text, "zxpolicy_policy_reload_failures_total") >= 1,
                     "the failed reload counted")


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_reloads_in_every_worker_and_the_server_goes_on(tmp_path: Path, workers: int) -> None:
    with running(tmp_path, "--policy", str(POLICIES), "--workers", str(workers)) as s:
        s.process.send_signal(signal.SIGHUP)
        wait_for(lambda: s.output().count("SIGHUP: policy") == workers, "the reload on SIGHUP in each worker")
        assert s.process.poll() is None
        assert httpx.post(f"{s.url}/v1/check", json=ALLOWED, timeout=30).status_code == 200


def test_sigterm_answers_the_requests_in_flight_then_exits(tmp_path: Path) -> None:
    # Batches as long as the service takes, each decision written durably: long enough that the
    # four are still being decided when the signal comes, on a fast disk too.
    log = tmp_path / "decisions.db"
    size, count = MAX_BATCH, 4
    batch = {"requests": [ALLOWED] * size}
    with running(tmp_path, "--policy", str(POLICIES), "--log", str(log)) as s:
        def written() -> int:
            store = open_log(log, read_only=True)
            try:
                return store.count()
            finally:
                store.close()

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(httpx.post, f"{s.url}/v1/check/batch", json=batch, timeout=120) for _ in range(count)]
            wait_for(lambda: written() > 0, "the first batch being decided")
            time.sleep(0.3)  # every request has arrived; the durable log keeps them in flight
            assert written() < count * size and not all(f.done() for f in futures)
            s.process.send_signal(signal.SIGTERM)
            answers = [f.result() for f in futures]
        # uvicorn ends the process by the signal it drained for, once the lifespan has closed
        assert s.process.wait(120) in (0, -signal.SIGTERM)
        assert "Finished server process" in s.output()
    assert [a.status_code for a in answers] == [200] * count
    assert [len(a.json()["decisions"]) for a in answers] == [size] * count
    assert all(d["allowed"] for a in answers for d in a.json()["decisions"])
    store = open_log(log, read_only=True)
    try:
        assert store.count() == count * size and verify_chain(store).ok
    finally:
        store.close()


def _metric(text: str, name: str, labels: str = "") -> float:
    """The sum of a metric's samples (with ``labels`` among their labels) in Prometheus text."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", line)
        if m and labels in (m.group(1) or ""):
            total += float(m.group(2))
    return total


def test_metrics_are_summed_across_two_workers(tmp_path: Path) -> None:
    from prometheus_client.mmap_dict import MmapedDict

    folder = tmp_path / "metrics"
    (folder).mkdir()
    (folder / "counter_1.db").write_bytes(b"")  # left by an earlier run: removed at start

    with running(tmp_path, "--policy", str(POLICIES), "--workers", "2", env={"PROMETHEUS_MULTIPROC_DIR": str(folder)}) as s:
        def per_worker() -> list[float]:
            counts = []
            for path in sorted(folder.glob("counter_*.db")):
                values = MmapedDict.read_all_values_from_file(str(path))
                counts.append(sum(v for key, v, *_ in values if '"zxpolicy_decisions_total"' in key))
            return counts

        sent = {"allow": 0, "deny": 0}

        def one(i: int) -> None:
            with httpx.Client(timeout=30) as http:  # a connection of its own: either worker may take it
                request: dict[str, Any] = dict(ALLOWED)
                if i % 3 == 0:
                    request = {**ALLOWED, "purpose": "marketing"}
                assert http.post(f"{s.url}/v1/check", json=request).status_code == 200

        with ThreadPoolExecutor(8) as pool:
            i = 0
            while sum(1 for c in per_worker() if c > 0) < 2:
                list(pool.map(one, range(i, i + 40)))
                i += 40
                if i > 4000:
                    pytest.fail(f"one worker took every request: {per_worker()}")
        sent["deny"] = len(range(0, i, 3))
        sent["allow"] = i - sent["deny"]
        for _ in range(6):
            with httpx.Client(timeout=30) as http:
                text = http.get(f"{s.url}/metrics").text
            assert _metric(text, "zxpolicy_decisions_total", 'outcome="allow"') == sent["allow"]
            assert _metric(text, "zxpolicy_decisions_total", 'outcome="deny"') == sent["deny"]
            assert _metric(text, "zxpolicy_request_duration_seconds_count", 'route="/v1/check"') == i
            assert _metric(text, "zxpolicy_decision_reasons_total", 'code="purpose_not_permitted"') == sent["deny"]
        assert sorted(per_worker())[0] > 0 and len(per_worker()) == 2
