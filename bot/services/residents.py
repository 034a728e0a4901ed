"""Binding a person to their home: invite codes, deep links and join requests approved with one tap."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.db.models import InviteCode, Person
from bot.db.models.community import InviteKind, JoinRequestStatus
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import Translator
from bot.notices.residents import join_request_buttons
from bot.roles import APPROVER_ROLES, Role
from bot.services.errors import UserFacingError
from bot.services.identity import attach_account
from bot.services.people import get_or_create, home_view, person_view
from bot.services.views import Choice, HomeView, PersonView

INVITE_CODE_RE = re.compile(r"^[A-Z2-9]{6,12}$")


@dataclass(frozen=True)
class InviteOutcome:
    kind: str  # bound_home | choose_room | role_granted | staff_bound
    person: PersonView
    home: HomeView | None = None
    role: str | None = None
    compound_name: str = ""
    building_id: int | None = None
    code: str = ""


@dataclass(frozen=True)
class JoinRequestView:
    id: int
    status: str
    home_label: str
    requester_name: str
    decided_by_name: str | None = None


def normalise_code(text: str) -> str:
    code = text.strip().upper().replace(" ", "").replace("-", "")
    if code.startswith("INV_"):
        code = code[4:]
    return code


async def _load_invite(
    uow: UnitOfWork, code: str, now: datetime, expected_compound_id: int | None
) -> InviteCode:
    code = normalise_code(code)
    if not INVITE_CODE_RE.match(code):
        raise UserFacingError("residents.invite_invalid")
    invite = await uow.community.invite_by_code(code)
    if invite is None or invite.revoked:
        raise UserFacingError("residents.invite_invalid")
    if invite.expires_at is not None and invite.expires_at <= now:
        raise UserFacingError("residents.invite_expired")
    if expected_compound_id is not None and invite.compound_id != expected_compound_id:
        compound = await uow.community.compound(invite.compound_id)
        raise UserFacingError("residents.invite_other_compound", compound=compound.name if compound else "")
    return invite


async def _consume(uow: UnitOfWork, invite: InviteCode, person: Person, now: datetime) -> None:
    """Count one use atomically, so two phones redeeming the last use cannot both win."""
    if not await uow.community.consume_invite(invite.id, person.id, now):
        raise UserFacingError("residents.invite_used")


async def redeem_invite(
    uow: UnitOfWork,
    telegram_id: int,
    display_name: str,
    code: str,
    now: datetime,
    *,
    expected_compound_id: int | None = None,
) -> InviteOutcome:
    async with uow:
        invite = await _load_invite(uow, code, now, expected_compound_id)
        person = await get_or_create(uow, telegram_id, display_name, now)
        compound = await uow.community.compound(invite.compound_id)
        compound_name = compound.name if compound else ""
        if invite.kind == InviteKind.HOUSEHOLD and invite.household_id is not None:
            if await uow.community.residency(person.id, invite.household_id) is not None:
                raise UserFacingError("residents.already_home")
            await _consume(uow, invite, person, now)
            await uow.community.add_residency(person.id, invite.household_id, now, relation="resident")
            view = await person_view(uow, person)
            await uow.commit()
            home = next(h for h in view.homes if h.household_id == invite.household_id)
            return InviteOutcome("bound_home", view, home=home, compound_name=compound_name, code=invite.code)
        if invite.kind == InviteKind.BUILDING and invite.building_id is not None:
            if invite.uses >= invite.max_uses:
                raise UserFacingError("residents.invite_used")
            view = await person_view(uow, person)
            await uow.commit()
            return InviteOutcome(
                "choose_room",
                view,
                compound_name=compound_name,
                building_id=invite.building_id,
                code=invite.code,
            )
        if invite.kind == InviteKind.ROLE and invite.role:
            if await uow.community.staff_role(person.id, invite.role, invite.compound_id) is not None:
                raise UserFacingError("residents.already_role")
            await _consume(uow, invite, person, now)
            await uow.community.add_staff_role(
                person.id, invite.role, invite.compound_id, now, source="invite"
            )
            view = await person_view(uow, person)
            await uow.commit()
            return InviteOutcome(
                "role_granted", view, role=invite.role, compound_name=compound_name, code=invite.code
            )
        if invite.kind == InviteKind.STAFF and invite.person_id is not None:
            roster_person = await uow.community.person(invite.person_id)
            if roster_person is None:
                raise UserFacingError("residents.invite_invalid")
            if roster_person.id == person.id:
                raise UserFacingError("residents.already_role")
            if roster_person.telegram_id is not None:
                raise UserFacingError("residents.invite_used")
            await _consume(uow, invite, roster_person, now)
            person = await attach_account(uow, person, roster_person)
            view = await person_view(uow, person)
            await uow.commit()
            role = view.roles[0].role if view.roles else None
            return InviteOutcome(
                "staff_bound", view, role=role, compound_name=compound_name, code=invite.code
            )
        raise UserFacingError("residents.invite_invalid")


async def bind_with_building_invite(
    uow: UnitOfWork, telegram_id: int, display_name: str, code: str, household_id: int, now: datetime
) -> InviteOutcome:
    async with uow:
        invite = await _load_invite(uow, code, now, None)
        household = await uow.community.household(household_id)
        if (
            invite.kind != InviteKind.BUILDING
            or household is None
            or household.unit.building_id != invite.building_id
        ):
            raise UserFacingError("residents.room_not_in_building")
        person = await get_or_create(uow, telegram_id, display_name, now)
        if await uow.community.residency(person.id, household_id) is not None:
            raise UserFacingError("residents.already_home")
        await _consume(uow, invite, person, now)
        await uow.community.add_residency(person.id, household_id, now)
        view = await person_view(uow, person)
        await uow.commit()
        home = next(h for h in view.homes if h.household_id == household_id)
        return InviteOutcome(
            "bound_home", view, home=home, compound_name=household.unit.building.compound.name
        )


# Browsing places for a join request (never in a group chat).
async def list_compounds(uow: UnitOfWork) -> list[Choice]:
    async with uow:
        return [Choice(c.id, c.name) for c in await uow.community.compounds()]


async def list_buildings(uow: UnitOfWork, compound_id: int) -> list[Choice]:
    async with uow:
        return [Choice(b.id, b.name) for b in await uow.community.buildings(compound_id)]


async def list_units(uow: UnitOfWork, building_id: int) -> list[Choice]:
    async with uow:
        return [Choice(u.id, u.name) for u in await uow.community.units(building_id)]


async def list_rooms(uow: UnitOfWork, unit_id: int) -> list[Choice]:
    async with uow:
        return [Choice(h.id, h.room) for h in await uow.community.households(unit_id)]


async def household_label(uow: UnitOfWork, household_id: int) -> str:
    async with uow:
        household = await uow.community.household(household_id)
        if household is None:
            raise UserFacingError("residents.place_gone")
        unit = household.unit
        return f"{unit.building.compound.name} {unit.building.name}{unit.name}{household.room}"


async def _approvers(uow: UnitOfWork, compound_id: int, building_id: int) -> list[Person]:
    people: dict[int, Person] = {}
    leaders = await uow.community.staff_with_role(compound_id, [Role.BUILDING_LEADER])
    for role, person in leaders:
        buildings = {a.building_id for a in role.areas}
        if building_id in buildings or not buildings or None in buildings:
            people[person.id] = person
    if not people:
        for _role, person in await uow.community.staff_with_role(compound_id, APPROVER_ROLES):
            people[person.id] = person
    return [p for p in people.values() if p.telegram_id is not None]


async def request_join(
    uow: UnitOfWork,
    t: Translator,
    telegram_id: int,
    display_name: str,
    household_id: int,
    now: datetime,
    *,
    daily_limit: int,
) -> JoinRequestView:
    async with uow:
        person = await get_or_create(uow, telegram_id, display_name, now)
        household = await uow.community.household(household_id)
        if household is None:
            raise UserFacingError("residents.place_gone")
        if await uow.community.residency(person.id, household_id) is not None:
            raise UserFacingError("residents.already_home")
        if await uow.community.pending_join_request(person.id) is not None:
            raise UserFacingError("residents.join_pending")
        if await uow.community.join_requests_since(person.id, now - timedelta(days=1)) >= daily_limit:
            raise UserFacingError("residents.join_limit", limit=daily_limit)
        building = household.unit.building
        approvers = await _approvers(uow, building.compound_id, building.id)
        if not approvers:
            raise UserFacingError("residents.no_approver")
        request = await uow.community.add_join_request(person.id, household_id, now)
        label = f"{building.compound.name} {building.name}{household.unit.name}{household.room}"
        for approver in approvers:
            await notify_person(
                uow,
                t,
                approver,
                "residents.join_request_card",
                now=now,
                reply_markup=join_request_buttons(t, approver.language, request.id),
                dedupe_key=f"join:{request.id}:{approver.id}",
                name=person.display_name or "—",
                home=label,
            )
        await uow.commit()
        return JoinRequestView(request.id, JoinRequestStatus.PENDING, label, person.display_name)


MenuFor = Callable[[PersonView, str | None], dict[str, Any]]


async def decide_join(
    uow: UnitOfWork,
    t: Translator,
    request_id: int,
    decider_telegram_id: int,
    approve: bool,
    now: datetime,
    *,
    menu_for: MenuFor | None = None,
) -> JoinRequestView:
    """One decision, however many approvers press; an approved requester gets their menu with the news."""
    async with uow:
        request = await uow.community.join_request(request_id)
        if request is None:
            raise UserFacingError("residents.join_gone")
        decider = await uow.community.person_by_telegram(decider_telegram_id)
        building = request.household.unit.building
        if decider is None or decider.id not in {
            p.id for p in await _approvers(uow, building.compound_id, building.id)
        }:
            raise UserFacingError("common.not_allowed")
        label = (
            f"{building.compound.name} {building.name}{request.household.unit.name}{request.household.room}"
        )
        requester = await uow.community.person(request.person_id)
        requester_name = requester.display_name if requester else ""
        status = JoinRequestStatus.APPROVED if approve else JoinRequestStatus.REJECTED
        # Two approvers pressing at once: only the first decides.
        if not await uow.community.decide_join_request(request, status, decider.id, now):
            decided_by = await uow.community.person(request.decided_by) if request.decided_by else None
            # Build the message before the transaction ends: rollback expires every loaded object.
            refusal = UserFacingError(
                "residents.join_already_decided",
                status=t(decider.language, f"residents.status_{request.status}"),
                name=decided_by.display_name if decided_by else "—",
            )
            raise refusal
        already_home = requester is None or (
            await uow.community.residency(requester.id, request.household_id) is not None
        )
        if approve and requester is not None and not already_home:
            await uow.community.add_residency(requester.id, request.household_id, now)
        if requester is not None:
            menu = None
            if approve and menu_for is not None:
                menu = menu_for(await person_view(uow, requester), requester.language)
            await notify_person(
                uow,
                t,
                requester,
                "residents.join_approved" if approve else "residents.join_rejected",
                now=now,
                reply_markup=menu,
                dedupe_key=f"join-result:{request.id}",
                home=label,
            )
        await uow.commit()
        return JoinRequestView(
            request.id, status, label, requester_name, decided_by_name=decider.display_name
        )


async def my_homes(uow: UnitOfWork, telegram_id: int) -> list[HomeView]:
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        if person is None:
            return []
        return [home_view(r) for r in await uow.community.residencies_of(person.id)]
