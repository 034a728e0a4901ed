"""Staff changing balances by hand: awards and deductions with a reason, and reversing a mistaken entry."""

from __future__ import annotations

from datetime import datetime

from bot.db.models import Person
from bot.db.models.points import EntryKind
from bot.db.repositories.points import DuplicateEntry, Overdraft, PointsRepository
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import Translator
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.points import (
    PHONE_RE,
    REVERSE_ROLES,
    REVERSIBLE_KINDS,
    ROOM_RE,
    STAFF_ROLES,
    AwardView,
    check_manual_amount,
    check_reason,
    has_points_role,
    main_compound,
    person_and_compound,
)


async def _award_scope(uow: UnitOfWork, person_id: int, compound_id: int) -> set[int] | None:
    """Buildings whose people this staff member may award; None: the whole compound.

    Admins and the party office cover the compound; a building leader covers their own buildings."""
    buildings: set[int] = set()
    for role in await uow.community.roles_of(person_id):
        if role.compound_id not in (None, compound_id):
            continue
        if role.role in (Role.ADMIN.value, Role.SUPERVISOR.value):
            return None
        if role.role == Role.BUILDING_LEADER.value:
            areas = [a.building_id for a in role.areas]
            if not areas or None in areas:
                return None
            buildings.update(b for b in areas if b is not None)
    return buildings


async def _homes_in(uow: UnitOfWork, person_id: int) -> set[int]:
    return {r.household.unit.building_id for r in await uow.community.residencies_of(person_id)}


# Staff: manual awards, reversals, rules ----------


async def _find_target(uow: UnitOfWork, repo: PointsRepository, compound_id: int, target: str) -> Person:
    text = target.strip()
    if PHONE_RE.match(text):
        person = await uow.community.person_by_phone(text)
        if person is None or await main_compound(repo, person.id) != compound_id:
            raise UserFacingError("points.target_not_found", who=text)
        return person
    match = ROOM_RE.match(text)
    if match:
        building = await uow.community.building_by_name(compound_id, match["building"])
        unit = await uow.community.unit_by_name(building.id, match["unit"]) if building else None
        household = await uow.community.household_by_room(unit.id, match["room"]) if unit else None
        people = list(await repo.people_in_household(household.id)) if household else []
    else:
        people = list(await repo.people_named(compound_id, text))
    if not people:
        raise UserFacingError("points.target_not_found", who=text)
    if len(people) > 1:
        raise UserFacingError("points.target_ambiguous", who=text)
    return people[0]


async def award_points(
    uow: UnitOfWork,
    t: Translator,
    actor_telegram_id: int,
    target: str,
    amount: int,
    reason: str,
    request_key: str,
    now: datetime,
    *,
    deduct: bool = False,
) -> AwardView:
    """Staff award (or deduct) 1..MANUAL_LIMIT points by hand, with a reason. The same request: once."""
    async with uow:
        repo = uow.points
        actor, compound_id = await person_and_compound(uow, repo, actor_telegram_id)
        if not await has_points_role(repo, actor.id, STAFF_ROLES, compound_id):
            raise UserFacingError("points.not_staff")
        check_manual_amount(amount)
        text = check_reason(reason)
        person = await _find_target(uow, repo, compound_id, target)
        scope = await _award_scope(uow, actor.id, compound_id)
        if scope is not None and not scope & await _homes_in(uow, person.id):
            raise UserFacingError("points.not_your_building", name=person.display_name)
        key = f"manual:{actor.id}:{request_key}"[:160]
        account_id = await repo.ensure_account(person.id, compound_id, now)
        balance = await repo.lock_balance(account_id)
        earlier = await repo.entry_by_key(key)
        if earlier is not None:
            return AwardView(
                earlier.id, person.display_name, earlier.amount, earlier.balance_after, earlier.reason
            )
        try:
            entry = await repo.append(
                account_id=account_id,
                person_id=person.id,
                compound_id=compound_id,
                amount=-amount if deduct else amount,
                kind=EntryKind.DEDUCT if deduct else EntryKind.AWARD,
                earning=True,
                key=key,
                reason=text,
                ref_type="manual",
                ref_id=request_key[:120],
                actor_id=actor.id,
                now=now,
            )
        except Overdraft:
            raise UserFacingError(
                "points.would_overdraft", name=person.display_name, balance=balance
            ) from None
        await notify_person(
            uow,
            t,
            person,
            "points.deducted_notice" if deduct else "points.awarded_notice",
            now=now,
            dedupe_key=f"points-manual:{entry.id}",
            points=amount,
            reason=text,
            balance=entry.balance_after,
        )
        await uow.commit()
        return AwardView(entry.id, person.display_name, entry.amount, entry.balance_after, text)


async def reverse_entry(
    uow: UnitOfWork, t: Translator, actor_telegram_id: int, entry_id: int, reason: str, now: datetime
) -> AwardView:
    """Correct a mistake by a reversing entry (never by editing): once per entry, never into overdraft."""
    async with uow:
        repo = uow.points
        actor, compound_id = await person_and_compound(uow, repo, actor_telegram_id)
        if not await has_points_role(repo, actor.id, REVERSE_ROLES, compound_id):
            raise UserFacingError("points.not_staff")
        text = check_reason(reason)
        entry = await repo.entry(entry_id)
        if entry is None or entry.compound_id != compound_id:
            raise UserFacingError("points.entry_not_found", id=entry_id)
        if entry.kind not in REVERSIBLE_KINDS:
            raise UserFacingError("points.entry_not_reversible", id=entry_id)
        balance = await repo.lock_balance(entry.account_id)
        if await repo.reversal_of(entry.id) is not None:
            raise UserFacingError("points.entry_already_reversed", id=entry_id)
        person = await uow.community.person(entry.person_id)
        name = person.display_name if person else ""
        try:
            reversal = await repo.append(
                account_id=entry.account_id,
                person_id=entry.person_id,
                compound_id=entry.compound_id,
                amount=-entry.amount,
                kind=EntryKind.REVERSAL,
                earning=entry.earning,
                key=f"reversal:{entry.id}",
                reason=text,
                ref_type="entry",
                ref_id=str(entry.id),
                actor_id=actor.id,
                reverses_id=entry.id,
                now=now,
            )
        except Overdraft:
            raise UserFacingError("points.would_overdraft", name=name, balance=balance) from None
        except DuplicateEntry:
            raise UserFacingError("points.entry_already_reversed", id=entry_id) from None
        if person is not None:
            await notify_person(
                uow,
                t,
                person,
                "points.reversed_notice",
                now=now,
                dedupe_key=f"points-reversal:{reversal.id}",
                points=reversal.amount,
                reason=text,
                balance=reversal.balance_after,
            )
        await uow.commit()
        return AwardView(reversal.id, name, reversal.amount, reversal.balance_after, text)
