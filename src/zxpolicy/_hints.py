"""Telling a person what was probably meant, for policy errors and bad requests alike."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


def hint(value: str, choices: Iterable[str], aliases: Mapping[str, str] | None = None, lang: str = "en") -> str:
    """``did you mean `x`?`` when something is close (or ``value`` is a label of ``x``), else
    the list of what is allowed."""
    table = sorted(choices)
    meant = aliases.get(value) if aliases else None
    if meant is None:
        close = difflib.get_close_matches(value, table, n=1)
        meant = close[0] if close else None
    if lang == "zh":
        if meant is not None:
            return f"是否应为`{meant}`？"
        return f"应为{listing(table)}之一" if table else "未定义任何取值"
    if meant is not None:
        return f"did you mean `{meant}`?"
    return f"expected one of {listing(table)}" if table else "none is declared"


def listing(values: Iterable[str]) -> str:
    ordered = sorted(values)
    shown = ", ".join(f"`{v}`" for v in ordered[:12])
    return shown + (", ..." if len(ordered) > 12 else "")
