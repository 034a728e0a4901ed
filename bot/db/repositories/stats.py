"""Supervisor figures, counted by the database (GROUP BY), never by looping over tickets. Never commits.

Every query takes the compounds asked about and a half-open window [start, end) of aware UTC instants; the
service turns a local month or week into that window, so month ends follow the compound's own time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    distinct,
    exists,
    extract,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Building, Compound, Person
from bot.db.models.activity import ActivityRecord
from bot.db.models.events import CommunityEvent, EventRsvp
from bot.db.models.patrols import PatrolShift, ShiftSignup
from bot.db.models.points import Partner, PointsEntry, Voucher
from bot.db.models.repairs import RepairEvent, RepairPolicy, RepairTicket

DONE = ("resolved", "closed")
ACTIVE = ("open", "accepted")
# What a resident does after the work is reported done, besides rating: the loop was closed with them.
FEEDBACK_ACTIONS = ("commented", "still_wrong", "reopened")
GROUPINGS = ("compound", "building", "kind", "butler", "channel")


@dataclass(frozen=True)
class TicketCounts:
    key: str  # the group: a compound/building/person id as text, a kind, a channel; "" for the whole
    label: str  # what people read: a name ("" where the service supplies one)
    intake: int
    response_base: int  # reported, less those still waiting within their accept limit
    accepted_in_time: int
    resolved: int
    resolved_in_time: int
    rated: int
    satisfied: int
    visited: int
    reopened: int


@dataclass(frozen=True)
class Medians:
    key: str
    accept_minutes: float | None
    resolve_minutes: float | None


@dataclass(frozen=True)
class TicketLine:
    id: int
    compound: str
    kind: str
    place: str  # the public label (a building or a spot), never a room
    status: str
    created_at: datetime
    due_at: datetime | None
    assignee: str
    rating: int | None
    reopen_count: int


@dataclass(frozen=True)
class HonourRow:
    person_id: int
    name: str
    resolved: int
    on_time: int
    rated: int
    satisfied: int
    average: float | None


@dataclass(frozen=True)
class PatrolCounts:
    shifts: int
    filled: int
    places: int
    booked: int
    completed: int
    no_shows: int
    findings: int


@dataclass(frozen=True)
class VolunteerCounts:
    hours: float
    people: int
    points_issued: int
    redemptions: tuple[tuple[str, int, int], ...]  # partner, vouchers, points


@dataclass(frozen=True)
class EventCounts:
    events: int
    signups: int
    attended: int


def _ids(values: Sequence[int]) -> list[int]:
    return list(values) or [-1]


def _scope(ids: Sequence[int], building_id: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [RepairTicket.compound_id.in_(_ids(ids))]
    if building_id is not None:
        where.append(RepairTicket.building_id == building_id)
    return where


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------ helpers

    def _minutes(self, later: Any, earlier: Any) -> Any:
        if self.session.get_bind().dialect.name == "sqlite":
            return (func.julianday(later) - func.julianday(earlier)) * 1440.0
        return extract("epoch", later - earlier) / 60.0

    def _window(
        self, ids: Sequence[int], start: datetime, end: datetime, building_id: int | None = None
    ) -> list[ColumnElement[bool]]:
        return [*_scope(ids, building_id), RepairTicket.created_at >= start, RepairTicket.created_at < end]

    @staticmethod
    def _group(by: str | None) -> tuple[Any, Any]:
        if by is None:
            return literal(""), literal("")
        if by == "compound":
            return RepairTicket.compound_id, Compound.name
        if by == "building":
            return RepairTicket.building_id, Building.name
        if by == "kind":
            return RepairTicket.kind, RepairTicket.kind
        if by == "butler":
            return RepairTicket.assignee_id, Person.display_name
        if by == "channel":
            return RepairTicket.channel, RepairTicket.channel
        raise ValueError(f"unknown grouping {by!r}")

    @staticmethod
    def _joined(query: Any, by: str | None) -> Any:
        if by == "compound":
            return query.join(Compound, Compound.id == RepairTicket.compound_id)
        if by == "building":
            return query.outerjoin(Building, Building.id == RepairTicket.building_id)
        if by == "butler":
            # A butler who has left keeps their name: people rows stay, only the role ends.
            return query.outerjoin(Person, Person.id == RepairTicket.assignee_id)
        return query

    # ------------------------------------------------------------ tickets

    async def ticket_counts(
        self,
        ids: Sequence[int],
        start: datetime,
        end: datetime,
        now: datetime,
        by: str | None = None,
        building_id: int | None = None,
    ) -> list[TicketCounts]:
        """The rates' numerators and denominators for tickets reported in the window, per group."""
        done = RepairTicket.status.in_(DONE)
        waiting = and_(RepairTicket.status == "open", RepairTicket.stage_due_at > now)
        feedback = exists().where(
            RepairEvent.ticket_id == RepairTicket.id, RepairEvent.action.in_(FEEDBACK_ACTIONS)
        )

        def count(condition: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        key, label = self._group(by)
        query = select(
            key,
            label,
            func.count(RepairTicket.id),
            count(not_(waiting)),
            count(RepairTicket.accepted_on_time.is_(True)),
            count(done),
            count(and_(done, RepairTicket.resolved_on_time.is_(True))),
            count(RepairTicket.rating.is_not(None)),
            count(RepairTicket.rating >= 4),
            count(and_(done, or_(RepairTicket.rating.is_not(None), RepairTicket.reopen_count > 0, feedback))),
            count(RepairTicket.reopen_count > 0),
        ).where(*self._window(ids, start, end, building_id))
        query = self._joined(query, by)
        if by is not None:
            query = query.group_by(key, label)
        rows = (await self.session.execute(query)).all()
        return [
            TicketCounts("" if r[0] is None else str(r[0]), r[1] or "", *(int(v or 0) for v in r[2:]))
            for r in rows
            if r[2]
        ]

    async def medians(
        self,
        ids: Sequence[int],
        start: datetime,
        end: datetime,
        by: str | None = None,
        building_id: int | None = None,
    ) -> list[Medians]:
        """Median minutes from report to acceptance and to resolution, per group (window functions)."""
        key, _label = self._group(by)
        out: dict[str, list[float | None]] = {}
        for index, (later, earlier) in enumerate(
            (
                (RepairTicket.accepted_at, RepairTicket.created_at),
                (RepairTicket.resolved_at, RepairTicket.created_at),
            )
        ):
            minutes = self._minutes(later, earlier).label("m")
            inner = select(
                key.label("k"),
                minutes,
                func.row_number().over(partition_by=key, order_by=minutes).label("rn"),
                func.count().over(partition_by=key).label("n"),
            ).where(*self._window(ids, start, end, building_id), later.is_not(None))
            sub = inner.subquery()
            query = (
                select(sub.c.k, func.avg(sub.c.m))
                .where(sub.c.rn.in_([(sub.c.n + 1) // 2, (sub.c.n + 2) // 2]))
                .group_by(sub.c.k)
            )
            for k, value in (await self.session.execute(query)).all():
                slot = out.setdefault("" if k is None else str(k), [None, None])
                slot[index] = float(value) if value is not None else None
        return [Medians(k, v[0], v[1]) for k, v in out.items()]

    async def flow(
        self,
        ids: Sequence[int],
        bounds: Sequence[datetime],
        *,
        resolved: bool = False,
        by_kind: bool = False,
        building_id: int | None = None,
    ) -> list[tuple[int, str, int]]:
        """Tickets reported (or resolved) per bucket [bounds[i], bounds[i+1]): (bucket, kind or "", count)."""
        if len(bounds) < 2:
            return []
        column = RepairTicket.resolved_at if resolved else RepairTicket.created_at
        bucket = case(
            *((column < bound, index) for index, bound in enumerate(bounds[1:])), else_=len(bounds)
        ).label("b")
        kind = RepairTicket.kind if by_kind else literal("")
        query = (
            select(bucket, kind, func.count(RepairTicket.id))
            .where(
                *_scope(ids, building_id),
                column >= bounds[0],
                column < bounds[-1],
            )
            .group_by(bucket, kind)
        )
        return [(int(b), str(k or ""), int(n)) for b, k, n in (await self.session.execute(query)).all()]

    async def building_kind(
        self,
        ids: Sequence[int],
        start: datetime,
        end: datetime,
        building_id: int | None = None,
        *,
        per_compound: bool = False,
    ) -> list[tuple[str, str, int]]:
        """Problems reported per building (or compound) and kind, the heat map; spots without a building are
        one row."""
        place = Compound.name if per_compound else Building.name
        query = (
            select(place, RepairTicket.kind, func.count(RepairTicket.id))
            .select_from(RepairTicket)
            .outerjoin(Building, Building.id == RepairTicket.building_id)
            .join(Compound, Compound.id == RepairTicket.compound_id)
            .where(*self._window(ids, start, end, building_id))
            .group_by(place, RepairTicket.kind)
        )
        return [(name or "", kind, int(n)) for name, kind, n in (await self.session.execute(query)).all()]

    async def repeat_places(
        self,
        ids: Sequence[int],
        start: datetime,
        end: datetime,
        limit: int = 5,
        building_id: int | None = None,
    ) -> list[tuple[str, str, str, int]]:
        """The same kind of problem at the same place, twice or more: (compound, place, kind, count)."""
        n = func.count(RepairTicket.id)
        query = (
            select(Compound.name, RepairTicket.public_label, RepairTicket.kind, n)
            .join(Compound, Compound.id == RepairTicket.compound_id)
            .where(*self._window(ids, start, end, building_id), RepairTicket.public_label != "")
            .group_by(Compound.name, RepairTicket.public_label, RepairTicket.kind)
            .having(n >= 2)
            .order_by(n.desc(), RepairTicket.public_label)
            .limit(limit)
        )
        return [(c, p, k, int(v)) for c, p, k, v in (await self.session.execute(query)).all()]

    async def _lines(
        self, where: list[ColumnElement[bool]], order: list[Any], limit: int
    ) -> list[TicketLine]:
        query = (
            select(
                RepairTicket.id,
                Compound.name,
                RepairTicket.kind,
                RepairTicket.public_label,
                RepairTicket.status,
                RepairTicket.created_at,
                RepairTicket.stage_due_at,
                Person.display_name,
                RepairTicket.rating,
                RepairTicket.reopen_count,
            )
            .join(Compound, Compound.id == RepairTicket.compound_id)
            .outerjoin(Person, Person.id == RepairTicket.assignee_id)
            .where(*where)
            .order_by(*order)
            .limit(limit)
        )
        return [
            TicketLine(r[0], r[1], r[2], r[3] or "", r[4], r[5], r[6], r[7] or "", r[8], int(r[9] or 0))
            for r in (await self.session.execute(query)).all()
        ]

    async def overdue(
        self, ids: Sequence[int], now: datetime, limit: int = 20, building_id: int | None = None
    ) -> list[TicketLine]:
        return await self._lines(
            [*_scope(ids, building_id), RepairTicket.status.in_(ACTIVE), RepairTicket.stage_due_at <= now],
            [RepairTicket.stage_due_at, RepairTicket.id],
            limit,
        )

    async def overdue_count(self, ids: Sequence[int], now: datetime, building_id: int | None = None) -> int:
        return int(
            await self.session.scalar(
                select(func.count(RepairTicket.id)).where(
                    *_scope(ids, building_id),
                    RepairTicket.status.in_(ACTIVE),
                    RepairTicket.stage_due_at <= now,
                )
            )
            or 0
        )

    async def open_count(self, ids: Sequence[int]) -> int:
        query = select(func.count(RepairTicket.id)).where(*_scope(ids, None), RepairTicket.status.in_(ACTIVE))
        return int(await self.session.scalar(query) or 0)

    async def reopened(
        self,
        ids: Sequence[int],
        start: datetime,
        end: datetime,
        limit: int = 20,
        building_id: int | None = None,
    ) -> list[TicketLine]:
        return await self._lines(
            [*self._window(ids, start, end, building_id), RepairTicket.reopen_count > 0],
            [RepairTicket.reopen_count.desc(), RepairTicket.id],
            limit,
        )

    async def worst_rated(
        self,
        ids: Sequence[int],
        start: datetime,
        end: datetime,
        limit: int = 5,
        building_id: int | None = None,
    ) -> list[TicketLine]:
        return await self._lines(
            [
                *self._window(ids, start, end, building_id),
                RepairTicket.rating.is_not(None),
                RepairTicket.rating <= 3,
            ],
            [RepairTicket.rating, RepairTicket.id],
            limit,
        )

    async def honour(
        self, ids: Sequence[int], start: datetime, end: datetime, building_id: int | None = None
    ) -> list[HonourRow]:
        """Per butler, the work they resolved in the window (by resolution time, not report time)."""
        rated = func.coalesce(func.sum(case((RepairTicket.rating.is_not(None), 1), else_=0)), 0)
        query = (
            select(
                RepairTicket.assignee_id,
                Person.display_name,
                func.count(RepairTicket.id),
                func.coalesce(func.sum(case((RepairTicket.resolved_on_time.is_(True), 1), else_=0)), 0),
                rated,
                func.coalesce(func.sum(case((RepairTicket.rating >= 4, 1), else_=0)), 0),
                func.avg(RepairTicket.rating),
            )
            .join(Person, Person.id == RepairTicket.assignee_id)
            .where(
                *_scope(ids, building_id),
                RepairTicket.resolved_at >= start,
                RepairTicket.resolved_at < end,
                RepairTicket.status.in_(DONE),
            )
            .group_by(RepairTicket.assignee_id, Person.display_name)
        )
        return [
            HonourRow(
                int(r[0]),
                r[1] or "",
                int(r[2]),
                int(r[3]),
                int(r[4]),
                int(r[5]),
                None if r[6] is None else float(r[6]),
            )
            for r in (await self.session.execute(query)).all()
        ]

    # ------------------------------------------------------------ patrols, volunteers, events

    async def patrols(self, ids: Sequence[int], start: datetime, end: datetime) -> PatrolCounts:
        shift_where = [
            PatrolShift.compound_id.in_(_ids(ids)),
            PatrolShift.starts_at >= start,
            PatrolShift.starts_at < end,
            PatrolShift.status != "cancelled",
        ]
        booked = (
            select(ShiftSignup.shift_id.label("sid"), func.count(ShiftSignup.id).label("n"))
            .where(ShiftSignup.status == "booked")
            .group_by(ShiftSignup.shift_id)
            .subquery()
        )
        shifts = (
            await self.session.execute(
                select(
                    func.count(PatrolShift.id),
                    func.coalesce(
                        func.sum(case((func.coalesce(booked.c.n, 0) >= PatrolShift.capacity, 1), else_=0)), 0
                    ),
                    func.coalesce(func.sum(PatrolShift.capacity), 0),
                )
                .outerjoin(booked, booked.c.sid == PatrolShift.id)
                .where(*shift_where)
            )
        ).one()
        signups = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(case((ShiftSignup.status == "booked", 1), else_=0)), 0),
                    func.coalesce(func.sum(case((ShiftSignup.outcome == "completed", 1), else_=0)), 0),
                    func.coalesce(func.sum(case((ShiftSignup.outcome == "no_show", 1), else_=0)), 0),
                    func.coalesce(
                        func.sum(
                            case(
                                (and_(ShiftSignup.report.is_not(None), ShiftSignup.report != ""), 1), else_=0
                            )
                        ),
                        0,
                    ),
                )
                .join(PatrolShift, PatrolShift.id == ShiftSignup.shift_id)
                .where(*shift_where)
            )
        ).one()
        return PatrolCounts(int(shifts[0]), int(shifts[1]), int(shifts[2]), *(int(v) for v in signups))

    async def volunteers(self, ids: Sequence[int], start: datetime, end: datetime) -> VolunteerCounts:
        hours, people = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(ActivityRecord.hours), 0.0),
                    func.count(distinct(ActivityRecord.person_id)),
                ).where(
                    ActivityRecord.compound_id.in_(_ids(ids)),
                    ActivityRecord.occurred_at >= start,
                    ActivityRecord.occurred_at < end,
                )
            )
        ).one()
        issued = await self.session.scalar(
            select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                PointsEntry.compound_id.in_(_ids(ids)),
                PointsEntry.earning.is_(True),
                PointsEntry.created_at >= start,
                PointsEntry.created_at < end,
            )
        )
        redemptions = (
            await self.session.execute(
                select(Partner.name, func.count(Voucher.id), func.coalesce(func.sum(Voucher.cost), 0))
                .join(Partner, Partner.id == Voucher.partner_id)
                .where(
                    Voucher.compound_id.in_(_ids(ids)),
                    Voucher.status.in_(("active", "used", "expired")),
                    Voucher.created_at >= start,
                    Voucher.created_at < end,
                )
                .group_by(Partner.name)
                .order_by(func.count(Voucher.id).desc(), Partner.name)
            )
        ).all()
        return VolunteerCounts(
            float(hours or 0),
            int(people or 0),
            int(issued or 0),
            tuple((n, int(c), int(p)) for n, c, p in redemptions),
        )

    async def events(self, ids: Sequence[int], start: datetime, end: datetime) -> EventCounts:
        where = [
            CommunityEvent.compound_id.in_(_ids(ids)),
            CommunityEvent.starts_at >= start,
            CommunityEvent.starts_at < end,
            CommunityEvent.status != "cancelled",
        ]
        events = await self.session.scalar(select(func.count(CommunityEvent.id)).where(*where))
        signups, attended = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(case((EventRsvp.status == "going", 1), else_=0)), 0),
                    func.coalesce(func.sum(case((EventRsvp.checked_in_at.is_not(None), 1), else_=0)), 0),
                )
                .join(CommunityEvent, CommunityEvent.id == EventRsvp.event_id)
                .where(*where)
            )
        ).one()
        return EventCounts(int(events or 0), int(signups or 0), int(attended or 0))

    # ------------------------------------------------------------ settings

    async def public_figures_compounds(self) -> list[int]:
        rows = await self.session.scalars(
            select(RepairPolicy.compound_id).where(RepairPolicy.public_figures.is_(True))
        )
        return list(rows)

    async def set_public_figures(self, compound_id: int, on: bool) -> None:
        policy = await self.session.scalar(
            select(RepairPolicy).where(RepairPolicy.compound_id == compound_id)
        )
        if policy is None:
            policy = RepairPolicy(compound_id=compound_id, honour_board=False, limits={})
            self.session.add(policy)
        policy.public_figures = on
        await self.session.flush()
