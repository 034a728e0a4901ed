"""Small pure helpers several capabilities share: a compound's clock, how a moment reads, short codes."""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.db.models import Compound
from bot.i18n import Translator

# A compound without its own time zone keeps the deployment's default, the one Settings falls back to.
FALLBACK_TIMEZONE: str = Settings.model_fields["timezone"].default
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed by hand


def timezone_name(compound: Compound | None, fallback: str = FALLBACK_TIMEZONE) -> str:
    return (compound.timezone if compound is not None else None) or fallback


def zone(compound: Compound | None, fallback: str = FALLBACK_TIMEZONE) -> ZoneInfo:
    return ZoneInfo(timezone_name(compound, fallback))


def fmt_when(t: Translator, language: str | None, moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return t(
        language,
        "patrols.when",
        month=local.month,
        day=local.day,
        weekday=t(language, f"patrols.wd_{local.weekday()}"),
        time=local.strftime("%H:%M"),
    )


def new_code(length: int = 10) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


__all__ = ["CODE_ALPHABET", "FALLBACK_TIMEZONE", "fmt_when", "new_code", "timezone_name", "zone"]
