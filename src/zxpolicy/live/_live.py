"""``watch`` and ``LivePolicy``: an engine that is replaced, whole, when its source changes.

The request path reads one attribute: each ``check`` reads ``self._engine`` once and asks that
engine, which is immutable. A new engine is built off the request path, in the watcher thread or
in ``reload()`` (one at a time, under a lock), from one consistent snapshot of the source, and
put in place by one reference assignment; a check in flight finishes on the engine it started
on, and every decision's ``policy_version`` names the engine that made it. A change that does not
load replaces nothing: the running engine goes on deciding, and the failure is kept in
``status().last_failure`` and logged (``logging.getLogger("zxpolicy.live")``, WARNING).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from .._errors import PolicyProblem, StoreError, ZxpolicyError
from ..decide import Decision, DecisionLog, Engine, Explanation, utc_text
from ..log import LogStore, open_log
from ._cache import Cache, CacheUnusable, Pointer
from ._source import WAIT_S, DirectorySource, Snapshot, Source, StoreSource, is_store_url, problems_of

__all__ = ["LiveFailure", "LivePolicy", "LiveStatus", "watch"]

logger = logging.getLogger("zxpolicy.live")

_SHOWN_PROBLEMS = 3  # problems a warning names; the rest are counted (all are in status())
_JOIN_S = 5 * WAIT_S  # how long close() waits for the watcher thread to finish what it is doing


def _now() -> str:
    return utc_text(datetime.now(timezone.utc))


@dataclass(frozen=True)
class LiveFailure:
    """A reload that did not replace the running engine: when (UTC text) and why, each problem
    with its code, message (Chinese), message_en and, for a policy file, its file, line and
    column."""

    at: str
    problems: tuple[PolicyProblem, ...]

    def text(self, lang: str = "zh") -> str:
        return "\n".join(p.text(lang) for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "problems": [p.to_dict() for p in self.problems]}


@dataclass(frozen=True)
class LiveStatus:
    """What a live policy runs, and how its source stands.

    ``version``: the running engine's ``policy_version``. ``source``: the directory, or the
    store's URL without its password. ``loaded_at``: when the running engine was loaded (UTC
    text). ``from_cache``: it was loaded from the cache because the source could not be, and the
    source has not been read since. ``connected``: the store can be reached (a directory: True;
    False once closed). ``revision``: the store's revision of the running version (None for a
    directory). ``last_failure``: the latest reload that failed, None once one succeeds after it.
    """

    version: str
    source: str
    loaded_at: str
    from_cache: bool
    connected: bool
    revision: int | None
    last_failure: LiveFailure | None
    reloads: int = 0
    failed_reloads: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "source": self.source,
            "loaded_at": self.loaded_at,
            "from_cache": self.from_cache,
            "connected": self.connected,
            "revision": self.revision,
            "last_failure": None if self.last_failure is None else self.last_failure.to_dict(),
            "reloads": self.reloads,
            "failed_reloads": self.failed_reloads,
        }


@dataclass(frozen=True)
class _Running:
    """The running engine and what ``status`` says of it, replaced together."""

    engine: Engine
    loaded_at: str
    from_cache: bool
    revision: int | None
    approved_at: str | None


class LivePolicy:
    """A policy that follows its source: ``check``, ``check_many`` and ``explain`` are the running
    engine's, and never raise.

    Build one with ``zxpolicy.live.watch``. ``close()`` (or leaving a ``with`` block) stops
    following the source; the last engine goes on deciding.
    """

    def __init__(
        self, source: Source, first: _Running, *, log: DecisionLog | None, owned_log: LogStore | None,
        cache: Cache | None, failure: LiveFailure | None = None, snapshot: Snapshot | None = None,
    ) -> None:
        self._source = source
        self._log = log
        self._owned_log = owned_log
        self._cache = cache
        self._running = first
        self._engine = first.engine
        self._failure = failure
        self._reloads = self._failed_reloads = 0
        self._lock = threading.Lock()  # one reload at a time: reload() and the watcher's
        self._stop = threading.Event()
        self._closed = False
        if snapshot is not None and snapshot.loaded is not None:
            self._remember(snapshot)
        self._thread = threading.Thread(target=self._follow, name=f"zxpolicy-live {source.shown}", daemon=True)
        self._thread.start()

    # -- deciding: the running engine's, read once per call ------------------------------------

    def check(
        self,
        subject: Any,
        resource: Any,
        purpose: Any,
        *,
        action: Any = "query",
        consent: Any = None,
        approvals: Any = (),
        evidence: Any = None,
        at: Any = None,
    ) -> Decision:
        """``Engine.check`` on the running engine. Never raises; never allows what it cannot read."""
        return self._engine.check(
            subject, resource, purpose, action=action, consent=consent, approvals=approvals, evidence=evidence, at=at
        )

    def check_many(self, requests: Iterable[Mapping[str, Any]]) -> list[Decision]:
        """``Engine.check_many`` on the running engine: the whole batch is decided by one engine."""
        return self._engine.check_many(requests)

    def explain(
        self,
        subject: Any,
        resource: Any,
        purpose: Any,
        *,
        action: Any = "query",
        consent: Any = None,
        approvals: Any = (),
        evidence: Any = None,
        at: Any = None,
    ) -> Explanation:
        """``Engine.explain`` on the running engine."""
        return self._engine.explain(
            subject, resource, purpose, action=action, consent=consent, approvals=approvals, evidence=evidence, at=at
        )

    @property
    def engine(self) -> Engine:
        """The running engine (immutable: it keeps deciding by its version after a reload)."""
        return self._engine

    @property
    def version(self) -> str:
        """The running engine's ``policy_version``."""
        return self._engine.policy_version

    def status(self) -> LiveStatus:
        running = self._running
        return LiveStatus(
            running.engine.policy_version, self._source.shown, running.loaded_at, running.from_cache,
            self._source.connected and not self._closed, running.revision, self._failure,
            self._reloads, self._failed_reloads,
        )

    # -- reloading ------------------------------------------------------------------------------

    def reload(self) -> bool:
        """Load the source now; whether the running engine was replaced. A change that does not
        load replaces nothing and returns False (see ``status().last_failure``); so does a source
        that holds the version running, and a closed live policy."""
        with self._lock:
            if self._closed:
                return False
            return self._reload()

    def _reload(self) -> bool:
        running = self._running
        try:
            snapshot = self._source.snapshot(running.engine.policy_version)
            if snapshot.loaded is None:
                self._confirmed(running, snapshot)
                return False
            engine = Engine(snapshot.loaded, self._log)
        except Exception as exc:  # whatever went wrong, the running engine stays
            self._failed(exc)
            return False
        # The failure cleared and the reload counted before the swap: whoever sees the new
        # version in status() sees them too.
        self._failure = None
        self._reloads += 1
        self._running = _Running(engine, _now(), False, snapshot.revision, snapshot.approved_at)
        self._engine = engine  # the swap
        _freeze()
        revision = "" if snapshot.revision is None else f" (revision {snapshot.revision})"
        logger.info("policy `%s` now runs %s%s, replacing %s",
                    self._source.shown, engine.policy_version, revision, running.engine.policy_version)
        self._remember(snapshot)
        return True

    def _confirmed(self, running: _Running, snapshot: Snapshot) -> None:
        """The source holds the version running: a start from the cache is over, and a store's
        revision may have moved (a revert to the same files)."""
        self._failure = None
        if running.from_cache or running.revision != snapshot.revision:
            if running.from_cache:
                logger.info("policy `%s` holds %s, the version started from the cache",
                            self._source.shown, snapshot.version)
            self._running = replace(running, from_cache=False, revision=snapshot.revision, approved_at=snapshot.approved_at)
            self._remember(snapshot)

    def _failed(self, exc: BaseException) -> None:
        failure = LiveFailure(_now(), problems_of(exc, self._source.shown))
        self._failed_reloads += 1
        previous, self._failure = self._failure, failure
        if previous is not None and previous.problems == failure.problems:
            return  # said once: a store down, retried every second, is not a warning a second
        shown = "; ".join(str(p) for p in failure.problems[:_SHOWN_PROBLEMS])
        more = len(failure.problems) - _SHOWN_PROBLEMS
        logger.warning("policy `%s` does not load; still running %s: %s%s", self._source.shown,
                       self._engine.policy_version, shown, f" (and {more} more)" if more > 0 else "")

    def _remember(self, snapshot: Snapshot) -> None:
        """Keep the version now running in the cache, if there is one. The cache is a fallback:
        one that cannot be written is logged, and the new version runs all the same."""
        if self._cache is None:
            return
        try:
            if isinstance(self._source, DirectorySource):
                if snapshot.loaded is not None and not self._cache.keep_copy(snapshot.loaded):
                    return  # the directory changed since it was loaded; the next reload keeps what it loads
            self._cache.remember(Pointer(snapshot.version, snapshot.revision, self._source.shown, snapshot.approved_at, _now()))
        except (OSError, ZxpolicyError) as exc:
            logger.warning("policy `%s`: cannot keep %s in the cache `%s`: %s", self._source.shown, snapshot.version,
                           self._cache.root, exc)

    def _follow(self) -> None:
        try:
            self._source.follow(self._stop, self._changed)
        except Exception:  # follow never raises; if it does, the host's log must say it stopped
            logger.exception("policy `%s`: stopped following it; the running version stays", self._source.shown)

    def _changed(self) -> None:
        with self._lock:
            if not self._stop.is_set():
                self._reload()

    # -- closing --------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop following the source: the watcher thread is stopped and joined, the store's
        connection closed, and a log that ``watch`` opened from a path or URL closed. The last
        engine stays (``engine``), and ``check`` goes on deciding with it."""
        if self._closed:
            return
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(_JOIN_S)
        with self._lock:
            self._closed = True
            self._source.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(_JOIN_S)  # a store wait that the close above cut short
            if self._thread.is_alive():
                logger.warning("policy `%s`: the watcher thread did not stop", self._source.shown)
        if self._owned_log is not None:
            try:
                self._owned_log.close()
            except Exception as exc:
                logger.warning("cannot close the decision log: %s", exc)

    def __enter__(self) -> LivePolicy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LivePolicy {self._source.shown} {self.version}>"


def watch(
    source: str | Path, *, log: DecisionLog | str | Path | None = None, cache_dir: str | Path | None = None
) -> LivePolicy:
    """A live policy: loaded from ``source`` now, and reloaded each time it changes.

    ``source``: a policy directory, or a policy store's URL (``sqlite:///PATH``,
    ``postgresql://…``). ``log``: where every decision is written, as for ``zxpolicy.load`` (a
    ``DecisionLog``, a SQLite path or a ``postgresql://`` URL): opened once, and written by every
    engine the live policy runs. ``cache_dir``: a folder where the last good version is kept, to
    start from when the source cannot be loaded (the store is down, the directory does not load).

    Raises ``PolicyError`` when a directory does not load, ``StoreError`` when a store cannot be
    reached or holds no version that loads (``store_unreachable``, ``store_empty``, ...), unless
    the cache holds a version to start from: then the live policy starts from it
    (``status().from_cache``, with a WARNING), and catches up once the source loads.
    """
    cache: Cache | None = None
    if cache_dir is not None:
        try:
            cache = Cache(Path(cache_dir))
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise StoreError("cache_unwritable", f"无法创建缓存目录`{cache_dir}`：{why}",
                             f"the cache folder `{cache_dir}` cannot be made: {why}") from None
    owned: LogStore | None = None
    engine_log: DecisionLog | None
    if isinstance(log, (str, Path)):
        owned = engine_log = open_log(log)  # once: every engine built writes to the same log
    else:
        engine_log = log
    live_source: Source | None = None
    try:
        if isinstance(source, str) and is_store_url(source):
            live_source = StoreSource(source, cache.versions if cache is not None else None)
        else:
            live_source = DirectorySource(Path(source))
        return _start(live_source, cache, engine_log, owned)
    except BaseException:
        if live_source is not None:
            live_source.close()
        if owned is not None:
            owned.close()
        raise


def _start(source: Source, cache: Cache | None, log: DecisionLog | None, owned: LogStore | None) -> LivePolicy:
    """The first engine: from the source, else from the cache, else the source's error."""
    try:
        snapshot = source.snapshot(None)
        assert snapshot.loaded is not None  # nothing is running yet
        first = _Running(Engine(snapshot.loaded, log), _now(), False, snapshot.revision, snapshot.approved_at)
    except Exception as exc:
        if cache is None:
            raise _without_cache(exc, None) from None
        try:
            loaded, pointer = cache.recall(source.shown)
            engine = Engine(loaded, log)
        except (CacheUnusable, ZxpolicyError) as why:
            unusable = why if isinstance(why, CacheUnusable) else CacheUnusable("cache_unusable", str(why), str(why))
            logger.warning("policy `%s` does not load, and the cache cannot be started from: %s",
                           source.shown, unusable.message_en)
            raise _without_cache(exc, unusable) from None
        problems = problems_of(exc, source.shown)
        logger.warning("policy `%s` does not load (%s); starting from the cache `%s`: %s (revision %s, saved %s)",
                       source.shown, problems[0] if problems else type(exc).__name__, cache.root, pointer.version,
                       pointer.revision, pointer.saved_at)
        first = _Running(engine, _now(), True, pointer.revision, pointer.approved_at)
        _freeze()
        return LivePolicy(source, first, log=log, owned_log=owned, cache=cache, failure=LiveFailure(_now(), problems))
    _freeze()
    return LivePolicy(source, first, log=log, owned_log=owned, cache=cache, snapshot=snapshot)


def _freeze() -> None:
    """Put every object the collector tracks, the engine now running among them, out of its
    reach (``gc.freeze``). A full collection walks every tracked object while holding the GIL:
    one that walked a large engine stalled every check of the process for as long (0.1-0.2 s at
    10,000 people). Frozen objects are still freed when their last reference goes; an engine and
    its loaded policy hold no reference cycles, so the engine replaced is freed as before. Cycles
    of the host's that are garbage at this moment and older than the young generations (which
    are collected first, in a few ms) stay frozen until the host calls ``gc.unfreeze()``."""
    gc.collect(1)
    gc.freeze()


def _without_cache(exc: Exception, why: CacheUnusable | None) -> Exception:
    """A store's error as ``watch`` raises it: the store's own, saying there was no cache to
    start from instead. Any other error is raised as it is."""
    if not isinstance(exc, StoreError):
        return exc
    if why is None:
        zh, en = "；没有缓存（cache_dir）可以启动", "; and there is no cache (cache_dir) to start from"
    else:
        zh, en = f"；缓存也无法使用：{why.message}", f"; and the cache cannot be used: {why.message_en}"
    return StoreError(exc.code, exc.message + zh, exc.message_en + en)
