"""Telling a person what was probably meant, for policy errors and bad requests alike."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


def hint(value: str, choices: Iterable[str], aliases: Mapping[str, str] | None = None) -> str:
    """``did you mean `x`?`` when something is close (or ``value`` is a label of ``x``), else
    the list of what is allowed."""
    table = sorted(choices)
    if aliases and value in aliases:
        return f"did you mean `{aliases[value]}`?"
    close = difflib.get_close_matches(value, table, n=1)
    if close:
        return f"did you mean `{close[0]}`?"
    return f"expected one of {listing(table)}" if table else "none is declared"


def listing(values: Iterable[str]) -> str:
    ordered = sorted(values)
    shown = ", ".join(f"`{v}`" for v in ordered[:12])
    return shown + (", ..." if len(ordered) > 12 else "")
