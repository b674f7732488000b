"""The CSV the reports are written as, safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken by Excel,
LibreOffice and others for a formula (``=HYPERLINK(...)`` sends the reviewer's click anywhere):
such a cell is written with a single quote before it, OWASP's rule against CSV injection. Ids in
the log come from the hosts' requests, so every cell of every CSV zxpolicy writes goes through
``csv_cell``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A cell as written: ``None`` is empty, and text a spreadsheet would read as a formula gets a
    leading ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text, every cell through ``csv_cell``."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()
