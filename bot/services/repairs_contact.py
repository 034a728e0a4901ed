"""Reaching the other side of a ticket: the resident's phone for its assignee (only where the resident shared
one) and messages relayed through the bot both ways, so neither side needs the other's number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db.models import Person
from bot.db.models.repairs import RepairTicket
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import Translator
from bot.notices.repairs import Notice, reply_rows
from bot.services.errors import UserFacingError
from bot.services.people import require_person
from bot.services.repairs_cards import refresh_group_cards, send_photos
from bot.services.repairs_common import ACTIVE_STATUSES, number_of
from bot.services.repairs_core import DESCRIPTION_LIMIT, _event, _ticket, reader_language

RELAY_LIMIT = 500
PHONE_RE = re.compile(r"^\+?\d{5,15}$")
# A number typed this long after "方便留个电话吗？" answers something else (a ticket number, someone's phone).
PHONE_QUESTION_OPEN = timedelta(minutes=30)


@dataclass(frozen=True)
class ReporterContact:
    number: str
    name: str
    phone: str


@dataclass(frozen=True)
class RelayTarget:
    number: str
    name: str  # who the message goes to


async def reporter_contact(uow: UnitOfWork, telegram_id: int, ticket_id: int) -> ReporterContact:
    """The resident's shared phone, for the ticket's assignee and nobody else."""
    async with uow:
        person = await require_person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        if ticket.assignee_id != person.id or ticket.status not in ACTIVE_STATUSES:
            raise UserFacingError("repairs.contact_assignee_only")
        reporter = await uow.community.person(ticket.reporter_id)
        if reporter is None or not reporter.phone:
            raise UserFacingError("repairs.contact_no_phone")
        return ReporterContact(number_of(ticket.id), reporter.display_name or "—", reporter.phone)


async def _sides(uow: UnitOfWork, telegram_id: int, ticket_id: int) -> tuple[Person, RepairTicket, Person]:
    """(sender, ticket, other side); refused unless the sender reported or handles this open ticket."""
    person = await require_person(uow, telegram_id)
    ticket = await _ticket(uow, ticket_id)
    if ticket.assignee_id is not None and person.id == ticket.assignee_id:
        other_id = ticket.reporter_id
    elif person.id == ticket.reporter_id and ticket.assignee_id is not None:
        other_id = ticket.assignee_id
    else:
        raise UserFacingError("repairs.relay_not_yours")
    if ticket.status not in ACTIVE_STATUSES:
        raise UserFacingError("repairs.relay_closed", number=number_of(ticket.id))
    other = await uow.community.person(other_id)
    if other is None or other.telegram_id is None:
        raise UserFacingError("repairs.relay_not_yours")
    return person, ticket, other


async def relay_target(uow: UnitOfWork, telegram_id: int, ticket_id: int) -> RelayTarget:
    """Who a message from this person about this ticket would reach (refused if they are neither side)."""
    async with uow:
        _sender, ticket, other = await _sides(uow, telegram_id, ticket_id)
        return RelayTarget(number_of(ticket.id), other.display_name or "—")


async def relay(
    uow: UnitOfWork,
    t: Translator,
    telegram_id: int,
    ticket_id: int,
    text: str,
    message_id: int,
    now: datetime,
) -> RelayTarget:
    """Pass one message to the other side with a 💬 回复 button; the same Telegram message twice: once."""
    text = text.strip()
    if not text:
        raise UserFacingError("repairs.relay_empty")
    if len(text) > RELAY_LIMIT:
        raise UserFacingError("common.too_long", limit=RELAY_LIMIT)
    async with uow:
        person, ticket, other = await _sides(uow, telegram_id, ticket_id)
        from_staff = person.id == ticket.assignee_id
        language = reader_language(other, ticket)
        markup = Notice("", reply_rows(t, language, ticket.id)).markup()
        await notify_person(
            uow,
            t,
            other,
            "repairs.relay_from_staff" if from_staff else "repairs.relay_from_resident",
            now=now,
            reply_markup=markup,
            language=language,
            dedupe_key=f"rp:relay:{ticket.id}:{telegram_id}:{message_id}",
            number=number_of(ticket.id),
            name=person.display_name or "—",
            text=text,
        )
        await uow.commit()
        return RelayTarget(number_of(ticket.id), other.display_name or "—")


def phone_question_open(asked_at: object, now: datetime) -> bool:
    """Whether a number typed now still answers the phone question asked at `asked_at` (an ISO time)."""
    if not isinstance(asked_at, str):
        return False  # never asked, or the marker of an older version that carried no time
    try:
        asked = datetime.fromisoformat(asked_at)
    except ValueError:
        return False
    return timedelta(0) <= now - asked <= PHONE_QUESTION_OPEN


def looks_like_phone(text: str) -> bool:
    return bool(PHONE_RE.match(re.sub(r"[\s\-()]", "", text)))


async def save_shared_phone(uow: UnitOfWork, telegram_id: int, phone: str) -> str:
    """A resident shared their own number (Telegram's contact button) for butlers to call them back."""
    cleaned = re.sub(r"[\s\-()]", "", phone)
    if not PHONE_RE.match(cleaned):
        raise UserFacingError("repairs.phone_bad")
    async with uow:
        person = await require_person(uow, telegram_id)
        holder = await uow.community.person_by_phone(cleaned)
        if holder is not None and holder.id != person.id:
            raise UserFacingError("repairs.phone_taken")
        person.phone = cleaned
        await uow.commit()
        return cleaned


async def needs_phone(uow: UnitOfWork, telegram_id: int) -> bool:
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        return person is not None and not person.phone


async def add_still_wrong(
    uow: UnitOfWork,
    t: Translator,
    telegram_id: int,
    ticket_id: int,
    now: datetime,
    *,
    text: str = "",
    photo: str | None = None,
) -> RelayTarget:
    """After 没修好: what is still wrong goes on the ticket (its description or photos, and the timeline) and
    to whoever has it now, so they do not come back to fix the same thing again."""
    text = text.strip()[:RELAY_LIMIT]
    if not text and not photo:
        raise UserFacingError("repairs.relay_empty")
    async with uow:
        person = await require_person(uow, telegram_id)
        ticket = await _ticket(uow, ticket_id)
        if ticket.reporter_id != person.id:
            raise UserFacingError("repairs.not_yours")
        if ticket.status not in ACTIVE_STATUSES:
            raise UserFacingError("repairs.relay_closed", number=number_of(ticket.id))
        if text:
            ticket.description = f"{ticket.description}\n🔁 {text}"[:DESCRIPTION_LIMIT]
        if photo:
            ticket.photos = [*(ticket.photos or []), photo]
        ticket.version += 1  # the cards are edited again (their edits are keyed by version)
        _event(uow, ticket, "still_wrong", person, now, photo=bool(photo))
        assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
        if assignee is not None:
            await notify_person(
                uow,
                t,
                assignee,
                "repairs.n.still_wrong",
                now=now,
                dedupe_key=f"rp:still:{ticket.id}:{ticket.version}",
                number=number_of(ticket.id),
                text=text or "📷",
            )
            if photo:
                await send_photos(uow, assignee, ticket, [photo], now, f"still{ticket.version}")
        await refresh_group_cards(uow, t, ticket, now)
        await uow.commit()
        return RelayTarget(number_of(ticket.id), assignee.display_name if assignee else "")
