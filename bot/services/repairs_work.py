"""Staff work on a ticket: accept, hand over (to a colleague or the duty queue), ask for help, complete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db.models import Person
from bot.db.models.repairs import RepairTicket
from bot.db.uow import UnitOfWork
from bot.i18n import Translator
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.people import require_person
from bot.services.repairs_cards import (
    _alert_roles,
    _send_task_card,
    _tell_residents,
    refresh_group_cards,
    send_photos,
)
from bot.services.repairs_common import (
    ACTIVE_STATUSES,
    Queue,
    TicketStatus,
)
from bot.services.repairs_core import (
    REASON_LIMIT,
    TicketView,
    _bump,
    _covers,
    _event,
    _may_work_on,
    _reload,
    _roles_in,
    _stale_refusal,
    _ticket,
    _ticket_view,
    _view,
    schedule_autoclose,
    schedule_stage,
)
from bot.work_kinds import WorkKind

# ---------------------------------------------------------------- staff actions


async def _staff_person(uow: UnitOfWork, telegram_id: int, ticket: RepairTicket) -> Person:
    person = await require_person(uow, telegram_id)
    if not await _may_work_on(uow, person, ticket):
        raise UserFacingError("repairs.not_staff")
    return person


async def accept(
    uow: UnitOfWork, t: Translator, telegram_id: int, ticket_id: int, now: datetime
) -> TicketView:
    async with uow:
        ticket = await _ticket(uow, ticket_id)
        person = await _staff_person(uow, telegram_id, ticket)
        first_in_time = ticket.stage_due_at is None or now <= ticket.stage_due_at
        if not await _bump(
            uow,
            ticket_id,
            (TicketStatus.OPEN,),
            status=TicketStatus.ACCEPTED,
            assignee_id=person.id,
            accepted_at=now,
            accepted_on_time=first_in_time if ticket.accepted_on_time is None else ticket.accepted_on_time,
            needs_help=False,
            last_person_action_at=now,
        ):
            raise await _stale_refusal(uow, t, person, ticket_id)
        ticket = await _reload(uow, ticket_id)
        _event(uow, ticket, "accepted", person, now)
        await schedule_stage(uow, ticket, "resolve", now)
        await _tell_residents(uow, t, ticket, "repairs.n.accepted", now)
        await refresh_group_cards(uow, t, ticket, now)
        view = _view(ticket, person)
        await uow.commit()
        return view


@dataclass(frozen=True)
class Colleague:
    id: int
    name: str
    open_tasks: int


async def reassign_targets(uow: UnitOfWork, telegram_id: int, ticket_id: int) -> list[Colleague]:
    """The colleagues who cover this ticket's building and kind of work, lightest load first."""
    async with uow:
        ticket = await _ticket(uow, ticket_id)
        person = await _staff_person(uow, telegram_id, ticket)
        roles = [Role.MEDIATOR] if ticket.kind == WorkKind.DISPUTE.value else [Role.BUTLER]
        people = {
            p.id: p.display_name
            for r, p in await uow.community.staff_with_role(ticket.compound_id, roles)
            if p.id != person.id and p.telegram_id is not None and _covers(r, ticket.building_id, ticket.kind)
        }
        load = await uow.repairs.open_counts(people)
        found = [Colleague(pid, name, load.get(pid, 0)) for pid, name in people.items()]
        return sorted(found, key=lambda c: (c.open_tasks, c.name))


async def reassign(
    uow: UnitOfWork,
    t: Translator,
    telegram_id: int,
    ticket_id: int,
    target_id: int,
    reason: str,
    now: datetime,
) -> TicketView:
    """To another colleague (target_id) or back to the property office's duty queue (target_id 0)."""
    reason = reason.strip()[:REASON_LIMIT]
    if not reason:
        raise UserFacingError("repairs.reason_needed")
    async with uow:
        ticket = await _ticket(uow, ticket_id)
        person = await _staff_person(uow, telegram_id, ticket)
        is_manager = Role.PROPERTY_MANAGER in {
            r.role for r in await _roles_in(uow, person.id, ticket.compound_id)
        }
        if ticket.assignee_id not in (person.id, None) and not is_manager:
            raise UserFacingError("repairs.not_assignee")
        target: Person | None = None
        if target_id:
            target = await uow.community.person(target_id)
            if target is None or not await _may_work_on(uow, target, ticket):
                raise UserFacingError("repairs.target_gone")
        moved = await _bump(
            uow,
            ticket_id,
            ACTIVE_STATUSES,
            status=TicketStatus.OPEN,
            assignee_id=target.id if target else None,
            queue=ticket.queue if target else Queue.DUTY,
            accepted_at=None,
            needs_help=False,
            last_person_action_at=now,
        )
        if not moved:
            raise await _stale_refusal(uow, t, person, ticket_id)
        ticket = await _reload(uow, ticket_id)
        _event(
            uow, ticket, "reassigned", person, now, name=target.display_name if target else "", reason=reason
        )
        await schedule_stage(uow, ticket, "accept", now)
        if target is not None:
            await _send_task_card(uow, t, ticket, target, now)
        else:
            await _alert_roles(
                uow, t, ticket, [Role.PROPERTY_MANAGER], "repairs.n.duty_queue", now, with_accept=True
            )
        await _tell_residents(uow, t, ticket, "repairs.n.reassigned", now)
        await refresh_group_cards(uow, t, ticket, now)
        view = _view(ticket, target)
        await uow.commit()
        return view


async def ask_help(
    uow: UnitOfWork, t: Translator, telegram_id: int, ticket_id: int, now: datetime
) -> TicketView:
    async with uow:
        ticket = await _ticket(uow, ticket_id)
        person = await _staff_person(uow, telegram_id, ticket)
        if ticket.assignee_id not in (person.id, None):
            raise UserFacingError("repairs.not_assignee")
        if not await _bump(uow, ticket_id, ACTIVE_STATUSES, needs_help=True, last_person_action_at=now):
            raise await _stale_refusal(uow, t, person, ticket_id)
        ticket = await _reload(uow, ticket_id)
        _event(uow, ticket, "help", person, now)
        await _alert_roles(
            uow, t, ticket, [Role.PROPERTY_MANAGER], "repairs.n.help", now, tag=f":{person.id}"
        )
        await refresh_group_cards(uow, t, ticket, now)
        view = await _ticket_view(uow, ticket)
        await uow.commit()
        return view


async def complete(
    uow: UnitOfWork, t: Translator, telegram_id: int, ticket_id: int, photo: str | None, now: datetime
) -> TicketView:
    async with uow:
        ticket = await _ticket(uow, ticket_id)
        person = await _staff_person(uow, telegram_id, ticket)
        if ticket.status != TicketStatus.ACCEPTED:  # an old ✅ 完成: say what happened, not whose it is
            raise await _stale_refusal(uow, t, person, ticket_id)
        if ticket.assignee_id != person.id:
            raise UserFacingError("repairs.not_assignee")
        on_time = ticket.stage_due_at is None or now <= ticket.stage_due_at
        if not await _bump(
            uow,
            ticket_id,
            (TicketStatus.ACCEPTED,),
            status=TicketStatus.RESOLVED,
            resolved_at=now,
            result_photo=photo,
            resolved_on_time=on_time,
            last_person_action_at=now,
        ):
            raise await _stale_refusal(uow, t, person, ticket_id)
        ticket = await _reload(uow, ticket_id)
        _event(uow, ticket, "resolved", person, now, photo=bool(photo))
        await schedule_autoclose(uow, ticket, now)
        await _tell_residents(uow, t, ticket, "repairs.n.resolved", now, reporter_markup=True)
        reporter = await uow.community.person(ticket.reporter_id)
        if photo and reporter is not None:
            await send_photos(uow, reporter, ticket, [photo], now, "result")
        await refresh_group_cards(uow, t, ticket, now)
        view = _view(ticket, person)
        await uow.commit()
        return view
