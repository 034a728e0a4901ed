"""Queries for patrol shifts; never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from bot.db.models import OutboxMessage
from bot.db.models.patrols import (
    CheckpointScan,
    PatrolCheckpoint,
    PatrolReminder,
    PatrolRoute,
    PatrolSettings,
    PatrolShift,
    PlaceOffer,
    ShiftSignup,
    ShiftTemplate,
)
from bot.db.repositories.base import SessionRepository


class PatrolRepository(SessionRepository):
    async def reload(self, row: object) -> None:
        await self.session.refresh(row)

    async def settings(self, compound_id: int) -> PatrolSettings:
        row = await self.session.get(PatrolSettings, compound_id)
        if row is None:
            row = PatrolSettings.defaults(compound_id)
            self.session.add(row)
            await self.session.flush()
        return row

    async def route(self, route_id: int) -> PatrolRoute | None:
        return await self.session.get(PatrolRoute, route_id)

    async def checkpoints(self, route_id: int) -> list[PatrolCheckpoint]:
        return list(
            await self.session.scalars(
                select(PatrolCheckpoint)
                .where(PatrolCheckpoint.route_id == route_id)
                .order_by(PatrolCheckpoint.position, PatrolCheckpoint.id)
            )
        )

    async def checkpoint_by_code(self, code: str) -> PatrolCheckpoint | None:
        return await self.session.scalar(select(PatrolCheckpoint).where(PatrolCheckpoint.code == code))

    async def templates(self) -> list[ShiftTemplate]:
        return list(await self.session.scalars(select(ShiftTemplate).where(ShiftTemplate.active.is_(True))))

    async def template(self, template_id: int) -> ShiftTemplate | None:
        return await self.session.get(ShiftTemplate, template_id)

    async def last_generated(self, template_id: int) -> datetime | None:
        return await self.session.scalar(
            select(func.max(PatrolShift.starts_at)).where(PatrolShift.template_id == template_id)
        )

    async def shift_at(self, template_id: int, starts_at: datetime) -> PatrolShift | None:
        return await self.session.scalar(
            select(PatrolShift).where(
                PatrolShift.template_id == template_id, PatrolShift.starts_at == starts_at
            )
        )

    async def shift(self, shift_id: int) -> PatrolShift | None:
        return await self.session.get(PatrolShift, shift_id)

    async def lock_shift(self, shift_id: int) -> bool:
        """A no-op write serialising sign-ups for one shift (row lock on PostgreSQL, write lock on SQLite)."""
        result = await self.session.execute(
            update(PatrolShift).where(PatrolShift.id == shift_id).values(capacity=PatrolShift.capacity)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def shifts_between(
        self, compound_ids: set[int] | None, start: datetime, end: datetime, *, open_only: bool = True
    ) -> list[PatrolShift]:
        query = select(PatrolShift).where(PatrolShift.starts_at >= start, PatrolShift.starts_at < end)
        if compound_ids is not None:
            query = query.where(PatrolShift.compound_id.in_(compound_ids))
        if open_only:
            query = query.where(PatrolShift.status == "open")
        return list(await self.session.scalars(query.order_by(PatrolShift.starts_at, PatrolShift.id)))

    async def signups(self, shift_id: int, statuses: tuple[str, ...] = ("booked",)) -> list[ShiftSignup]:
        return list(
            await self.session.scalars(
                select(ShiftSignup)
                .where(ShiftSignup.shift_id == shift_id, ShiftSignup.status.in_(statuses))
                .order_by(ShiftSignup.created_at, ShiftSignup.id)
            )
        )

    async def signup(self, shift_id: int, person_id: int) -> ShiftSignup | None:
        return await self.session.scalar(
            select(ShiftSignup).where(ShiftSignup.shift_id == shift_id, ShiftSignup.person_id == person_id)
        )

    async def count_booked(self, shift_id: int) -> int:
        return int(
            await self.session.scalar(
                select(func.count(ShiftSignup.id)).where(
                    ShiftSignup.shift_id == shift_id, ShiftSignup.status == "booked"
                )
            )
            or 0
        )

    async def person_bookings(
        self, person_id: int, start: datetime, end: datetime, statuses: tuple[str, ...] = ("booked",)
    ) -> list[tuple[ShiftSignup, PatrolShift]]:
        rows = await self.session.execute(
            select(ShiftSignup, PatrolShift)
            .join(PatrolShift, PatrolShift.id == ShiftSignup.shift_id)
            .where(
                ShiftSignup.person_id == person_id,
                ShiftSignup.status.in_(statuses),
                PatrolShift.status != "cancelled",
                PatrolShift.ends_at > start,
                PatrolShift.starts_at < end,
            )
            .order_by(PatrolShift.starts_at)
        )
        return [(s, sh) for s, sh in rows.all()]

    async def scans(self, shift_id: int, person_id: int) -> list[CheckpointScan]:
        return list(
            await self.session.scalars(
                select(CheckpointScan).where(
                    CheckpointScan.shift_id == shift_id, CheckpointScan.person_id == person_id
                )
            )
        )

    async def offer(self, offer_id: int) -> PlaceOffer | None:
        return await self.session.get(PlaceOffer, offer_id)

    async def reminder(self, shift_id: int, person_id: int | None, kind: str) -> PatrolReminder | None:
        query = select(PatrolReminder).where(PatrolReminder.shift_id == shift_id, PatrolReminder.kind == kind)
        query = query.where(
            PatrolReminder.person_id.is_(None) if person_id is None else PatrolReminder.person_id == person_id
        )
        return await self.session.scalar(query)

    async def due_reminders(self, now: datetime, limit: int = 500) -> list[PatrolReminder]:
        return list(
            await self.session.scalars(
                select(PatrolReminder)
                .where(PatrolReminder.done.is_(False), PatrolReminder.due_at <= now)
                .order_by(PatrolReminder.due_at, PatrolReminder.id)
                .limit(limit)
            )
        )

    async def next_reminder_at(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(PatrolReminder.due_at)).where(PatrolReminder.done.is_(False))
        )

    async def claim_reminder(self, reminder_id: int, outcome: str) -> bool:
        result = await self.session.execute(
            update(PatrolReminder)
            .where(PatrolReminder.id == reminder_id, PatrolReminder.done.is_(False))
            .values(done=True, outcome=outcome)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def drop_person_reminders(self, shift_id: int, person_id: int) -> None:
        await self.session.execute(
            update(PatrolReminder)
            .where(
                PatrolReminder.shift_id == shift_id,
                PatrolReminder.person_id == person_id,
                PatrolReminder.done.is_(False),
            )
            .values(done=True, outcome="skipped")
        )

    async def close_if_open(self, shift_id: int) -> bool:
        """Open → closed, for one caller only (two sweeps at once: one of them closes)."""
        result = await self.session.execute(
            update(PatrolShift)
            .where(PatrolShift.id == shift_id, PatrolShift.status == "open")
            .values(status="closed")
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    async def take_open_offer(self, offer_id: int, person_id: int) -> bool:
        """Two volunteers pressing at once: only one UPDATE finds the offer still open."""
        result = await self.session.execute(
            update(PlaceOffer)
            .where(PlaceOffer.id == offer_id, PlaceOffer.status == "open")
            .values(status="taken", taken_by=person_id)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    async def offer_messages(self, offer_id: int) -> list[OutboxMessage]:
        """The "我来" offers queued or delivered for one freed place (not the failed ones)."""
        return list(
            await self.session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.dedupe_key.like(f"patrol-offer:{offer_id}:%"),
                    OutboxMessage.status != "failed",
                )
            )
        )

    async def drop_message(self, message: OutboxMessage) -> None:
        await self.session.delete(message)

    async def claim_hazard(self, signup_id: int) -> bool:
        """Mark a report as being turned into a ticket (0 until the ticket exists); False if already done."""
        result = await self.session.execute(
            update(ShiftSignup)
            .where(ShiftSignup.id == signup_id, ShiftSignup.hazard_ticket_id.is_(None))
            .values(hazard_ticket_id=0)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    async def set_hazard_ticket(self, signup_id: int, ticket_id: int) -> None:
        await self.session.execute(
            update(ShiftSignup).where(ShiftSignup.id == signup_id).values(hazard_ticket_id=ticket_id)
        )

    async def routes_of(self, compound_id: int) -> list[PatrolRoute]:
        return list(
            await self.session.scalars(
                select(PatrolRoute).where(PatrolRoute.compound_id == compound_id).order_by(PatrolRoute.id)
            )
        )
