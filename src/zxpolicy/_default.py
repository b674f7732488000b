"""The default engine behind ``zxpolicy.load()`` and ``zxpolicy.check()``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ._bundled import resolve_policy_dir
from ._diagnostic import ENGINE_CLAUSE, ENGINE_RULE, Reason
from ._errors import PolicyError
from .decide import Decision, DecisionLog, Engine
from .log import open_log
from .policy import load_policy

_default: Engine | None = None
_default_lock = threading.Lock()


def load(policy_dir: str | Path | None = None, *, log: DecisionLog | str | Path | None = None) -> Engine:
    """Load a policy directory (default: $ZXPOLICY_POLICY_DIR, else the bundled policy) into a
    new engine. Raises ``PolicyError`` when it does not load.

    ``log``: where every decision is written — a ``DecisionLog``, a SQLite file's path, or a
    ``postgresql://`` URL (see ``zxpolicy.log``). None: no log."""
    directory, _ = resolve_policy_dir(policy_dir)
    if isinstance(log, (str, Path)):
        log = open_log(log)
    return Engine(load_policy(directory), log)


def check(subject: Any, resource: Any, purpose: Any, **kwargs: Any) -> Decision:
    """``Engine.check`` on the default engine, loaded once on first use.

    If the default policy does not load, every decision is a deny (``engine_error``) rather than
    an exception; call ``load()`` to see the problems.
    """
    global _default
    engine = _default
    if engine is None:
        with _default_lock:
            if _default is None:
                try:
                    _default = load()
                except Exception as exc:
                    return Decision(False, (_unloaded(exc),))
            engine = _default
    return engine.check(subject, resource, purpose, **kwargs)


def _unloaded(exc: Exception) -> Reason:
    """The deny of every decision while the default policy does not load: it names the policy's
    directory and its first problem, at its file and line, so that the host's log says what to fix."""
    try:
        directory, _ = resolve_policy_dir(None)
        shown = f"`{directory}`"
    except Exception:
        shown = "(?)"
    if isinstance(exc, PolicyError) and exc.problems:
        first, more = exc.problems[0], len(exc.problems) - 1
        zh = f"默认策略 {shown} 无法加载，已拒绝：{first.text('zh')}" + (f"（另有 {more} 个问题）" if more else "")
        en = f"the default policy {shown} does not load, denied: {first.text('en')}" + (f" (and {more} more)" if more else "")
    else:
        zh = f"默认策略 {shown} 无法加载，已拒绝：{type(exc).__name__}"
        en = f"the default policy {shown} does not load, denied: {type(exc).__name__}"
    return Reason("engine_error", ENGINE_RULE, ENGINE_CLAUSE, zh, en)
