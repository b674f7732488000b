"""Reloads while many threads check: no check fails, and each decision is the one the engine it
names (its ``policy_version``) gives. Nothing here measures time."""

from __future__ import annotations

import random
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import zxpolicy

from ..decide.test_threads import REQUESTS
from ._helpers import call, engine_of, grants_text, policy_copy, replace_file

THREADS = 8
RELOADS = 100


@pytest.fixture(autouse=True)
def frequent_switches() -> Iterator[None]:
    """Switch threads far more often than the default 5 ms, so that reloads land inside checks."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(old)


def test_the_two_policies_decide_differently(tmp_path: Path) -> None:
    a, b = engine_of(tmp_path, "a"), engine_of(tmp_path, "b")
    assert a.policy_version != b.policy_version
    differ = [r for r in REQUESTS if call(a.check, r) != call(b.check, r)]
    assert differ  # else a decision made by the wrong engine could go unnoticed


def test_checks_while_reloading_decide_by_the_engine_they_name(tmp_path: Path) -> None:
    engines = {e.policy_version: e for e in (engine_of(tmp_path, "a"), engine_of(tmp_path, "b"))}
    expected = {(v, i): call(e.check, r) for v, e in engines.items() for i, r in enumerate(REQUESTS)}
    batches = {v: e.check_many(REQUESTS) for v, e in engines.items()}
    texts = {"a": grants_text("a"), "b": grants_text("b")}
    version_of = {variant: engine_of(tmp_path, variant).policy_version for variant in texts}
    directory = policy_copy(tmp_path / "live", "a")

    stop = threading.Event()
    failures: list[str] = []
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def work(live: zxpolicy.LivePolicy, index: int) -> None:
        rng = random.Random(index)
        counted: Counter[str] = Counter()
        try:
            while not stop.is_set():
                if index == 0:  # one thread checks in batches: a batch is decided by one engine
                    decisions = live.check_many(REQUESTS)
                    versions = {d.policy_version for d in decisions}
                    if len(versions) != 1 or decisions != batches.get(versions.pop(), None):
                        failures.append(f"a batch decided by {sorted({d.policy_version for d in decisions})}")
                    counted[decisions[0].policy_version] += 1
                    continue
                i = rng.randrange(len(REQUESTS))
                decision = call(live.check, REQUESTS[i])
                counted[decision.policy_version] += 1
                if decision != expected.get((decision.policy_version, i)):
                    failures.append(f"request {i}: {decision} under {decision.policy_version}")
        except BaseException as exc:  # a check must never raise
            failures.append(f"{type(exc).__name__}: {exc}")
        with lock:
            seen.update(counted)

    with zxpolicy.watch(directory) as live:
        threads = [threading.Thread(target=work, args=(live, i)) for i in range(THREADS)]
        for t in threads:
            t.start()
        try:
            for n in range(RELOADS):
                variant = "b" if n % 2 == 0 else "a"
                replace_file(directory / "grants.yaml", texts[variant])
                live.reload()  # the watcher may have swapped first: either way, the version now runs
                assert live.version == version_of[variant]
                assert live.status().last_failure is None
        finally:
            stop.set()
            for t in threads:
                t.join()

    assert failures == []
    assert set(seen) == set(engines)  # both engines decided requests while checks ran
