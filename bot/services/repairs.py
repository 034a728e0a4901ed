"""Repairs and butler tasks: 报修 → 派单 → 处理 → 回访, a closed loop.

Rules live here: who may see or act on a ticket, routing, duplicates, the daily limit, time limits and the
escalation ladder (timers in repairs_schedule.py). Every state change is a conditional UPDATE, so two presses
at once give one result.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.db.models import Compound, Person, StaffRole
from bot.db.models.repairs import RepairPlace, RepairTicket
from bot.db.repositories.repairs import ACTIVE_STATUSES, Conflict, RepairsRepository
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_chat, notify_person
from bot.i18n import Translator
from bot.notices.repairs import Notice, group_card, rating_rows, task_card, ticket_labels
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.views import Choice
from bot.work_kinds import WorkKind

PREFIX = "rp"  # staff and resident buttons on tickets
KINDS: tuple[str, ...] = tuple(k.value for k in WorkKind)
URGENCIES = ("normal", "urgent", "emergency")
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
DEFAULT_TZ = "Asia/Shanghai"
# Minutes to accept and to resolve, by urgency; a few kinds take longer by nature.
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "emergency": (10, 4 * 60),
    "urgent": (30, 24 * 60),
    "normal": (2 * 60, 3 * 24 * 60),
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


def number_of(ticket_id: int) -> str:
    return f"BX{ticket_id:05d}"


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
    timezone: str
    can_urge: bool


@dataclass(frozen=True)
class BoardView:
    compound_name: str
    counts: dict[str, int]
    overdue: list[TicketView]
    worst_rated: list[TicketView]
    timezone: str
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


def repo(uow: UnitOfWork) -> RepairsRepository:
    return uow.repairs


async def _person(uow: UnitOfWork, telegram_id: int) -> Person:
    person = await uow.community.person_by_telegram(telegram_id)
    if person is None:
        raise UserFacingError("common.not_registered")
    return person


async def _ticket(uow: UnitOfWork, ticket_id: int) -> RepairTicket:
    ticket = await repo(uow).ticket(ticket_id)
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
        return "reporter"
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
    if await repo(uow).is_follower(ticket.id, person.id):
        return "follower"
    return None


async def _compound(uow: UnitOfWork, compound_id: int) -> Compound:
    compound = await uow.community.compound(compound_id)
    if compound is None:
        raise UserFacingError("repairs.ticket_gone")
    return compound


def tz_name(compound: Compound | None) -> str:
    return (compound.timezone if compound is not None else None) or DEFAULT_TZ


def local_time(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


async def policy_values(uow: UnitOfWork, compound_id: int) -> tuple[int, int, int, dict[str, Any]]:
    policy = await repo(uow).policy(compound_id)
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
    return KIND_LIMITS.get(f"{kind}:{urgency}", DEFAULT_LIMITS.get(urgency, DEFAULT_LIMITS["normal"]))


def _event(
    uow: UnitOfWork, ticket: RepairTicket, action: str, actor: Person | None, now: datetime, **detail: Any
) -> None:
    uow.repairs.add_event(ticket.id, actor.id if actor else None, action, detail, now)


async def schedule_stage(uow: UnitOfWork, ticket: RepairTicket, stage: str, now: datetime) -> None:
    """Start the accept or resolve clock: a reminder at 70% and the escalation at the limit."""
    await repo(uow).cancel_timers(ticket.id, ("remind", "escalate"))
    _daily, _urge, _close, overrides = await policy_values(uow, ticket.compound_id)
    accept_minutes, resolve_minutes = limit_minutes(overrides, ticket.kind, ticket.urgency)
    minutes = accept_minutes if stage == "accept" else resolve_minutes
    due = now + timedelta(minutes=minutes)
    ticket.stage_due_at = due
    ticket.escalation_level = 0
    uow.repairs.add_timer(ticket.id, "remind", now + timedelta(minutes=minutes * REMIND_FRACTION), now)
    uow.repairs.add_timer(ticket.id, "escalate", due, now)
    uow.schedule_changed()


async def schedule_autoclose(uow: UnitOfWork, ticket: RepairTicket, now: datetime) -> None:
    await repo(uow).cancel_timers(ticket.id, ("remind", "escalate", "autoclose"))
    _daily, _urge, days, _limits = await policy_values(uow, ticket.compound_id)
    ticket.stage_due_at = None
    uow.repairs.add_timer(ticket.id, "autoclose", ticket.last_person_action_at + timedelta(days=days), now)
    uow.schedule_changed()


# ---------------------------------------------------------------- places


def _new_place_code() -> str:
    return "".join(secrets.choice(PLACE_CODE_ALPHABET) for _ in range(8))


def _place_view(place: RepairPlace) -> PlaceView:
    return PlaceView(place.id, place.compound_id, place.code, place.name, place.kind, place.building_id)


async def ensure_spot(uow: UnitOfWork, compound_id: int, name: str, now: datetime) -> int:
    """A public spot by name, created if new, inside the caller's unit of work; returns its id."""
    building_id = await _building_for_spot(uow, compound_id, name)
    place = await _ensure_place(uow, compound_id, name[:60], "spot", now, building_id=building_id)
    return place.id


async def _ensure_place(
    uow: UnitOfWork,
    compound_id: int,
    name: str,
    kind: str,
    now: datetime,
    *,
    building_id: int | None = None,
    unit_id: int | None = None,
) -> RepairPlace:
    existing = await repo(uow).place_by_name(compound_id, name)
    if existing is not None:
        return existing
    code = _new_place_code()
    while await repo(uow).place_by_code(code) is not None:
        code = _new_place_code()
    return await uow.repairs.add_place(
        compound_id=compound_id,
        code=code,
        name=name,
        kind=kind,
        building_id=building_id,
        unit_id=unit_id,
        now=now,
    )


async def _building_for_spot(uow: UnitOfWork, compound_id: int, name: str) -> int | None:
    """ "3栋电梯" belongs to 3栋: routing then finds that building's butler."""
    best: tuple[int, int] | None = None
    for building in await uow.community.buildings(compound_id):
        if name.startswith(building.name) and (best is None or len(building.name) > best[1]):
            best = (building.id, len(building.name))
    return best[0] if best else None


async def ensure_places(
    uow: UnitOfWork, compound_id: int, names: list[str], now: datetime
) -> list[PlaceView]:
    """Public spots (东门, 地下车库B1, 3栋电梯) of a compound, created once each; returns them all."""
    async with uow:
        await _compound(uow, compound_id)
        views = []
        for raw in names:
            name = raw.strip()[:60]
            if not name:
                continue
            building_id = await _building_for_spot(uow, compound_id, name)
            views.append(
                _place_view(await _ensure_place(uow, compound_id, name, "spot", now, building_id=building_id))
            )
        await uow.commit()
        return views


async def ensure_building_places(uow: UnitOfWork, compound_id: int, now: datetime) -> list[PlaceView]:
    """A place (and QR code) for every building and unit, then every place of the compound for posters."""
    async with uow:
        await _compound(uow, compound_id)
        for building in await uow.community.buildings(compound_id):
            await _ensure_place(uow, compound_id, building.name, "building", now, building_id=building.id)
            for unit in await uow.community.units(building.id):
                await _ensure_place(
                    uow,
                    compound_id,
                    f"{building.name}{unit.name}",
                    "unit",
                    now,
                    building_id=building.id,
                    unit_id=unit.id,
                )
        places = [_place_view(p) for p in await repo(uow).places(compound_id)]
        await uow.commit()
        return places


async def place_by_code(uow: UnitOfWork, code: str) -> PlaceView | None:
    if not code or len(code) > 16 or not code.isalnum():
        return None
    async with uow:
        place = await repo(uow).place_by_code(code.upper())
        return _place_view(place) if place is not None else None


# ---------------------------------------------------------------- reporting


async def start_report(
    uow: UnitOfWork, telegram_id: int, now: datetime, *, place_id: int | None = None
) -> ReportStart:
    async with uow:
        person = await _person(uow, telegram_id)
        homes = [r.household for r in await uow.community.residencies_of(person.id)]
        compound_ids = [h.unit.building.compound_id for h in homes]
        compound_ids += [
            r.compound_id for r in await uow.community.roles_of(person.id) if r.compound_id is not None
        ]
        if not compound_ids:
            raise UserFacingError("common.not_registered")
        compound_id = compound_ids[0]
        if place_id is not None:
            place = await repo(uow).place(place_id)
            if place is None:
                raise UserFacingError("repairs.place_unknown")
            if place.compound_id not in compound_ids:
                raise UserFacingError("repairs.place_other_compound")
            compound_id = place.compound_id
        daily, _urge, _close, _limits = await policy_values(uow, compound_id)
        used = await repo(uow).reports_since(person.id, now - timedelta(days=1))
        home_choices = [
            Choice(h.id, f"{h.unit.building.name}{h.unit.name}{h.room}")
            for h in homes
            if h.unit.building.compound_id == compound_id
        ]
        spots = [Choice(p.id, p.name) for p in await repo(uow).places(compound_id, ("spot",))]
        return ReportStart(person.id, compound_id, home_choices, spots, max(0, daily - used))


async def _where(uow: UnitOfWork, person: Person, draft: ReportDraft) -> tuple[int, int | None, str, str]:
    """compound, building, private label, public label. Checks the place is really the person's to report."""
    if draft.place_id is not None:
        place = await repo(uow).place(draft.place_id)
        if place is None:
            raise UserFacingError("repairs.place_unknown")
        return place.compound_id, place.building_id, place.name, place.name
    if draft.household_id is not None:
        if await uow.community.residency(person.id, draft.household_id) is None:
            raise UserFacingError("repairs.place_unknown")
        household = await uow.community.household(draft.household_id)
        assert household is not None
        building = household.unit.building
        return (
            building.compound_id,
            building.id,
            f"{building.name}{household.unit.name}{household.room}",
            building.name,
        )
    raise UserFacingError("repairs.place_unknown")


async def find_duplicate(uow: UnitOfWork, telegram_id: int, draft: ReportDraft) -> DuplicateView | None:
    async with uow:
        person = await _person(uow, telegram_id)
        compound_id, _b, _l, _p = await _where(uow, person, draft)
        ticket = await repo(uow).open_duplicate(compound_id, draft.kind, draft.household_id, draft.place_id)
        if ticket is None:
            return None
        mine = ticket.reporter_id == person.id or await repo(uow).is_follower(ticket.id, person.id)
        return DuplicateView(
            ticket.id, number_of(ticket.id), ticket.kind, ticket.status, ticket.public_label, mine=mine
        )


async def _route(
    uow: UnitOfWork, compound_id: int, building_id: int | None, kind: str
) -> tuple[str, Person | None]:
    if kind == WorkKind.DISPUTE.value:
        queue, wanted = "mediation", [Role.MEDIATOR]
    else:
        queue, wanted = "butler", [Role.BUTLER]
    candidates = [
        (role, person)
        for role, person in await uow.community.staff_with_role(compound_id, wanted)
        if person.telegram_id is not None and (queue == "mediation" or _covers(role, building_id, kind))
    ]
    if queue == "butler":
        candidates = [(r, p) for r, p in candidates if r.areas]  # a butler with no area covers nothing yet
    if not candidates:
        return "duty", None
    counts = await repo(uow).open_counts(p.id for _, p in candidates)
    best = min(candidates, key=lambda rp: (counts.get(rp[1].id, 0), rp[1].id))
    return queue, best[1]


async def submit_report(
    uow: UnitOfWork, t: Translator, telegram_id: int, draft: ReportDraft, now: datetime
) -> SubmitResult:
    async with uow:
        person = await _person(uow, telegram_id)
        earlier = await _ticket_for_draft(uow, person, draft)
        if earlier is not None:
            return earlier
        result = await create_ticket(uow, t, person, draft, now)
        try:
            await uow.commit()
        except Conflict:
            await uow.rollback()  # the same draft submitted at the same moment from another phone
            earlier = await _ticket_for_draft(uow, person, draft)
            if earlier is None:
                raise
            return earlier
        return result


async def _ticket_for_draft(uow: UnitOfWork, person: Person, draft: ReportDraft) -> SubmitResult | None:
    if draft.request_key is None:
        return None
    ticket = await uow.repairs.ticket_by_request_key(person.id, draft.request_key)
    if ticket is None:
        return None
    compound = await _compound(uow, ticket.compound_id)
    return SubmitResult(await _ticket_view(uow, ticket), compound.duty_phone)


async def create_ticket(
    uow: UnitOfWork, t: Translator, person: Person, draft: ReportDraft, now: datetime
) -> SubmitResult:
    """Create, route and announce a ticket inside the caller's open unit of work (the caller commits).

    Used by the resident's report and by other capabilities (a patrol's finding becomes a hazard ticket).
    """
    if draft.kind not in KINDS or draft.urgency not in URGENCIES:
        raise UserFacingError("repairs.draft_broken")
    compound_id, building_id, label, public = await _where(uow, person, draft)
    daily, _urge, _close, _limits = await policy_values(uow, compound_id)
    if (
        draft.urgency != "emergency"
        and await repo(uow).reports_since(person.id, now - timedelta(days=1)) >= daily
    ):
        raise UserFacingError("repairs.daily_limit", limit=daily)
    queue, assignee = await _route(uow, compound_id, building_id, draft.kind)
    ticket = await uow.repairs.add_ticket(
        compound_id=compound_id,
        reporter_id=person.id,
        household_id=draft.household_id if draft.place_id is None else None,
        place_id=draft.place_id,
        building_id=building_id,
        place_label=label,
        public_label=public,
        kind=draft.kind,
        urgency=draft.urgency,
        description=draft.description[:DESCRIPTION_LIMIT],
        photos=list(draft.photos[:PHOTO_LIMIT]),
        status="open",
        queue=queue,
        assignee_id=assignee.id if assignee else None,
        escalation_level=0,
        needs_help=False,
        reopen_count=0,
        version=1,
        last_person_action_at=now,
        created_at=now,
        request_key=draft.request_key,
    )
    _event(uow, ticket, "created", person, now, urgency=draft.urgency)
    _event(
        uow,
        ticket,
        "assigned" if assignee else "queued",
        None,
        now,
        name=assignee.display_name if assignee else "",
        queue=queue,
    )
    await schedule_stage(uow, ticket, "accept", now)
    compound = await _compound(uow, compound_id)
    await _send_task_card(uow, t, ticket, assignee, now)
    if assignee is None:
        await _alert_roles(
            uow, t, ticket, [Role.PROPERTY_MANAGER], "repairs.n.duty_queue", now, with_accept=True
        )
    if ticket.urgency == "emergency":
        # An emergency someone already has is news for the manager, not a queue waiting for a taker.
        watchers: list[str] = [Role.SUPERVISOR, *([Role.PROPERTY_MANAGER] if assignee is not None else [])]
        await _alert_roles(uow, t, ticket, watchers, "repairs.n.emergency_alert", now)
    await refresh_group_cards(uow, t, ticket, now)
    view = _view(ticket, assignee)
    return SubmitResult(view, compound.duty_phone)


async def follow(uow: UnitOfWork, telegram_id: int, ticket_id: int, now: datetime) -> TicketView:
    async with uow:
        person = await _person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        if ticket.status not in ACTIVE_STATUSES:
            raise UserFacingError("repairs.follow_closed", number=number_of(ticket.id))
        homes = [r.household.unit.building.compound_id for r in await uow.community.residencies_of(person.id)]
        if ticket.compound_id not in homes and not await _roles_in(uow, person.id, ticket.compound_id):
            raise UserFacingError("repairs.not_yours")
        if ticket.reporter_id != person.id and not await repo(uow).is_follower(ticket.id, person.id):
            await uow.repairs.add_follower(ticket.id, person.id, now)
            _event(uow, ticket, "followed", None, now)
        view = await _ticket_view(uow, ticket)
        await uow.commit()
        return view


# ---------------------------------------------------------------- notices


async def card_contact(uow: UnitOfWork, telegram_id: int, ticket_id: int) -> bool | None:
    """For the viewer's copy of a card: None unless they are its assignee; else whether 📞 can be offered."""
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        ticket = await repo(uow).ticket(ticket_id)
        if person is None or ticket is None or ticket.assignee_id != person.id:
            return None
        return await reporter_has_phone(uow, ticket)


async def reporter_has_phone(uow: UnitOfWork, ticket: RepairTicket | TicketView) -> bool:
    reporter = await uow.community.person(ticket.reporter_id)
    return reporter is not None and bool(reporter.phone)


async def send_photos(
    uow: UnitOfWork, person: Person, ticket: RepairTicket, photos: list[str], now: datetime, tag: str
) -> None:
    """The report's photos (or the result photo) follow the card, by file id, captioned with the number."""
    if person.telegram_id is None:
        return
    for index, file_id in enumerate(photos):
        await uow.outbox.add(
            chat_id=person.telegram_id,
            person_id=person.id,
            method="sendPhoto",
            payload={"photo": file_id, "caption": number_of(ticket.id)},
            now=now,
            dedupe_key=f"rp:photo:{tag}:{ticket.id}:{person.id}:{index}",
        )


async def _send_task_card(
    uow: UnitOfWork, t: Translator, ticket: RepairTicket, assignee: Person | None, now: datetime
) -> None:
    if assignee is None:
        return
    phone = await reporter_has_phone(uow, ticket)
    card = task_card(t, assignee.language, ticket, reporter_phone=phone)
    key = "repairs.n.new_task_emergency" if ticket.urgency == "emergency" else "repairs.n.new_task"
    await notify_person(
        uow,
        t,
        assignee,
        key,
        now=now,
        reply_markup=card.markup(),
        dedupe_key=f"rp:task:{ticket.id}:{ticket.version}",
        card=card.text,
    )
    await send_photos(uow, assignee, ticket, list(ticket.photos or []), now, "report")


async def _alert_roles(
    uow: UnitOfWork,
    t: Translator,
    ticket: RepairTicket,
    roles: list[str],
    key: str,
    now: datetime,
    *,
    with_accept: bool = False,
    tag: str = "",
) -> int:
    sent = 0
    seen: set[int] = set()
    for _role, person in await uow.community.staff_with_role(ticket.compound_id, roles):
        if person.id in seen or (person.id == ticket.assignee_id and key != "repairs.n.escalated"):
            continue
        seen.add(person.id)
        card = task_card(t, person.language, ticket)
        assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
        row = await notify_person(
            uow,
            t,
            person,
            key,
            now=now,
            reply_markup=card.markup() if with_accept else None,
            dedupe_key=f"rp:{key}:{ticket.id}:{ticket.version}:{person.id}{tag}",
            card=card.text,
            name=assignee.display_name if assignee else t(person.language, "repairs.nobody"),
        )
        sent += row is not None
    return sent


async def _tell_residents(
    uow: UnitOfWork,
    t: Translator,
    ticket: RepairTicket,
    key: str,
    now: datetime,
    *,
    reporter_markup: bool = False,
    skip_person_id: int | None = None,
    **values: object,
) -> None:
    """Status changes go to the reporter and every follower, each in their own language."""
    people = [ticket.reporter_id, *await repo(uow).followers(ticket.id)]
    assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
    for person_id in dict.fromkeys(people):
        if person_id == skip_person_id:
            continue
        person = await uow.community.person(person_id)
        if person is None:
            continue
        labels = ticket_labels(t, person.language, ticket, assignee.display_name if assignee else "")
        markup = None
        if reporter_markup and person_id == ticket.reporter_id:
            markup = Notice("", rating_rows(t, person.language, ticket.id)).markup()
        await notify_person(
            uow,
            t,
            person,
            key,
            now=now,
            reply_markup=markup,
            dedupe_key=f"rp:res:{key}:{ticket.id}:{ticket.version}:{person_id}",
            **{**labels, **values},  # type: ignore[arg-type]
        )


def _card_buttons_for(ticket: RepairTicket, recipient_id: int | None, alert: bool) -> bool:
    """Who may still act from a copy of a card: the assignee; while it waits, whoever was asked to take it."""
    if ticket.status == "accepted":
        return recipient_id == ticket.assignee_id
    if ticket.status == "open":
        return alert or recipient_id == ticket.assignee_id
    return False


async def refresh_private_cards(uow: UnitOfWork, t: Translator, ticket: RepairTicket, now: datetime) -> None:
    """Every task card already sent to a person (the assignee's, the duty manager's, the alerts) is edited to
    the ticket's state, with buttons only for whoever may still use them: no "处理中" card with a live ✅ 完成
    after the ticket was closed. The sent message ids are the ones the outbox remembered."""
    assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
    tags = ["task", *CARD_NOTICES, *CARD_ALERTS]
    for row in await uow.repairs.card_messages(ticket.id, tags):
        parts = (row.dedupe_key or "").split(":")
        if len(parts) < 4 or parts[2] != str(ticket.id) or row.person_id is None:
            continue
        alert = parts[1] in CARD_ALERTS
        if parts[1] == "task":
            key = "repairs.n.new_task_emergency" if ticket.urgency == "emergency" else "repairs.n.new_task"
        elif alert or parts[1] in CARD_NOTICES:
            key = CARD_NOTICES.get(parts[1], parts[1])
        else:
            continue
        person = await uow.community.person(row.person_id)
        if person is None:
            continue
        had_buttons = bool((row.payload or {}).get("reply_markup", {}).get("inline_keyboard"))
        own = person.id == ticket.assignee_id
        phone = await reporter_has_phone(uow, ticket) if own else None
        card = task_card(
            t, person.language, ticket, assignee.display_name if assignee else "", reporter_phone=phone
        )
        keep = had_buttons and _card_buttons_for(ticket, person.id, alert=alert)
        markup = card.markup() if keep else Notice("").markup()
        name = assignee.display_name if assignee else t(person.language, "repairs.nobody")
        text = t(person.language, key, card=card.text, name=name)
        if row.status == "pending":
            row.payload = {**(row.payload or {}), "text": text, "reply_markup": markup}
        elif row.telegram_message_id is not None and row.chat_id is not None:
            await notify_chat(
                uow,
                text,
                chat_id=row.chat_id,
                now=now,
                reply_markup=markup,
                dedupe_key=f"{row.dedupe_key}:e{ticket.version}",
                method="editMessageText",
                extra={"message_id": row.telegram_message_id},
            )


# The notices that carry a copy of the task card, and so are edited as the ticket moves: the assignee's
# (by the dedupe key's tag) and the alerts to managers and supervisors (by their message key).
CARD_NOTICES = {"reopen": "repairs.n.reopened_staff", "urge": "repairs.n.urged"}
CARD_ALERTS = frozenset(
    {
        "repairs.n.duty_queue",
        "repairs.n.emergency_alert",
        "repairs.n.help",
        "repairs.n.escalated",
        "repairs.n.remind_queue",
        "repairs.n.urged_queue",
    }
)


async def refresh_group_cards(uow: UnitOfWork, t: Translator, ticket: RepairTicket, now: datetime) -> None:
    """Post the card to the compound's staff groups once, then edit it as the ticket moves; the private
    copies follow too."""
    await refresh_private_cards(uow, t, ticket, now)
    assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
    notice = group_card(t, ticket, assignee.display_name if assignee and ticket.status != "open" else "")
    text, markup = notice.text, notice.markup()
    for group in await uow.community.groups_of(ticket.compound_id, "staff"):
        key = f"rp:gcard:{ticket.id}:{group.chat_id}"
        row = await uow.repairs.message_by_key(key)
        if row is None:
            await notify_chat(uow, text, chat_id=group.chat_id, now=now, reply_markup=markup, dedupe_key=key)
        elif row.status == "pending":
            row.payload = {"text": text, "reply_markup": markup}
        elif row.telegram_message_id is not None:
            await notify_chat(
                uow,
                text,
                chat_id=group.chat_id,
                now=now,
                reply_markup=markup,
                dedupe_key=f"{key}:v{ticket.version}",
                method="editMessageText",
                extra={"message_id": row.telegram_message_id},
            )


async def _bump(uow: UnitOfWork, ticket_id: int, expected_statuses: tuple[str, ...], **values: Any) -> bool:
    """The one way a ticket changes: only from the statuses expected, so a second press changes nothing."""
    return await uow.repairs.bump(ticket_id, expected_statuses, **values)


async def _reload(uow: UnitOfWork, ticket_id: int) -> RepairTicket:
    return await uow.repairs.reload(await _ticket(uow, ticket_id))


async def _stale_refusal(uow: UnitOfWork, t: Translator, person: Person, ticket_id: int) -> UserFacingError:
    ticket = await _reload(uow, ticket_id)
    if ticket.status in ("resolved", "closed"):
        return UserFacingError(f"repairs.stale_now.{ticket.status}", number=number_of(ticket.id))
    if ticket.status == "accepted" and ticket.assignee_id is not None:
        if ticket.assignee_id == person.id:
            return UserFacingError("repairs.already_yours", number=number_of(ticket.id))
        other = await uow.community.person(ticket.assignee_id)
        return UserFacingError("repairs.already_taken", name=other.display_name if other else "—")
    return UserFacingError("repairs.stale", status=t(person.language, f"repairs.status.{ticket.status}"))


# ---------------------------------------------------------------- staff actions


async def _staff_person(uow: UnitOfWork, telegram_id: int, ticket: RepairTicket) -> Person:
    person = await _person(uow, telegram_id)
    if not await _may_work_on(uow, person, ticket):
        raise UserFacingError("repairs.not_staff")
    return person


async def accept(
    uow: UnitOfWork, t: Translator, telegram_id: int, ticket_id: int, now: datetime
) -> TicketView:
    async with uow:
        ticket = await _ticket(uow, ticket_id)
        person = await _staff_person(uow, telegram_id, ticket)
        if not await _bump(
            uow,
            ticket_id,
            ("open",),
            status="accepted",
            assignee_id=person.id,
            accepted_at=now,
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
        load = await repo(uow).open_counts(people)
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
            status="open",
            assignee_id=target.id if target else None,
            queue=ticket.queue if target else "duty",
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
        if ticket.status != "accepted":  # an old ✅ 完成: say what happened, not whose it is
            raise await _stale_refusal(uow, t, person, ticket_id)
        if ticket.assignee_id != person.id:
            raise UserFacingError("repairs.not_assignee")
        on_time = ticket.stage_due_at is None or now <= ticket.stage_due_at
        if not await _bump(
            uow,
            ticket_id,
            ("accepted",),
            status="resolved",
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


# ---------------------------------------------------------------- resident actions


async def rate(
    uow: UnitOfWork, t: Translator, telegram_id: int, ticket_id: int, stars: int, now: datetime
) -> TicketView:
    if not 1 <= stars <= 5:
        raise UserFacingError("repairs.stale", status="")
    async with uow:
        person = await _person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        if ticket.reporter_id != person.id:
            raise UserFacingError("repairs.not_yours")
        if not await _bump(
            uow,
            ticket_id,
            ("resolved",),
            status="closed",
            closed_at=now,
            close_reason="rated",
            rating=stars,
            last_person_action_at=now,
        ):
            ticket = await _reload(uow, ticket_id)
            if ticket.rating is not None:
                raise UserFacingError("repairs.already_rated", stars=ticket.rating)
            raise UserFacingError(
                "repairs.stale", status=t(person.language, f"repairs.status.{ticket.status}")
            )
        ticket = await _reload(uow, ticket_id)
        _event(uow, ticket, "rated", person, now, stars=stars)
        await repo(uow).cancel_timers(ticket.id, ("remind", "escalate", "autoclose"))
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
        person = await _person(uow, telegram_id)
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
        person = await _person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        if ticket.reporter_id != person.id:
            raise UserFacingError("repairs.not_yours")
        if ticket.status == "closed":
            raise UserFacingError("repairs.reopen_closed", number=number_of(ticket.id))
        assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
        still_staff = assignee is not None and await _may_work_on(uow, assignee, ticket)
        if not await _bump(
            uow,
            ticket_id,
            ("resolved",),
            status="accepted" if still_staff else "open",
            assignee_id=ticket.assignee_id if still_staff else None,
            queue=ticket.queue if still_staff else "duty",
            resolved_at=None,
            resolved_on_time=None,
            count_reopen=True,
            last_person_action_at=now,
        ):
            raise UserFacingError(
                "repairs.stale", status=t(person.language, f"repairs.status.{ticket.status}")
            )
        ticket = await _reload(uow, ticket_id)
        _event(uow, ticket, "reopened", person, now)
        await repo(uow).cancel_timers(ticket.id, ("autoclose",))
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
    from bot.services.repairs_schedule import escalate

    async with uow:
        person = await _person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        viewer = await _can_see(uow, person, ticket)
        if viewer not in ("reporter", "follower"):
            raise UserFacingError("repairs.not_yours")
        if ticket.status not in ACTIVE_STATUSES:
            raise UserFacingError(
                "repairs.urge_not_open", status=t(person.language, f"repairs.status.{ticket.status}")
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


# ---------------------------------------------------------------- lists


async def my_tickets(uow: UnitOfWork, telegram_id: int) -> list[TicketView]:
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        if person is None:
            return []
        return [
            await _ticket_view(uow, t) for t in await repo(uow).tickets_of_reporter_or_follower(person.id)
        ]


async def ticket_detail(uow: UnitOfWork, telegram_id: int, ticket_id: int, now: datetime) -> TicketDetail:
    async with uow:
        person = await _person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        viewer = await _can_see(uow, person, ticket)
        if viewer is None:
            raise UserFacingError("repairs.not_yours")
        lines = []
        names: dict[int, str] = {}
        for event in await repo(uow).events(ticket.id):
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
            viewer in ("reporter", "follower")
            and ticket.status in ACTIVE_STATUSES
            and (ticket.last_urge_at is None or now >= ticket.last_urge_at + timedelta(hours=hours))
        )
        compound = await uow.community.compound(ticket.compound_id)
        view = await _ticket_view(uow, ticket)
        if viewer == "follower":
            view = TicketView(**{**view.__dict__, "place_label": view.public_label, "description": ""})
        return TicketDetail(view, lines, viewer, tz_name(compound), can_urge)


async def staff_tasks(uow: UnitOfWork, telegram_id: int) -> list[TicketView]:
    """A butler's own open tasks, plus the duty queue for those who may take from it."""
    async with uow:
        person = await _person(uow, telegram_id)
        roles = await uow.community.roles_of(person.id)
        names = {r.role for r in roles}
        if not names & {Role.BUTLER, Role.PROPERTY_MANAGER, Role.MEDIATOR}:
            raise UserFacingError("common.not_allowed")
        mine = await repo(uow).active_assigned_to(person.id)
        compounds = {r.compound_id for r in roles if r.compound_id is not None}
        queue: list[RepairTicket] = []
        if Role.PROPERTY_MANAGER in names and compounds:
            queue = await repo(uow).unassigned_open(compounds)
        return [await _ticket_view(uow, t) for t in [*mine, *queue]]


async def board(uow: UnitOfWork, telegram_id: int, now: datetime) -> BoardView:
    async with uow:
        person = await _person(uow, telegram_id)
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
        counts = {s: 0 for s in ("open", "accepted", "resolved", "closed")}
        counts.update(await repo(uow).status_counts(compound_id))
        overdue = await repo(uow).overdue(compound_id, now, limit=10)
        rated = await repo(uow).worst_rated(compound_id, at_most=3, limit=5)
        help_needed = await repo(uow).help_needed(compound_id, limit=10)
        return BoardView(
            compound.name,
            counts,
            [await _ticket_view(uow, t) for t in overdue],
            [await _ticket_view(uow, t) for t in rated],
            tz_name(compound),
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
        policy = await repo(uow).policy(compound_id)
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
