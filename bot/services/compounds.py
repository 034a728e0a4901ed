"""Facts about a compound that several capabilities need."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.db.uow import UnitOfWork


async def zone(uow: UnitOfWork, compound_id: int | None, default: str) -> ZoneInfo:
    """The compound's own time zone, else the community's (settings); times people type are read in it."""
    name = default
    if compound_id is not None:
        async with uow:
            compound = await uow.community.compound(compound_id)
            if compound is not None and compound.timezone:
                name = compound.timezone
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return ZoneInfo(default)
