"""Reporting: places (and their QR codes), the report's start, duplicates, routing to a butler and the
new ticket; following someone else's ticket."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from bot.db.models import Person
from bot.db.models.repairs import RepairPlace
from bot.db.repositories.repairs import Conflict
from bot.db.uow import UnitOfWork
from bot.i18n import Translator
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.people import require_person
from bot.services.repairs_cards import (
    _alert_roles,
    _send_task_card,
    refresh_group_cards,
)
from bot.services.repairs_common import (
    ACTIVE_STATUSES,
    CHANNELS,
    KINDS,
    URGENCIES,
    Channel,
    Queue,
    TicketStatus,
    Urgency,
    number_of,
)
from bot.services.repairs_core import (
    DESCRIPTION_LIMIT,
    LOGGING_ROLES,
    PHOTO_LIMIT,
    PLACE_CODE_ALPHABET,
    DuplicateView,
    PlaceView,
    ReportDraft,
    ReportStart,
    SubmitResult,
    TicketView,
    _compound,
    _covers,
    _event,
    _roles_in,
    _ticket,
    _ticket_view,
    _view,
    policy_values,
    schedule_stage,
)
from bot.services.views import Choice
from bot.work_kinds import WorkKind

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
    existing = await uow.repairs.place_by_name(compound_id, name)
    if existing is not None:
        return existing
    code = _new_place_code()
    while await uow.repairs.place_by_code(code) is not None:
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
        places = [_place_view(p) for p in await uow.repairs.places(compound_id)]
        await uow.commit()
        return places


async def poster_places(
    uow: UnitOfWork, compound_id: int, now: datetime
) -> tuple[list[PlaceView], str | None]:
    """Every place of the compound (created for new buildings and units first) and its duty phone, for the
    printed posters."""
    places = await ensure_building_places(uow, compound_id, now)
    async with uow:
        compound = await uow.community.compound(compound_id)
        return places, compound.duty_phone if compound else None


async def place_by_code(uow: UnitOfWork, code: str) -> PlaceView | None:
    if not code or len(code) > 16 or not code.isalnum():
        return None
    async with uow:
        place = await uow.repairs.place_by_code(code.upper())
        return _place_view(place) if place is not None else None


# ---------------------------------------------------------------- reporting


async def start_report(
    uow: UnitOfWork, telegram_id: int, now: datetime, *, place_id: int | None = None
) -> ReportStart:
    async with uow:
        person = await require_person(uow, telegram_id)
        homes = [r.household for r in await uow.community.residencies_of(person.id)]
        compound_ids = [h.unit.building.compound_id for h in homes]
        compound_ids += [
            r.compound_id for r in await uow.community.roles_of(person.id) if r.compound_id is not None
        ]
        if not compound_ids:
            raise UserFacingError("common.not_registered")
        compound_id = compound_ids[0]
        if place_id is not None:
            place = await uow.repairs.place(place_id)
            if place is None:
                raise UserFacingError("repairs.place_unknown")
            if place.compound_id not in compound_ids:
                raise UserFacingError("repairs.place_other_compound")
            compound_id = place.compound_id
        daily, _urge, _close, _limits = await policy_values(uow, compound_id)
        used = await uow.repairs.reports_since(person.id, now - timedelta(days=1))
        home_choices = [
            Choice(h.id, f"{h.unit.building.name}{h.unit.name}{h.room}")
            for h in homes
            if h.unit.building.compound_id == compound_id
        ]
        spots = [Choice(p.id, p.name) for p in await uow.repairs.places(compound_id, ("spot",))]
        return ReportStart(person.id, compound_id, home_choices, spots, max(0, daily - used))


async def _where(uow: UnitOfWork, person: Person, draft: ReportDraft) -> tuple[int, int | None, str, str]:
    """compound, building, private label, public label. Checks the place is really the person's to report."""
    if draft.place_id is not None:
        place = await uow.repairs.place(draft.place_id)
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
        person = await require_person(uow, telegram_id)
        compound_id, _b, _l, _p = await _where(uow, person, draft)
        ticket = await uow.repairs.open_duplicate(compound_id, draft.kind, draft.household_id, draft.place_id)
        if ticket is None:
            return None
        mine = ticket.reporter_id == person.id or await uow.repairs.is_follower(ticket.id, person.id)
        return DuplicateView(
            ticket.id, number_of(ticket.id), ticket.kind, ticket.status, ticket.public_label, mine=mine
        )


async def _route(
    uow: UnitOfWork, compound_id: int, building_id: int | None, kind: str
) -> tuple[str, Person | None]:
    if kind == WorkKind.DISPUTE.value:
        queue, wanted = Queue.MEDIATION, [Role.MEDIATOR]
    else:
        queue, wanted = Queue.BUTLER, [Role.BUTLER]
    candidates = [
        (role, person)
        for role, person in await uow.community.staff_with_role(compound_id, wanted)
        if person.telegram_id is not None and (queue == Queue.MEDIATION or _covers(role, building_id, kind))
    ]
    if queue == Queue.BUTLER:
        candidates = [(r, p) for r, p in candidates if r.areas]  # a butler with no area covers nothing yet
    if not candidates:
        return Queue.DUTY, None
    counts = await uow.repairs.open_counts(p.id for _, p in candidates)
    best = min(candidates, key=lambda rp: (counts.get(rp[1].id, 0), rp[1].id))
    return queue, best[1]


async def submit_report(
    uow: UnitOfWork, t: Translator, telegram_id: int, draft: ReportDraft, now: datetime
) -> SubmitResult:
    async with uow:
        person = await require_person(uow, telegram_id)
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
        draft.urgency != Urgency.EMERGENCY
        and await uow.repairs.reports_since(person.id, now - timedelta(days=1)) >= daily
    ):
        raise UserFacingError("repairs.daily_limit", limit=daily)
    queue, assignee = await _route(uow, compound_id, building_id, draft.kind)
    channel = draft.channel if draft.channel in CHANNELS else Channel.CHAT
    if channel == Channel.CHAT and any(
        r.role in LOGGING_ROLES for r in await _roles_in(uow, person.id, compound_id)
    ):
        channel = Channel.STAFF
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
        channel=channel,
        description=draft.description[:DESCRIPTION_LIMIT],
        photos=list(draft.photos[:PHOTO_LIMIT]),
        status=TicketStatus.OPEN,
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
    if ticket.urgency == Urgency.EMERGENCY:
        # An emergency someone already has is news for the manager, not a queue waiting for a taker.
        watchers: list[str] = [Role.SUPERVISOR, *([Role.PROPERTY_MANAGER] if assignee is not None else [])]
        await _alert_roles(uow, t, ticket, watchers, "repairs.n.emergency_alert", now)
    await refresh_group_cards(uow, t, ticket, now)
    view = _view(ticket, assignee)
    return SubmitResult(view, compound.duty_phone)


async def follow(uow: UnitOfWork, telegram_id: int, ticket_id: int, now: datetime) -> TicketView:
    async with uow:
        person = await require_person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        if ticket.status not in ACTIVE_STATUSES:
            raise UserFacingError("repairs.follow_closed", number=number_of(ticket.id))
        homes = [r.household.unit.building.compound_id for r in await uow.community.residencies_of(person.id)]
        if ticket.compound_id not in homes and not await _roles_in(uow, person.id, ticket.compound_id):
            raise UserFacingError("repairs.not_yours")
        if ticket.reporter_id != person.id and not await uow.repairs.is_follower(ticket.id, person.id):
            await uow.repairs.add_follower(ticket.id, person.id, now)
            _event(uow, ticket, "followed", None, now)
        view = await _ticket_view(uow, ticket)
        await uow.commit()
        return view
