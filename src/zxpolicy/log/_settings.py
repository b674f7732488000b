"""The reports' settings, from the policy's optional ``reporting`` section."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..policy import PolicyDocument, Reporting
from ._record import utc_text

ReviewSettings = Reporting

QUERY_ACTIONS = ("query", "print")  # what the daily check and the report count as queries


def review_settings(doc: PolicyDocument) -> Reporting:
    """The policy's ``reporting`` section; a policy without one cannot make the reports."""
    if doc.reporting is None:
        raise LookupError("the policy has no `reporting` section (working hours, thresholds, report categories); see policies/reporting.yaml")
    return doc.reporting


def zone(settings: Reporting) -> ZoneInfo:
    return ZoneInfo(settings.time_zone)


def day_range(settings: Reporting, first: date, days: int = 1) -> tuple[str, str]:
    """The UTC texts bounding ``days`` local days from ``first``, as the store's ``at`` is kept."""
    tz = zone(settings)
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(first + timedelta(days=days), time(0), tz)
    return utc_text(start), utc_text(end)


def in_working_hours(settings: Reporting, local: datetime) -> bool:
    wh = settings.working_hours
    clock = local.strftime("%H:%M")
    return local.isoweekday() in wh.weekdays and wh.start <= clock < wh.end
