"""Recorded activities (once per source). Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ActivityRecord


class ActivityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recorded(self, source_key: str) -> bool:
        found = await self.session.scalar(
            select(ActivityRecord.id).where(ActivityRecord.source_key == source_key)
        )
        return found is not None

    async def add(
        self,
        *,
        source_key: str,
        person_id: int,
        compound_id: int | None,
        activity_type: str,
        hours: float | None,
        details: dict[str, object],
        occurred_at: datetime,
        now: datetime,
    ) -> ActivityRecord:
        record = ActivityRecord(
            source_key=source_key,
            person_id=person_id,
            compound_id=compound_id,
            activity_type=activity_type,
            hours=hours,
            details=details,
            occurred_at=occurred_at,
            created_at=now,
        )
        self.session.add(record)
        await self.session.flush()
        return record
