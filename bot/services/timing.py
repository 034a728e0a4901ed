"""When reminders go out: "HH:MM" rules, quiet hours, and how a start–end span reads. Shared by patrols,
events and owners' votes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.services.common import fmt_when


def parse_hhmm(text: str) -> time:
    hours, _, minutes = text.strip().partition(":")
    return time(int(hours), int(minutes or 0))


def in_quiet_hours(moment: datetime, tz: ZoneInfo, quiet_start: time, quiet_end: time) -> bool:
    local = moment.astimezone(tz).time()
    if quiet_start > quiet_end:  # wraps past midnight (22:00-07:00)
        return local >= quiet_start or local < quiet_end
    return quiet_start <= local < quiet_end


def outside_quiet_hours(
    due: datetime, starts_at: datetime, tz: ZoneInfo, quiet_start: time, quiet_end: time
) -> datetime:
    """Move a reminder that would fall in quiet hours to their end, unless the shift starts sooner than that:
    then it goes at its own time (a late-night shift still gets its reminder)."""
    if not in_quiet_hours(due, tz, quiet_start, quiet_end):
        return due
    local = due.astimezone(tz)
    end_day = local.date()
    if quiet_start > quiet_end and local.time() >= quiet_start:
        end_day = end_day + timedelta(days=1)
    end = datetime.combine(end_day, quiet_end, tzinfo=tz).astimezone(UTC)
    return end if end < starts_at else due


def fmt_span(t: Translator, language: str | None, start: datetime, end: datetime, tz: ZoneInfo) -> str:
    return f"{fmt_when(t, language, start, tz)}–{end.astimezone(tz).strftime('%H:%M')}"
