"""Telling a person what was probably meant, for policy errors and bad requests alike."""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Collection, Iterable, Mapping

# A value longer than this gets no "did you mean" (difflib's search grows with the length of both
# strings: a 10 MB org id took seconds), and is shown cut to this length.
MAX_HINTED = 64
# At most this many unknown keys (or roles) are named in one message.
MAX_NAMED = 5


def clip(text: str, limit: int = MAX_HINTED) -> str:
    """``text`` as shown to a person: cut to ``limit`` characters, with ``…`` when cut."""
    return text if len(text) <= limit else text[:limit] + "…"


def named(values: Collection[str], limit: int = MAX_NAMED) -> list[str]:
    """The ``limit`` smallest of ``values`` in order (each clipped), and ``+N`` for the rest."""
    shown = [clip(v) for v in heapq.nsmallest(limit, values)]
    return shown + [f"+{len(values) - limit}"] if len(values) > limit else shown


def hint(value: str, choices: Iterable[str], aliases: Mapping[str, str] | None = None, lang: str = "en") -> str:
    """``did you mean `x`?`` when something is close (or ``value`` is a label of ``x``), else
    the list of what is allowed. Only a short ``value`` is compared (``MAX_HINTED``)."""
    table = sorted(choices)
    meant = aliases.get(value) if aliases else None
    if meant is None:
        meant = closest(value, table)
    if lang == "zh":
        if meant is not None:
            return f"是否应为`{meant}`？"
        return f"应为{listing(table)}之一" if table else "未定义任何取值"
    if meant is not None:
        return f"did you mean `{meant}`?"
    return f"expected one of {listing(table)}" if table else "none is declared"


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The one of ``choices`` closest to ``value``, if any is close; only a short ``value`` is
    compared (``MAX_HINTED``)."""
    if len(value) > MAX_HINTED:
        return None
    close = difflib.get_close_matches(value, sorted(choices), n=1)
    return close[0] if close else None


def listing(values: Iterable[str]) -> str:
    ordered = sorted(values)
    shown = ", ".join(f"`{v}`" for v in ordered[:12])
    return shown + (", ..." if len(ordered) > 12 else "")
