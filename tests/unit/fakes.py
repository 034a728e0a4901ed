"""In-memory fakes of the unit of work and its repositories, for service tests without a database
(cosmicpython style). Each capability keeps its fakes in its own section below, so merges stay trivial.

People & points: model objects are the real mapped classes, never added to a session (the fakes give ids).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace, TracebackType
from typing import Any

from bot.db.models import (
    Building,
    Compound,
    Household,
    InviteCode,
    JoinRequest,
    OutboxMessage,
    Person,
    Residency,
    ResponsibilityArea,
    StaffRole,
    Unit,
)
from bot.db.models.community import JoinRequestStatus
from bot.db.models.events import CommunityEvent, EventReminder, EventRsvp, RsvpStatus
from bot.db.models.patrols import (
    PatrolReminder,
    PatrolRoute,
    PatrolSettings,
    PatrolShift,
    PlaceOffer,
    ShiftSignup,
    ShiftStatus,
    SignupStatus,
)
from bot.db.models.points import (
    Partner,
    PointsAccount,
    PointsEntry,
    PointsRule,
    RewardService,
    Voucher,
    VoucherStatus,
)
from bot.db.models.repairs import RepairEvent, RepairPlace, RepairPolicy, RepairTicket, RepairTimer
from bot.db.repositories.points import COUNTED_VOUCHER_STATUSES, DuplicateEntry, Overdraft

_ids = itertools.count(1)


def next_id() -> int:
    return next(_ids)


# ================================================================ shared: the outbox and the unit of work


class FakeOutbox:
    """Queued messages, deduplicated by key like the real outbox."""

    def __init__(self) -> None:
        self.messages: list[OutboxMessage] = []
        self._queued = 0

    def take_queued(self) -> int:
        queued, self._queued = self._queued, 0
        return queued

    async def add(
        self,
        *,
        chat_id: int,
        payload: dict[str, Any],
        now: datetime,
        method: str = "sendMessage",
        person_id: int | None = None,
        dedupe_key: str | None = None,
        purpose: str = "notice",
        not_before: datetime | None = None,
    ) -> OutboxMessage | None:
        if dedupe_key is not None and any(m.dedupe_key == dedupe_key for m in self.messages):
            return None
        row = OutboxMessage(
            id=len(self.messages) + 1,
            chat_id=chat_id,
            person_id=person_id,
            method=method,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=not_before or now,
            dedupe_key=dedupe_key,
            purpose=purpose,
            created_at=now,
        )
        self.messages.append(row)
        self._queued += 1
        return row

    def to(self, chat_id: int) -> list[str]:
        """The texts queued for one chat, in order."""
        return [m.payload.get("text", "") for m in self.messages if m.chat_id == chat_id]


class FakeUnitOfWork:
    """The shared base: commits count, nothing rolls back (the services refuse before they change anything);
    what a commit would wake is recorded: `woke_sender`, `rearmed`. A capability's fake unit of work adds its
    fake repositories (see its section)."""

    def __init__(self) -> None:
        self.outbox = FakeOutbox()
        self.activity_listeners: tuple[Any, ...] = ()
        self.commits = 0
        self.woke_sender = 0
        self.rearmed = 0
        self._schedule_changed = False

    async def __aenter__(self) -> FakeUnitOfWork:
        self._schedule_changed = False
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def schedule_changed(self) -> None:
        self._schedule_changed = True

    async def commit(self) -> None:
        self.commits += 1
        if self.outbox.take_queued():
            self.woke_sender += 1
        if self._schedule_changed:
            self.rearmed += 1
        self._schedule_changed = False

    async def rollback(self) -> None:
        self.outbox.take_queued()
        self._schedule_changed = False


# ================================================================ people & points
# community (people, places, roles, invites, join requests) and the points ledger


class FakePeopleUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.community = FakeCommunity()
        self.points = FakePoints(self.community)


@dataclass
class FakeCommunity:
    people: dict[int, Person] = field(default_factory=dict)
    compounds: dict[int, Compound] = field(default_factory=dict)
    households: dict[int, Household] = field(default_factory=dict)
    residencies: list[Residency] = field(default_factory=list)
    roles: list[StaffRole] = field(default_factory=list)
    join_requests: dict[int, JoinRequest] = field(default_factory=dict)
    invites: dict[int, InviteCode] = field(default_factory=dict)
    redemptions: list[tuple[int, int]] = field(default_factory=list)  # (invite id, person id)

    # building the world
    def add_home(
        self, compound: str = "幸福小区", building: str = "1栋", unit: str = "1单元", room: str = "101"
    ) -> Household:
        place = next((c for c in self.compounds.values() if c.name == compound), None)
        if place is None:
            place = Compound(id=next_id(), name=compound, timezone="Asia/Shanghai")
            place.buildings = []
            self.compounds[place.id] = place
        block = next((b for b in place.buildings if b.name == building), None)
        if block is None:
            block = Building(id=next_id(), compound_id=place.id, name=building)
            block.compound = place
        entrance = next((u for u in block.units if u.name == unit), None)
        if entrance is None:
            entrance = Unit(id=next_id(), building_id=block.id, name=unit)
            entrance.building = block
        home = Household(id=next_id(), unit_id=entrance.id, room=room)
        home.unit = entrance
        self.households[home.id] = home
        return home

    def add_resident(
        self, telegram_id: int | None, name: str, home: Household, phone: str | None = None
    ) -> Person:
        person = Person(id=next_id(), telegram_id=telegram_id, display_name=name, phone=phone)
        self.people[person.id] = person
        residency = Residency(id=next_id(), person_id=person.id, household_id=home.id, relation="resident")
        residency.household = home
        self.residencies.append(residency)
        return person

    def add_staff(
        self,
        telegram_id: int | None,
        name: str,
        role: str,
        compound_id: int | None,
        buildings: Iterable[int] = (),
    ) -> Person:
        person = Person(id=next_id(), telegram_id=telegram_id, display_name=name)
        self.people[person.id] = person
        self.grant(person, role, compound_id, buildings)
        return person

    def grant(
        self, person: Person, role: str, compound_id: int | None, buildings: Iterable[int] = ()
    ) -> StaffRole:
        staff_role = StaffRole(
            id=next_id(), person_id=person.id, role=role, compound_id=compound_id, active=True
        )
        staff_role.areas = [ResponsibilityArea(building_id=b, work_kinds=[]) for b in buildings]
        self.roles.append(staff_role)
        return staff_role

    def add_invite_code(
        self, code: str, kind: str, compound_id: int, max_uses: int = 1, **target: Any
    ) -> InviteCode:
        invite = InviteCode(
            id=next_id(),
            code=code,
            kind=kind,
            compound_id=compound_id,
            max_uses=max_uses,
            uses=0,
            revoked=False,
        )
        for name, value in target.items():
            setattr(invite, name, value)
        self.invites[invite.id] = invite
        return invite

    # CommunityRepository
    async def invite_by_code(self, code: str) -> InviteCode | None:
        return next((i for i in self.invites.values() if i.code == code), None)

    async def consume_invite(self, invite_id: int, person_id: int, now: datetime) -> bool:
        invite = self.invites[invite_id]
        if invite.uses >= invite.max_uses:
            return False
        invite.uses += 1
        self.redemptions.append((invite_id, person_id))
        return True

    async def person_by_telegram(self, telegram_id: int) -> Person | None:
        return next((p for p in self.people.values() if p.telegram_id == telegram_id), None)

    async def person(self, person_id: int) -> Person | None:
        return self.people.get(person_id)

    async def person_by_phone(self, phone: str) -> Person | None:
        return next((p for p in self.people.values() if p.phone == phone), None)

    async def add_person(
        self, *, telegram_id: int | None, name: str, language: str | None, now: datetime
    ) -> Person:
        person = Person(
            id=next_id(), telegram_id=telegram_id, display_name=name, language=language, created_at=now
        )
        self.people[person.id] = person
        return person

    async def roles_of(self, person_id: int, *, active_only: bool = True) -> list[StaffRole]:
        return [r for r in self.roles if r.person_id == person_id and (r.active or not active_only)]

    async def staff_role(self, person_id: int, role: str, compound_id: int | None) -> StaffRole | None:
        return next(
            (r for r in self.roles if (r.person_id, r.role, r.compound_id) == (person_id, role, compound_id)),
            None,
        )

    async def staff_with_role(self, compound_id: int, roles: Iterable[str]) -> list[tuple[StaffRole, Person]]:
        wanted = set(roles)
        return [
            (r, self.people[r.person_id])
            for r in self.roles
            if r.active and r.role in wanted and r.compound_id in (None, compound_id)
        ]

    async def residencies_of(self, person_id: int) -> list[Residency]:
        return [r for r in self.residencies if r.person_id == person_id]

    async def residency(self, person_id: int, household_id: int) -> Residency | None:
        return next(
            (r for r in self.residencies if (r.person_id, r.household_id) == (person_id, household_id)), None
        )

    async def add_residency(
        self, person_id: int, household_id: int, now: datetime, *, relation: str | None = None
    ) -> Residency:
        residency = Residency(
            id=next_id(), person_id=person_id, household_id=household_id, relation=relation or "resident"
        )
        residency.household = self.households[household_id]
        self.residencies.append(residency)
        return residency

    async def compound(self, compound_id: int) -> Compound | None:
        return self.compounds.get(compound_id)

    async def household(self, household_id: int) -> Household | None:
        return self.households.get(household_id)

    async def building_by_name(self, compound_id: int, name: str) -> Building | None:
        compound = self.compounds.get(compound_id)
        return next((b for b in compound.buildings if b.name == name), None) if compound else None

    async def unit_by_name(self, building_id: int, name: str) -> Unit | None:
        for compound in self.compounds.values():
            for building in compound.buildings:
                if building.id == building_id:
                    return next((u for u in building.units if u.name == name), None)
        return None

    async def household_by_room(self, unit_id: int, room: str) -> Household | None:
        return next((h for h in self.households.values() if h.unit_id == unit_id and h.room == room), None)

    async def pending_join_request(self, person_id: int) -> JoinRequest | None:
        return next(
            (
                r
                for r in self.join_requests.values()
                if r.person_id == person_id and r.status == JoinRequestStatus.PENDING
            ),
            None,
        )

    async def join_requests_since(self, person_id: int, since: datetime) -> int:
        return sum(
            1 for r in self.join_requests.values() if r.person_id == person_id and r.created_at >= since
        )

    async def add_join_request(self, person_id: int, household_id: int, now: datetime) -> JoinRequest:
        request = JoinRequest(
            id=next_id(),
            person_id=person_id,
            household_id=household_id,
            status=JoinRequestStatus.PENDING,
            created_at=now,
        )
        request.household = self.households[household_id]
        self.join_requests[request.id] = request
        return request

    async def join_request(self, request_id: int) -> JoinRequest | None:
        return self.join_requests.get(request_id)

    async def decide_join_request(
        self, request: JoinRequest, status: JoinRequestStatus, decider_id: int, now: datetime
    ) -> bool:
        if request.status != JoinRequestStatus.PENDING:
            return False
        request.status, request.decided_by, request.decided_at = status, decider_id, now
        return True


class FakePoints:
    """The points ledger in memory: the same guarantees as PointsRepository (no overdraft, one entry per
    idempotency key, one reversal per entry)."""

    def __init__(self, community: FakeCommunity) -> None:
        self.community = community
        self.accounts: dict[int, PointsAccount] = {}
        self.entries: list[PointsEntry] = []
        self.rules: dict[tuple[int, str], PointsRule] = {}
        self.partners: dict[int, Partner] = {}
        self.services: dict[int, RewardService] = {}
        self.vouchers: dict[int, Voucher] = {}
        self.members: list[tuple[int, int]] = []  # (partner id, merchant's person id)

    # building the world
    def add_shop(
        self, compound_id: int, shop: str, service: str, cost: int, stock: int | None = None
    ) -> RewardService:
        partner = Partner(id=next_id(), compound_id=compound_id, name=shop, address="", active=True)
        self.partners[partner.id] = partner
        item = RewardService(
            id=next_id(),
            partner_id=partner.id,
            compound_id=compound_id,
            category="服务",
            name=service,
            cost=cost,
            stock=stock,
            per_person_limit=None,
            validity_days=30,
            active=True,
        )
        self.services[item.id] = item
        return item

    def give(self, person_id: int, compound_id: int, balance: int) -> PointsAccount:
        """An account already holding `balance` (its history does not matter to these tests)."""
        account = PointsAccount(id=next_id(), person_id=person_id, compound_id=compound_id, balance=balance)
        self.accounts[account.id] = account
        return account

    def balance_of(self, person_id: int) -> int:
        return sum(a.balance for a in self.accounts.values() if a.person_id == person_id)

    # PointsRepository
    async def home_compounds(self, person_id: int) -> list[tuple[int, str]]:
        return [
            (r.household.unit.building.compound_id, r.household.unit.building.name)
            for r in await self.community.residencies_of(person_id)
        ]

    async def role_compounds(self, person_id: int) -> list[tuple[str, int | None]]:
        return [(r.role, r.compound_id) for r in await self.community.roles_of(person_id)]

    async def account_id(self, person_id: int, compound_id: int) -> int | None:
        return next(
            (
                a.id
                for a in self.accounts.values()
                if (a.person_id, a.compound_id) == (person_id, compound_id)
            ),
            None,
        )

    async def ensure_account(self, person_id: int, compound_id: int, now: datetime) -> int:
        existing = await self.account_id(person_id, compound_id)
        if existing is not None:
            return existing
        account = PointsAccount(id=next_id(), person_id=person_id, compound_id=compound_id, balance=0)
        self.accounts[account.id] = account
        return account.id

    async def account(self, account_id: int) -> PointsAccount | None:
        return self.accounts.get(account_id)

    async def lock_balance(self, account_id: int) -> int:
        return self.accounts[account_id].balance

    async def entry_by_key(self, key: str) -> PointsEntry | None:
        return next((e for e in self.entries if e.idempotency_key == key), None)

    async def entry(self, entry_id: int) -> PointsEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    async def reversal_of(self, entry_id: int) -> PointsEntry | None:
        return next((e for e in self.entries if e.reverses_id == entry_id), None)

    async def append(
        self,
        *,
        account_id: int,
        person_id: int,
        compound_id: int,
        amount: int,
        kind: str,
        key: str,
        now: datetime,
        reason: str = "",
        earning: bool = False,
        ref_type: str | None = None,
        ref_id: str | None = None,
        actor_id: int | None = None,
        reverses_id: int | None = None,
    ) -> PointsEntry:
        account = self.accounts[account_id]
        if account.balance + amount < 0:
            raise Overdraft()
        if await self.entry_by_key(key) is not None or (
            reverses_id is not None and await self.reversal_of(reverses_id) is not None
        ):
            raise DuplicateEntry()
        account.balance += amount
        entry = PointsEntry(
            id=next_id(),
            account_id=account_id,
            person_id=person_id,
            compound_id=compound_id,
            amount=amount,
            balance_after=account.balance,
            kind=kind,
            earning=earning,
            reason=reason[:200],
            ref_type=ref_type,
            ref_id=ref_id,
            idempotency_key=key,
            reverses_id=reverses_id,
            actor_id=actor_id,
            created_at=now,
        )
        self.entries.append(entry)
        return entry

    async def people_named(self, compound_id: int, name: str) -> list[Person]:
        found = []
        for person in self.community.people.values():
            if person.display_name != name:
                continue
            homes = {c for c, _ in await self.home_compounds(person.id)}
            roles = {c for _, c in await self.role_compounds(person.id)}
            if compound_id in homes | roles:
                found.append(person)
        return found

    async def people_in_household(self, household_id: int) -> list[Person]:
        return [
            self.community.people[r.person_id]
            for r in self.community.residencies
            if r.household_id == household_id
        ]

    async def service(self, service_id: int) -> RewardService | None:
        return self.services.get(service_id)

    async def partner(self, partner_id: int) -> Partner | None:
        return self.partners.get(partner_id)

    async def take_stock(self, service_id: int) -> bool:
        service = self.services[service_id]
        if service.stock is None:
            return True
        if service.stock <= 0:
            return False
        service.stock -= 1
        return True

    async def return_stock(self, service_id: int) -> None:
        service = self.services[service_id]
        if service.stock is not None:
            service.stock += 1

    async def voucher(self, voucher_id: int) -> Voucher | None:
        return self.vouchers.get(voucher_id)

    async def voucher_by_code(self, code: str) -> Voucher | None:
        return next((v for v in self.vouchers.values() if v.code == code), None)

    async def voucher_by_request(self, request_key: str) -> Voucher | None:
        return next((v for v in self.vouchers.values() if v.request_key == request_key), None)

    async def count_vouchers(self, person_id: int, service_id: int) -> int:
        return sum(
            1
            for v in self.vouchers.values()
            if (v.person_id, v.service_id) == (person_id, service_id) and v.status in COUNTED_VOUCHER_STATUSES
        )

    async def add_voucher(self, voucher: Voucher) -> Voucher:
        voucher.id = next_id()
        self.vouchers[voucher.id] = voucher
        return voucher

    async def reload_voucher(self, voucher: Voucher) -> Voucher:
        return voucher

    async def change_voucher_status(
        self, voucher_id: int, from_statuses: Iterable[str], **values: object
    ) -> bool:
        voucher = self.vouchers[voucher_id]
        if voucher.status not in set(from_statuses):
            return False
        for name, value in values.items():
            setattr(voucher, name, value)
        return True

    async def partners_of_member(self, person_id: int) -> list[Partner]:
        return [self.partners[p] for p, who in self.members if who == person_id]

    async def open_vouchers(self, person_id: int) -> list[Voucher]:
        return [
            v
            for v in self.vouchers.values()
            if v.person_id == person_id and v.status in (VoucherStatus.HELD, VoucherStatus.ACTIVE)
        ]


# ================================================================ events (community events, RSVPs, reminders)


@dataclass
class EventsFakeRole:
    role: str
    compound_id: int | None


@dataclass
class EventsFakeGroup:
    chat_id: int
    compound_id: int


@dataclass
class EventsFakeCommunity:
    """The community lookups the events service makes: people, their roles, compounds and groups."""

    people: list[Person] = field(default_factory=list)
    roles: dict[int, list[EventsFakeRole]] = field(default_factory=dict)
    compound_rows: list[Compound] = field(default_factory=list)
    groups: list[EventsFakeGroup] = field(default_factory=list)

    async def person_by_telegram(self, telegram_id: int) -> Person | None:
        return next((p for p in self.people if p.telegram_id == telegram_id), None)

    async def person(self, person_id: int) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)

    async def roles_of(self, person_id: int) -> list[EventsFakeRole]:
        return list(self.roles.get(person_id, []))

    async def compound(self, compound_id: int | None) -> Compound | None:
        return next((c for c in self.compound_rows if c.id == compound_id), None)

    async def compounds(self) -> list[Compound]:
        return list(self.compound_rows)

    async def groups_of(self, compound_id: int) -> list[EventsFakeGroup]:
        return [g for g in self.groups if g.compound_id == compound_id]

    async def staff_with_role(self, compound_id: int, roles: Iterable[str]) -> list[tuple[Any, Person]]:
        wanted = set(roles)
        return [
            (role, person)
            for person in self.people
            for role in self.roles.get(person.id, [])
            if role.role in wanted and role.compound_id in (None, compound_id)
        ]

    async def residents_of(self, **_: object) -> list[Person]:
        return []


class EventsFakeRepository:
    """The events repository in memory: the same answers the SQL gives, ordered the same way."""

    def __init__(self) -> None:
        self.events: list[CommunityEvent] = []
        self.rsvp_rows: list[EventRsvp] = []
        self.reminders: list[EventReminder] = []

    def add(self, row: object) -> None:
        row.id = next_id()  # type: ignore[attr-defined]
        if isinstance(row, CommunityEvent):
            self.events.append(row)
        elif isinstance(row, EventRsvp):
            self.rsvp_rows.append(row)
        elif isinstance(row, EventReminder):
            self.reminders.append(row)
        else:
            raise TypeError(row)

    async def flush(self) -> None:
        return None

    async def event(self, event_id: int) -> CommunityEvent | None:
        return next((e for e in self.events if e.id == event_id), None)

    async def by_code(self, code: str) -> CommunityEvent | None:
        return next((e for e in self.events if e.checkin_code == code), None)

    async def lock(self, event_id: int) -> bool:
        return await self.event(event_id) is not None

    async def rsvps(self, event_id: int, statuses: tuple[str, ...] = (RsvpStatus.GOING,)) -> list[EventRsvp]:
        rows = [r for r in self.rsvp_rows if r.event_id == event_id and r.status in statuses]
        return sorted(rows, key=lambda r: (r.created_at, r.id))

    async def rsvp(self, event_id: int, person_id: int) -> EventRsvp | None:
        return next((r for r in self.rsvp_rows if r.event_id == event_id and r.person_id == person_id), None)

    async def count_going(self, event_id: int) -> int:
        return len(await self.rsvps(event_id, (RsvpStatus.GOING,)))

    async def reminder(self, event_id: int, person_id: int, kind: str) -> EventReminder | None:
        return next(
            (
                r
                for r in self.reminders
                if r.event_id == event_id and r.person_id == person_id and r.kind == kind
            ),
            None,
        )

    async def drop_reminders(self, event_id: int, person_id: int | None = None) -> None:
        for r in self.reminders:
            if r.event_id == event_id and not r.done and person_id in (None, r.person_id):
                r.done, r.outcome = True, "skipped"

    async def claim_post(self, event_id: int) -> bool:
        event = await self.event(event_id)
        if event is None or event.posted:
            return False
        event.posted = True
        return True


class EventsFakeUnitOfWork(FakeUnitOfWork):
    """What the events service needs of a unit of work: the shared base, people and the events repository."""

    def __init__(self) -> None:
        super().__init__()
        self.community = EventsFakeCommunity()
        self.events = EventsFakeRepository()

    async def __aenter__(self) -> EventsFakeUnitOfWork:
        await super().__aenter__()
        return self


# ================================================================ patrols (shifts, sign-ups, waiting list)


class PatrolsFakeRepository:
    """The patrol repository in memory, for sign-up, cancel and refill (the people and the outbox are the
    events section's fakes: the same lookups)."""

    def __init__(self) -> None:
        self.routes: list[PatrolRoute] = []
        self.shifts: list[PatrolShift] = []
        self.signup_rows: list[ShiftSignup] = []
        self.reminders: list[PatrolReminder] = []
        self.offers: list[PlaceOffer] = []
        self.rules: dict[int, PatrolSettings] = {}

    def add(self, row: object) -> None:
        row.id = next_id()  # type: ignore[attr-defined]
        for kind, rows in (
            (PatrolRoute, self.routes),
            (PatrolShift, self.shifts),
            (ShiftSignup, self.signup_rows),
            (PatrolReminder, self.reminders),
            (PlaceOffer, self.offers),
        ):
            if isinstance(row, kind):
                rows.append(row)  # type: ignore[arg-type]
                return
        raise TypeError(row)

    async def flush(self) -> None:
        return None

    async def settings(self, compound_id: int) -> PatrolSettings:
        return self.rules.setdefault(compound_id, PatrolSettings.defaults(compound_id))

    async def route(self, route_id: int) -> PatrolRoute | None:
        return next((r for r in self.routes if r.id == route_id), None)

    async def shift(self, shift_id: int) -> PatrolShift | None:
        return next((s for s in self.shifts if s.id == shift_id), None)

    async def lock_shift(self, shift_id: int) -> bool:
        return await self.shift(shift_id) is not None

    async def signups(
        self, shift_id: int, statuses: tuple[str, ...] = (SignupStatus.BOOKED,)
    ) -> list[ShiftSignup]:
        rows = [s for s in self.signup_rows if s.shift_id == shift_id and s.status in statuses]
        return sorted(rows, key=lambda s: (s.created_at, s.id))

    async def signup(self, shift_id: int, person_id: int) -> ShiftSignup | None:
        return next(
            (s for s in self.signup_rows if s.shift_id == shift_id and s.person_id == person_id), None
        )

    async def count_booked(self, shift_id: int) -> int:
        return len(await self.signups(shift_id, (SignupStatus.BOOKED,)))

    async def person_bookings(
        self,
        person_id: int,
        start: datetime,
        end: datetime,
        statuses: tuple[str, ...] = (SignupStatus.BOOKED,),
    ) -> list[tuple[ShiftSignup, PatrolShift]]:
        found = []
        for signup in self.signup_rows:
            shift = await self.shift(signup.shift_id)
            if (
                shift is not None
                and signup.person_id == person_id
                and signup.status in statuses
                and shift.status != ShiftStatus.CANCELLED
                and shift.ends_at > start
                and shift.starts_at < end
            ):
                found.append((signup, shift))
        return sorted(found, key=lambda pair: pair[1].starts_at)

    async def reminder(self, shift_id: int, person_id: int | None, kind: str) -> PatrolReminder | None:
        return next(
            (
                r
                for r in self.reminders
                if r.shift_id == shift_id and r.person_id == person_id and r.kind == kind
            ),
            None,
        )

    async def drop_person_reminders(self, shift_id: int, person_id: int) -> None:
        for r in self.reminders:
            if r.shift_id == shift_id and r.person_id == person_id and not r.done:
                r.done, r.outcome = True, "skipped"


class PatrolsFakeUnitOfWork(EventsFakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.patrols = PatrolsFakeRepository()

    async def __aenter__(self) -> PatrolsFakeUnitOfWork:
        await super().__aenter__()
        return self
# ================================================================ repairs


@dataclass
class FakeCompound:
    id: int
    name: str = "阳光花园"
    timezone: str | None = "Asia/Shanghai"
    duty_phone: str | None = "0571-1234567"


@dataclass
class FakeRole:
    role: str
    compound_id: int | None
    areas: list[Any] = field(default_factory=list)


class FakeRepairsCommunity:
    """The part of the community repository the repairs services read: people, their roles, compounds."""

    def __init__(self) -> None:
        self.people: dict[int, Person] = {}
        self.roles: dict[int, list[FakeRole]] = {}
        self.compounds: dict[int, FakeCompound] = {}
        self.staff_groups: dict[int, list[int]] = {}

    def add_person(
        self, person_id: int, name: str, *, language: str = "zh_CN", phone: str | None = None
    ) -> Person:
        person = Person(
            id=person_id, telegram_id=1000 + person_id, display_name=name, language=language, phone=phone
        )
        person.reachable = True
        self.people[person_id] = person
        return person

    def give_role(self, person_id: int, role: str, compound_id: int, *, areas: Iterable[Any] = ()) -> None:
        self.roles.setdefault(person_id, []).append(FakeRole(role, compound_id, list(areas)))

    async def person(self, person_id: int) -> Person | None:
        return self.people.get(person_id)

    async def person_by_telegram(self, telegram_id: int) -> Person | None:
        return next((p for p in self.people.values() if p.telegram_id == telegram_id), None)

    async def roles_of(self, person_id: int) -> list[FakeRole]:
        return list(self.roles.get(person_id, []))

    async def staff_with_role(self, compound_id: int, roles: Iterable[str]) -> list[tuple[FakeRole, Person]]:
        wanted = set(roles)
        return [
            (role, self.people[pid])
            for pid, held in sorted(self.roles.items())
            for role in held
            if role.role in wanted and role.compound_id in (None, compound_id)
        ]

    async def compound(self, compound_id: int) -> FakeCompound | None:
        return self.compounds.get(compound_id)

    async def groups_of(self, compound_id: int, kind: str) -> list[SimpleNamespace]:
        return (
            [SimpleNamespace(chat_id=c) for c in self.staff_groups.get(compound_id, [])]
            if kind == "staff"
            else []
        )

    async def residencies_of(self, person_id: int) -> list[Any]:
        return []


class FakeRepairsRepository:
    """Tickets, their timeline and timers in memory, with the repository's rules: a change only from the
    statuses expected, each change one version up."""

    def __init__(self) -> None:
        self.tickets: dict[int, RepairTicket] = {}
        self.events: list[RepairEvent] = []
        self.timers: list[RepairTimer] = []
        self.followers_of: dict[int, list[int]] = {}
        self.policies: dict[int, RepairPolicy] = {}
        self.places: dict[int, RepairPlace] = {}
        self.outbox: FakeOutbox | None = None  # the card copies the services edit live in the outbox

    def add(self, ticket: RepairTicket) -> RepairTicket:
        self.tickets[ticket.id] = ticket
        return ticket

    async def ticket(self, ticket_id: int) -> RepairTicket | None:
        return self.tickets.get(ticket_id)

    async def reload(self, ticket: RepairTicket) -> RepairTicket:
        return self.tickets[ticket.id]

    async def bump(
        self, ticket_id: int, expected_statuses: Iterable[str], *, count_reopen: bool = False, **values: Any
    ) -> bool:
        ticket = self.tickets.get(ticket_id)
        if ticket is None or ticket.status not in set(expected_statuses):
            return False
        for key, value in values.items():
            setattr(ticket, key, value)
        if count_reopen:
            ticket.reopen_count += 1
        ticket.version += 1
        return True

    async def bump_version(self, ticket_id: int, version: int, **values: Any) -> bool:
        ticket = self.tickets.get(ticket_id)
        if ticket is None or ticket.version != version:
            return False
        for key, value in values.items():
            setattr(ticket, key, value)
        ticket.version += 1
        return True

    def add_event(
        self, ticket_id: int, actor_id: int | None, action: str, detail: dict[str, Any], at: datetime
    ) -> None:
        self.events.append(
            RepairEvent(ticket_id=ticket_id, actor_id=actor_id, action=action, detail=detail, at=at)
        )

    def actions(self, ticket_id: int) -> list[str]:
        return [e.action for e in self.events if e.ticket_id == ticket_id]

    def add_timer(self, ticket_id: int, kind: str, due_at: datetime, now: datetime) -> None:
        self.timers.append(
            RepairTimer(ticket_id=ticket_id, kind=kind, due_at=due_at, created_at=now, done=False)
        )

    def pending_timers(self, ticket_id: int) -> list[str]:
        return sorted(t.kind for t in self.timers if t.ticket_id == ticket_id and not t.done)

    async def cancel_timers(self, ticket_id: int, kinds: Iterable[str]) -> None:
        wanted = set(kinds)
        for timer in self.timers:
            if timer.ticket_id == ticket_id and timer.kind in wanted:
                timer.done = True

    async def policy(self, compound_id: int) -> RepairPolicy | None:
        return self.policies.get(compound_id)

    async def followers(self, ticket_id: int) -> list[int]:
        return list(self.followers_of.get(ticket_id, []))

    async def is_follower(self, ticket_id: int, person_id: int) -> bool:
        return person_id in self.followers_of.get(ticket_id, [])

    async def add_follower(self, ticket_id: int, person_id: int, now: datetime) -> None:
        self.followers_of.setdefault(ticket_id, []).append(person_id)

    async def open_counts(self, person_ids: Iterable[int]) -> dict[int, int]:
        ids = list(person_ids)
        counts = {pid: 0 for pid in ids}
        for ticket in self.tickets.values():
            if ticket.assignee_id in counts and ticket.status in ("open", "accepted"):
                counts[ticket.assignee_id] += 1
        return counts

    def _of(self, compound_id: int) -> list[RepairTicket]:
        return [t for _, t in sorted(self.tickets.items()) if t.compound_id == compound_id]

    async def status_counts(self, compound_id: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for ticket in self._of(compound_id):
            counts[ticket.status] = counts.get(ticket.status, 0) + 1
        return counts

    async def overdue(self, compound_id: int, now: datetime, limit: int) -> list[RepairTicket]:
        late = [
            t
            for t in self._of(compound_id)
            if t.status in ("open", "accepted") and t.stage_due_at is not None and t.stage_due_at <= now
        ]
        return late[:limit]

    async def help_needed(self, compound_id: int, limit: int) -> list[RepairTicket]:
        return [t for t in self._of(compound_id) if t.needs_help and t.status in ("open", "accepted")][:limit]

    async def worst_rated(self, compound_id: int, at_most: int, limit: int) -> list[RepairTicket]:
        rated = [t for t in self._of(compound_id) if t.rating is not None and t.rating <= at_most]
        return sorted(rated, key=lambda t: (t.rating, -t.id))[:limit]

    async def card_messages(self, ticket_id: int, tags: Iterable[str]) -> list[OutboxMessage]:
        if self.outbox is None:
            return []
        prefixes = tuple(f"rp:{tag}:{ticket_id}:" for tag in tags)
        return [
            m
            for m in self.outbox.messages
            if m.method == "sendMessage" and (m.dedupe_key or "").startswith(prefixes)
        ]

    async def message_by_key(self, dedupe_key: str) -> OutboxMessage | None:
        if self.outbox is None:
            return None
        return next((m for m in self.outbox.messages if m.dedupe_key == dedupe_key), None)


class FakeRepairsUnitOfWork(FakeUnitOfWork):
    """What the repairs services need of a unit of work (commits and the scheduler's re-arm recorded by the
    shared base)."""

    def __init__(self) -> None:
        super().__init__()
        self.community = FakeRepairsCommunity()
        self.repairs = FakeRepairsRepository()
        self.repairs.outbox = self.outbox
