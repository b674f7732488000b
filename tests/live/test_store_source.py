"""A live policy on a policy store: an approval is picked up; a proposal, a failing gate and a
version that does not load replace nothing; a host starts from its cache while the store is down
and catches up when it is back; a store that goes away mid-run costs nothing but freshness. On
SQLite and on PostgreSQL (through a proxy that can take the server away)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import zxpolicy
from zxpolicy.store import init_store, open_store
from zxpolicy.store import publish as gated_publish

from ..conftest import POLICIES
from ..decide.test_threads import REQUESTS
from ._helpers import Proxy, call, engine_of, live_threads, policy_files, publish, version, wait_for, with_database


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "zxpolicy.live" and r.levelno == logging.WARNING]


def test_an_approval_is_picked_up_and_only_an_approval(store_url: str, tmp_path: Path) -> None:
    store = init_store(store_url)
    first = publish(store, policy_files("a"))
    b = engine_of(tmp_path, "b")
    with zxpolicy.watch(store_url) as live:
        assert live.version == version("a") and live.status().revision == first
        assert "password" not in live.status().source
        # Proposed, not approved: nothing changes.
        proposed = store.propose(policy_files("b"), version=version("b"), by="alice", message="m", gates=[],
                                 diff=None, widening=False, base=first)
        assert live.reload() is False and live.version == version("a")
        store.approve(proposed, by="bob")
        wait_for(lambda: live.version == b.policy_version, "the approved version runs")
        assert live.status().revision == proposed
        assert [call(live.check, r) for r in REQUESTS] == [call(b.check, r) for r in REQUESTS]
    store.close()
    assert live_threads() == []


def test_a_failing_gate_and_a_version_that_does_not_load_replace_nothing(
    store_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = init_store(store_url)
    publish(store, policy_files("a"))
    a = engine_of(tmp_path, "a")
    with zxpolicy.watch(store_url) as live:
        # A publish whose suite fails is refused at its gates: nothing is proposed.
        failing = tmp_path / "failing"
        shutil.copytree(POLICIES, failing, ignore=shutil.ignore_patterns("schema"))
        (failing / "grants.yaml").write_text(policy_files("b")["grants.yaml"], encoding="utf-8")
        done = gated_publish(failing, store, by="alice", message="drop Q-03", max_examples=5, allow_widening=True)
        assert done.revision is None and not all(g.ok for g in done.gates)
        assert live.reload() is False and live.version == a.policy_version
        # A version approved behind the gates' back whose files do not load: refused by the host.
        broken = policy_files("a")
        broken["grants.yaml"] = broken["grants.yaml"].replace("roles: [query_operator]", "roles: [query_operater]", 1)
        publish(store, broken)
        wait_for(lambda: live.status().last_failure is not None, "the failed reload is reported")
        failure = live.status().last_failure
        assert failure is not None and any(p.file.endswith("grants.yaml") and p.line > 0 for p in failure.problems)
        assert live.version == a.policy_version
        assert [call(live.check, r) for r in REQUESTS] == [call(a.check, r) for r in REQUESTS]
        wait_for(lambda: any("does not load" in w for w in _warnings(caplog)), "a WARNING says so")
    store.close()


def test_no_store_and_no_cache_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(zxpolicy.ZxpolicyError) as caught:
        zxpolicy.watch(f"sqlite:///{tmp_path / 'nowhere.db'}")
    assert caught.value.code == "store_unreachable"  # type: ignore[attr-defined]
    assert "cache" in caught.value.message_en  # type: ignore[attr-defined]
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    init_store(empty).close()
    with pytest.raises(zxpolicy.StoreError) as caught_empty:
        zxpolicy.watch(empty)
    assert caught_empty.value.code == "store_empty"
    assert live_threads() == []


def test_a_host_starts_from_its_cache_while_a_sqlite_store_is_away(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "store.db"
    url, cache = f"sqlite:///{path}", tmp_path / "cache"
    store = init_store(url)
    publish(store, policy_files("a"))
    store.close()
    with zxpolicy.watch(url, cache_dir=cache) as live:
        assert live.version == version("a") and not live.status().from_cache
    away = tmp_path / "away.db"
    path.rename(away)  # the store's file is gone (a volume not mounted yet)
    with zxpolicy.watch(url, cache_dir=cache) as live:
        status = live.status()
        assert status.from_cache and live.version == version("a") and status.last_failure is not None
        assert any("starting from the cache" in w for w in _warnings(caplog))
        a = engine_of(tmp_path, "a")
        assert [call(live.check, r) for r in REQUESTS] == [call(a.check, r) for r in REQUESTS]
        # The store is back, with a newer version approved meanwhile: the host catches up.
        away.rename(path)
        store = open_store(url)
        publish(store, policy_files("b"))
        wait_for(lambda: live.version == version("b"), "the host catches up with the store")
        assert not live.status().from_cache and live.status().last_failure is None
        store.close()


def test_a_cache_is_only_ever_the_version_it_names(tmp_path: Path) -> None:
    """A cached version folder edited on disk does not load as another (perhaps weaker) policy:
    the host does not start from it."""
    path = tmp_path / "store.db"
    url, cache = f"sqlite:///{path}", tmp_path / "cache"
    store = init_store(url)
    publish(store, policy_files("a"))
    store.close()
    zxpolicy.watch(url, cache_dir=cache).close()
    grants = next(cache.glob("versions/*/grants.yaml"))
    grants.write_text(policy_files("b")["grants.yaml"], encoding="utf-8")
    path.unlink()
    with pytest.raises(zxpolicy.ZxpolicyError) as caught:
        zxpolicy.watch(url, cache_dir=cache)
    assert "cache" in caught.value.message_en  # type: ignore[attr-defined]


# -- PostgreSQL behind a proxy: the store taken away and brought back --------------------------


def _through(proxy: Proxy, database_url: str) -> str:
    name = urlsplit(database_url).path.lstrip("/")
    return with_database(database_url, name, proxy.port)


def test_a_postgres_store_goes_away_and_comes_back(pg_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = init_store(pg_database)
    publish(store, policy_files("a"))
    parts = urlsplit(pg_database)
    proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.start()
    a, b = engine_of(tmp_path, "a"), engine_of(tmp_path, "b")
    try:
        with zxpolicy.watch(_through(proxy, pg_database), cache_dir=tmp_path / "cache") as live:
            assert live.version == a.policy_version and live.status().connected
            proxy.stop()
            wait_for(lambda: not live.status().connected, "the host sees the store gone")
            publish(store, policy_files("b"))  # approved while this host cannot see the store
            for _ in range(3):  # it keeps deciding, on the last good version
                assert [call(live.check, r) for r in REQUESTS] == [call(a.check, r) for r in REQUESTS]
            assert live.version == a.policy_version
            assert any("connection was lost" in w or "cannot be reached" in w for w in _warnings(caplog))
            proxy.start()  # the same port
            wait_for(lambda: live.version == b.policy_version, "the host catches up", timeout=20)
            assert live.status().connected
            assert [call(live.check, r) for r in REQUESTS] == [call(b.check, r) for r in REQUESTS]

        # A host that starts while the store is down starts from its cache, and catches up.
        proxy.stop()
        with zxpolicy.watch(_through(proxy, pg_database), cache_dir=tmp_path / "cache") as live:
            assert live.status().from_cache and live.version == b.policy_version
            publish(store, policy_files("c"))
            proxy.start()
            wait_for(lambda: live.version == version("c"), "the host started from its cache catches up", timeout=20)
            assert not live.status().from_cache

        # No store, and no cache: a clear error, not a host deciding on nothing.
        proxy.stop()
        with pytest.raises(zxpolicy.StoreError) as caught:
            zxpolicy.watch(_through(proxy, pg_database))
        assert caught.value.code == "store_unreachable" and "cache" in caught.value.message_en
    finally:
        proxy.stop()
        store.close()
