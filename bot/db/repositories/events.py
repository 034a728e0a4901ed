"""Queries for community events; never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from bot.db.models.events import CommunityEvent, EventReminder, EventRsvp
from bot.db.repositories.base import SessionRepository


class EventRepository(SessionRepository):
    async def event(self, event_id: int) -> CommunityEvent | None:
        return await self.session.get(CommunityEvent, event_id)

    async def by_code(self, code: str) -> CommunityEvent | None:
        return await self.session.scalar(select(CommunityEvent).where(CommunityEvent.checkin_code == code))

    async def lock(self, event_id: int) -> bool:
        result = await self.session.execute(
            update(CommunityEvent)
            .where(CommunityEvent.id == event_id)
            .values(capacity=CommunityEvent.capacity)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def upcoming(
        self, compound_ids: set[int] | None, start: datetime, end: datetime
    ) -> list[CommunityEvent]:
        query = select(CommunityEvent).where(
            CommunityEvent.status == "open", CommunityEvent.ends_at > start, CommunityEvent.starts_at < end
        )
        if compound_ids is not None:
            query = query.where(CommunityEvent.compound_id.in_(compound_ids))
        return list(await self.session.scalars(query.order_by(CommunityEvent.starts_at, CommunityEvent.id)))

    async def rsvps(self, event_id: int, statuses: tuple[str, ...] = ("going",)) -> list[EventRsvp]:
        return list(
            await self.session.scalars(
                select(EventRsvp)
                .where(EventRsvp.event_id == event_id, EventRsvp.status.in_(statuses))
                .order_by(EventRsvp.created_at, EventRsvp.id)
            )
        )

    async def rsvp(self, event_id: int, person_id: int) -> EventRsvp | None:
        return await self.session.scalar(
            select(EventRsvp).where(EventRsvp.event_id == event_id, EventRsvp.person_id == person_id)
        )

    async def count_going(self, event_id: int) -> int:
        return int(
            await self.session.scalar(
                select(func.count(EventRsvp.id)).where(
                    EventRsvp.event_id == event_id, EventRsvp.status == "going"
                )
            )
            or 0
        )

    async def reminder(self, event_id: int, person_id: int, kind: str) -> EventReminder | None:
        return await self.session.scalar(
            select(EventReminder).where(
                EventReminder.event_id == event_id,
                EventReminder.person_id == person_id,
                EventReminder.kind == kind,
            )
        )

    async def due_reminders(self, now: datetime, limit: int = 500) -> list[EventReminder]:
        return list(
            await self.session.scalars(
                select(EventReminder)
                .where(EventReminder.done.is_(False), EventReminder.due_at <= now)
                .order_by(EventReminder.due_at, EventReminder.id)
                .limit(limit)
            )
        )

    async def due_posts(self, now: datetime) -> list[CommunityEvent]:
        return list(
            await self.session.scalars(
                select(CommunityEvent)
                .where(CommunityEvent.posted.is_(False), CommunityEvent.post_at <= now)
                .order_by(CommunityEvent.post_at, CommunityEvent.id)
            )
        )

    async def next_due(self) -> datetime | None:
        reminder = await self.session.scalar(
            select(func.min(EventReminder.due_at)).where(EventReminder.done.is_(False))
        )
        post = await self.session.scalar(
            select(func.min(CommunityEvent.post_at)).where(CommunityEvent.posted.is_(False))
        )
        times = [t for t in (reminder, post) if t is not None]
        return min(times) if times else None

    async def claim_reminder(self, reminder_id: int, outcome: str) -> bool:
        result = await self.session.execute(
            update(EventReminder)
            .where(EventReminder.id == reminder_id, EventReminder.done.is_(False))
            .values(done=True, outcome=outcome)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim_post(self, event_id: int) -> bool:
        result = await self.session.execute(
            update(CommunityEvent)
            .where(CommunityEvent.id == event_id, CommunityEvent.posted.is_(False))
            .values(posted=True)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def drop_reminders(self, event_id: int, person_id: int | None = None) -> None:
        query = update(EventReminder).where(EventReminder.event_id == event_id, EventReminder.done.is_(False))
        if person_id is not None:
            query = query.where(EventReminder.person_id == person_id)
        await self.session.execute(query.values(done=True, outcome="skipped"))
