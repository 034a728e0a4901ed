from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from bot.db.models import (
    Building,
    Compound,
    GroupChat,
    Household,
    InviteCode,
    InviteRedemption,
    JoinRequest,
    Person,
    Residency,
    ResponsibilityArea,
    StaffRole,
    Unit,
)
from bot.db.models.community import JoinRequestStatus


class PersonRow(NamedTuple):
    id: int
    telegram_id: int | None
    display_name: str
    language: str | None
    reachable: bool
    has_roles: bool = True  # False: no active role, so the roles need no statement of their own


class HomeRow(NamedTuple):
    household_id: int
    compound_id: int
    compound_name: str
    building_id: int
    building: str
    unit_id: int
    unit: str
    room: str


class RoleRow(NamedTuple):
    role: str
    compound_id: int | None
    building_ids: tuple[int, ...]
    work_kinds: tuple[str, ...]


# The person's view is read on nearly every update. These two statements are built once and read plain rows:
# building the ORM statement (five joined loads) and turning its rows into entities cost several times the
# CPU SQLite spent answering it.
_people, _residencies, _households = (cast(Table, m.__table__) for m in (Person, Residency, Household))
_units, _buildings, _compounds = (cast(Table, m.__table__) for m in (Unit, Building, Compound))
_roles, _areas = (cast(Table, m.__table__) for m in (StaffRole, ResponsibilityArea))
_PERSON_AND_HOMES = (
    select(
        _people.c.id,
        _people.c.telegram_id,
        _people.c.display_name,
        _people.c.language,
        _people.c.reachable,
        _households.c.id,
        _buildings.c.compound_id,
        _compounds.c.name,
        _buildings.c.id,
        _buildings.c.name,
        _units.c.id,
        _units.c.name,
        _households.c.room,
        # Most people who write hold no role: knowing it here spares them the roles' statement.
        select(_roles.c.id)
        .where(_roles.c.person_id == _people.c.id, _roles.c.active.is_(true()))
        .exists()
        .label("has_roles"),
    )
    # Outer joins: inner ones would drop the row of a person without a home.
    .select_from(
        _people.outerjoin(_residencies, _residencies.c.person_id == _people.c.id)
        .outerjoin(_households, _households.c.id == _residencies.c.household_id)
        .outerjoin(_units, _units.c.id == _households.c.unit_id)
        .outerjoin(_buildings, _buildings.c.id == _units.c.building_id)
        .outerjoin(_compounds, _compounds.c.id == _buildings.c.compound_id)
    )
    .where(_people.c.telegram_id == bindparam("telegram_id"))
    .order_by(_residencies.c.id)
)
_ACTIVE_ROLES = (
    select(_roles.c.id, _roles.c.role, _roles.c.compound_id, _areas.c.building_id, _areas.c.work_kinds)
    .select_from(_roles.outerjoin(_areas, _areas.c.staff_role_id == _roles.c.id))
    .where(_roles.c.person_id == bindparam("person_id"), _roles.c.active.is_(true()))
    .order_by(_roles.c.id, _areas.c.id)
)
_PERSON_BY_TELEGRAM = select(Person).where(Person.telegram_id == bindparam("telegram_id"))
_SET_REACHABLE = update(_people).where(_people.c.id == bindparam("person_id")).values(reachable=True)


class CommunityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # people
    async def person_by_telegram(self, telegram_id: int) -> Person | None:
        return await self.session.scalar(_PERSON_BY_TELEGRAM, {"telegram_id": telegram_id})

    async def person_and_homes(self, telegram_id: int) -> tuple[PersonRow | None, list[HomeRow]]:
        """The person and their homes (household, unit, building, compound) in one statement."""
        rows = (await self.session.execute(_PERSON_AND_HOMES, {"telegram_id": telegram_id})).all()
        if not rows:
            return None, []
        first = rows[0]
        person = PersonRow(first[0], first[1], first[2], first[3], bool(first[4]), bool(first[13]))
        return person, [HomeRow._make(r[5:13]) for r in rows if r[5] is not None]

    async def active_role_rows(self, person_id: int) -> list[RoleRow]:
        """The person's active roles with their areas, as roles_of gives them, as plain rows."""
        grouped: dict[int, tuple[str, int | None, list[int], list[str]]] = {}
        for role_id, role, compound_id, building_id, kinds in await self.session.execute(
            _ACTIVE_ROLES, {"person_id": person_id}
        ):
            entry = grouped.get(role_id)
            if entry is None:
                entry = grouped[role_id] = (role, compound_id, [], [])
            if building_id is not None:
                entry[2].append(building_id)
            entry[3].extend(_kinds(kinds))
        return [RoleRow(r, c, tuple(b), tuple(k)) for r, c, b, k in grouped.values()]

    async def set_reachable(self, person_id: int) -> None:
        await self.session.execute(_SET_REACHABLE, {"person_id": person_id})

    async def person(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def person_by_phone(self, phone: str) -> Person | None:
        return await self.session.scalar(select(Person).where(Person.phone == phone))

    async def add_person(
        self, *, telegram_id: int | None, name: str, language: str | None, now: datetime
    ) -> Person:
        person = Person(telegram_id=telegram_id, display_name=name, language=language, created_at=now)
        self.session.add(person)
        await self.session.flush()
        return person

    async def roles_of(self, person_id: int, *, active_only: bool = True) -> list[StaffRole]:
        # Joined, not "select in": the person's view is built on most updates, one statement fewer each time.
        query = select(StaffRole).where(StaffRole.person_id == person_id).options(joinedload(StaffRole.areas))
        if active_only:
            query = query.where(StaffRole.active.is_(True))
        return list((await self.session.scalars(query.order_by(StaffRole.id))).unique())

    async def staff_role(self, person_id: int, role: str, compound_id: int | None) -> StaffRole | None:
        return await self.session.scalar(
            select(StaffRole)
            .where(
                StaffRole.person_id == person_id,
                StaffRole.role == role,
                StaffRole.compound_id.is_(None)
                if compound_id is None
                else StaffRole.compound_id == compound_id,
            )
            .options(selectinload(StaffRole.areas))
        )

    async def staff_with_role(self, compound_id: int, roles: Iterable[str]) -> list[tuple[StaffRole, Person]]:
        rows = await self.session.execute(
            select(StaffRole, Person)
            .join(Person, Person.id == StaffRole.person_id)
            .where(
                StaffRole.role.in_(list(roles)),
                StaffRole.active.is_(True),
                (StaffRole.compound_id == compound_id) | StaffRole.compound_id.is_(None),
            )
            .options(selectinload(StaffRole.areas))
            .order_by(StaffRole.id)
        )
        return [(r, p) for r, p in rows.all()]

    async def residencies_of(self, person_id: int) -> list[Residency]:
        return list(
            await self.session.scalars(
                select(Residency)
                .where(Residency.person_id == person_id)
                .options(
                    # One statement with joins instead of one per level: this runs on most updates.
                    joinedload(Residency.household, innerjoin=True)
                    .joinedload(Household.unit, innerjoin=True)
                    .joinedload(Unit.building, innerjoin=True)
                    .joinedload(Building.compound, innerjoin=True)
                )
                .order_by(Residency.id)
            )
        )

    async def residency(self, person_id: int, household_id: int) -> Residency | None:
        return await self.session.scalar(
            select(Residency).where(Residency.person_id == person_id, Residency.household_id == household_id)
        )

    async def residents_of(
        self,
        *,
        compound_id: int,
        building_id: int | None = None,
        unit_id: int | None = None,
    ) -> list[Person]:
        query = (
            select(Person)
            .join(Residency, Residency.person_id == Person.id)
            .join(Household, Household.id == Residency.household_id)
            .join(Unit, Unit.id == Household.unit_id)
            .join(Building, Building.id == Unit.building_id)
            .where(Building.compound_id == compound_id, Person.telegram_id.is_not(None))
            .distinct()
            .order_by(Person.id)
        )
        if building_id is not None:
            query = query.where(Building.id == building_id)
        if unit_id is not None:
            query = query.where(Unit.id == unit_id)
        return list(await self.session.scalars(query))

    # places
    async def compounds(self) -> list[Compound]:
        return list(await self.session.scalars(select(Compound).order_by(Compound.id)))

    async def compound(self, compound_id: int) -> Compound | None:
        return await self.session.get(Compound, compound_id)

    async def compound_by_name(self, name: str) -> Compound | None:
        return await self.session.scalar(select(Compound).where(Compound.name == name))

    async def buildings(self, compound_id: int) -> list[Building]:
        return list(
            await self.session.scalars(
                select(Building).where(Building.compound_id == compound_id).order_by(Building.id)
            )
        )

    async def building(self, building_id: int) -> Building | None:
        return await self.session.get(Building, building_id)

    async def building_by_name(self, compound_id: int, name: str) -> Building | None:
        return await self.session.scalar(
            select(Building).where(Building.compound_id == compound_id, Building.name == name)
        )

    async def units(self, building_id: int) -> list[Unit]:
        return list(
            await self.session.scalars(select(Unit).where(Unit.building_id == building_id).order_by(Unit.id))
        )

    async def unit(self, unit_id: int) -> Unit | None:
        return await self.session.get(Unit, unit_id, options=[selectinload(Unit.building)])

    async def unit_by_name(self, building_id: int, name: str) -> Unit | None:
        return await self.session.scalar(
            select(Unit).where(Unit.building_id == building_id, Unit.name == name)
        )

    async def households(self, unit_id: int) -> list[Household]:
        return list(
            await self.session.scalars(
                select(Household).where(Household.unit_id == unit_id).order_by(Household.id)
            )
        )

    async def household(self, household_id: int) -> Household | None:
        return await self.session.get(
            Household,
            household_id,
            options=[
                selectinload(Household.unit).selectinload(Unit.building).selectinload(Building.compound)
            ],
        )

    async def household_by_room(self, unit_id: int, room: str) -> Household | None:
        return await self.session.scalar(
            select(Household).where(Household.unit_id == unit_id, Household.room == room)
        )

    # invites and join requests
    async def invite_by_code(self, code: str) -> InviteCode | None:
        return await self.session.scalar(select(InviteCode).where(InviteCode.code == code))

    async def join_request(self, request_id: int) -> JoinRequest | None:
        return await self.session.get(
            JoinRequest,
            request_id,
            options=[
                selectinload(JoinRequest.household)
                .selectinload(Household.unit)
                .selectinload(Unit.building)
                .selectinload(Building.compound)
            ],
        )

    async def pending_join_request(self, person_id: int) -> JoinRequest | None:
        return await self.session.scalar(
            select(JoinRequest).where(
                JoinRequest.person_id == person_id, JoinRequest.status == JoinRequestStatus.PENDING
            )
        )

    async def join_requests_since(self, person_id: int, since: datetime) -> int:
        return int(
            await self.session.scalar(
                select(func.count(JoinRequest.id)).where(
                    JoinRequest.person_id == person_id, JoinRequest.created_at >= since
                )
            )
            or 0
        )

    # groups
    async def group(self, chat_id: int) -> GroupChat | None:
        return await self.session.scalar(select(GroupChat).where(GroupChat.chat_id == chat_id))

    async def groups_of(self, compound_id: int, purpose: str = "residents") -> list[GroupChat]:
        return list(
            await self.session.scalars(
                select(GroupChat)
                .where(GroupChat.compound_id == compound_id, GroupChat.purpose == purpose)
                .order_by(GroupChat.id)
            )
        )

    async def areas_for_building(self, building_id: int) -> list[ResponsibilityArea]:
        return list(
            await self.session.scalars(
                select(ResponsibilityArea).where(ResponsibilityArea.building_id == building_id)
            )
        )

    # writes (never committed here)
    async def add_compound(self, name: str, now: datetime) -> Compound:
        compound = Compound(name=name, created_at=now)
        self.session.add(compound)
        await self.session.flush()
        return compound

    async def add_building(self, compound_id: int, name: str) -> Building:
        building = Building(compound_id=compound_id, name=name)
        self.session.add(building)
        await self.session.flush()
        return building

    async def add_unit(self, building_id: int, name: str) -> Unit:
        unit = Unit(building_id=building_id, name=name)
        self.session.add(unit)
        await self.session.flush()
        return unit

    async def add_household(self, unit_id: int, room: str, floor_area: Decimal | None) -> Household:
        household = Household(unit_id=unit_id, room=room, floor_area=floor_area)
        self.session.add(household)
        await self.session.flush()
        return household

    async def add_roster_person(self, name: str, phone: str, now: datetime) -> Person:
        """Someone the roster names, before they ever write to the bot (no Telegram account yet)."""
        person = Person(display_name=name, phone=phone, created_at=now)
        self.session.add(person)
        await self.session.flush()
        return person

    async def add_staff_role(
        self, person_id: int, role: str, compound_id: int | None, now: datetime, *, source: str | None = None
    ) -> StaffRole:
        """A new active role, its (empty) areas loaded so the caller may fill them."""
        staff_role = StaffRole(
            person_id=person_id, role=role, compound_id=compound_id, created_at=now, active=True
        )
        if source is not None:
            staff_role.source = source
        self.session.add(staff_role)
        await self.session.flush()
        await self.session.refresh(staff_role, ["areas"])
        return staff_role

    async def active_roster_roles(self) -> list[tuple[StaffRole, Person]]:
        """Every active role the roster (not an invite) gave, with its person."""
        rows = await self.session.execute(
            select(StaffRole, Person)
            .join(Person, Person.id == StaffRole.person_id)
            .where(StaffRole.source == "roster", StaffRole.active.is_(True))
        )
        return [(r, p) for r, p in rows.all()]

    async def add_residency(
        self, person_id: int, household_id: int, now: datetime, *, relation: str | None = None
    ) -> Residency:
        residency = Residency(person_id=person_id, household_id=household_id, created_at=now)
        if relation is not None:
            residency.relation = relation
        self.session.add(residency)
        await self.session.flush()
        return residency

    async def add_invite(self, invite: InviteCode) -> InviteCode:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def consume_invite(self, invite_id: int, person_id: int, now: datetime) -> bool:
        """Count one use atomically (two phones redeeming the last use cannot both win) and record who used
        it; False when no use is left."""
        result = await self.session.execute(
            update(InviteCode)
            .where(InviteCode.id == invite_id, InviteCode.uses < InviteCode.max_uses)
            .values(uses=InviteCode.uses + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        self.session.add(InviteRedemption(invite_id=invite_id, person_id=person_id, created_at=now))
        return True

    async def add_join_request(self, person_id: int, household_id: int, now: datetime) -> JoinRequest:
        request = JoinRequest(
            person_id=person_id, household_id=household_id, status=JoinRequestStatus.PENDING, created_at=now
        )
        self.session.add(request)
        await self.session.flush()
        return request

    async def decide_join_request(
        self, request: JoinRequest, status: JoinRequestStatus, decider_id: int, now: datetime
    ) -> bool:
        """Decide a pending request; False (and the request re-read) when someone decided it first: only the
        first of two approvers pressing at once matches a pending row."""
        result = await self.session.execute(
            update(JoinRequest)
            .where(JoinRequest.id == request.id, JoinRequest.status == JoinRequestStatus.PENDING)
            .values(status=status, decided_by=decider_id, decided_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await self.session.refresh(request)
            return False
        return True

    async def add_group(self, chat_id: int, title: str) -> GroupChat:
        group = GroupChat(chat_id=chat_id, title=title)
        self.session.add(group)
        return group


def _kinds(value: Any) -> list[str]:
    return list(value) if value else []
