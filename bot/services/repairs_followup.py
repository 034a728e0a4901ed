"""The resident's follow-up: rate, comment, reopen (没修好) and urge (催办)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import Translator
from bot.notices.repairs import task_card
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.people import require_person
from bot.services.repairs_cards import (
    _alert_roles,
    _tell_residents,
    escalate,
    refresh_group_cards,
)
from bot.services.repairs_common import (
    ACTIVE_STATUSES,
    Queue,
    TicketStatus,
    TimerKind,
    Viewer,
    number_of,
)
from bot.services.repairs_core import (
    COMMENT_LIMIT,
    TicketView,
    _bump,
    _can_see,
    _event,
    _may_work_on,
    _reload,
    _ticket,
    _view,
    policy_values,
    reader_language,
    schedule_stage,
)

# ---------------------------------------------------------------- resident actions


async def rate(
    uow: UnitOfWork, t: Translator, telegram_id: int, ticket_id: int, stars: int, now: datetime
) -> TicketView:
    if not 1 <= stars <= 5:
        raise UserFacingError("repairs.stale", status="")
    async with uow:
        person = await require_person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        if ticket.reporter_id != person.id:
            raise UserFacingError("repairs.not_yours")
        if not await _bump(
            uow,
            ticket_id,
            (TicketStatus.RESOLVED,),
            status=TicketStatus.CLOSED,
            closed_at=now,
            close_reason="rated",
            rating=stars,
            last_person_action_at=now,
        ):
            ticket = await _reload(uow, ticket_id)
            if ticket.rating is not None:
                raise UserFacingError("repairs.already_rated", stars=ticket.rating)
            raise UserFacingError(
                "repairs.stale", status=t(reader_language(person, ticket), f"repairs.status.{ticket.status}")
            )
        ticket = await _reload(uow, ticket_id)
        _event(uow, ticket, "rated", person, now, stars=stars)
        await uow.repairs.cancel_timers(
            ticket.id, (TimerKind.REMIND, TimerKind.ESCALATE, TimerKind.AUTOCLOSE)
        )
        assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
        if assignee is not None:
            await notify_person(
                uow,
                t,
                assignee,
                "repairs.n.rated",
                now=now,
                dedupe_key=f"rp:rated:{ticket.id}",
                number=number_of(ticket.id),
                stars="⭐" * stars,
            )
        await _tell_residents(uow, t, ticket, "repairs.n.closed", now, skip_person_id=person.id)
        await refresh_group_cards(uow, t, ticket, now)
        view = _view(ticket, assignee)
        await uow.commit()
        return view


async def add_comment(uow: UnitOfWork, telegram_id: int, ticket_id: int, text: str, now: datetime) -> None:
    text = text.strip()[:COMMENT_LIMIT]
    async with uow:
        person = await require_person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        if ticket.reporter_id != person.id or ticket.rating is None:
            raise UserFacingError("repairs.not_yours")
        if text and not ticket.rating_comment:
            ticket.rating_comment = text
            _event(uow, ticket, "commented", person, now)
        await uow.commit()


async def reopen(
    uow: UnitOfWork, t: Translator, telegram_id: int, ticket_id: int, now: datetime
) -> TicketView:
    async with uow:
        person = await require_person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        if ticket.reporter_id != person.id:
            raise UserFacingError("repairs.not_yours")
        if ticket.status == TicketStatus.CLOSED:
            raise UserFacingError("repairs.reopen_closed", number=number_of(ticket.id))
        assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
        still_staff = assignee is not None and await _may_work_on(uow, assignee, ticket)
        if not await _bump(
            uow,
            ticket_id,
            (TicketStatus.RESOLVED,),
            status=TicketStatus.ACCEPTED if still_staff else TicketStatus.OPEN,
            assignee_id=ticket.assignee_id if still_staff else None,
            queue=ticket.queue if still_staff else Queue.DUTY,
            resolved_at=None,
            resolved_on_time=None,
            count_reopen=True,
            last_person_action_at=now,
        ):
            raise UserFacingError(
                "repairs.stale", status=t(reader_language(person, ticket), f"repairs.status.{ticket.status}")
            )
        ticket = await _reload(uow, ticket_id)
        _event(uow, ticket, "reopened", person, now)
        await uow.repairs.cancel_timers(ticket.id, (TimerKind.AUTOCLOSE,))
        await schedule_stage(uow, ticket, "resolve" if still_staff else "accept", now)
        if still_staff and assignee is not None:
            card = task_card(t, assignee.language, ticket)
            await notify_person(
                uow,
                t,
                assignee,
                "repairs.n.reopened_staff",
                now=now,
                reply_markup=card.markup(),
                dedupe_key=f"rp:reopen:{ticket.id}:{ticket.version}",
                card=card.text,
            )
        else:
            await _alert_roles(
                uow, t, ticket, [Role.PROPERTY_MANAGER], "repairs.n.duty_queue", now, with_accept=True
            )
        await _tell_residents(uow, t, ticket, "repairs.n.reopened", now, skip_person_id=person.id)
        await refresh_group_cards(uow, t, ticket, now)
        view = _view(ticket, assignee if still_staff else None)
        await uow.commit()
        return view


async def urge(uow: UnitOfWork, t: Translator, telegram_id: int, ticket_id: int, now: datetime) -> TicketView:
    """催办: pings whoever has it; a late ticket climbs one step of the ladder at once."""
    async with uow:
        person = await require_person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        viewer = await _can_see(uow, person, ticket)
        if viewer not in (Viewer.REPORTER, Viewer.FOLLOWER):
            raise UserFacingError("repairs.not_yours")
        if ticket.status not in ACTIVE_STATUSES:
            raise UserFacingError(
                "repairs.urge_not_open",
                status=t(reader_language(person, ticket), f"repairs.status.{ticket.status}"),
            )
        _daily, hours, _close, _limits = await policy_values(uow, ticket.compound_id)
        if ticket.last_urge_at is not None and now < ticket.last_urge_at + timedelta(hours=hours):
            wait = ticket.last_urge_at + timedelta(hours=hours) - now
            raise UserFacingError(
                "repairs.urge_too_soon", hours=hours, minutes=int(wait.total_seconds() // 60) + 1
            )
        if not await uow.repairs.bump_version(
            ticket.id, ticket.version, last_urge_at=now, last_person_action_at=now
        ):
            raise UserFacingError("repairs.urge_too_soon", hours=hours, minutes=hours * 60)
        ticket = await _reload(uow, ticket_id)
        uow.schedule_changed()
        late = ticket.stage_due_at is not None and now >= ticket.stage_due_at
        _event(uow, ticket, "urged", person, now, late=late)
        assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
        if assignee is not None:
            card = task_card(t, assignee.language, ticket)
            await notify_person(
                uow,
                t,
                assignee,
                "repairs.n.urged",
                now=now,
                reply_markup=card.markup(),
                dedupe_key=f"rp:urge:{ticket.id}:{ticket.version}",
                card=card.text,
            )
        else:
            await _alert_roles(
                uow, t, ticket, [Role.PROPERTY_MANAGER], "repairs.n.urged_queue", now, with_accept=True
            )
        if late:
            await escalate(uow, t, ticket, now, reason="urge")
        view = _view(ticket, assignee)
        await uow.commit()
        return view
