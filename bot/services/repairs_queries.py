"""Lists and the board (read-only), and the per-compound settings the CLI sets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.db.models.repairs import RepairTicket
from bot.db.uow import UnitOfWork
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.people import require_person
from bot.services.repairs_common import (
    ACTIVE_STATUSES,
    KINDS,
    URGENCIES,
    TicketStatus,
    Viewer,
)
from bot.services.repairs_core import (
    BoardView,
    TicketDetail,
    TicketView,
    TimelineLine,
    _can_see,
    _compound,
    _ticket,
    _ticket_view,
    policy_values,
)

# ---------------------------------------------------------------- lists


async def my_tickets(uow: UnitOfWork, telegram_id: int) -> list[TicketView]:
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        if person is None:
            return []
        return [
            await _ticket_view(uow, t) for t in await uow.repairs.tickets_of_reporter_or_follower(person.id)
        ]


async def ticket_detail(uow: UnitOfWork, telegram_id: int, ticket_id: int, now: datetime) -> TicketDetail:
    async with uow:
        person = await require_person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        viewer = await _can_see(uow, person, ticket)
        if viewer is None:
            raise UserFacingError("repairs.not_yours")
        lines = []
        names: dict[int, str] = {}
        for event in await uow.repairs.events(ticket.id):
            name = ""
            if event.actor_id is not None:
                if event.actor_id not in names:
                    actor = await uow.community.person(event.actor_id)
                    names[event.actor_id] = actor.display_name if actor else ""
                name = names[event.actor_id]
                # Residents read staff names; never other residents' names.
                if (
                    viewer != "staff"
                    and event.actor_id not in (person.id, ticket.assignee_id)
                    and event.action in ("created", "urged", "rated", "reopened", "commented")
                ):
                    name = ""
            lines.append(TimelineLine(event.at, event.action, name, dict(event.detail or {})))
        _daily, hours, _close, _limits = await policy_values(uow, ticket.compound_id)
        can_urge = (
            viewer in (Viewer.REPORTER, Viewer.FOLLOWER)
            and ticket.status in ACTIVE_STATUSES
            and (ticket.last_urge_at is None or now >= ticket.last_urge_at + timedelta(hours=hours))
        )
        compound = await uow.community.compound(ticket.compound_id)
        view = await _ticket_view(uow, ticket)
        if viewer == Viewer.FOLLOWER:
            view = TicketView(**{**view.__dict__, "place_label": view.public_label, "description": ""})
        return TicketDetail(view, lines, viewer, compound.timezone if compound else None, can_urge)


async def staff_tasks(uow: UnitOfWork, telegram_id: int) -> list[TicketView]:
    """A butler's own open tasks, plus the duty queue for those who may take from it."""
    async with uow:
        person = await require_person(uow, telegram_id)
        roles = await uow.community.roles_of(person.id)
        names = {r.role for r in roles}
        if not names & {Role.BUTLER, Role.PROPERTY_MANAGER, Role.MEDIATOR}:
            raise UserFacingError("common.not_allowed")
        mine = await uow.repairs.active_assigned_to(person.id)
        compounds = {r.compound_id for r in roles if r.compound_id is not None}
        queue: list[RepairTicket] = []
        if Role.PROPERTY_MANAGER in names and compounds:
            queue = await uow.repairs.unassigned_open(compounds)
        return [await _ticket_view(uow, t) for t in [*mine, *queue]]


async def board(uow: UnitOfWork, telegram_id: int, now: datetime) -> BoardView:
    async with uow:
        person = await require_person(uow, telegram_id)
        roles = [
            r
            for r in await uow.community.roles_of(person.id)
            if r.role in (Role.SUPERVISOR, Role.PROPERTY_MANAGER, Role.ADMIN)
        ]
        if not roles:
            raise UserFacingError("common.not_allowed")
        compound_id = next((r.compound_id for r in roles if r.compound_id is not None), None)
        if compound_id is None:
            compounds = await uow.community.compounds()
            if not compounds:
                raise UserFacingError("common.not_allowed")
            compound_id = compounds[0].id
        compound = await _compound(uow, compound_id)
        counts: dict[str, int] = {str(s): 0 for s in TicketStatus}
        counts.update(await uow.repairs.status_counts(compound_id))
        overdue = await uow.repairs.overdue(compound_id, now, limit=10)
        rated = await uow.repairs.worst_rated(compound_id, at_most=3, limit=5)
        help_needed = await uow.repairs.help_needed(compound_id, limit=10)
        return BoardView(
            compound.name,
            counts,
            [await _ticket_view(uow, t) for t in overdue],
            [await _ticket_view(uow, t) for t in rated],
            compound.timezone,
            [await _ticket_view(uow, t) for t in help_needed],
        )


# ---------------------------------------------------------------- settings (CLI)


@dataclass(frozen=True)
class PolicyView:
    compound_id: int
    daily_limit: int
    urge_hours: int
    auto_close_days: int
    honour_board: bool
    limits: dict[str, Any]


async def compound_id_by_name(uow: UnitOfWork, name: str) -> int:
    async with uow:
        compound = await uow.community.compound_by_name(name)
        if compound is None:
            raise UserFacingError("repairs.compound_unknown", compound=name)
        return compound.id


async def set_policy(
    uow: UnitOfWork,
    compound_id: int,
    *,
    daily_limit: int | None = None,
    urge_hours: int | None = None,
    auto_close_days: int | None = None,
    honour_board: bool | None = None,
    limits: dict[str, tuple[int, int]] | None = None,
) -> PolicyView:
    """Per-compound settings; a value left None keeps what is there (or the default)."""
    for value in (daily_limit, urge_hours, auto_close_days):
        if value is not None and not 1 <= value <= 1000:
            raise UserFacingError("repairs.policy_bad_value", value=value)
    for key, (accept_minutes, resolve_minutes) in (limits or {}).items():
        kind, _, urgency = key.partition(":")
        if (kind not in KINDS and kind != "*") or urgency not in URGENCIES:
            raise UserFacingError("repairs.policy_bad_limit", limit=key)
        if not 1 <= accept_minutes <= resolve_minutes <= 60 * 24 * 60:
            raise UserFacingError("repairs.policy_bad_limit", limit=key)
    async with uow:
        await _compound(uow, compound_id)
        policy = await uow.repairs.policy(compound_id)
        if policy is None:
            policy = await uow.repairs.add_policy(compound_id)
        if daily_limit is not None:
            policy.daily_limit = daily_limit
        if urge_hours is not None:
            policy.urge_hours = urge_hours
        if auto_close_days is not None:
            policy.auto_close_days = auto_close_days
        if honour_board is not None:
            policy.honour_board = honour_board
        if limits:
            policy.limits = {**(policy.limits or {}), **{k: [a, r] for k, (a, r) in limits.items()}}
        await uow.repairs.flush()
        daily, hours, days, overrides = await policy_values(uow, compound_id)
        view = PolicyView(compound_id, daily, hours, days, policy.honour_board, overrides)
        await uow.commit()
        return view
