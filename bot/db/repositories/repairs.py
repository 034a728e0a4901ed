"""Queries for repairs: places, tickets, followers, timeline and timers. Never commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import errors
from bot.db.models import OutboxMessage, Person
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

# What a commit raises when a unique key was taken meanwhile (the same request from two phones at once):
# services catch this name, not the driver's.
Conflict = IntegrityError


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

    async def add_place(
        self,
        *,
        compound_id: int,
        code: str,
        name: str,
        kind: str,
        building_id: int | None,
        unit_id: int | None,
        now: datetime,
    ) -> RepairPlace:
        place = RepairPlace(
            compound_id=compound_id,
            code=code,
            name=name,
            kind=kind,
            building_id=building_id,
            unit_id=unit_id,
            created_at=now,
        )
        self.session.add(place)
        await self.session.flush()
        return place

    # tickets
    async def ticket(self, ticket_id: int) -> RepairTicket | None:
        return await self.session.get(RepairTicket, ticket_id)

    async def reload(self, ticket: RepairTicket) -> RepairTicket:
        """The ticket as the database has it now (after a conditional UPDATE that bypassed the session)."""
        await self.session.refresh(ticket)
        return ticket

    async def add_ticket(self, **values: Any) -> RepairTicket:
        ticket = RepairTicket(**values)
        self.session.add(ticket)
        await self.session.flush()
        return ticket

    async def set_alert_key(self, ticket_id: int, key: str) -> None:
        """Marks the ticket an emergency alert raised; Conflict when another press raised it first."""
        try:
            await self.session.execute(
                update(RepairTicket).where(RepairTicket.id == ticket_id).values(alert_key=key)
            )
        except IntegrityError as exc:
            raise errors.Conflict(exc.statement, exc.params, exc.orig or exc) from exc

    async def ticket_by_alert_key(self, key: str) -> RepairTicket | None:
        return await self.session.scalar(select(RepairTicket).where(RepairTicket.alert_key == key))

    async def ticket_by_request_key(self, reporter_id: int, request_key: str) -> RepairTicket | None:
        return await self.session.scalar(
            select(RepairTicket).where(
                RepairTicket.request_key == request_key, RepairTicket.reporter_id == reporter_id
            )
        )

    async def bump(
        self, ticket_id: int, expected_statuses: Iterable[str], *, count_reopen: bool = False, **values: Any
    ) -> bool:
        """Change a ticket only from the statuses expected (a second press changes nothing); the version
        goes up by one. True when this call made the change."""
        if count_reopen:
            values["reopen_count"] = RepairTicket.reopen_count + 1
        result = await self.session.execute(
            update(RepairTicket)
            .where(RepairTicket.id == ticket_id, RepairTicket.status.in_(list(expected_statuses)))
            .values(version=RepairTicket.version + 1, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def bump_version(self, ticket_id: int, version: int, **values: Any) -> bool:
        """Change a ticket only if nobody changed it since `version` was read."""
        result = await self.session.execute(
            update(RepairTicket)
            .where(RepairTicket.id == ticket_id, RepairTicket.version == version)
            .values(version=RepairTicket.version + 1, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

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

    async def _tickets(self, *conditions: Any, limit: int) -> list[RepairTicket]:
        return list(
            await self.session.scalars(
                select(RepairTicket).where(*conditions).order_by(RepairTicket.id).limit(limit)
            )
        )

    async def active_assigned_to(self, person_id: int, limit: int = 50) -> list[RepairTicket]:
        return await self._tickets(
            RepairTicket.assignee_id == person_id, RepairTicket.status.in_(ACTIVE_STATUSES), limit=limit
        )

    async def unassigned_open(self, compound_ids: Iterable[int], limit: int = 50) -> list[RepairTicket]:
        return await self._tickets(
            RepairTicket.compound_id.in_(list(compound_ids)),
            RepairTicket.status == "open",
            RepairTicket.assignee_id.is_(None),
            limit=limit,
        )

    # the board and the digests: counted by the database
    async def status_counts(self, compound_id: int) -> dict[str, int]:
        rows = await self.session.execute(
            select(RepairTicket.status, func.count(RepairTicket.id))
            .where(RepairTicket.compound_id == compound_id)
            .group_by(RepairTicket.status)
        )
        return {str(status): int(count) for status, count in rows.all()}

    async def overdue(self, compound_id: int, now: datetime, limit: int) -> list[RepairTicket]:
        return await self._tickets(
            RepairTicket.compound_id == compound_id,
            RepairTicket.status.in_(ACTIVE_STATUSES),
            RepairTicket.stage_due_at.is_not(None),
            RepairTicket.stage_due_at <= now,
            limit=limit,
        )

    async def help_needed(self, compound_id: int, limit: int) -> list[RepairTicket]:
        return await self._tickets(
            RepairTicket.compound_id == compound_id,
            RepairTicket.status.in_(ACTIVE_STATUSES),
            RepairTicket.needs_help.is_(True),
            limit=limit,
        )

    async def worst_rated(self, compound_id: int, at_most: int, limit: int) -> list[RepairTicket]:
        """Rated `at_most` stars or fewer: the lowest first, then the newest."""
        return list(
            await self.session.scalars(
                select(RepairTicket)
                .where(
                    RepairTicket.compound_id == compound_id,
                    RepairTicket.rating.is_not(None),
                    RepairTicket.rating <= at_most,
                )
                .order_by(RepairTicket.rating, RepairTicket.id.desc())
                .limit(limit)
            )
        )

    async def resolved_by_assignee(
        self, compound_id: int, start: datetime, end: datetime
    ) -> list[tuple[int, int, int, float | None]]:
        """Per assignee who resolved something in [start, end): (person id, resolved, on time, average
        rating or None)."""
        rows = await self.session.execute(
            select(
                RepairTicket.assignee_id,
                func.count(RepairTicket.id),
                func.coalesce(func.sum(case((RepairTicket.resolved_on_time.is_(True), 1), else_=0)), 0),
                func.avg(RepairTicket.rating),
            )
            .where(
                RepairTicket.compound_id == compound_id,
                RepairTicket.resolved_at.is_not(None),
                RepairTicket.resolved_at >= start,
                RepairTicket.resolved_at < end,
                RepairTicket.assignee_id.is_not(None),
            )
            .group_by(RepairTicket.assignee_id)
            .order_by(RepairTicket.assignee_id)
        )
        return [
            (int(pid), int(count), int(on_time), float(avg) if avg is not None else None)
            for pid, count, on_time, avg in rows.all()
        ]

    # followers
    async def add_follower(self, ticket_id: int, person_id: int, now: datetime) -> None:
        self.session.add(RepairFollower(ticket_id=ticket_id, person_id=person_id, created_at=now))

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
    def add_event(
        self, ticket_id: int, actor_id: int | None, action: str, detail: dict[str, Any], at: datetime
    ) -> None:
        self.session.add(
            RepairEvent(ticket_id=ticket_id, actor_id=actor_id, action=action, detail=detail, at=at)
        )

    async def events(self, ticket_id: int) -> list[RepairEvent]:
        return list(
            await self.session.scalars(
                select(RepairEvent).where(RepairEvent.ticket_id == ticket_id).order_by(RepairEvent.id)
            )
        )

    # timers
    def add_timer(self, ticket_id: int, kind: str, due_at: datetime, now: datetime) -> None:
        self.session.add(RepairTimer(ticket_id=ticket_id, kind=kind, due_at=due_at, created_at=now))

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

    async def add_policy(self, compound_id: int) -> RepairPolicy:
        policy = RepairPolicy(compound_id=compound_id, honour_board=False, limits={})
        self.session.add(policy)
        return policy

    async def flush(self) -> None:
        await self.session.flush()

    async def claim_run(self, kind: str, compound_id: int, period: str, now: datetime) -> bool:
        """Record that this period's run (a digest, an honour board) is done; False if it already was."""
        if await self.run_done(kind, compound_id, period):
            return False
        self.session.add(RepairRun(kind=kind, compound_id=compound_id, period=period, done_at=now))
        try:
            await self.session.flush()
        except IntegrityError:
            return False
        return True

    # copies of the cards already queued or sent, to edit as the ticket moves
    async def card_messages(self, ticket_id: int, tags: Iterable[str]) -> list[OutboxMessage]:
        return list(
            await self.session.scalars(
                select(OutboxMessage)
                .where(or_(*(OutboxMessage.dedupe_key.like(f"rp:{tag}:{ticket_id}:%") for tag in tags)))
                .where(OutboxMessage.method == "sendMessage")
                .order_by(OutboxMessage.id)
            )
        )

    async def message_by_key(self, dedupe_key: str) -> OutboxMessage | None:
        return await self.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))

    async def run_done(self, kind: str, compound_id: int, period: str) -> bool:
        found = await self.session.scalar(
            select(RepairRun.id).where(
                RepairRun.kind == kind, RepairRun.compound_id == compound_id, RepairRun.period == period
            )
        )
        return found is not None
