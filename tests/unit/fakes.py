"""In-memory fakes of the unit of work and its repositories, for service tests without a database
(cosmicpython style). Each capability keeps its fakes in its own section below, so merges stay trivial.

Model objects are the real mapped classes, never added to a session: the fakes give them ids themselves.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from bot.db.models import Compound, Person
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

# ================================================================ events (community events, RSVPs, reminders)

_event_ids = itertools.count(1)


@dataclass
class EventsQueued:
    chat_id: int
    person_id: int | None
    text: str
    dedupe_key: str | None


class EventsFakeOutbox:
    """Queued messages, deduplicated by key like the real outbox."""

    def __init__(self) -> None:
        self.messages: list[EventsQueued] = []
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
    ) -> EventsQueued | None:
        if dedupe_key is not None and any(m.dedupe_key == dedupe_key for m in self.messages):
            return None
        message = EventsQueued(chat_id, person_id, str(payload.get("text", "")), dedupe_key)
        self.messages.append(message)
        self._queued += 1
        return message

    def to(self, chat_id: int) -> list[str]:
        return [m.text for m in self.messages if m.chat_id == chat_id]


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
        row.id = next(_event_ids)  # type: ignore[attr-defined]
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


class EventsFakeUnitOfWork:
    """What the events service needs of a unit of work; `commits` counts successful commits."""

    def __init__(self) -> None:
        self.community = EventsFakeCommunity()
        self.events = EventsFakeRepository()
        self.outbox = EventsFakeOutbox()
        self.activity_listeners: tuple[Any, ...] = ()
        self.commits = 0
        self.rearmed = 0
        self._schedule_changed = False

    async def __aenter__(self) -> EventsFakeUnitOfWork:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def schedule_changed(self) -> None:
        self._schedule_changed = True

    async def commit(self) -> None:
        self.commits += 1
        self.outbox.take_queued()
        if self._schedule_changed:
            self.rearmed += 1
        self._schedule_changed = False

    async def rollback(self) -> None:
        self._schedule_changed = False


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
        row.id = next(_event_ids)  # type: ignore[attr-defined]
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
        return self.rules.setdefault(
            compound_id,
            PatrolSettings(
                compound_id=compound_id,
                evening_reminder="20:00",
                hour_before_minutes=60,
                quiet_start="22:00",
                quiet_end="07:00",
                weekly_max=3,
                cutoff_hours=12,
                understaffed_hours=24,
            ),
        )

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
        return self
