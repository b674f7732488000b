"""Where a live policy comes from: a policy directory, or a policy store by its URL.

A source does two things. ``snapshot`` loads what the source holds now, as one consistent
version (the loader's snapshot of a directory; a store's current version, materialised into a
folder and checked to load as the version the store says it is). ``follow`` runs in the live
policy's watcher thread and calls back on each change, until told to stop:

    directory   ``watchfiles`` (inotify, FSEvents, ...) on the directory's top level, debounced,
                so that an editor's save of several files is one change
    store       ``store.wait``: PostgreSQL's LISTEN/NOTIFY, SQLite's polled head; a lost
                connection is retried with backoff, and caught up on when it comes back
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .._errors import PolicyError, PolicyProblem, StoreError
from ..log import is_postgres, redacted
from ..policy import LoadedPolicy, load_policy
from ._cache import Versions

__all__ = ["DirectorySource", "Snapshot", "Source", "StoreSource", "is_store_url", "shown_url"]

logger = logging.getLogger("zxpolicy.live")

# watchfiles groups the events of one save: it yields a batch once no event came for STEP_MS, or
# at the latest DEBOUNCE_MS after the first. An editor's "save all", a `git checkout` or a deploy
# copying the files writes them within a few milliseconds of each other, well inside one step;
# 300 ms caps how long a slow writer's files are held before the live policy looks (the loader's
# own snapshot check refuses files still being written, and the next batch loads them).
DEBOUNCE_MS = 300
STEP_MS = 100
# How long the watcher waits in one call: for a change of the directory (then it checks that the
# directory is still the one watched), or in ``store.wait`` (SQLite is polled, PostgreSQL
# notifies at once). It bounds how long ``close`` waits for the thread.
WAIT_S = 1.0
# A store that cannot be reached is tried again after 0.1 s, then twice as long each time up to
# 5 s: a short outage (a failover, a restart) is caught up on at once, a long one costs a
# connection attempt every 5 s.
BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 5.0


def is_store_url(source: str) -> bool:
    return source.startswith(("sqlite:", "postgresql://", "postgres://"))


def shown_url(url: str) -> str:
    """A store URL as it may be shown: a PostgreSQL URL's password hidden (``zxpolicy.log.redacted``,
    the one that hides it everywhere). A SQLite URL has none, and is shown as it is."""
    return redacted(url) if is_postgres(url) else url


@dataclass(frozen=True)
class Snapshot:
    """What a source holds now: its version, with the policy loaded, or ``loaded`` None when
    that version is the one running (nothing to build). ``revision`` and ``approved_at``: the
    store's, None for a directory."""

    version: str
    loaded: LoadedPolicy | None
    revision: int | None = None
    approved_at: str | None = None


class Source(ABC):
    """A directory or a store, as a live policy reads and follows it."""

    shown: str  # the source as it may be shown: a directory's path, a store's URL without a password

    @property
    def connected(self) -> bool:
        """Whether the source can be read: a store's connection is up (a directory: True)."""
        return True

    @abstractmethod
    def snapshot(self, running: str | None) -> Snapshot:
        """Load what the source holds now (``running``: the version being run, not loaded
        again). Raises ``PolicyError`` or ``StoreError`` when it does not load."""

    @abstractmethod
    def follow(self, stop: threading.Event, changed: Callable[[], None]) -> None:
        """Call ``changed`` after each change of the source, until ``stop`` is set. Runs in the
        watcher thread; never raises."""

    def close(self) -> None:
        """Release what the source holds (connections, private folders)."""


# -- a directory -------------------------------------------------------------------------------


class DirectorySource(Source):
    def __init__(self, directory: Path) -> None:
        # Not resolved: a directory reached through a symbolic link (a deploy's `current` link,
        # a Kubernetes ConfigMap's `..data`) is read through the link as it stands at each load.
        self.directory = Path(os.path.abspath(directory))
        self.shown = str(self.directory)

    def snapshot(self, running: str | None) -> Snapshot:
        loaded = load_policy(self.directory)
        return Snapshot(loaded.version, None if loaded.version == running else loaded)

    def follow(self, stop: threading.Event, changed: Callable[[], None]) -> None:
        import watchfiles

        # Every top-level entry counts, not only the *.yaml files: what the loader refuses (a
        # stray file) and what it reads through (a ConfigMap swapping its `..data` link) are
        # changes too. The default filter drops editors' swap and backup files. Subfolders (the
        # suites) are not watched: they are not part of the policy.
        only = watchfiles.DefaultFilter()
        delay, warned = BACKOFF_FIRST_S, False
        while not stop.is_set():
            try:
                identity = _identity(self.directory)
                caught_up = False
                for batch in watchfiles.watch(
                    self.directory, watch_filter=only, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop,
                    rust_timeout=int(WAIT_S * 1000), yield_on_timeout=True, recursive=False, raise_interrupt=False,
                ):
                    delay, warned = BACKOFF_FIRST_S, False
                    if batch or not caught_up:
                        # The first quiet second also reloads once: a change made before the
                        # watch took hold (just after the first load) is not missed.
                        caught_up = True
                        changed()
                    if _identity(self.directory) != identity:
                        break  # the directory was removed or replaced: watch the one there now
            except Exception as exc:  # the directory gone or unreadable: watched again once it is back
                if not warned:
                    logger.warning("policy directory `%s` cannot be watched (%s: %s); trying again",
                                   self.shown, type(exc).__name__, exc)
                    warned = True
                stop.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)


def _identity(directory: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(directory)
    except OSError:
        return None
    return st.st_dev, st.st_ino


# -- a store -----------------------------------------------------------------------------------


class _Version(Protocol):
    """What a live policy reads of a store's ``StoreVersion``."""

    @property
    def revision(self) -> int: ...
    @property
    def version(self) -> str: ...
    @property
    def files(self) -> Mapping[str, str]: ...
    @property
    def approved_at(self) -> str: ...


class _Store(Protocol):
    """What a live policy uses of a ``PolicyStore``."""

    def current(self) -> _Version | None: ...
    def head(self) -> int: ...
    def wait(self, timeout: float, head: int | None = None) -> bool: ...
    def close(self) -> None: ...


def _open_store(url: str) -> _Store:
    from ..store import open_store

    return open_store(url)


class StoreSource(Source):
    """A policy store. ``versions``: where each version is materialised to be loaded (the cache's
    folders, else ``None``: a private temporary folder, removed on ``close``)."""

    def __init__(self, url: str, versions: Versions | None) -> None:
        self.url = url
        self.shown = shown_url(url)
        self._private: Path | None = None
        if versions is None:
            self._private = Path(tempfile.mkdtemp(prefix="zxpolicy-live-"))
            versions = Versions(self._private, durable=False)
        self._versions = versions
        self._store: _Store | None = None
        self._store_lock = threading.Lock()  # opening and dropping the connection
        self._connected = False
        self._closed = False
        self._seen_head: int | None = None  # the store's head when its current version was last read

    @property
    def connected(self) -> bool:
        return self._connected and not self._closed

    def _get(self) -> _Store:
        """The open store, opened if it is not. Raises ``StoreError``."""
        with self._store_lock:
            if self._closed:
                raise StoreError("store_closed", f"已关闭对策略库`{self.shown}`的关注", f"stopped watching the store `{self.shown}`")
            if self._store is None:
                try:
                    self._store = _open_store(self.url)
                except StoreError:
                    self._connected = False
                    raise
                self._connected = True
            return self._store

    def _drop(self, store: _Store) -> None:
        """Close a store whose connection was lost, so that the next use opens it afresh."""
        with self._store_lock:
            if self._store is store:
                self._store = None
            self._connected = False
        try:
            store.close()
        except Exception:
            pass

    def snapshot(self, running: str | None) -> Snapshot:
        store = self._get()
        head = store.head()  # before current(): a change after it is seen by the next look at the head
        current = store.current()
        if current is None:
            self._seen_head = head
            raise StoreError(
                "store_empty", f"策略库`{self.shown}`中还没有已批准的版本",
                f"the store `{self.shown}` has no approved version yet",
            )
        if current.version == running:
            self._seen_head = head
            return Snapshot(current.version, None, current.revision, current.approved_at)
        try:
            loaded = self._materialised(current)
        except PolicyError:
            self._seen_head = head  # it does not load, and will not until it changes
            raise
        # (an OSError, such as a full disk, leaves the head unseen: the watcher tries again)
        self._seen_head = head
        if loaded.version != current.version:
            self._versions.discard(current.version)
            raise StoreError(
                "store_version_mismatch",
                f"策略库`{self.shown}`的第 {current.revision} 版应为 {current.version}，其文件却加载为 {loaded.version}；不使用",
                f"revision {current.revision} of the store `{self.shown}` is {current.version}, "
                f"but its files load as {loaded.version}; not used",
            )
        if self._private is not None:
            self._versions.prune([current.version, *([running] if running else [])], most=2)
        return Snapshot(current.version, loaded, current.revision, current.approved_at)

    def _materialised(self, current: _Version) -> LoadedPolicy:
        """The version's files written into its folder and loaded. A folder already there that
        does not load as the version (changed since it was written) is written afresh, once."""
        for attempt in (1, 2):
            folder = self._versions.put(current.version, current.files)
            try:
                loaded = load_policy(folder)
            except PolicyError:
                if attempt == 2:
                    raise
                self._versions.discard(current.version)
                continue
            if loaded.version == current.version or attempt == 2:
                return loaded
            self._versions.discard(current.version)
        raise AssertionError("unreachable")  # pragma: no cover

    def follow(self, stop: threading.Event, changed: Callable[[], None]) -> None:
        delay, down = BACKOFF_FIRST_S, not self._connected
        retry = BACKOFF_FIRST_S
        while not stop.is_set():
            try:
                store = self._get()
            except StoreError as exc:
                if not down:
                    logger.warning("policy store `%s` cannot be reached (%s); still running the last good "
                                   "version, trying again", self.shown, exc)
                    down = True
                stop.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            if down:
                # Back (or reached for the first time, after a start from the cache): catch up on
                # what was approved meanwhile.
                logger.info("policy store `%s` is reachable again", self.shown)
                down, delay = False, BACKOFF_FIRST_S
                changed()
                continue
            try:
                # From the head last read: what was appended since returns at once. On PostgreSQL
                # the NOTIFY of an approval ends the wait; SQLite's head is polled.
                store.wait(WAIT_S, self._seen_head)
                head = store.head()
            except Exception as exc:  # the connection lost (StoreError), or the driver's own error
                logger.warning("policy store `%s`: the connection was lost (%s); still running the last "
                               "good version, reconnecting", self.shown, exc)
                down = True
                self._drop(store)
                continue
            if head == self._seen_head or stop.is_set():
                retry = BACKOFF_FIRST_S
                continue
            changed()
            if self._seen_head is None or self._seen_head < head:
                # Read, but not loaded (the store went away mid-read, a full disk): tried again,
                # later each time, rather than at once in a loop.
                stop.wait(retry)
                retry = min(retry * 2, BACKOFF_MAX_S)
            else:
                retry = BACKOFF_FIRST_S

    def close(self) -> None:
        with self._store_lock:
            self._closed = True
            store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception:
                pass
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)


def problems_of(exc: BaseException, shown: str) -> tuple[PolicyProblem, ...]:
    """A failed load as problems: a ``PolicyError``'s own, else one naming the source."""
    if isinstance(exc, PolicyError):
        return exc.problems
    code = getattr(exc, "code", None)
    message, message_en = getattr(exc, "message", None), getattr(exc, "message_en", None)
    if isinstance(code, str) and isinstance(message, str) and isinstance(message_en, str):
        return (PolicyProblem(code, message, message_en, shown),)
    said = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return (PolicyProblem("live_reload_failed", f"重新加载失败：{said}", f"the reload failed: {said}", shown),)
