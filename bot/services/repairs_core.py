"""The rules every repairs service shares: limits and defaults, the views services return, who may see
or act on a ticket, the stage clocks, and the one conditional way a ticket changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.db.models import Compound, Person, StaffRole
from bot.db.models.repairs import RepairTicket
from bot.db.uow import UnitOfWork
from bot.i18n import Translator, written_in_english
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.repairs_common import (
    TicketStatus,
    TimerKind,
    Urgency,
    Viewer,
    number_of,
)
from bot.services.views import Choice
from bot.work_kinds import WorkKind

# What the emergency fast path offers, and the kind of work each one is.
EMERGENCIES: dict[str, str] = {
    "water": WorkKind.PLUMBING_ELECTRIC.value,
    "gas": WorkKind.SAFETY.value,
    "sparks": WorkKind.PLUMBING_ELECTRIC.value,
    "trapped": WorkKind.ELEVATOR.value,
}
DEFAULT_DAILY_LIMIT = 5
DEFAULT_URGE_HOURS = 4
DEFAULT_AUTO_CLOSE_DAYS = 3
# Minutes to accept and to resolve, by urgency; a few kinds take longer by nature.
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    Urgency.EMERGENCY: (10, 4 * 60),
    Urgency.URGENT: (30, 24 * 60),
    Urgency.NORMAL: (2 * 60, 3 * 24 * 60),
}
KIND_LIMITS: dict[str, tuple[int, int]] = {
    f"{WorkKind.DISPUTE.value}:normal": (4 * 60, 7 * 24 * 60),
    f"{WorkKind.GREENING.value}:normal": (4 * 60, 7 * 24 * 60),
}
REMIND_FRACTION = 0.7  # a reminder when 70% of a limit has passed
MAX_LEVEL = 2  # 0 butler, 1 property manager, 2 community supervisor
LEVEL_ROLES = {1: Role.PROPERTY_MANAGER, 2: Role.SUPERVISOR}
DESCRIPTION_LIMIT = 500
COMMENT_LIMIT = 300
PHOTO_LIMIT = 5
REASON_LIMIT = 200
PLACE_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
STAFF_ROLES = (Role.BUTLER, Role.PROPERTY_MANAGER, Role.MEDIATOR, Role.SUPERVISOR, Role.ADMIN)
# A report filed by one of these is counted as staff-logged (a resident phoned or came to the office).
LOGGING_ROLES = frozenset({Role.BUTLER, Role.PROPERTY_MANAGER, Role.ADMIN, Role.MEDIATOR})


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class PlaceView:
    id: int
    compound_id: int
    code: str
    name: str
    kind: str
    building_id: int | None


@dataclass(frozen=True)
class ReportStart:
    person_id: int
    compound_id: int
    homes: list[Choice]  # household id → label
    spots: list[Choice]  # place id → name
    left_today: int


@dataclass(frozen=True)
class ReportDraft:
    kind: str
    urgency: str
    description: str
    household_id: int | None = None
    place_id: int | None = None
    photos: tuple[str, ...] = ()
    # Derived from the draft: submitting the same draft again returns the first ticket.
    request_key: str | None = None
    # Where it came in (supervisor figures): chat | qr | group | patrol; staff is decided from the reporter.
    channel: str = "chat"


@dataclass(frozen=True)
class TicketView:
    id: int
    number: str
    compound_id: int
    kind: str
    urgency: str
    status: str
    queue: str
    place_label: str
    public_label: str
    description: str
    photos: tuple[str, ...]
    reporter_id: int
    assignee_id: int | None
    assignee_name: str
    needs_help: bool
    escalation_level: int
    stage_due_at: datetime | None
    rating: int | None
    reopen_count: int
    created_at: datetime
    version: int


@dataclass(frozen=True)
class SubmitResult:
    ticket: TicketView
    duty_phone: str | None


@dataclass(frozen=True)
class DuplicateView:
    id: int
    number: str
    kind: str
    status: str
    public_label: str
    mine: bool = False  # the person reporting is the one who reported it (or already follows it)


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    action: str
    actor_name: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class TicketDetail:
    ticket: TicketView
    timeline: list[TimelineLine]
    viewer: str  # reporter | follower | staff
    timezone: str | None  # the compound's own; None: the deployment's (Settings.timezone)
    can_urge: bool


@dataclass(frozen=True)
class BoardView:
    compound_name: str
    counts: dict[str, int]
    overdue: list[TicketView]
    worst_rated: list[TicketView]
    timezone: str | None  # the compound's own; None: the deployment's (Settings.timezone)
    help_needed: list[TicketView] = field(default_factory=list)


# ---------------------------------------------------------------- helpers


def _view(ticket: RepairTicket, assignee: Person | None) -> TicketView:
    return TicketView(
        id=ticket.id,
        number=number_of(ticket.id),
        compound_id=ticket.compound_id,
        kind=ticket.kind,
        urgency=ticket.urgency,
        status=ticket.status,
        queue=ticket.queue,
        place_label=ticket.place_label,
        public_label=ticket.public_label,
        description=ticket.description,
        photos=tuple(ticket.photos or ()),
        reporter_id=ticket.reporter_id,
        assignee_id=ticket.assignee_id,
        assignee_name=assignee.display_name if assignee is not None else "",
        needs_help=ticket.needs_help,
        escalation_level=ticket.escalation_level,
        stage_due_at=ticket.stage_due_at,
        rating=ticket.rating,
        reopen_count=ticket.reopen_count,
        created_at=ticket.created_at,
        version=ticket.version,
    )


async def _ticket_view(uow: UnitOfWork, ticket: RepairTicket) -> TicketView:
    assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
    return _view(ticket, assignee)


async def _ticket(uow: UnitOfWork, ticket_id: int) -> RepairTicket:
    ticket = await uow.repairs.ticket(ticket_id)
    if ticket is None:
        raise UserFacingError("repairs.ticket_gone")
    return ticket


async def _roles_in(uow: UnitOfWork, person_id: int, compound_id: int) -> list[StaffRole]:
    return [
        r
        for r in await uow.community.roles_of(person_id)
        if r.compound_id is None or r.compound_id == compound_id
    ]


def _covers(role: StaffRole, building_id: int | None, kind: str) -> bool:
    if not role.areas:
        return True
    for area in role.areas:
        building_ok = area.building_id is None or area.building_id == building_id
        kinds = area.work_kinds or []
        if building_ok and (not kinds or kind in kinds):
            return True
    return False


async def _may_work_on(uow: UnitOfWork, person: Person, ticket: RepairTicket) -> bool:
    """Staff who may accept or handle this ticket: its assignee's peers in the right team."""
    roles = {r.role for r in await _roles_in(uow, person.id, ticket.compound_id)}
    if Role.PROPERTY_MANAGER in roles:
        return True
    if ticket.kind == WorkKind.DISPUTE.value:
        return Role.MEDIATOR in roles
    return Role.BUTLER in roles


async def _can_see(uow: UnitOfWork, person: Person, ticket: RepairTicket) -> str | None:
    if ticket.reporter_id == person.id:
        return Viewer.REPORTER
    if ticket.assignee_id == person.id:
        return "staff"
    roles = await _roles_in(uow, person.id, ticket.compound_id)
    names = {r.role for r in roles}
    if names & {Role.SUPERVISOR, Role.PROPERTY_MANAGER, Role.ADMIN}:
        return "staff"
    if Role.MEDIATOR in names and ticket.kind == WorkKind.DISPUTE.value:
        return "staff"
    if any(r.role == Role.BUTLER and _covers(r, ticket.building_id, ticket.kind) for r in roles):
        return "staff"
    if await uow.repairs.is_follower(ticket.id, person.id):
        return Viewer.FOLLOWER
    return None


async def _compound(uow: UnitOfWork, compound_id: int) -> Compound:
    compound = await uow.community.compound(compound_id)
    if compound is None:
        raise UserFacingError("repairs.ticket_gone")
    return compound


def tz_name(compound: Compound | None, default: str) -> str:
    """The compound's own time zone, else the deployment's (Settings.timezone, passed in as `default`)."""
    return (compound.timezone if compound is not None else None) or default


def local_time(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


async def policy_values(uow: UnitOfWork, compound_id: int) -> tuple[int, int, int, dict[str, Any]]:
    policy = await uow.repairs.policy(compound_id)
    if policy is None:
        return DEFAULT_DAILY_LIMIT, DEFAULT_URGE_HOURS, DEFAULT_AUTO_CLOSE_DAYS, {}
    return (
        policy.daily_limit or DEFAULT_DAILY_LIMIT,
        policy.urge_hours or DEFAULT_URGE_HOURS,
        policy.auto_close_days or DEFAULT_AUTO_CLOSE_DAYS,
        dict(policy.limits or {}),
    )


def limit_minutes(overrides: dict[str, Any], kind: str, urgency: str) -> tuple[int, int]:
    for key in (f"{kind}:{urgency}", f"*:{urgency}"):
        value = overrides.get(key)
        if isinstance(value, list | tuple) and len(value) == 2:
            return int(value[0]), int(value[1])
    return KIND_LIMITS.get(f"{kind}:{urgency}", DEFAULT_LIMITS.get(urgency, DEFAULT_LIMITS[Urgency.NORMAL]))


def _event(
    uow: UnitOfWork, ticket: RepairTicket, action: str, actor: Person | None, now: datetime, **detail: Any
) -> None:
    uow.repairs.add_event(ticket.id, actor.id if actor else None, action, detail, now)


async def schedule_stage(uow: UnitOfWork, ticket: RepairTicket, stage: str, now: datetime) -> None:
    """Start the accept or resolve clock: a reminder at 70% and the escalation at the limit."""
    await uow.repairs.cancel_timers(ticket.id, (TimerKind.REMIND, TimerKind.ESCALATE))
    _daily, _urge, _close, overrides = await policy_values(uow, ticket.compound_id)
    accept_minutes, resolve_minutes = limit_minutes(overrides, ticket.kind, ticket.urgency)
    minutes = accept_minutes if stage == "accept" else resolve_minutes
    due = now + timedelta(minutes=minutes)
    ticket.stage_due_at = due
    ticket.escalation_level = 0
    uow.repairs.add_timer(
        ticket.id, TimerKind.REMIND, now + timedelta(minutes=minutes * REMIND_FRACTION), now
    )
    uow.repairs.add_timer(ticket.id, TimerKind.ESCALATE, due, now)
    uow.schedule_changed()


async def schedule_autoclose(uow: UnitOfWork, ticket: RepairTicket, now: datetime) -> None:
    await uow.repairs.cancel_timers(ticket.id, (TimerKind.REMIND, TimerKind.ESCALATE, TimerKind.AUTOCLOSE))
    _daily, _urge, days, _limits = await policy_values(uow, ticket.compound_id)
    ticket.stage_due_at = None
    uow.repairs.add_timer(
        ticket.id, TimerKind.AUTOCLOSE, ticket.last_person_action_at + timedelta(days=days), now
    )
    uow.schedule_changed()


async def _bump(uow: UnitOfWork, ticket_id: int, expected_statuses: tuple[str, ...], **values: Any) -> bool:
    """The one way a ticket changes: only from the statuses expected, so a second press changes nothing."""
    return await uow.repairs.bump(ticket_id, expected_statuses, **values)


async def _reload(uow: UnitOfWork, ticket_id: int) -> RepairTicket:
    return await uow.repairs.reload(await _ticket(uow, ticket_id))


def writer_language(person: Person, words: str) -> str | None:
    """The language to put someone's own words in (and to answer them in): the one they chose; else English
    for words written in English; else the default (None). A ticket raised from typed words (an alert, a
    patrol's finding) wraps them in this language, so `reader_language` still sees the reporter's English."""
    if person.language:
        return person.language
    return "en" if written_in_english(words) else None


def reader_language(person: Person, ticket: RepairTicket) -> str | None:
    """The language of anything said to this person about this ticket: the one they chose; else, for its
    reporter, the one the report was written in (someone who never chose and reported "the kitchen tap is
    leaking" is not told in Chinese that it was fixed); else the default (None)."""
    if person.id == ticket.reporter_id:
        return writer_language(person, ticket.description or "")
    return person.language or None


async def _stale_refusal(uow: UnitOfWork, t: Translator, person: Person, ticket_id: int) -> UserFacingError:
    ticket = await _reload(uow, ticket_id)
    if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return UserFacingError(f"repairs.stale_now.{ticket.status}", number=number_of(ticket.id))
    if ticket.status == TicketStatus.ACCEPTED and ticket.assignee_id is not None:
        if ticket.assignee_id == person.id:
            return UserFacingError("repairs.already_yours", number=number_of(ticket.id))
        other = await uow.community.person(ticket.assignee_id)
        return UserFacingError("repairs.already_taken", name=other.display_name if other else "—")
    language = reader_language(person, ticket)
    return UserFacingError("repairs.stale", status=t(language, f"repairs.status.{ticket.status}"))
