"""Recording activities that may earn points, once per source, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.db.uow import UnitOfWork


@dataclass(frozen=True)
class ActivityView:
    id: int
    source_key: str
    person_id: int
    compound_id: int | None
    activity_type: str
    hours: float | None
    occurred_at: datetime


# Called in the same transaction for every new record; capabilities declare them as `on_activity` (the
# points capability awards from here), and the unit of work carries them.
ActivityListener = Callable[[UnitOfWork, ActivityView, datetime], Awaitable[None]]


async def record_activity(
    uow: UnitOfWork,
    *,
    source_key: str,
    person_id: int,
    compound_id: int | None,
    activity_type: str,
    occurred_at: datetime,
    now: datetime,
    hours: float | None = None,
    details: dict[str, object] | None = None,
) -> ActivityView | None:
    """Joins the caller's unit of work (the caller commits). None when this source was recorded before."""
    if await uow.activity.recorded(source_key):
        return None
    record = await uow.activity.add(
        source_key=source_key,
        person_id=person_id,
        compound_id=compound_id,
        activity_type=activity_type,
        hours=hours,
        details=details or {},
        occurred_at=occurred_at,
        now=now,
    )
    view = ActivityView(record.id, source_key, person_id, compound_id, activity_type, hours, occurred_at)
    for listener in uow.activity_listeners:
        await listener(uow, view, now)
    return view
