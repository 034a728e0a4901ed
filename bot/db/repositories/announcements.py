"""Queries for announcements; never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from bot.db.models import OutboxMessage
from bot.db.models.announcements import Announcement
from bot.db.repositories.base import SessionRepository


class AnnouncementRepository(SessionRepository):
    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.session.get(Announcement, announcement_id)

    async def by_request_key(self, request_key: str) -> Announcement | None:
        return await self.session.scalar(select(Announcement).where(Announcement.request_key == request_key))

    async def queued_pin(self, dedupe_key: str) -> OutboxMessage | None:
        return await self.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))

    async def due(self, now: datetime) -> list[Announcement]:
        return list(
            await self.session.scalars(
                select(Announcement)
                .where(Announcement.status == "scheduled", Announcement.send_at <= now)
                .order_by(Announcement.send_at, Announcement.id)
            )
        )

    async def claim(self, announcement_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(Announcement)
            .where(Announcement.id == announcement_id, Announcement.status == "scheduled")
            .values(status="sent", sent_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def awaiting_pins(self) -> list[Announcement]:
        return list(
            await self.session.scalars(
                select(Announcement).where(Announcement.status == "sent", Announcement.pins_done.is_(False))
            )
        )

    async def group_posts(self, announcement_id: int) -> list[OutboxMessage]:
        return list(
            await self.session.scalars(
                select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"ann:{announcement_id}:group:%"))
            )
        )

    async def next_send_at(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(Announcement.send_at)).where(Announcement.status == "scheduled")
        )

    async def scheduled(self, compound_ids: set[int] | None) -> list[Announcement]:
        query = select(Announcement).where(Announcement.status == "scheduled")
        if compound_ids is not None:
            query = query.where(Announcement.compound_id.in_(compound_ids))
        return list(await self.session.scalars(query.order_by(Announcement.send_at)))
