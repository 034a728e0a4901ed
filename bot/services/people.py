"""Who is talking to the bot: first contact, language, and the person's homes and roles."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.db.engine import commit_count
from bot.db.models import Person, Residency, StaffRole
from bot.db.repositories.community import HomeRow, PersonRow
from bot.db.uow import UnitOfWork
from bot.i18n import SUPPORTED_LANGUAGES
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.views import HomeView, PersonView, RoleView

NAME_LIMIT = 100
# Who coordinates a compound's volunteers (patrols, events, announcements).
STAFF_ROLES: tuple[str, ...] = (Role.COORDINATOR.value, Role.ADMIN.value, Role.SUPERVISOR.value)


# ---------------------------------------------------------------------------------------------------------
# who is asking: the one place every capability looks a person up and checks their roles


async def require_person(uow: UnitOfWork, telegram_id: int, missing: str = "common.not_registered") -> Person:
    """The person behind a Telegram account; `missing` is the refusal a stranger reads."""
    person = await uow.community.person_by_telegram(telegram_id)
    if person is None:
        raise UserFacingError(missing)
    return person


async def has_role(uow: UnitOfWork, person_id: int, roles: Iterable[str], compound_id: int) -> bool:
    """Whether the person holds one of `roles` in this compound (a role without a compound covers all)."""
    wanted = set(roles)
    return any(
        role.role in wanted and (role.compound_id is None or role.compound_id == compound_id)
        for role in await uow.community.roles_of(person_id)
    )


async def require_staff(
    uow: UnitOfWork,
    person: Person,
    compound_id: int | None = None,
    roles: Iterable[str] = STAFF_ROLES,
) -> set[int] | None:
    """Compounds this person coordinates; None means every compound. Refuses someone without such a role,
    or without it in `compound_id` when given."""
    wanted = set(roles)
    held = [r for r in await uow.community.roles_of(person.id) if r.role in wanted]
    if not held:
        raise UserFacingError("common.not_allowed")
    if any(r.compound_id is None for r in held):
        return None
    ids = {r.compound_id for r in held if r.compound_id is not None}
    if compound_id is not None and compound_id not in ids:
        raise UserFacingError("common.not_allowed")
    return ids


def commits() -> int:
    """How many transactions this process has committed that changed people, homes or roles: a person's view
    read before the last of them may be out of date (a registration, a new role), one read after it is not."""
    return commit_count()


def home_view(residency: Residency) -> HomeView:
    household = residency.household
    unit = household.unit
    building = unit.building
    return HomeView(
        household_id=household.id,
        compound_id=building.compound_id,
        compound_name=building.compound.name,
        building_id=building.id,
        building=building.name,
        unit_id=unit.id,
        unit=unit.name,
        room=household.room,
    )


def role_view(role: StaffRole) -> RoleView:
    return RoleView(
        role=role.role,
        compound_id=role.compound_id,
        building_ids=tuple(a.building_id for a in role.areas if a.building_id is not None),
        work_kinds=tuple(kind for a in role.areas for kind in (a.work_kinds or [])),
    )


async def person_view(
    uow: UnitOfWork, person: Person, residencies: list[Residency] | None = None
) -> PersonView:
    if residencies is None:
        residencies = await uow.community.residencies_of(person.id)
    roles = await uow.community.roles_of(person.id)
    return PersonView(
        id=person.id,
        telegram_id=person.telegram_id,
        name=person.display_name,
        language=person.language,
        homes=[home_view(r) for r in residencies],
        roles=[role_view(r) for r in roles],
    )


async def get_or_create(uow: UnitOfWork, telegram_id: int, display_name: str, now: datetime) -> Person:
    """The caller commits. A person who writes to the bot again is reachable again."""
    person = await uow.community.person_by_telegram(telegram_id)
    if person is None:
        person = await uow.community.add_person(
            telegram_id=telegram_id, name=display_name[:NAME_LIMIT], language=None, now=now
        )
    elif not person.reachable:
        person.reachable = True
    return person


async def ensure_person(uow: UnitOfWork, telegram_id: int, display_name: str, now: datetime) -> PersonView:
    async with uow:
        view, wrote = await ensure_in(uow, telegram_id, display_name, now)
        if wrote:
            await uow.commit()
        return view


async def ensure_in(
    uow: UnitOfWork, telegram_id: int, display_name: str, now: datetime
) -> tuple[PersonView, bool]:
    """ensure_person inside the caller's open unit of work (a page that reads more in the same transaction);
    the bool: something was written, which the caller commits."""
    found, homes = await uow.community.person_and_homes(telegram_id)
    if found is not None:
        view = await _view_of(uow, found, homes)
        if not found.reachable:
            await uow.community.set_reachable(found.id)
            return view, True
        return view, False
    person = await get_or_create(uow, telegram_id, display_name, now)
    # Just created: no home and no role can point at this person yet, so nothing more to read.
    view = PersonView(
        id=person.id,
        telegram_id=telegram_id,
        name=person.display_name,
        language=person.language,
        homes=[],
        roles=[],
    )
    return view, True


async def whoami(uow: UnitOfWork, telegram_id: int) -> PersonView | None:
    async with uow:
        person, homes = await uow.community.person_and_homes(telegram_id)
        if person is None:
            return None
        return await _view_of(uow, person, homes)


async def _view_of(uow: UnitOfWork, person: PersonRow, homes: list[HomeRow]) -> PersonView:
    """The view from plain rows (person_view builds the same from entities)."""
    roles = await uow.community.active_role_rows(person.id) if person.has_roles else []
    return PersonView(
        id=person.id,
        telegram_id=person.telegram_id,
        name=person.display_name,
        language=person.language,
        homes=[HomeView(*home) for home in homes],
        roles=[RoleView(*role) for role in roles],
    )


async def set_language(
    uow: UnitOfWork, telegram_id: int, display_name: str, language: str, now: datetime
) -> str:
    if language not in SUPPORTED_LANGUAGES:
        raise UserFacingError("common.unknown_language")
    async with uow:
        person = await get_or_create(uow, telegram_id, display_name, now)
        person.language = language
        await uow.commit()
    return language


async def set_public_name(uow: UnitOfWork, telegram_id: int, opt_in: bool) -> bool:
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        if person is None:
            raise UserFacingError("common.not_registered")
        person.public_name_opt_in = opt_in
        await uow.commit()
    return opt_in
