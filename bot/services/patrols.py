"""Patrol shifts: routes and templates, sign-up with a waiting list, "我来" offers, reminders, check-in,
completion and no-shows, the coordinator's roster, calendar and export."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.db.models import Person
from bot.db.models.patrols import (
    CheckpointScan,
    OfferStatus,
    PatrolCheckpoint,
    PatrolReminder,
    PatrolRoute,
    PatrolShift,
    PlaceOffer,
    ReminderOutcome,
    ShiftSignup,
    ShiftStatus,
    ShiftTemplate,
    SignupOutcome,
    SignupStatus,
)
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import Translator
from bot.notices.patrols import NO_BUTTONS, offer_buttons, report_buttons
from bot.roles import Role
from bot.scheduling import in_batches
from bot.services import repairs
from bot.services.activity import record_activity
from bot.services.common import fmt_when, new_code, zone
from bot.services.errors import UserFacingError
from bot.services.people import STAFF_ROLES, has_role, require_person, require_staff
from bot.services.timing import fmt_span, in_quiet_hours, outside_quiet_hours, parse_hhmm

CHECKIN_EARLY = timedelta(minutes=30)  # a volunteer may check in this long before the start
GENERATE_AHEAD = timedelta(weeks=4)
BATCH = 500  # due rows handled per transaction


# ---------------------------------------------------------------------------------------------------------
# pure helpers


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    radius = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


# ---------------------------------------------------------------------------------------------------------
# views


@dataclass(frozen=True)
class ShiftView:
    id: int
    compound_id: int
    route: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int
    waiting: int
    status: str
    tz: str
    mine: str | None = None  # booked | waiting | None
    leader: str | None = None
    names: tuple[str, ...] = ()
    waiting_names: tuple[str, ...] = ()

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)


@dataclass(frozen=True)
class SignupView:
    shift: ShiftView
    status: str  # booked | waiting | cancelled
    position: int = 0  # place on the waiting list
    late: bool = False  # cancelled after the cut-off
    refilled_by: str | None = None  # "waiting" | "offer" | None
    reminders: tuple[
        str, ...
    ] = ()  # the reminders still to come: "evening", "hour" (none for a shift about to start)


@dataclass(frozen=True)
class CheckinView:
    shift: ShiftView
    first: bool
    method: str
    checkpoint: str | None = None
    scanned: int = 0
    total: int = 0
    distance_m: int | None = None


@dataclass(frozen=True)
class RouteView:
    id: int
    name: str
    checkpoints: list[tuple[str, str]] = field(default_factory=list)  # (name, code)


# ---------------------------------------------------------------------------------------------------------
# internal helpers


async def _require_volunteer(uow: UnitOfWork, person: Person, compound_id: int) -> None:
    if not await has_role(uow, person.id, (Role.PATROL.value, *STAFF_ROLES), compound_id):
        raise UserFacingError("patrols.not_volunteer")


async def _coordinators(uow: UnitOfWork, compound_id: int) -> list[Person]:
    people = [p for _, p in await uow.community.staff_with_role(compound_id, [Role.COORDINATOR.value])]
    if not people:
        people = [p for _, p in await uow.community.staff_with_role(compound_id, [Role.ADMIN.value])]
    seen: dict[int, Person] = {}
    for p in people:
        seen.setdefault(p.id, p)
    return list(seen.values())


async def _tell_coordinators(
    uow: UnitOfWork,
    t: Translator,
    shift: PatrolShift,
    about: Person,
    key: str,
    dedupe: str,
    now: datetime,
    *,
    suffix: str = "",
    text: str | None = None,
) -> None:
    """A notice to the compound's coordinators about a volunteer and a shift, once per coordinator (the
    dedupe key: `dedupe`:shift:volunteer:coordinator`suffix`)."""
    tz = zone(await uow.community.compound(shift.compound_id))
    for coordinator in await _coordinators(uow, shift.compound_id):
        await notify_person(
            uow,
            t,
            coordinator,
            key,
            now=now,
            dedupe_key=f"{dedupe}:{shift.id}:{about.id}:{coordinator.id}{suffix}",
            name=about.display_name,
            when=fmt_when(t, coordinator.language, shift.starts_at, tz),
            text=text,
        )


async def _shift_view(
    uow: UnitOfWork, shift: PatrolShift, *, person_id: int | None = None, names: bool = False
) -> ShiftView:
    repo = uow.patrols
    route = await repo.route(shift.route_id)
    compound = await uow.community.compound(shift.compound_id)
    signups = await repo.signups(shift.id, (SignupStatus.BOOKED, SignupStatus.WAITING))
    booked = [s for s in signups if s.status == SignupStatus.BOOKED]
    waiting = [s for s in signups if s.status == SignupStatus.WAITING]
    mine = next((s.status for s in signups if s.person_id == person_id), None)
    leader = await uow.community.person(shift.leader_id) if shift.leader_id else None
    booked_names: tuple[str, ...] = ()
    waiting_names: tuple[str, ...] = ()
    if names:
        booked_names = tuple([(await uow.community.person(s.person_id)).display_name for s in booked])  # type: ignore[union-attr]
        waiting_names = tuple([(await uow.community.person(s.person_id)).display_name for s in waiting])  # type: ignore[union-attr]
    return ShiftView(
        id=shift.id,
        compound_id=shift.compound_id,
        route=route.name if route else "",
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        capacity=shift.capacity,
        booked=len(booked),
        waiting=len(waiting),
        status=shift.status,
        tz=str(zone(compound)),
        mine=mine,
        leader=leader.display_name if leader else None,
        names=booked_names,
        waiting_names=waiting_names,
    )


async def _schedule_shift_rows(uow: UnitOfWork, shift: PatrolShift, now: datetime) -> None:
    """The leader's roster, the understaffed check and closing time of a new shift."""
    repo = uow.patrols
    rules = await repo.settings(shift.compound_id)
    rows: list[tuple[int | None, str, datetime]] = [(None, "close", shift.ends_at)]
    understaffed_at = shift.starts_at - timedelta(hours=rules.understaffed_hours)
    if understaffed_at <= now:
        # Created inside the alert window: give volunteers an hour to sign up before raising the alarm.
        understaffed_at = min(now + timedelta(hours=1), shift.starts_at - timedelta(minutes=30))
    if understaffed_at > now:
        rows.append((None, "understaffed", understaffed_at))
    if shift.leader_id is not None:
        rows.append(
            (shift.leader_id, "leader", shift.starts_at - timedelta(minutes=rules.hour_before_minutes))
        )
    for person_id, kind, due in rows:
        if await repo.reminder(shift.id, person_id, kind) is None:
            uow.patrols.add(
                PatrolReminder(shift_id=shift.id, person_id=person_id, kind=kind, due_at=due, done=False)
            )


async def _schedule_person(uow: UnitOfWork, shift: PatrolShift, person_id: int, now: datetime) -> None:
    """The evening-before and hour-before reminders, kept out of quiet hours; none already past."""
    repo = uow.patrols
    rules = await repo.settings(shift.compound_id)
    tz = zone(await uow.community.compound(shift.compound_id))
    local_start = shift.starts_at.astimezone(tz)
    evening = datetime.combine(
        local_start.date() - timedelta(days=1), parse_hhmm(rules.evening_reminder), tzinfo=tz
    ).astimezone(UTC)
    hour = shift.starts_at - timedelta(minutes=rules.hour_before_minutes)
    qs, qe = parse_hhmm(rules.quiet_start), parse_hhmm(rules.quiet_end)
    for kind, due in (("evening", evening), ("hour", hour)):
        due = outside_quiet_hours(due, shift.starts_at, tz, qs, qe)
        row = await repo.reminder(shift.id, person_id, kind)
        if due <= now or due >= shift.starts_at:
            if row is not None and not row.done:
                row.done, row.outcome = True, ReminderOutcome.SKIPPED
            continue
        if row is None:
            uow.patrols.add(
                PatrolReminder(shift_id=shift.id, person_id=person_id, kind=kind, due_at=due, done=False)
            )
        else:
            row.due_at, row.done, row.outcome = due, False, None


def _local_week(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    local = moment.astimezone(tz)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), tzinfo=tz)
    return monday.astimezone(UTC), (monday + timedelta(days=7)).astimezone(UTC)


async def _check_can_book(uow: UnitOfWork, shift: PatrolShift, person: Person) -> None:
    repo = uow.patrols
    overlapping = [
        sh
        for _, sh in await repo.person_bookings(person.id, shift.starts_at, shift.ends_at)
        if sh.id != shift.id
    ]
    if overlapping:
        raise UserFacingError("patrols.overlap")
    rules = await repo.settings(shift.compound_id)
    tz = zone(await uow.community.compound(shift.compound_id))
    week_start, week_end = _local_week(shift.starts_at, tz)
    booked = [
        sh
        for _, sh in await repo.person_bookings(person.id, week_start, week_end)
        if sh.starts_at >= week_start
    ]
    if len(booked) >= rules.weekly_max:
        raise UserFacingError("patrols.weekly_max", limit=rules.weekly_max)


async def _book(
    uow: UnitOfWork, shift: PatrolShift, person: Person, status: str, now: datetime
) -> ShiftSignup:
    repo = uow.patrols
    signup = await repo.signup(shift.id, person.id)
    if signup is None:
        signup = ShiftSignup(shift_id=shift.id, person_id=person.id, status=status, created_at=now)
        uow.patrols.add(signup)
    else:
        signup.status, signup.created_at, signup.cancelled_at = status, now, None
    await uow.patrols.flush()
    if status == SignupStatus.BOOKED:
        await _schedule_person(uow, shift, person.id, now)
    return signup


# ---------------------------------------------------------------------------------------------------------
# setting up routes, templates and shifts


async def create_route(
    uow: UnitOfWork,
    *,
    compound_id: int,
    name: str,
    checkpoints: list[tuple[str, float, float]],
    now: datetime,
    radius_m: int = 300,
) -> RouteView:
    if not name.strip() or not checkpoints:
        raise UserFacingError("patrols.bad_route")
    async with uow:
        route = PatrolRoute(
            compound_id=compound_id, name=name.strip()[:100], radius_m=radius_m, created_at=now
        )
        uow.patrols.add(route)
        await uow.patrols.flush()
        made = []
        for position, (cp_name, lat, lon) in enumerate(checkpoints):
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise UserFacingError("patrols.bad_route")
            code = new_code()
            uow.patrols.add(
                PatrolCheckpoint(
                    route_id=route.id,
                    name=cp_name[:100],
                    latitude=lat,
                    longitude=lon,
                    code=code,
                    position=position,
                )
            )
            made.append((cp_name, code))
        await uow.commit()
        return RouteView(route.id, route.name, made)


@dataclass(frozen=True)
class RulesView:
    evening_reminder: str
    hour_before_minutes: int
    quiet_start: str
    quiet_end: str
    weekly_max: int
    cutoff_hours: int
    understaffed_hours: int


async def update_rules(uow: UnitOfWork, compound_id: int, **changes: object) -> RulesView:
    """Change a compound's patrol rules (times "HH:MM"); unknown names or bad values are refused."""
    allowed = set(RulesView.__dataclass_fields__)
    async with uow:
        rules = await uow.patrols.settings(compound_id)
        for name, value in changes.items():
            if name not in allowed:
                raise UserFacingError("common.stale_button")
            if isinstance(value, str):
                parse_hhmm(value)
            elif not isinstance(value, int) or value < 0:
                raise UserFacingError("patrols.bad_capacity")
            setattr(rules, name, value)
        view = RulesView(**{name: getattr(rules, name) for name in allowed})
        await uow.commit()
        return view


async def create_template(
    uow: UnitOfWork,
    *,
    route_id: int,
    weekdays: list[int],
    start_time: str,
    duration_minutes: int,
    capacity: int,
    now: datetime,
    leader_id: int | None = None,
) -> int:
    if capacity < 1:
        raise UserFacingError("patrols.bad_capacity")
    if duration_minutes <= 0:
        raise UserFacingError("patrols.end_before_start")
    if not weekdays or any(d not in range(7) for d in weekdays):
        raise UserFacingError("patrols.bad_weekdays")
    parse_hhmm(start_time)
    async with uow:
        route = await uow.patrols.route(route_id)
        if route is None:
            raise UserFacingError("patrols.route_gone")
        template = ShiftTemplate(
            compound_id=route.compound_id,
            route_id=route_id,
            weekdays=sorted(set(weekdays)),
            start_time=start_time,
            duration_minutes=duration_minutes,
            capacity=capacity,
            leader_id=leader_id,
            active=True,
            created_at=now,
        )
        uow.patrols.add(template)
        await uow.commit()
        return template.id


async def generate_shifts(uow: UnitOfWork, now: datetime, ahead: timedelta = GENERATE_AHEAD) -> int:
    """Create the shifts of every active template up to `ahead` from now; existing ones are kept."""
    made = 0
    async with uow:
        repo = uow.patrols
        for template in await repo.templates():
            last = await repo.last_generated(template.id)
            if last is not None and last >= now + ahead - timedelta(days=7):
                continue
            tz = zone(await uow.community.compound(template.compound_id))
            start_clock = parse_hhmm(template.start_time)
            day = now.astimezone(tz).date()
            end_day = (now + ahead).astimezone(tz).date()
            while day <= end_day:
                if day.weekday() in template.weekdays:
                    starts = datetime.combine(day, start_clock, tzinfo=tz).astimezone(UTC)
                    if starts > now and await repo.shift_at(template.id, starts) is None:
                        shift = PatrolShift(
                            compound_id=template.compound_id,
                            route_id=template.route_id,
                            template_id=template.id,
                            starts_at=starts,
                            ends_at=starts + timedelta(minutes=template.duration_minutes),
                            capacity=template.capacity,
                            leader_id=template.leader_id,
                            status=ShiftStatus.OPEN,
                            created_at=now,
                        )
                        uow.patrols.add(shift)
                        await uow.patrols.flush()
                        await _schedule_shift_rows(uow, shift, now)
                        made += 1
                day += timedelta(days=1)
        await uow.commit()
    return made


async def create_shift(
    uow: UnitOfWork,
    *,
    actor_telegram_id: int,
    route_id: int,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    now: datetime,
    leader_telegram_id: int | None = None,
) -> ShiftView:
    """A one-off shift created by a coordinator."""
    if starts_at <= now:
        raise UserFacingError("patrols.in_past")
    if ends_at <= starts_at:
        raise UserFacingError("patrols.end_before_start")
    if capacity < 1:
        raise UserFacingError("patrols.bad_capacity")
    async with uow:
        actor = await require_person(uow, actor_telegram_id)
        route = await uow.patrols.route(route_id)
        if route is None:
            raise UserFacingError("patrols.shift_gone")
        await require_staff(uow, actor, route.compound_id)
        leader = await uow.community.person_by_telegram(leader_telegram_id) if leader_telegram_id else None
        shift = PatrolShift(
            compound_id=route.compound_id,
            route_id=route.id,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            leader_id=leader.id if leader else None,
            status=ShiftStatus.OPEN,
            created_at=now,
        )
        uow.patrols.add(shift)
        await uow.patrols.flush()
        await _schedule_shift_rows(uow, shift, now)
        view = await _shift_view(uow, shift)
        await uow.commit()
        return view


# ---------------------------------------------------------------------------------------------------------
# volunteers


async def upcoming(uow: UnitOfWork, telegram_id: int, now: datetime, days: int = 7) -> list[ShiftView]:
    async with uow:
        person = await require_person(uow, telegram_id)
        compounds = {
            r.compound_id
            for r in await uow.community.roles_of(person.id)
            if r.role in (Role.PATROL.value, *STAFF_ROLES)
        }
        if not compounds:
            raise UserFacingError("patrols.not_volunteer")
        ids = None if None in compounds else {c for c in compounds if c is not None}
        shifts = await uow.patrols.shifts_between(ids, now, now + timedelta(days=days))
        return [await _shift_view(uow, s, person_id=person.id) for s in shifts]


async def _locked_shift(uow: UnitOfWork, telegram_id: int, shift_id: int) -> tuple[Person, PatrolShift]:
    """Who presses, and the shift, locked so that two presses for its last place are served one at a time."""
    if not await uow.patrols.lock_shift(shift_id):
        raise UserFacingError("patrols.shift_gone")
    person = await require_person(uow, telegram_id)
    shift = await uow.patrols.shift(shift_id)
    assert shift is not None
    return person, shift


async def sign_up(
    uow: UnitOfWork, t: Translator, telegram_id: int, shift_id: int, now: datetime
) -> SignupView:
    async with uow:
        repo = uow.patrols
        person, shift = await _locked_shift(uow, telegram_id, shift_id)
        await _require_volunteer(uow, person, shift.compound_id)
        if shift.status != ShiftStatus.OPEN:
            raise UserFacingError("patrols.shift_cancelled")
        if shift.starts_at <= now:
            raise UserFacingError("patrols.already_started")
        existing = await repo.signup(shift.id, person.id)
        if existing is not None and existing.status in (SignupStatus.BOOKED, SignupStatus.WAITING):
            raise UserFacingError(f"patrols.already_{existing.status}")
        await _check_can_book(uow, shift, person)
        full = await repo.count_booked(shift.id) >= shift.capacity
        await _book(uow, shift, person, SignupStatus.WAITING if full else SignupStatus.BOOKED, now)
        await uow.patrols.flush()
        coming = []
        for kind in ("evening", "hour"):
            reminder = await repo.reminder(shift.id, person.id, kind)
            if reminder is not None and not reminder.done:
                coming.append(kind)
        view = await _shift_view(uow, shift, person_id=person.id)
        position = view.waiting if full else 0
        uow.schedule_changed()
        await uow.commit()
        return SignupView(
            view,
            SignupStatus.WAITING if full else SignupStatus.BOOKED,
            position=position,
            reminders=tuple(coming),
        )


async def cancel(
    uow: UnitOfWork, t: Translator, telegram_id: int, shift_id: int, now: datetime
) -> SignupView:
    async with uow:
        repo = uow.patrols
        person, shift = await _locked_shift(uow, telegram_id, shift_id)
        signup = await repo.signup(shift.id, person.id)
        if signup is None or signup.status not in (SignupStatus.BOOKED, SignupStatus.WAITING):
            raise UserFacingError("patrols.not_signed_up")
        if shift.starts_at <= now:
            raise UserFacingError("patrols.cancel_after_start")
        was = signup.status
        signup.status, signup.cancelled_at = SignupStatus.CANCELLED, now
        await repo.drop_person_reminders(shift.id, person.id)
        rules = await repo.settings(shift.compound_id)
        late = was == SignupStatus.BOOKED and now > shift.starts_at - timedelta(hours=rules.cutoff_hours)
        refilled: str | None = None
        if was == SignupStatus.BOOKED:
            if late:
                stamp = int(now.timestamp())
                await _tell_coordinators(
                    uow, t, shift, person, "patrols.late_cancel", "patrol-late", now, suffix=f":{stamp}"
                )
            refilled = await _refill(uow, t, shift, person, now)
        await uow.patrols.flush()
        view = await _shift_view(uow, shift, person_id=person.id)
        uow.schedule_changed()
        await uow.commit()
        return SignupView(view, SignupStatus.CANCELLED, late=late, refilled_by=refilled)


async def _refill(
    uow: UnitOfWork, t: Translator, shift: PatrolShift, freed_by: Person, now: datetime
) -> str | None:
    """A freed place goes to the first on the waiting list, else to every volunteer with a "我来" button."""
    repo = uow.patrols
    tz = zone(await uow.community.compound(shift.compound_id))
    for waiting in await repo.signups(shift.id, (SignupStatus.WAITING,)):
        person = await uow.community.person(waiting.person_id)
        if person is None:
            continue
        try:
            await _check_can_book(uow, shift, person)
        except UserFacingError:
            continue
        waiting.status = SignupStatus.BOOKED
        await uow.patrols.flush()
        await _schedule_person(uow, shift, person.id, now)
        await notify_person(
            uow,
            t,
            person,
            "patrols.promoted",
            now=now,
            dedupe_key=f"patrol-promoted:{shift.id}:{person.id}:{waiting.id}",
            when=fmt_span(t, person.language, shift.starts_at, shift.ends_at, tz),
        )
        return "waiting"
    offer = PlaceOffer(shift_id=shift.id, freed_by=freed_by.id, status=OfferStatus.OPEN, created_at=now)
    uow.patrols.add(offer)
    await uow.patrols.flush()
    booked = {s.person_id for s in await repo.signups(shift.id, (SignupStatus.BOOKED,))}
    volunteers = await uow.community.staff_with_role(shift.compound_id, [Role.PATROL.value])
    seen: set[int] = set()
    for _, volunteer in volunteers:
        if volunteer.id in seen or volunteer.id in booked or volunteer.id == freed_by.id:
            continue
        seen.add(volunteer.id)
        await notify_person(
            uow,
            t,
            volunteer,
            "patrols.offer",
            now=now,
            dedupe_key=f"patrol-offer:{offer.id}:{volunteer.id}",
            reply_markup=offer_buttons(t, volunteer.language, offer.id),
            when=fmt_span(t, volunteer.language, shift.starts_at, shift.ends_at, tz),
        )
    return "offer"


async def take_offer(
    uow: UnitOfWork, t: Translator, telegram_id: int, offer_id: int, now: datetime
) -> SignupView:
    async with uow:
        repo = uow.patrols
        offer = await repo.offer(offer_id)
        if offer is None:
            raise UserFacingError("patrols.shift_gone")
        shift_id = offer.shift_id
        person, shift = await _locked_shift(uow, telegram_id, shift_id)
        await _require_volunteer(uow, person, shift.compound_id)
        if shift.status != ShiftStatus.OPEN or shift.starts_at <= now:
            raise UserFacingError("patrols.already_started")
        existing = await repo.signup(shift.id, person.id)
        if existing is not None and existing.status == SignupStatus.BOOKED:
            raise UserFacingError("patrols.already_booked")
        await _check_can_book(uow, shift, person)
        if not await repo.take_open_offer(offer_id, person.id):
            raise UserFacingError("patrols.offer_taken")
        if await repo.count_booked(shift.id) >= shift.capacity:
            raise UserFacingError("patrols.offer_taken")
        await _book(uow, shift, person, SignupStatus.BOOKED, now)
        await _close_offer_messages(uow, offer_id, person.id, now)
        tz = zone(await uow.community.compound(shift.compound_id))
        freed = await uow.community.person(offer.freed_by) if offer.freed_by else None
        if freed is not None:
            await notify_person(
                uow,
                t,
                freed,
                "patrols.place_taken",
                now=now,
                dedupe_key=f"patrol-taken:{offer.id}",
                name=person.display_name,
                when=fmt_when(t, freed.language, shift.starts_at, tz),
            )
        view = await _shift_view(uow, shift, person_id=person.id)
        uow.schedule_changed()
        await uow.commit()
        return SignupView(view, SignupStatus.BOOKED, refilled_by="offer")


async def _close_offer_messages(uow: UnitOfWork, offer_id: int, taker_id: int, now: datetime) -> None:
    """Take the "我来" button off the offers already delivered to the other volunteers."""
    for row in await uow.patrols.offer_messages(offer_id):
        if row.person_id == taker_id:
            continue
        if row.status == "pending":
            await uow.patrols.drop_message(row)  # not sent yet: no need to offer what is gone
        elif row.telegram_message_id is not None:
            await uow.outbox.add(
                chat_id=row.chat_id,
                method="editMessageReplyMarkup",
                payload={"message_id": row.telegram_message_id, "reply_markup": NO_BUTTONS},
                now=now,
                dedupe_key=f"patrol-offer-close:{offer_id}:{row.chat_id}",
                purpose="patrol-offer-close",
            )


async def my_shifts(uow: UnitOfWork, telegram_id: int, now: datetime, days: int = 60) -> list[ShiftView]:
    async with uow:
        person = await require_person(uow, telegram_id)
        rows = await uow.patrols.person_bookings(person.id, now, now + timedelta(days=days))
        return [await _shift_view(uow, sh, person_id=person.id) for _, sh in rows]


def calendar_ics(shifts: list[ShiftView], title: str, now: datetime, host: str = "redbutler") -> str:
    """An iCalendar file (RFC 5545) of the given shifts, written by hand; times in UTC."""

    def stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//RedButler//patrols//ZH", "CALSCALE:GREGORIAN"]
    for shift in shifts:
        lines += [
            "BEGIN:VEVENT",
            f"UID:shift-{shift.id}@{host}",
            f"DTSTAMP:{stamp(now)}",
            f"DTSTART:{stamp(shift.starts_at)}",
            f"DTEND:{stamp(shift.ends_at)}",
            f"SUMMARY:{escape(title + ' · ' + shift.route)}",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape(title)}",
            "TRIGGER:-PT1H",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


# ---------------------------------------------------------------------------------------------------------
# check-in, checkpoints, end of shift


async def _running_booking(
    uow: UnitOfWork, person: Person, now: datetime, route_id: int | None = None
) -> tuple[ShiftSignup, PatrolShift] | None:
    rows = await uow.patrols.person_bookings(person.id, now, now + CHECKIN_EARLY)
    for signup, shift in rows:
        running = shift.status == ShiftStatus.OPEN and shift.starts_at - CHECKIN_EARLY <= now <= shift.ends_at
        if running and (route_id is None or shift.route_id == route_id):
            return signup, shift
    return None


async def check_in_location(
    uow: UnitOfWork, telegram_id: int, latitude: float, longitude: float, now: datetime
) -> CheckinView:
    async with uow:
        person = await require_person(uow, telegram_id)
        found = await _running_booking(uow, person, now)
        if found is None:
            # A location from someone who never patrols is not a check-in: say what any stray content gets.
            patrol_roles = {Role.PATROL.value, *STAFF_ROLES}
            roles = {r.role for r in await uow.community.roles_of(person.id)}
            raise UserFacingError(
                "patrols.no_shift_now" if roles & patrol_roles else "common.unexpected_content"
            )
        signup, shift = found
        repo = uow.patrols
        route = await repo.route(shift.route_id)
        assert route is not None
        distances = [
            (haversine_m(latitude, longitude, cp.latitude, cp.longitude), cp)
            for cp in await repo.checkpoints(route.id)
        ]
        if not distances:
            raise UserFacingError("patrols.no_shift_now")
        distance, nearest = min(distances, key=lambda d: d[0])
        if distance > route.radius_m:
            raise UserFacingError("patrols.too_far", distance=int(distance), radius=route.radius_m)
        first = signup.checked_in_at is None
        if first:
            signup.checked_in_at, signup.checkin_method = now, "location"
        view = await _shift_view(uow, shift, person_id=person.id)
        await uow.commit()
        return CheckinView(view, first, "location", checkpoint=nearest.name, distance_m=int(distance))


async def scan_checkpoint(uow: UnitOfWork, telegram_id: int, code: str, now: datetime) -> CheckinView:
    async with uow:
        repo = uow.patrols
        checkpoint = await repo.checkpoint_by_code(code.strip().lower()[:24]) if code else None
        if checkpoint is None:
            raise UserFacingError("patrols.bad_code")
        person = await require_person(uow, telegram_id)
        found = await _running_booking(uow, person, now, route_id=checkpoint.route_id)
        if found is None:
            raise UserFacingError("patrols.not_your_shift")
        signup, shift = found
        already = {s.checkpoint_id for s in await repo.scans(shift.id, person.id)}
        if checkpoint.id not in already:
            uow.patrols.add(
                CheckpointScan(
                    shift_id=shift.id, person_id=person.id, checkpoint_id=checkpoint.id, scanned_at=now
                )
            )
            already.add(checkpoint.id)
        first = signup.checked_in_at is None
        if first:
            signup.checked_in_at, signup.checkin_method = now, "qr"
        total = len(await repo.checkpoints(checkpoint.route_id))
        view = await _shift_view(uow, shift, person_id=person.id)
        await uow.commit()
        return CheckinView(view, first, "qr", checkpoint=checkpoint.name, scanned=len(already), total=total)


async def close_shift(uow: UnitOfWork, t: Translator, shift_id: int, now: datetime) -> int:
    """At the end: checked-in volunteers are recorded (once) and asked for a short report; the rest are
    no-shows. Runs inside the caller's transaction; returns how many completed."""
    repo = uow.patrols
    shift = await repo.shift(shift_id)
    if shift is None or shift.status != ShiftStatus.OPEN:
        return 0
    if not await repo.close_if_open(shift_id):
        return 0
    hours = round((shift.ends_at - shift.starts_at).total_seconds() / 3600, 2)
    completed = 0
    for signup in await repo.signups(shift.id, (SignupStatus.BOOKED,)):
        if signup.outcome is not None:
            continue
        person = await uow.community.person(signup.person_id)
        if person is None:
            continue
        if signup.checked_in_at is None:
            signup.outcome = SignupOutcome.NO_SHOW
            continue
        signup.outcome = SignupOutcome.COMPLETED
        completed += 1
        await record_activity(
            uow,
            source_key=f"shift:{shift.id}:person:{person.id}",
            person_id=person.id,
            compound_id=shift.compound_id,
            activity_type="patrol_shift",
            occurred_at=shift.starts_at,
            now=now,
            hours=hours,
        )
        await notify_person(
            uow,
            t,
            person,
            "patrols.ask_report",
            now=now,
            dedupe_key=f"patrol-report:{shift.id}:{person.id}",
            reply_markup=report_buttons(t, person.language, shift.id),
        )
    return completed


async def report(
    uow: UnitOfWork, t: Translator, telegram_id: int, shift_id: int, text: str | None, now: datetime
) -> bool:
    """Store the end-of-shift report; anything found goes to the coordinators. False if already reported."""
    async with uow:
        person = await require_person(uow, telegram_id)
        repo = uow.patrols
        signup = await repo.signup(shift_id, person.id)
        shift = await repo.shift(shift_id)
        if signup is None or shift is None or signup.outcome != SignupOutcome.COMPLETED:
            raise UserFacingError("patrols.not_signed_up")
        if signup.report is not None:
            return False
        signup.report = (text or "").strip()[:1000] or "-"
        if text:
            await _tell_coordinators(
                uow, t, shift, person, "patrols.report_found", "patrol-found", now, text=signup.report
            )
        await uow.commit()
        return True


async def report_to_hazard(
    uow: UnitOfWork, t: Translator, telegram_id: int, shift_id: int, now: datetime
) -> tuple[str, bool]:
    """Turn a volunteer's "found something" report into a 安全隐患 repair ticket at the patrol route.

    Returns (ticket number, created now). Pressing twice, or from two phones, makes one ticket.
    """
    async with uow:
        person = await require_person(uow, telegram_id)
        repo = uow.patrols
        signup = await repo.signup(shift_id, person.id)
        shift = await repo.shift(shift_id)
        if signup is None or shift is None or not signup.report or signup.report == "-":
            raise UserFacingError("patrols.nothing_to_report")
        if not await repo.claim_hazard(signup.id):
            await repo.reload(signup)
            return repairs.number_of(signup.hazard_ticket_id or 0), False
        route = await repo.route(shift.route_id)
        route_name = route.name if route is not None else t(person.language, "patrols.hazard_place")
        # The finding is the volunteer's own words: wrapped in their language, so what they are told about
        # the ticket follows it (repairs.reader_language).
        language = repairs.writer_language(person, signup.report)
        place_id = await repairs.ensure_spot(uow, shift.compound_id, route_name, now)
        draft = repairs.ReportDraft(
            kind="safety",
            urgency="normal",
            description=t(language, "patrols.hazard_description", text=signup.report),
            place_id=place_id,
            channel="patrol",
        )
        result = await repairs.create_ticket(uow, t, person, draft, now)
        await repo.set_hazard_ticket(signup.id, result.ticket.id)
        await uow.commit()
        return result.ticket.number, True


# ---------------------------------------------------------------------------------------------------------
# coordinators


async def roster(uow: UnitOfWork, telegram_id: int, now: datetime, days: int = 7) -> list[ShiftView]:
    async with uow:
        person = await require_person(uow, telegram_id)
        compounds = await require_staff(uow, person)
        shifts = await uow.patrols.shifts_between(
            compounds, now - timedelta(hours=12), now + timedelta(days=days)
        )
        return [await _shift_view(uow, s, names=True) for s in shifts if s.ends_at > now]


@dataclass(frozen=True)
class ExportRow:
    shift_id: int
    route: str
    starts_at: datetime
    ends_at: datetime
    tz: str
    capacity: int
    person: str
    status: str
    checked_in_at: datetime | None
    method: str | None
    outcome: str | None
    report: str | None


async def export_rows(uow: UnitOfWork, start: datetime, end: datetime) -> list[ExportRow]:
    async with uow:
        repo = uow.patrols
        rows: list[ExportRow] = []
        for shift in await repo.shifts_between(None, start, end, open_only=False):
            view = await _shift_view(uow, shift)
            signups = await repo.signups(
                shift.id, (SignupStatus.BOOKED, SignupStatus.WAITING, SignupStatus.CANCELLED)
            )
            if not signups:
                rows.append(
                    ExportRow(
                        shift.id,
                        view.route,
                        shift.starts_at,
                        shift.ends_at,
                        view.tz,
                        shift.capacity,
                        "",
                        "",
                        None,
                        None,
                        None,
                        None,
                    )
                )
            for s in signups:
                who = await uow.community.person(s.person_id)
                rows.append(
                    ExportRow(
                        shift.id,
                        view.route,
                        shift.starts_at,
                        shift.ends_at,
                        view.tz,
                        shift.capacity,
                        who.display_name if who else "",
                        s.status,
                        s.checked_in_at,
                        s.checkin_method,
                        s.outcome,
                        s.report,
                    )
                )
        return rows


@dataclass(frozen=True)
class RouteListing:
    id: int
    compound: str
    name: str
    radius_m: int
    checkpoints: list[tuple[str, float, float, str]]  # (name, latitude, longitude, code)


async def list_routes(uow: UnitOfWork, compound_name: str | None = None) -> list[RouteListing]:
    """Every route with its id (what `patrol template --route-id` needs) and checkpoints."""
    async with uow:
        repo = uow.patrols
        out = []
        for compound in await uow.community.compounds():
            if compound_name and compound.name != compound_name:
                continue
            for route in await repo.routes_of(compound.id):
                points = [(c.name, c.latitude, c.longitude, c.code) for c in await repo.checkpoints(route.id)]
                out.append(RouteListing(route.id, compound.name, route.name, route.radius_m, points))
        return out


async def checkpoint_codes(uow: UnitOfWork) -> list[tuple[str, str, str]]:
    """(route, checkpoint, code) for printing QR stickers."""
    async with uow:
        repo = uow.patrols
        out = []
        for compound in await uow.community.compounds():
            for route in await repo.routes_of(compound.id):
                for cp in await repo.checkpoints(route.id):
                    out.append((route.name, cp.name, cp.code))
        return out


# ---------------------------------------------------------------------------------------------------------
# due work (a DueSource in handlers wires these)


async def process_due(uow: UnitOfWork, t: Translator, now: datetime) -> int:
    """Everything due, in batches of BATCH (one transaction each), until nothing due is left."""
    return await in_batches(lambda: _process_batch(uow, t, now))


async def _process_batch(uow: UnitOfWork, t: Translator, now: datetime) -> tuple[int, bool]:
    handled = 0
    async with uow:
        repo = uow.patrols
        reminders = await repo.due_reminders(now, BATCH)
        for reminder in reminders:
            shift = await repo.shift(reminder.shift_id)
            if shift is None:
                await repo.claim_reminder(reminder.id, ReminderOutcome.SKIPPED)
                continue
            sent = await _handle_reminder(uow, t, reminder, shift, now)
            await repo.claim_reminder(reminder.id, ReminderOutcome.SENT if sent else ReminderOutcome.SKIPPED)
            handled += 1
        await uow.commit()
    return handled, len(reminders) == BATCH


async def _handle_reminder(
    uow: UnitOfWork, t: Translator, reminder: PatrolReminder, shift: PatrolShift, now: datetime
) -> bool:
    if reminder.kind == "close":
        await close_shift(uow, t, shift.id, now)
        return True
    # A reminder that fell due while the bot was down still goes out, but only before the shift starts.
    if shift.status != ShiftStatus.OPEN or now >= shift.starts_at:
        return False
    repo = uow.patrols
    tz = zone(await uow.community.compound(shift.compound_id))
    route = await repo.route(shift.route_id)
    route_name = route.name if route else ""
    if reminder.kind in ("evening", "hour"):
        signup = await repo.signup(shift.id, reminder.person_id or 0)
        person = await uow.community.person(reminder.person_id or 0)
        if signup is None or signup.status != SignupStatus.BOOKED or person is None:
            return False
        if reminder.kind == "evening" and now.astimezone(tz).date() >= shift.starts_at.astimezone(tz).date():
            return (
                False  # missed while the bot was down: "tomorrow" is today now; the hour-before one follows
            )
        await notify_person(
            uow,
            t,
            person,
            f"patrols.remind_{reminder.kind}",
            now=now,
            dedupe_key=f"patrol-rem:{reminder.id}",
            when=fmt_span(t, person.language, shift.starts_at, shift.ends_at, tz),
            route=route_name,
        )
        return True
    if reminder.kind == "leader":
        leader = await uow.community.person(reminder.person_id or 0)
        if leader is None:
            return False
        view = await _shift_view(uow, shift, names=True)
        await notify_person(
            uow,
            t,
            leader,
            "patrols.leader_roster",
            now=now,
            dedupe_key=f"patrol-rem:{reminder.id}",
            when=fmt_span(t, leader.language, shift.starts_at, shift.ends_at, tz),
            route=route_name,
            names="、".join(view.names) or "—",
            count=view.booked,
            capacity=view.capacity,
        )
        return True
    if reminder.kind == "understaffed":
        booked = await repo.count_booked(shift.id)
        if booked >= shift.capacity:
            return False
        for coordinator in await _coordinators(uow, shift.compound_id):
            await notify_person(
                uow,
                t,
                coordinator,
                "patrols.understaffed",
                now=now,
                dedupe_key=f"patrol-under:{shift.id}:{coordinator.id}",
                when=fmt_span(t, coordinator.language, shift.starts_at, shift.ends_at, tz),
                route=route_name,
                count=booked,
                capacity=shift.capacity,
            )
        return True
    return False


async def next_due(uow: UnitOfWork) -> datetime | None:
    async with uow:
        return await uow.patrols.next_reminder_at()


def week_dates(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]


__all__ = ["STAFF_ROLES", "fmt_span", "in_quiet_hours", "outside_quiet_hours", "parse_hhmm", "zone"]
