"""The change report for the regulator (制度变更报备): each revision since a date, as Markdown or CSV.

For each revision proposed, made current or rejected since the date: what changed (its message
and the diff's counts: widened, narrowed, other changes), when, who proposed it and who approved
or rejected it. The Markdown adds the diff of each revision that was made current. Times are
shown in ``time_zone`` (default Asia/Shanghai). Every CSV cell goes through ``csv_cell``.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from ..log import csv_text
from ._store import Revision

__all__ = ["STATES", "change_report", "local_time", "since"]

STATES = {
    "proposed": ("待审批", "proposed"), "current": ("当前生效", "current"), "superseded": ("曾生效，已被替代", "superseded"),
    "rejected": ("已驳回", "rejected"), "stale": ("已过时（未生效）", "stale (never made current)"),
}


def local_time(text: str, zone: str = "Asia/Shanghai") -> str:
    if not text:
        return ""
    try:
        return datetime.fromisoformat(text).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return text


def since(revisions: list[Revision], day: date | None, zone: str = "Asia/Shanghai") -> list[Revision]:
    """The revisions proposed, approved or closed on or after ``day`` (in ``zone``)."""
    if day is None:
        return revisions
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)

    def after(text: str) -> bool:
        try:
            return bool(text) and datetime.fromisoformat(text) >= start
        except ValueError:
            return False

    return [r for r in revisions if after(r.proposed_at) or after(r.closed_at) or any(after(a) for _, a in r.approvals)]


def _counts(r: Revision) -> tuple[object, object, object]:
    d = r.diff or {}
    if d.get("first"):
        return "—", "—", "—"
    return d.get("widened", ""), d.get("narrowed", ""), d.get("changed", "")


def change_report(revisions: list[Revision], fmt: str, lang: str = "zh", zone: str = "Asia/Shanghai", title_since: str = "") -> str:
    zh = lang != "en"
    header = (["版本号", "策略版本", "状态", "变更说明", "提出人", "提出时间", "审批人", "生效或关闭时间", "放宽", "收紧", "其他变化", "回退自"]
              if zh else ["revision", "version", "state", "message", "proposed by", "proposed at", "approved by",
                          "made current or closed at", "widened", "narrowed", "other changes", "rollback of"])
    rows = []
    for r in revisions:
        state = STATES.get(r.state, (r.state, r.state))[0 if zh else 1]
        approvers = "、".join(b for b, _ in r.approvals) if zh else ", ".join(b for b, _ in r.approvals)
        if r.state == "rejected":
            approvers = (f"驳回：{r.closed_by}" if zh else f"rejected by {r.closed_by}")
        rows.append([r.revision, r.version, state, r.message, r.proposed_by, local_time(r.proposed_at, zone), approvers,
                     local_time(r.closed_at, zone), *_counts(r), r.rollback_of or ""])
    if fmt == "csv":
        return csv_text([header, *rows])
    title = ("# 策略变更报备" if zh else "# Policy change report") + (f"（自 {title_since} 起）" if zh and title_since else
                                                                   f" (since {title_since})" if title_since else "")
    lines = [title, "", f"时间为 {zone} 时间。" if zh else f"Times are in {zone}.", ""]
    if not rows:
        return "\n".join([*lines, "期间没有变更。" if zh else "No changes in the period.", ""])
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    for r in revisions:
        if r.state in ("current", "superseded") and r.diff and not r.diff.get("first"):
            lines += ["", (f"## 第 {r.revision} 版的变化" if zh else f"## What revision {r.revision} changed"), "",
                      str(r.diff.get("markdown" if zh else "markdown_en", "")).strip()]
    return "\n".join(lines) + "\n"


def _md(value: object) -> str:
    """A table cell: pipes and line breaks would break the table; HTML is not rendered."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ").replace("<", "&lt;")
