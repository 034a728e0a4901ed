"""Time-driven repairs work: reminders, the escalation ladder, auto-close, the weekly digest and the monthly
honour board (红榜). Due times live in repair_timers / repair_runs; each item is claimed once, so nothing is
sent twice, also after a restart."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.db.models import Compound
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.delivery.notify import notify_chat, notify_person, notify_person_photo
from bot.i18n import Translator
from bot.notices.repairs import task_card, ticket_labels
from bot.reports import charts
from bot.reports.text import attention, public_text, rate
from bot.roles import Role
from bot.services import stats
from bot.services.repairs_cards import _alert_roles, _tell_residents, escalate, refresh_group_cards
from bot.services.repairs_common import ACTIVE_STATUSES, Queue, TicketStatus, TimerKind, number_of
from bot.services.repairs_core import (
    MAX_LEVEL,
    _bump,
    _event,
    _may_work_on,
    _reload,
    limit_minutes,
    policy_values,
    tz_name,
)

if TYPE_CHECKING:
    from bot.context import Services

log = logging.getLogger(__name__)
DIGEST_WEEKDAY = 0  # Monday
DIGEST_HOUR = 9
HONOUR_HOUR = 10
HONOUR_STALE_DAYS = 3  # an honour board more than this late is skipped, not posted weeks later


async def _handle_timer(
    uow: UnitOfWork, t: Translator, timer_id: int, ticket_id: int, kind: str, now: datetime
) -> int:
    if not await uow.repairs.claim_timer(timer_id):
        return 0
    ticket = await uow.repairs.ticket(ticket_id)
    if ticket is None:
        return 0
    assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
    if kind == TimerKind.REMIND and ticket.status in ACTIVE_STATUSES:
        if assignee is not None:
            card = task_card(t, assignee.language, ticket)
            minutes = max(1, int(((ticket.stage_due_at or now) - now).total_seconds() // 60))
            await notify_person(
                uow,
                t,
                assignee,
                f"repairs.n.remind_{ticket.status}",
                now=now,
                reply_markup=card.markup(),
                dedupe_key=f"rp:remind:{timer_id}",
                card=card.text,
                minutes=minutes,
            )
        else:
            await _alert_roles(
                uow,
                t,
                ticket,
                [Role.PROPERTY_MANAGER],
                "repairs.n.remind_queue",
                now,
                with_accept=True,
                tag=f":r{timer_id}",
            )
        return 1
    if kind == TimerKind.ESCALATE and ticket.status in ACTIVE_STATUSES:
        if assignee is not None and not await _may_work_on(uow, assignee, ticket):
            # The butler has left the roster: back to the duty queue, so it cannot sit with nobody.
            ticket.assignee_id = None
            ticket.queue = Queue.DUTY
            ticket.status = TicketStatus.OPEN
            _event(uow, ticket, "left_roster", None, now, name=assignee.display_name)
        await escalate(uow, t, ticket, now, reason="late")
        if ticket.escalation_level < MAX_LEVEL:
            _d, _u, _c, overrides = await policy_values(uow, ticket.compound_id)
            accept_minutes, resolve_minutes = limit_minutes(overrides, ticket.kind, ticket.urgency)
            step = accept_minutes if ticket.status == TicketStatus.OPEN else resolve_minutes
            uow.repairs.add_timer(ticket.id, TimerKind.ESCALATE, now + timedelta(minutes=step), now)
        if assignee is not None and ticket.assignee_id == assignee.id:
            await notify_person(
                uow,
                t,
                assignee,
                "repairs.n.overdue",
                now=now,
                dedupe_key=f"rp:overdue:{timer_id}",
                **ticket_labels(t, assignee.language, ticket),  # type: ignore[arg-type]
            )
        return 1
    if kind == TimerKind.AUTOCLOSE and ticket.status == TicketStatus.RESOLVED:
        _d, _u, days, _l = await policy_values(uow, ticket.compound_id)
        due = ticket.last_person_action_at + timedelta(days=days)
        if due > now:  # someone acted since: the clock starts again from that action
            uow.repairs.add_timer(ticket.id, TimerKind.AUTOCLOSE, due, now)
            return 0
        if not await _bump(
            uow,
            ticket.id,
            (TicketStatus.RESOLVED,),
            status=TicketStatus.CLOSED,
            closed_at=now,
            close_reason="auto",
        ):
            return 0
        ticket = await _reload(uow, ticket.id)
        _event(uow, ticket, "auto_closed", None, now, days=days)
        await _tell_residents(uow, t, ticket, "repairs.n.auto_closed", now, days=days)
        await refresh_group_cards(uow, t, ticket, now)
        return 1
    return 0


async def process_timers(uow_factory: UnitOfWorkFactory, t: Translator, now: datetime) -> int:
    handled = 0
    async with uow_factory() as uow:
        due = await uow.repairs.due_timers(now)
    for timer_id, ticket_id, kind in due:
        async with uow_factory() as uow:
            try:
                handled += await _handle_timer(uow, t, timer_id, ticket_id, kind, now)
                await uow.commit()
            except Exception:
                log.exception("repairs timer %s failed", timer_id)
    return handled


# ---------------------------------------------------------------- weekly digest and honour board


def week_start(now: datetime, tz: str) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    monday = (local - timedelta(days=local.weekday())).replace(
        hour=DIGEST_HOUR, minute=0, second=0, microsecond=0
    )
    if monday > local:
        monday -= timedelta(days=7)
    return monday


def month_start(now: datetime, tz: str) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    first = local.replace(day=1, hour=HONOUR_HOUR, minute=0, second=0, microsecond=0)
    if first > local:
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def _previous_month(first: datetime) -> datetime:
    return (first - timedelta(days=1)).replace(day=1)


async def _claim_run(uow: UnitOfWork, kind: str, compound_id: int, period: str, now: datetime) -> bool:
    return await uow.repairs.claim_run(kind, compound_id, period, now)


async def butler_stats(
    uow: UnitOfWork, compound_id: int, start: datetime, end: datetime
) -> list[tuple[str, int, float, float | None]]:
    """Per butler who resolved something in [start, end): name, count, on-time rate, average rating."""
    rows = []
    for person_id, count, on_time, average in await uow.repairs.resolved_by_assignee(compound_id, start, end):
        person = await uow.community.person(person_id)
        rows.append((person.display_name if person else "—", count, on_time / count, average))
    rows.sort(key=lambda r: (-r[2], -(r[3] or 0), -r[1], r[0]))
    return rows


async def _weekly_digest(
    uow: UnitOfWork, t: Translator, compound: Compound, now: datetime, default_tz: str
) -> int:
    """Monday's picture of the last four weeks for each supervisor, and the three things to look at."""
    tz = tz_name(compound, default_tz)
    start = week_start(now, tz)
    period = start.strftime("%G-W%V")
    if not await _claim_run(uow, "digest", compound.id, period, now):
        return 0
    since = start - timedelta(days=7)
    figures = await stats.week_figures(uow, (compound.id, compound.name), start, now, tz)
    last_week = figures.buckets[-1]
    open_now = await uow.stats.open_count([compound.id])
    if not last_week.intake and not open_now:
        return 0  # nothing to say; the run is still recorded
    week = await uow.stats.ticket_counts([compound.id], since, start, now)
    satisfaction = stats.Rates.of(week[0] if week else None).satisfaction
    pictures: dict[str | None, bytes] = {}
    sent = 0
    for _role, person in await uow.community.staff_with_role(compound.id, [Role.SUPERVISOR]):
        language = person.language
        if language not in pictures:

            def text(key: str, language: str | None = language, **values: object) -> str:
                return t(language, key, **values)

            heading = t(language, "stats.heading", scope=compound.name, month=period)
            # Off the event loop: drawing takes a few hundred milliseconds of CPU.
            pictures[language] = await asyncio.to_thread(charts.dashboard, figures, text, heading=heading)
        row = await notify_person_photo(
            uow,
            t,
            person,
            "stats.digest",
            photo=pictures[language],
            filename=f"digest-{period}.png",
            now=now,
            dedupe_key=f"rp:digest:{compound.id}:{period}:{person.id}",
            compound=compound.name,
            new=last_week.intake,
            resolved=last_week.resolved,
            open=open_now,
            overdue=figures.overdue_count,
            satisfaction=rate(t, language, satisfaction),
            attention="\n".join(attention(t, language, figures, number_of, since)),
        )
        sent += row is not None
    return sent


async def _honour_board(
    uow: UnitOfWork, t: Translator, compound: Compound, now: datetime, default_tz: str
) -> int:
    policy = await uow.repairs.policy(compound.id)
    if policy is None or not policy.honour_board:
        return 0
    tz = tz_name(compound, default_tz)
    first = month_start(now, tz)
    if now - first > timedelta(days=HONOUR_STALE_DAYS):
        return 0
    previous = _previous_month(first)
    period = previous.strftime("%Y-%m")
    if not await _claim_run(uow, "honour", compound.id, period, now):
        return 0
    rows = await butler_stats(uow, compound.id, previous, first)
    if not rows:
        return 0
    lines = []
    for index, (name, count, on_time, average) in enumerate(rows[:10], start=1):
        lines.append(
            t(
                None,
                "repairs.honour_line",
                rank=index,
                name=name,
                count=count,
                on_time=f"{on_time:.0%}",
                average=f"{average:.1f}" if average is not None else "—",
            )
        )
    text = t(
        None,
        "repairs.honour_board",
        month=previous.strftime("%Y-%m"),
        compound=compound.name,
        lines="\n".join(lines),
    )
    sent = 0
    for group in await uow.community.groups_of(compound.id, "residents"):
        row = await notify_chat(
            uow,
            text,
            chat_id=group.chat_id,
            now=now,
            dedupe_key=f"rp:honour:{compound.id}:{period}:{group.chat_id}",
        )
        sent += row is not None
    return sent


async def _public_figures(
    uow: UnitOfWork, t: Translator, compound: Compound, now: datetime, default_tz: str
) -> int:
    """Opt-in monthly 公示 in the residents' groups: last month's 三率 and honour board, no residents."""
    if compound.id not in await uow.stats.public_figures_compounds():
        return 0
    tz = tz_name(compound, default_tz)
    first = month_start(now, tz)
    if now - first > timedelta(days=HONOUR_STALE_DAYS):
        return 0
    period = _previous_month(first).strftime("%Y-%m")
    if not await _claim_run(uow, "public", compound.id, period, now):
        return 0
    figures = await stats.month_figures_in(uow, [(compound.id, compound.name)], period, now, tz, full=False)
    text = public_text(t, None, figures)
    sent = 0
    for group in await uow.community.groups_of(compound.id, "residents"):
        row = await notify_chat(
            uow,
            text,
            chat_id=group.chat_id,
            now=now,
            dedupe_key=f"rp:public:{compound.id}:{period}:{group.chat_id}",
        )
        sent += row is not None
    return sent


async def process_periodic(
    uow_factory: UnitOfWorkFactory, t: Translator, now: datetime, default_tz: str
) -> int:
    handled = 0
    async with uow_factory() as uow:
        compounds = [c.id for c in await uow.community.compounds()]
    for compound_id in compounds:
        for job in (_weekly_digest, _honour_board, _public_figures):
            async with uow_factory() as uow:
                compound = await uow.community.compound(compound_id)
                if compound is None:
                    continue
                handled += await job(uow, t, compound, now, default_tz)
                await uow.commit()
    return handled


async def process_due(services: Services, now: datetime) -> int:
    handled = await process_timers(services.uow_factory, services.translator, now)
    return handled + await process_periodic(
        services.uow_factory, services.translator, now, services.settings.timezone
    )


async def next_due(services: Services, now: datetime) -> datetime | None:
    async with services.uow() as uow:
        timer = await uow.repairs.next_timer_at()
        compounds = await uow.community.compounds()
    times = [timer] if timer is not None else []
    for compound in compounds:
        tz = tz_name(compound, services.settings.timezone)
        times.append(week_start(now, tz) + timedelta(days=7))
        first = month_start(now, tz)
        times.append((first + timedelta(days=32)).replace(day=1))
    return min(times) if times else None
