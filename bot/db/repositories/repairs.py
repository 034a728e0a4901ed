"""Queries for repairs: places, tickets, followers, timeline and timers. Never commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Person
from bot.db.models.repairs import (
    RepairEvent,
    RepairFollower,
    RepairPlace,
    RepairPolicy,
    RepairRun,
    RepairTicket,
    RepairTimer,
)

ACTIVE_STATUSES = ("open", "accepted")


class RepairsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # places
    async def place(self, place_id: int) -> RepairPlace | None:
        return await self.session.get(RepairPlace, place_id)

    async def place_by_code(self, code: str) -> RepairPlace | None:
        return await self.session.scalar(select(RepairPlace).where(RepairPlace.code == code))

    async def place_by_name(self, compound_id: int, name: str) -> RepairPlace | None:
        return await self.session.scalar(
            select(RepairPlace).where(RepairPlace.compound_id == compound_id, RepairPlace.name == name)
        )

    async def places(
        self, compound_id: int, kinds: Iterable[str] = ("building", "unit", "spot")
    ) -> list[RepairPlace]:
        return list(
            await self.session.scalars(
                select(RepairPlace)
                .where(RepairPlace.compound_id == compound_id, RepairPlace.kind.in_(list(kinds)))
                .order_by(RepairPlace.id)
            )
        )

    # tickets
    async def ticket(self, ticket_id: int) -> RepairTicket | None:
        return await self.session.get(RepairTicket, ticket_id)

    async def reports_since(self, person_id: int, since: datetime) -> int:
        return int(
            await self.session.scalar(
                select(func.count(RepairTicket.id)).where(
                    RepairTicket.reporter_id == person_id,
                    RepairTicket.created_at >= since,
                    RepairTicket.urgency != "emergency",
                )
            )
            or 0
        )

    async def open_duplicate(
        self, compound_id: int, kind: str, household_id: int | None, place_id: int | None
    ) -> RepairTicket | None:
        query = select(RepairTicket).where(
            RepairTicket.compound_id == compound_id,
            RepairTicket.kind == kind,
            RepairTicket.status.in_(ACTIVE_STATUSES),
        )
        if place_id is not None:
            query = query.where(RepairTicket.place_id == place_id)
        elif household_id is not None:
            query = query.where(RepairTicket.household_id == household_id, RepairTicket.place_id.is_(None))
        else:
            return None
        return await self.session.scalar(query.order_by(RepairTicket.id).limit(1))

    async def open_counts(self, person_ids: Iterable[int]) -> dict[int, int]:
        ids = list(person_ids)
        if not ids:
            return {}
        rows = await self.session.execute(
            select(RepairTicket.assignee_id, func.count(RepairTicket.id))
            .where(RepairTicket.assignee_id.in_(ids), RepairTicket.status.in_(ACTIVE_STATUSES))
            .group_by(RepairTicket.assignee_id)
        )
        counts = {pid: 0 for pid in ids}
        for pid, count in rows.all():
            if pid is not None:
                counts[int(pid)] = int(count)
        return counts

    async def tickets_of_reporter_or_follower(self, person_id: int, limit: int = 20) -> list[RepairTicket]:
        # The newest `limit` of each kind, then the newest of those: each part walks its own index; a single
        # "reporter = ? OR id IN (...)" walked the whole table backwards on PostgreSQL.
        own = (
            select(RepairTicket.id.label("id"))
            .where(RepairTicket.reporter_id == person_id)
            .order_by(RepairTicket.id.desc())
            .limit(limit)
            .subquery()
        )
        followed = (
            select(RepairFollower.ticket_id.label("id"))
            .where(RepairFollower.person_id == person_id)
            .order_by(RepairFollower.ticket_id.desc())
            .limit(limit)
            .subquery()
        )
        ids = union(select(own.c.id), select(followed.c.id))
        tickets = list(
            await self.session.scalars(
                select(RepairTicket)
                .where(RepairTicket.id.in_(ids))
                .order_by(RepairTicket.id.desc())
                .limit(limit)
            )
        )
        await self._load_assignees(tickets)
        return tickets

    async def _load_assignees(self, tickets: Sequence[RepairTicket]) -> None:
        """The people the tickets are assigned to, in one statement: the views then find them in the session
        instead of asking for each ticket's assignee one by one. Kept referenced for the session's life."""
        wanted = {t.assignee_id for t in tickets if t.assignee_id is not None}
        if wanted:
            people = list(await self.session.scalars(select(Person).where(Person.id.in_(wanted))))
            self.session.info.setdefault("preloaded", []).extend(people)

    async def tickets_where(self, *conditions: object, limit: int = 50) -> list[RepairTicket]:
        return list(
            await self.session.scalars(
                select(RepairTicket).where(*conditions).order_by(RepairTicket.id).limit(limit)  # type: ignore[arg-type]
            )
        )

    # followers
    async def followers(self, ticket_id: int) -> list[int]:
        return list(
            await self.session.scalars(
                select(RepairFollower.person_id).where(RepairFollower.ticket_id == ticket_id)
            )
        )

    async def is_follower(self, ticket_id: int, person_id: int) -> bool:
        found = await self.session.scalar(
            select(RepairFollower.id).where(
                RepairFollower.ticket_id == ticket_id, RepairFollower.person_id == person_id
            )
        )
        return found is not None

    # timeline
    async def events(self, ticket_id: int) -> list[RepairEvent]:
        return list(
            await self.session.scalars(
                select(RepairEvent).where(RepairEvent.ticket_id == ticket_id).order_by(RepairEvent.id)
            )
        )

    # timers
    async def cancel_timers(self, ticket_id: int, kinds: Iterable[str]) -> None:
        await self.session.execute(
            update(RepairTimer)
            .where(
                RepairTimer.ticket_id == ticket_id,
                RepairTimer.kind.in_(list(kinds)),
                RepairTimer.done.is_(False),
            )
            .values(done=True)
        )

    async def due_timers(self, now: datetime, limit: int = 200) -> list[tuple[int, int, str]]:
        rows = await self.session.execute(
            select(RepairTimer.id, RepairTimer.ticket_id, RepairTimer.kind)
            .where(RepairTimer.done.is_(False), RepairTimer.due_at <= now)
            .order_by(RepairTimer.due_at, RepairTimer.id)
            .limit(limit)
        )
        return [(int(a), int(b), str(c)) for a, b, c in rows.all()]

    async def claim_timer(self, timer_id: int) -> bool:
        result = await self.session.execute(
            update(RepairTimer)
            .where(RepairTimer.id == timer_id, RepairTimer.done.is_(False))
            .values(done=True)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def next_timer_at(self) -> datetime | None:
        return await self.session.scalar(
            select(RepairTimer.due_at)
            .where(RepairTimer.done.is_(False))
            .order_by(RepairTimer.due_at)
            .limit(1)
        )

    # policy and periodic runs
    async def policy(self, compound_id: int) -> RepairPolicy | None:
        return await self.session.scalar(select(RepairPolicy).where(RepairPolicy.compound_id == compound_id))

    async def run_done(self, kind: str, compound_id: int, period: str) -> bool:
        found = await self.session.scalar(
            select(RepairRun.id).where(
                RepairRun.kind == kind, RepairRun.compound_id == compound_id, RepairRun.period == period
            )
        )
        return found is not None
