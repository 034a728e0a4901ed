"""What the repairs services queue for people as a ticket moves: the task card to its assignee, alerts to
managers, status notices to residents, and the copies of the cards edited to the ticket's state; and one
step up the escalation ladder."""

from __future__ import annotations

from datetime import datetime

from bot.db.models import Person
from bot.db.models.repairs import RepairTicket
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_chat, notify_person
from bot.i18n import Translator
from bot.notices.repairs import Notice, group_card, rating_rows, task_card, ticket_labels
from bot.services.repairs_common import (
    ACTIVE_STATUSES,
    TicketStatus,
    Urgency,
    number_of,
)
from bot.services.repairs_core import LEVEL_ROLES, MAX_LEVEL, TicketView, _event, reader_language

# ---------------------------------------------------------------- notices


async def card_contact(uow: UnitOfWork, telegram_id: int, ticket_id: int) -> bool | None:
    """For the viewer's copy of a card: None unless they are its assignee; else whether 📞 can be offered."""
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        ticket = await uow.repairs.ticket(ticket_id)
        if person is None or ticket is None or ticket.assignee_id != person.id:
            return None
        return await reporter_has_phone(uow, ticket)


async def reporter_has_phone(uow: UnitOfWork, ticket: RepairTicket | TicketView) -> bool:
    reporter = await uow.community.person(ticket.reporter_id)
    return reporter is not None and bool(reporter.phone)


async def send_photos(
    uow: UnitOfWork, person: Person, ticket: RepairTicket, photos: list[str], now: datetime, tag: str
) -> None:
    """The report's photos (or the result photo) follow the card, by file id, captioned with the number."""
    if person.telegram_id is None:
        return
    for index, file_id in enumerate(photos):
        await uow.outbox.add(
            chat_id=person.telegram_id,
            person_id=person.id,
            method="sendPhoto",
            payload={"photo": file_id, "caption": number_of(ticket.id)},
            now=now,
            dedupe_key=f"rp:photo:{tag}:{ticket.id}:{person.id}:{index}",
        )


async def _send_task_card(
    uow: UnitOfWork, t: Translator, ticket: RepairTicket, assignee: Person | None, now: datetime
) -> None:
    if assignee is None:
        return
    phone = await reporter_has_phone(uow, ticket)
    card = task_card(t, assignee.language, ticket, reporter_phone=phone)
    key = "repairs.n.new_task_emergency" if ticket.urgency == Urgency.EMERGENCY else "repairs.n.new_task"
    await notify_person(
        uow,
        t,
        assignee,
        key,
        now=now,
        reply_markup=card.markup(),
        dedupe_key=f"rp:task:{ticket.id}:{ticket.version}",
        card=card.text,
    )
    await send_photos(uow, assignee, ticket, list(ticket.photos or []), now, "report")


async def _alert_roles(
    uow: UnitOfWork,
    t: Translator,
    ticket: RepairTicket,
    roles: list[str],
    key: str,
    now: datetime,
    *,
    with_accept: bool = False,
    tag: str = "",
) -> int:
    sent = 0
    seen: set[int] = set()
    for _role, person in await uow.community.staff_with_role(ticket.compound_id, roles):
        if person.id in seen or (person.id == ticket.assignee_id and key != "repairs.n.escalated"):
            continue
        seen.add(person.id)
        card = task_card(t, person.language, ticket)
        assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
        row = await notify_person(
            uow,
            t,
            person,
            key,
            now=now,
            reply_markup=card.markup() if with_accept else None,
            dedupe_key=f"rp:{key}:{ticket.id}:{ticket.version}:{person.id}{tag}",
            card=card.text,
            name=assignee.display_name if assignee else t(person.language, "repairs.nobody"),
        )
        sent += row is not None
    return sent


async def _tell_residents(
    uow: UnitOfWork,
    t: Translator,
    ticket: RepairTicket,
    key: str,
    now: datetime,
    *,
    reporter_markup: bool = False,
    skip_person_id: int | None = None,
    **values: object,
) -> None:
    """Status changes go to the reporter and every follower, each in their own language (see
    `reader_language`)."""
    people = [ticket.reporter_id, *await uow.repairs.followers(ticket.id)]
    assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
    for person_id in dict.fromkeys(people):
        if person_id == skip_person_id:
            continue
        person = await uow.community.person(person_id)
        if person is None:
            continue
        language = reader_language(person, ticket)
        labels = ticket_labels(t, language, ticket, assignee.display_name if assignee else "")
        markup = None
        if reporter_markup and person_id == ticket.reporter_id:
            markup = Notice("", rating_rows(t, language, ticket.id)).markup()
        await notify_person(
            uow,
            t,
            person,
            key,
            now=now,
            reply_markup=markup,
            language=language,
            dedupe_key=f"rp:res:{key}:{ticket.id}:{ticket.version}:{person_id}",
            **{**labels, **values},  # type: ignore[arg-type]
        )


def _card_buttons_for(ticket: RepairTicket, recipient_id: int | None, alert: bool) -> bool:
    """Who may still act from a copy of a card: the assignee; while it waits, whoever was asked to take it."""
    if ticket.status == TicketStatus.ACCEPTED:
        return recipient_id == ticket.assignee_id
    if ticket.status == TicketStatus.OPEN:
        return alert or recipient_id == ticket.assignee_id
    return False


async def refresh_private_cards(uow: UnitOfWork, t: Translator, ticket: RepairTicket, now: datetime) -> None:
    """Every task card already sent to a person (the assignee's, the duty manager's, the alerts) is edited to
    the ticket's state, with buttons only for whoever may still use them: no "处理中" card with a live ✅ 完成
    after the ticket was closed. The sent message ids are the ones the outbox remembered."""
    assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
    tags = ["task", *CARD_NOTICES, *CARD_ALERTS]
    for row in await uow.repairs.card_messages(ticket.id, tags):
        parts = (row.dedupe_key or "").split(":")
        if len(parts) < 4 or parts[2] != str(ticket.id) or row.person_id is None:
            continue
        alert = parts[1] in CARD_ALERTS
        if parts[1] == "task":
            key = (
                "repairs.n.new_task_emergency"
                if ticket.urgency == Urgency.EMERGENCY
                else "repairs.n.new_task"
            )
        elif alert or parts[1] in CARD_NOTICES:
            key = CARD_NOTICES.get(parts[1], parts[1])
        else:
            continue
        person = await uow.community.person(row.person_id)
        if person is None:
            continue
        had_buttons = bool((row.payload or {}).get("reply_markup", {}).get("inline_keyboard"))
        own = person.id == ticket.assignee_id
        phone = await reporter_has_phone(uow, ticket) if own else None
        card = task_card(
            t, person.language, ticket, assignee.display_name if assignee else "", reporter_phone=phone
        )
        keep = had_buttons and _card_buttons_for(ticket, person.id, alert=alert)
        markup = card.markup() if keep else Notice("").markup()
        name = assignee.display_name if assignee else t(person.language, "repairs.nobody")
        text = t(person.language, key, card=card.text, name=name)
        if row.status == "pending":
            row.payload = {**(row.payload or {}), "text": text, "reply_markup": markup}
        elif row.telegram_message_id is not None and row.chat_id is not None:
            await notify_chat(
                uow,
                text,
                chat_id=row.chat_id,
                now=now,
                reply_markup=markup,
                dedupe_key=f"{row.dedupe_key}:e{ticket.version}",
                method="editMessageText",
                extra={"message_id": row.telegram_message_id},
            )


# The notices that carry a copy of the task card, and so are edited as the ticket moves: the assignee's
# (by the dedupe key's tag) and the alerts to managers and supervisors (by their message key).
CARD_NOTICES = {"reopen": "repairs.n.reopened_staff", "urge": "repairs.n.urged"}
CARD_ALERTS = frozenset(
    {
        "repairs.n.duty_queue",
        "repairs.n.emergency_alert",
        "repairs.n.help",
        "repairs.n.escalated",
        "repairs.n.remind_queue",
        "repairs.n.urged_queue",
    }
)


async def refresh_group_cards(uow: UnitOfWork, t: Translator, ticket: RepairTicket, now: datetime) -> None:
    """Post the card to the compound's staff groups once, then edit it as the ticket moves; the private
    copies follow too."""
    await refresh_private_cards(uow, t, ticket, now)
    assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
    notice = group_card(
        t, ticket, assignee.display_name if assignee and ticket.status != TicketStatus.OPEN else ""
    )
    text, markup = notice.text, notice.markup()
    for group in await uow.community.groups_of(ticket.compound_id, "staff"):
        key = f"rp:gcard:{ticket.id}:{group.chat_id}"
        row = await uow.repairs.message_by_key(key)
        if row is None:
            await notify_chat(uow, text, chat_id=group.chat_id, now=now, reply_markup=markup, dedupe_key=key)
        elif row.status == "pending":
            row.payload = {"text": text, "reply_markup": markup}
        elif row.telegram_message_id is not None:
            await notify_chat(
                uow,
                text,
                chat_id=group.chat_id,
                now=now,
                reply_markup=markup,
                dedupe_key=f"{key}:v{ticket.version}",
                method="editMessageText",
                extra={"message_id": row.telegram_message_id},
            )


async def escalate(
    uow: UnitOfWork, t: Translator, ticket: RepairTicket, now: datetime, *, reason: str
) -> bool:
    """One step up the ladder (butler → property manager → supervisor), recorded in the timeline."""
    if ticket.escalation_level >= MAX_LEVEL or ticket.status not in ACTIVE_STATUSES:
        return False
    ticket.escalation_level += 1
    ticket.version += 1
    level = ticket.escalation_level
    role = LEVEL_ROLES[level]
    _event(uow, ticket, "escalated", None, now, level=level, reason=reason)
    await _alert_roles(
        uow,
        t,
        ticket,
        [role],
        "repairs.n.escalated",
        now,
        with_accept=ticket.status == TicketStatus.OPEN and level == 1,
        tag=f":L{level}",
    )
    await refresh_group_cards(uow, t, ticket, now)
    return True
