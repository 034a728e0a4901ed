"""Community events: created by staff, posted to groups and people with a "报名" button; RSVPs with a waiting
list; reminders; cancellation; attendance by the organiser's check-in code, recorded for points by type."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.db.models import Person
from bot.db.models.events import CommunityEvent, EventReminder, EventRsvp, EventStatus, RsvpStatus
from bot.db.models.patrols import ReminderOutcome
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_chat, notify_person
from bot.i18n import Translator
from bot.notices.events import rsvp_buttons
from bot.roles import Role
from bot.scheduling import in_batches
from bot.services.activity import record_activity
from bot.services.common import new_code, zone
from bot.services.errors import UserFacingError
from bot.services.people import STAFF_ROLES, get_or_create, person_view, require_person, require_staff
from bot.services.timing import fmt_span, outside_quiet_hours

AUDIENCES = ("groups", "party", "volunteers", "everyone")
EVENT_TYPES = ("party_day", "listening_day", "clinic", "haircut", "class", "talk", "patrol_talk", "other")
REPEATS = ("none", "monthly_1st", "monthly", "weekly")
BATCH = 500  # due reminders handled per transaction
OCCURRENCES = 3  # a repeating event is created this many times ahead
POST_AHEAD = timedelta(days=7)  # later occurrences are posted a week before
CHECKIN_WINDOW = timedelta(hours=1)
QUIET = (time(22, 0), time(7, 0))
TITLE_LIMIT = 60
PLACE_LIMIT = 60
CAPACITY_LIMIT = 5000

_WHEN_RE = re.compile(
    r"^\s*(?:(\d{4})\s*[-/年.]\s*)?(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*[日号]?\s*(?:[，,]?\s*)"
    r"(\d{1,2})\s*[:：点]\s*(\d{2})?\s*分?"
    r"(?:\s*[-~～到至—]+\s*(\d{1,2})\s*[:：点]\s*(\d{2})?\s*分?)?\s*$"
)


def parse_when(text: str, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime] | None:
    """ "12月1日 9:00-11:00", "2026-12-01 09:00~11:30", "12/1 19:30" (two hours when no end is given)."""
    match = _WHEN_RE.match(text or "")
    if match is None:
        return None
    year_s, month_s, day_s, h1, m1, h2, m2 = match.groups()
    local_now = now.astimezone(tz)
    try:
        year = int(year_s) if year_s else local_now.year
        start_local = datetime(year, int(month_s), int(day_s), int(h1), int(m1 or 0), tzinfo=tz)
        if not year_s and start_local < local_now - timedelta(days=90):  # "1月5日" typed in December
            start_local = start_local.replace(year=year + 1)
        if h2 is not None:
            end_local = start_local.replace(hour=int(h2), minute=int(m2 or 0))
        else:
            end_local = start_local + timedelta(hours=2)
    except ValueError:
        return None
    return start_local.astimezone(UTC), end_local.astimezone(UTC)


def next_occurrences(
    start: datetime, end: datetime, repeat: str, tz: ZoneInfo, count: int
) -> list[tuple[datetime, datetime]]:
    """The first occurrence and those after it, at the same local wall-clock time."""
    local_start, duration = start.astimezone(tz), end - start
    out = [(start, end)]
    current = local_start
    while len(out) < count and repeat != "none":
        if repeat == "weekly":
            current = current + timedelta(days=7)
        else:
            month = current.month % 12 + 1
            year = current.year + (1 if month == 1 else 0)
            day = 1 if repeat == "monthly_1st" else min(local_start.day, calendar.monthrange(year, month)[1])
            current = current.replace(year=year, month=month, day=day)
        begin = datetime.combine(
            current.date(), local_start.timetz().replace(tzinfo=None), tzinfo=tz
        ).astimezone(UTC)
        out.append((begin, begin + duration))
    return out


@dataclass(frozen=True)
class EventDraft:
    compound_id: int
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    audience: str
    event_type: str
    repeat: str = "none"


@dataclass(frozen=True)
class EventView:
    id: int
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    going: int
    waiting: int
    status: str
    tz: str
    event_type: str
    audience: str
    checkin_code: str
    mine: str | None = None
    organiser_id: int | None = None


@dataclass(frozen=True)
class RsvpView:
    event: EventView
    status: str
    position: int = 0


async def _view(uow: UnitOfWork, event: CommunityEvent, person_id: int | None = None) -> EventView:
    repo = uow.events
    rsvps = await repo.rsvps(event.id, (RsvpStatus.GOING, RsvpStatus.WAITING))
    compound = await uow.community.compound(event.compound_id)
    return EventView(
        id=event.id,
        title=event.title,
        place=event.place,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        capacity=event.capacity,
        going=sum(1 for r in rsvps if r.status == RsvpStatus.GOING),
        waiting=sum(1 for r in rsvps if r.status == RsvpStatus.WAITING),
        status=event.status,
        tz=str(zone(compound)),
        event_type=event.event_type,
        audience=event.audience,
        checkin_code=event.checkin_code,
        mine=next((r.status for r in rsvps if r.person_id == person_id), None),
        organiser_id=event.organiser_id,
    )


def validate(draft: EventDraft, now: datetime) -> None:
    if not draft.title.strip() or len(draft.title) > TITLE_LIMIT:
        raise UserFacingError("events.bad_title", limit=TITLE_LIMIT)
    if not draft.place.strip() or len(draft.place) > PLACE_LIMIT:
        raise UserFacingError("events.bad_place", limit=PLACE_LIMIT)
    if draft.starts_at <= now:
        raise UserFacingError("events.in_past")
    if draft.ends_at <= draft.starts_at:
        raise UserFacingError("events.end_before_start")
    if not 1 <= draft.capacity <= CAPACITY_LIMIT:
        raise UserFacingError("events.bad_capacity", limit=CAPACITY_LIMIT)
    if draft.audience not in AUDIENCES or draft.event_type not in EVENT_TYPES or draft.repeat not in REPEATS:
        raise UserFacingError("common.stale_button")


async def organiser_compounds(uow: UnitOfWork, telegram_id: int) -> list[tuple[int, str]]:
    async with uow:
        person = await require_person(uow, telegram_id)
        ids = await require_staff(uow, person)
        return [(c.id, c.name) for c in await uow.community.compounds() if ids is None or c.id in ids]


async def create_event(
    uow: UnitOfWork, t: Translator, telegram_id: int, draft: EventDraft, now: datetime
) -> EventView:
    validate(draft, now)
    async with uow:
        organiser = await require_person(uow, telegram_id)
        await require_staff(uow, organiser, draft.compound_id)
        view = await _create(uow, t, organiser.id, draft, now)
        uow.schedule_changed()
        await uow.commit()
        return view


async def _create(
    uow: UnitOfWork, t: Translator, organiser_id: int | None, draft: EventDraft, now: datetime
) -> EventView:
    compound = await uow.community.compound(draft.compound_id)
    if compound is None:
        raise UserFacingError("events.gone")
    first: CommunityEvent | None = None
    occurrences = next_occurrences(draft.starts_at, draft.ends_at, draft.repeat, zone(compound), OCCURRENCES)
    for index, (start, end) in enumerate(occurrences):
        event = CommunityEvent(
            compound_id=draft.compound_id,
            organiser_id=organiser_id,
            title=draft.title.strip(),
            place=draft.place.strip(),
            starts_at=start,
            ends_at=end,
            capacity=draft.capacity,
            audience=draft.audience,
            event_type=draft.event_type,
            repeat=draft.repeat,
            series_id=first.id if first is not None else None,
            status=EventStatus.OPEN,
            checkin_code=new_code(6),
            post_at=now if index == 0 else max(now, start - POST_AHEAD),
            posted=False,
            created_at=now,
        )
        uow.events.add(event)
        await uow.events.flush()
        if first is None:
            first = event
    assert first is not None
    await _post(uow, t, first, now)
    return await _view(uow, first)


@dataclass(frozen=True)
class ImportReport:
    created: int
    problems: list[tuple[int, str]]

    @property
    def ok(self) -> bool:
        return not self.problems


AUDIENCE_WORDS = {
    "业主群": "groups",
    "群": "groups",
    "党员": "party",
    "志愿者": "volunteers",
    "所有人": "everyone",
}
TYPE_WORDS = {
    "主题党日": "party_day",
    "倾听日": "listening_day",
    "义诊": "clinic",
    "义剪": "haircut",
    "四点半课堂": "class",
    "讲座": "talk",
    "防诈骗": "talk",
    "巡逻夜话": "patrol_talk",
    "其他": "other",
}
REPEAT_WORDS = {
    "": "none",
    "不重复": "none",
    "一次": "none",
    "每月1号": "monthly_1st",
    "每月": "monthly",
    "每周": "weekly",
}


def _as_time(value: object, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    text = str(value or "").strip().replace("/", "-").replace("T", " ")
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=tz).astimezone(UTC)
        except ValueError:
            continue
    return None


async def import_events(
    uow: UnitOfWork, t: Translator, rows: list[dict[str, object]], now: datetime
) -> ImportReport:
    """All rows or none: any bad row (dates, capacity, compound, ...) is reported and nothing is saved.
    Columns: 小区 标题 开始 结束 地点 人数 对象 类型 重复 (English names also accepted)."""

    def cell(row: dict[str, object], *names: str) -> object:
        for name in names:
            if name in row and row[name] not in (None, ""):
                return row[name]
        return None

    problems: list[tuple[int, str]] = []
    drafts: list[EventDraft] = []
    async with uow:
        for number, row in enumerate(rows, start=2):
            compound = await uow.community.compound_by_name(str(cell(row, "小区", "compound") or "").strip())
            if compound is None:
                problems.append((number, "unknown compound"))
                continue
            tz = zone(compound)
            start = _as_time(cell(row, "开始", "start"), tz)
            end = _as_time(cell(row, "结束", "end"), tz)
            if start is None or end is None:
                problems.append((number, "bad date (use YYYY-MM-DD HH:MM)"))
                continue
            try:
                capacity = int(str(cell(row, "人数", "capacity") or "0"))
            except ValueError:
                capacity = 0
            audience = str(cell(row, "对象", "audience") or "groups").strip()
            kind = str(cell(row, "类型", "type") or "other").strip()
            repeat = str(cell(row, "重复", "repeat") or "").strip()
            draft = EventDraft(
                compound_id=compound.id,
                title=str(cell(row, "标题", "title") or ""),
                place=str(cell(row, "地点", "place") or ""),
                starts_at=start,
                ends_at=end,
                capacity=capacity,
                audience=AUDIENCE_WORDS.get(audience, audience),
                event_type=TYPE_WORDS.get(kind, kind),
                repeat=REPEAT_WORDS.get(repeat, repeat),
            )
            try:
                validate(draft, now)
            except UserFacingError as error:
                problems.append((number, t("en", error.key, **error.values)))
                continue
            drafts.append(draft)
        if problems:
            return ImportReport(0, problems)
        for draft in drafts:
            await _create(uow, t, None, draft, now)
        await uow.commit()
    return ImportReport(len(drafts), [])


async def _post(uow: UnitOfWork, t: Translator, event: CommunityEvent, now: datetime) -> None:
    repo = uow.events
    if not await repo.claim_post(event.id):
        return
    tz = zone(await uow.community.compound(event.compound_id))
    if event.audience in ("groups", "everyone"):
        for group in await uow.community.groups_of(event.compound_id):
            lang = t.default_language
            await notify_chat(
                uow,
                t(
                    lang,
                    "events.post",
                    title=event.title,
                    when=fmt_span(t, lang, event.starts_at, event.ends_at, tz),
                    place=event.place,
                    capacity=event.capacity,
                ),
                chat_id=group.chat_id,
                now=now,
                dedupe_key=f"event-post:{event.id}:{group.chat_id}",
                reply_markup=rsvp_buttons(t, lang, event.id),
            )
    people: list[Person] = []
    if event.audience == "volunteers":
        people = [p for _, p in await uow.community.staff_with_role(event.compound_id, [Role.PATROL.value])]
    elif event.audience == "party":
        # Party members are not a role of their own yet: the community party organisation's people.
        people = [
            p for _, p in await uow.community.staff_with_role(event.compound_id, [Role.SUPERVISOR.value])
        ]
    elif event.audience == "everyone":
        people = await uow.community.residents_of(compound_id=event.compound_id)
    seen: set[int] = set()
    for person in people:
        if person.id in seen or person.id == event.organiser_id:
            continue
        seen.add(person.id)
        await notify_person(
            uow,
            t,
            person,
            "events.post",
            now=now,
            dedupe_key=f"event-invite:{event.id}:{person.id}",
            reply_markup=rsvp_buttons(t, person.language, event.id),
            title=event.title,
            when=fmt_span(t, person.language, event.starts_at, event.ends_at, tz),
            place=event.place,
            capacity=event.capacity,
        )


async def upcoming(uow: UnitOfWork, telegram_id: int, now: datetime, days: int = 31) -> list[EventView]:
    async with uow:
        person = await require_person(uow, telegram_id)
        compounds: set[int] = set()
        everywhere = False
        for role in await uow.community.roles_of(person.id):
            if role.compound_id is None:
                everywhere = True
            else:
                compounds.add(role.compound_id)
        for residency in await uow.community.residencies_of(person.id):
            compounds.add(residency.household.unit.building.compound_id)
        if not compounds and not everywhere:
            raise UserFacingError("common.not_registered")
        events = await uow.events.upcoming(None if everywhere else compounds, now, now + timedelta(days=days))
        return [await _view(uow, e, person.id) for e in events if e.posted]


async def _schedule(uow: UnitOfWork, event: CommunityEvent, person_id: int, now: datetime) -> None:
    repo = uow.events
    tz = zone(await uow.community.compound(event.compound_id))
    for kind, due in (
        ("day", event.starts_at - timedelta(days=1)),
        ("hour", event.starts_at - timedelta(hours=1)),
    ):
        due = outside_quiet_hours(due, event.starts_at, tz, *QUIET)
        row = await repo.reminder(event.id, person_id, kind)
        if due <= now or due >= event.starts_at:
            continue
        if row is None:
            uow.events.add(
                EventReminder(event_id=event.id, person_id=person_id, kind=kind, due_at=due, done=False)
            )
        else:
            row.due_at, row.done, row.outcome = due, False, None


async def reachable_privately(uow: UnitOfWork, telegram_id: int) -> bool:
    """Whether this person has used the private chat (chose a language, or registered a home or a role
    there); a group button press alone does not let the bot write to them."""
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        if person is None:
            return False
        if person.language is not None:
            return True
        view = await person_view(uow, person)
        return view.is_registered


async def rsvp(
    uow: UnitOfWork, telegram_id: int, display_name: str, event_id: int, now: datetime
) -> RsvpView:
    async with uow:
        repo = uow.events
        if not await repo.lock(event_id):
            raise UserFacingError("events.gone")
        person = await get_or_create(uow, telegram_id, display_name, now)
        event = await repo.event(event_id)
        assert event is not None
        if event.status != EventStatus.OPEN:
            raise UserFacingError("events.cancelled")
        if event.starts_at <= now:
            raise UserFacingError("events.started")
        existing = await repo.rsvp(event.id, person.id)
        if existing is not None and existing.status in (RsvpStatus.GOING, RsvpStatus.WAITING):
            raise UserFacingError(f"events.already_{existing.status}")
        status = (
            RsvpStatus.WAITING if await repo.count_going(event.id) >= event.capacity else RsvpStatus.GOING
        )
        if existing is None:
            uow.events.add(EventRsvp(event_id=event.id, person_id=person.id, status=status, created_at=now))
        else:
            existing.status, existing.created_at = status, now
        await uow.events.flush()
        if status == RsvpStatus.GOING:
            await _schedule(uow, event, person.id, now)
        view = await _view(uow, event, person.id)
        uow.schedule_changed()
        await uow.commit()
        return RsvpView(view, status, position=view.waiting if status == RsvpStatus.WAITING else 0)


async def cancel_rsvp(
    uow: UnitOfWork, t: Translator, telegram_id: int, event_id: int, now: datetime
) -> RsvpView:
    async with uow:
        repo = uow.events
        if not await repo.lock(event_id):
            raise UserFacingError("events.gone")
        person = await require_person(uow, telegram_id)
        event = await repo.event(event_id)
        assert event is not None
        mine = await repo.rsvp(event.id, person.id)
        if mine is None or mine.status not in (RsvpStatus.GOING, RsvpStatus.WAITING):
            raise UserFacingError("events.not_signed_up")
        if event.starts_at <= now:
            raise UserFacingError("events.started")
        was = mine.status
        mine.status = RsvpStatus.CANCELLED
        await repo.drop_reminders(event.id, person.id)
        if was == RsvpStatus.GOING:
            waiting = await repo.rsvps(event.id, (RsvpStatus.WAITING,))
            if waiting:
                lucky = waiting[0]
                lucky.status = RsvpStatus.GOING
                await uow.events.flush()
                await _schedule(uow, event, lucky.person_id, now)
                who = await uow.community.person(lucky.person_id)
                if who is not None:
                    tz = zone(await uow.community.compound(event.compound_id))
                    await notify_person(
                        uow,
                        t,
                        who,
                        "events.promoted",
                        now=now,
                        dedupe_key=f"event-promoted:{event.id}:{who.id}:{lucky.id}",
                        title=event.title,
                        when=fmt_span(t, who.language, event.starts_at, event.ends_at, tz),
                    )
        await uow.events.flush()
        view = await _view(uow, event, person.id)
        await uow.commit()
        return RsvpView(view, RsvpStatus.CANCELLED)


async def _organiser_event(uow: UnitOfWork, telegram_id: int, event_id: int) -> tuple[Person, CommunityEvent]:
    person = await require_person(uow, telegram_id)
    event = await uow.events.event(event_id)
    if event is None:
        raise UserFacingError("events.gone")
    if event.organiser_id != person.id:
        await require_staff(uow, person, event.compound_id)
    return person, event


async def cancel_event(uow: UnitOfWork, t: Translator, telegram_id: int, event_id: int, now: datetime) -> int:
    """Everyone who signed up (or waits) is told; returns how many."""
    async with uow:
        _, event = await _organiser_event(uow, telegram_id, event_id)
        if event.status == EventStatus.CANCELLED:
            raise UserFacingError("events.cancelled")
        if event.starts_at <= now:
            raise UserFacingError("events.started")
        repo = uow.events
        event.status = EventStatus.CANCELLED
        await repo.drop_reminders(event.id)
        tz = zone(await uow.community.compound(event.compound_id))
        told = 0
        for row in await repo.rsvps(event.id, (RsvpStatus.GOING, RsvpStatus.WAITING)):
            who = await uow.community.person(row.person_id)
            if who is None:
                continue
            await notify_person(
                uow,
                t,
                who,
                "events.cancelled_notice",
                now=now,
                dedupe_key=f"event-cancel:{event.id}:{who.id}",
                title=event.title,
                when=fmt_span(t, who.language, event.starts_at, event.ends_at, tz),
            )
            told += 1
        if event.posted:
            for group in await uow.community.groups_of(event.compound_id):
                if event.audience in ("groups", "everyone"):
                    await notify_chat(
                        uow,
                        t(t.default_language, "events.cancelled_group", title=event.title),
                        chat_id=group.chat_id,
                        now=now,
                        dedupe_key=f"event-cancel-group:{event.id}:{group.chat_id}",
                    )
        await uow.commit()
        return told


async def message_attendees(
    uow: UnitOfWork, t: Translator, telegram_id: int, event_id: int, text: str, now: datetime
) -> int:
    text = text.strip()
    if not text:
        raise UserFacingError("events.empty_message")
    async with uow:
        _, event = await _organiser_event(uow, telegram_id, event_id)
        sent = 0
        stamp = int(now.timestamp())
        for row in await uow.events.rsvps(event.id, (RsvpStatus.GOING,)):
            who = await uow.community.person(row.person_id)
            if who is None:
                continue
            await notify_person(
                uow,
                t,
                who,
                "events.organiser_says",
                now=now,
                dedupe_key=f"event-msg:{event.id}:{who.id}:{stamp}",
                title=event.title,
                text=text[:3000],
            )
            sent += 1
        await uow.commit()
        return sent


async def organiser_view(uow: UnitOfWork, telegram_id: int, event_id: int) -> EventView:
    async with uow:
        _, event = await _organiser_event(uow, telegram_id, event_id)
        return await _view(uow, event)


async def check_in(uow: UnitOfWork, telegram_id: int, code: str, now: datetime) -> EventView:
    async with uow:
        repo = uow.events
        event = await repo.by_code(code.strip().lower()[:12]) if code.strip() else None
        if event is None or event.status != EventStatus.OPEN:
            raise UserFacingError("events.bad_code")
        if not (event.starts_at - CHECKIN_WINDOW <= now <= event.ends_at + CHECKIN_WINDOW):
            raise UserFacingError("events.checkin_closed")
        person = await require_person(uow, telegram_id)
        mine = await repo.rsvp(event.id, person.id)
        if mine is None or mine.status != RsvpStatus.GOING:
            raise UserFacingError("events.checkin_not_signed_up")
        if mine.checked_in_at is not None:
            raise UserFacingError("events.already_checked_in")
        mine.checked_in_at = now
        await record_activity(
            uow,
            source_key=f"event:{event.id}:person:{person.id}",
            person_id=person.id,
            compound_id=event.compound_id,
            activity_type=event.event_type,
            occurred_at=event.starts_at,
            now=now,
            hours=round((event.ends_at - event.starts_at).total_seconds() / 3600, 2),
        )
        view = await _view(uow, event, person.id)
        await uow.commit()
        return view


async def process_due(uow: UnitOfWork, t: Translator, now: datetime) -> int:
    """Everything due, in batches of BATCH (one transaction each), until nothing due is left."""
    return await in_batches(lambda: _process_batch(uow, t, now))


async def _process_batch(uow: UnitOfWork, t: Translator, now: datetime) -> tuple[int, bool]:
    handled = 0
    async with uow:
        repo = uow.events
        for event in await repo.due_posts(now):
            if event.status == EventStatus.OPEN and event.starts_at > now:
                await _post(uow, t, event, now)
            else:
                await repo.claim_post(event.id)
            handled += 1
        reminders = await repo.due_reminders(now, BATCH)
        for reminder in reminders:
            target = await repo.event(reminder.event_id)
            sent = False
            # Only before the event; a reminder missed while the bot was down is sent late but never twice.
            if target is not None and target.status == EventStatus.OPEN and now < target.starts_at:
                event = target
                row = await repo.rsvp(event.id, reminder.person_id)
                who = await uow.community.person(reminder.person_id)
                if row is not None and row.status == RsvpStatus.GOING and who is not None:
                    tz = zone(await uow.community.compound(event.compound_id))
                    await notify_person(
                        uow,
                        t,
                        who,
                        f"events.remind_{reminder.kind}",
                        now=now,
                        dedupe_key=f"event-rem:{reminder.id}",
                        title=event.title,
                        place=event.place,
                        when=fmt_span(t, who.language, event.starts_at, event.ends_at, tz),
                    )
                    sent = True
            await repo.claim_reminder(reminder.id, ReminderOutcome.SENT if sent else ReminderOutcome.SKIPPED)
            handled += 1
        await uow.commit()
    return handled, len(reminders) == BATCH


async def next_due(uow: UnitOfWork) -> datetime | None:
    async with uow:
        return await uow.events.next_due()


__all__ = ["STAFF_ROLES", "EventDraft", "EventView", "RsvpView"]
