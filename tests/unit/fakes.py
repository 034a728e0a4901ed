"""In-memory fakes of the unit of work and its repositories, for service tests without a database
(cosmicpython style). Each capability keeps its fakes in its own section below, so merges stay trivial."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from bot.db.models import OutboxMessage, Person
from bot.db.models.repairs import RepairEvent, RepairPlace, RepairPolicy, RepairTicket, RepairTimer

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


class FakeRepairsUnitOfWork:
    """What the repairs services need of a unit of work; records commits and the scheduler's re-arm."""

    def __init__(self) -> None:
        self.community = FakeRepairsCommunity()
        self.repairs = FakeRepairsRepository()
        self.outbox = FakeOutbox()
        self.repairs.outbox = self.outbox
        self.commits = 0
        self.rearmed = False
        self._schedule_changed = False

    async def __aenter__(self) -> FakeRepairsUnitOfWork:
        self._schedule_changed = False
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def schedule_changed(self) -> None:
        self._schedule_changed = True

    async def commit(self) -> None:
        self.commits += 1
        self.outbox.take_queued()
        self.rearmed = self.rearmed or self._schedule_changed
        self._schedule_changed = False

    async def rollback(self) -> None:
        self._schedule_changed = False
