"""The monthly statistics for the PBoC: counts by category and organisation, or a zero-report.

Each category of the policy's ``reporting.categories`` is counted from its ``source``:

- ``flagged``: the month's queries that the daily check flags ``off_hours``, ``backdated``,
  ``future_dated``, ``volume`` or ``repeat`` (abnormal queries);
- ``denied``: the month's denied queries with one of the category's reason codes (attempts to
  query without a purpose, role, consent or scope: the engine stopped them, the report counts them);
- ``recorded``: counts an authorization log cannot see — information provided, misused or leaked
  after access was granted. They come from the institution's own register, given when the report
  is made. A report missing one is incomplete and never a zero-report.

Organisations are the querying user's. The month's records are those written in it (their
``logged_at``), as for the daily check: a query dated into another month is counted in the month
it was made. The whole chain is verified first (see ``_daily``); a chain that does not verify
gives no report (``LogError`` ``log_tampered``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

from ..policy import Reporting
from ._csv import csv_text
from ._daily import flag_queries, verified_head
from ._record import StoredRecord
from ._settings import day_range
from ._store import LogStore
from ._verify import Progress

ABNORMAL_FLAGS = frozenset({"off_hours", "backdated", "future_dated", "volume", "repeat"})
UNVERIFIED = ("未校验：未核实决策日志的哈希链，本表可能不完整或被篡改",
              "UNVERIFIED: the decision log's hash chain was not checked; these counts may be incomplete or tampered with")


@dataclass(frozen=True)
class MonthlyReport:
    month: str  # YYYY-MM
    settings: Reporting
    records: int  # decisions logged in the month
    queries: int
    by_org: Mapping[str, Mapping[str, int]]  # org → category → count, derived categories only
    totals: Mapping[str, int | None] = field(default_factory=dict)  # None: a recorded count not given
    verified: bool = True  # the chain was verified before counting
    head_seq: int = 0
    head_hash: str = ""

    @property
    def complete(self) -> bool:
        return all(v is not None for v in self.totals.values())

    @property
    def zero(self) -> bool:
        """Every count known and zero: the report is a zero-report (零报告)."""
        return self.complete and not any(self.totals.values())

    def markdown(self, lang: str = "zh", org_labels: Mapping[str, str] | None = None) -> str:
        zh = lang == "zh"
        cats = self.settings.categories
        names = [c.zh if zh else c.en for c in cats]
        labels = org_labels or {}
        banner = [f"> **{UNVERIFIED[0 if zh else 1]}**", ""] if not self.verified else []
        lines = [*banner,
            f"# 征信查询情况月度统计表（{self.month}）" if zh else f"# Monthly credit query statistics ({self.month})",
            "",
            (f"统计期间：{self.month}（{self.settings.time_zone}）；决策日志记录 {self.records} 条，其中查询 {self.queries} 条。" if zh
             else f"Period: {self.month} ({self.settings.time_zone}); {self.records} decisions logged, {self.queries} of them queries."),
            "",
            "| " + ("机构" if zh else "organisation") + " | " + " | ".join(names) + " |",
            "|---" * (len(cats) + 1) + "|",
        ]
        for org in sorted(self.by_org):
            cells = [str(self.by_org[org].get(c.id, 0)) if c.source != "recorded" else "—" for c in cats]
            lines.append(f"| {labels.get(org, org)} | " + " | ".join(cells) + " |")
        total = [("未登记" if zh else "not given") if self.totals[c.id] is None else str(self.totals[c.id]) for c in cats]
        lines.append(f"| {'合计' if zh else 'total'} | " + " | ".join(total) + " |")
        lines += ["", self._basis(zh), "", self.statement(lang)]
        if self.head_hash:
            lines += ["", (f"链头：{self.head_seq}:{self.head_hash}" if zh else f"Chain head: {self.head_seq}:{self.head_hash}")]
        return "\n".join(lines) + "\n"

    def _basis(self, zh: bool) -> str:
        parts = []
        for c in self.settings.categories:
            if c.source == "flagged":
                parts.append(f"{c.zh}：日核查标记的查询（非工作时间、请求时间与写入时间不符、单日查询量超限、重复查询）" if zh
                             else f"{c.en}: queries the daily check flags (off hours, back- or future-dated, volume, repeats)")
            elif c.source == "denied":
                parts.append(f"{c.zh}：被拒绝的查询（拒绝原因属所列代码）" if zh else f"{c.en}: denied queries (with one of the listed reason codes)")
            else:
                parts.append(f"{c.zh}：机构登记数，非由授权日志得出" if zh else f"{c.en}: the institution's register, not derived from the authorization log")
        return ("口径：" if zh else "Basis: ") + ("；" if zh else "; ").join(parts) + ("。" if zh else ".")

    def statement(self, lang: str = "zh") -> str:
        zh = lang == "zh"
        if not self.complete:
            missing = [c.zh if zh else c.en for c in self.settings.categories if self.totals[c.id] is None]
            return (f"报告不完整：未登记{'、'.join(missing)}，不能作零报告。" if zh
                    else f"Incomplete: no count given for {', '.join(missing)}; this cannot be a zero report.")
        if self.zero:
            names = [c.zh if zh else c.en for c in self.settings.categories]
            return (f"本月（{self.month}）无{'、'.join(names)}情况，特此零报告。" if zh
                    else f"There were no {', '.join(names)} in {self.month}; this is a zero report.")
        return "本月情况如上表。" if zh else "The month's counts are as above."

    def csv(self, lang: str = "zh") -> str:
        zh = lang == "zh"
        cats = self.settings.categories
        rows: list[list[object]] = [[UNVERIFIED[0 if zh else 1]]] if not self.verified else []  # first, as a banner
        rows.append(["org", *[c.id for c in cats]])
        for org in sorted(self.by_org):
            rows.append([org, *[self.by_org[org].get(c.id, 0) if c.source != "recorded" else "" for c in cats]])
        rows.append(["total", *["" if self.totals[c.id] is None else self.totals[c.id] for c in cats]])
        rows.append(["statement", self.statement(lang if zh else "en")])
        return csv_text(rows)


def monthly_report(
    store: LogStore,
    settings: Reporting,
    year: int,
    month: int,
    recorded: Mapping[str, int] | None = None,
    *,
    verify: bool = True,
    progress: Progress | None = None,
) -> MonthlyReport:
    """Count the month's categories. ``recorded``: the counts of the ``recorded`` categories.
    ``verify`` (the default): the whole chain is verified first; one that does not verify raises
    ``LogError`` (``log_tampered``)."""
    recorded = recorded or {}
    head_seq, head_hash = verified_head(store, verify, progress)
    first = date(year, month, 1)
    days = ((date(year + month // 12, month % 12 + 1, 1)) - first).days
    start, end = day_range(settings, first, days)
    rows: Iterable[StoredRecord] = store.rows(start, end)
    if progress is not None:
        rows = progress(iter(rows), store.count(start, end))
    if verify:  # records written since the chain was verified are not counted
        rows = (r for r in rows if r.seq <= head_seq)
    counted = _Counting(rows)
    queries = flag_queries(counted, settings)
    by_org: dict[str, Counter[str]] = {}
    for q in queries:
        org = by_org.setdefault(q.subject_org, Counter())
        for c in settings.categories:
            if c.source == "flagged" and ABNORMAL_FLAGS & set(q.flags):
                org[c.id] += 1
            elif c.source == "denied" and not q.allowed and set(c.codes) & set(q.codes):
                org[c.id] += 1
    totals: dict[str, int | None] = {}
    for c in settings.categories:
        if c.source == "recorded":
            totals[c.id] = recorded.get(c.id)
        else:
            totals[c.id] = sum(o[c.id] for o in by_org.values())
    return MonthlyReport(
        f"{year:04d}-{month:02d}", settings, counted.n, len(queries), by_org, totals, verify, head_seq, head_hash,
    )


class _Counting:
    """Passes the records through, counting them."""

    def __init__(self, rows: Iterable[StoredRecord]) -> None:
        self._rows = rows
        self.n = 0

    def __iter__(self) -> Iterator[StoredRecord]:
        for row in self._rows:
            self.n += 1
            yield row
