"""A live policy: an engine that follows its source, a policy directory or a policy store.

    live = zxpolicy.live.watch("policies/")                  # or "postgresql://…", "sqlite:///store.db"
    live = zxpolicy.live.watch(url, log="decisions.db", cache_dir="/var/cache/zxpolicy")
    live.check(...)                                           # the running engine's decision
    live.status().to_dict()                                   # version, source, last_failure, ...
    live.close()                                              # or: with zxpolicy.live.watch(...) as live:

Each change of the source is loaded into a new engine off the request path and put in place by
one reference assignment; a change that does not load replaces nothing and is reported
(``status().last_failure``, and a WARNING on the ``zxpolicy.live`` logger, naming file:line).

    _source   the directory (watchfiles, debounced) and the store (LISTEN/NOTIFY, or polled; a
              lost connection retried with backoff) as sources of snapshots and changes
    _cache    the folders a store's versions are loaded from, and the cache of the last good
              version a host starts from while its source is down
    _live     ``LivePolicy``, ``LiveStatus`` and ``watch``
"""

from ._live import LiveFailure, LivePolicy, LiveStatus, watch

__all__ = ["LiveFailure", "LivePolicy", "LiveStatus", "watch"]
