"""Emergencies typed in free text ("电梯里有人被困了"): what the person may do, and the alert itself.

The alert is the same emergency ticket the 🚨 button of the repair report creates (on-duty butler, property
manager and supervisor alerted through the outbox), raised at most once per typed message: the message's key
is stored on the ticket, so a second press, or a press from the person's other phone, finds the first ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db.errors import Conflict
from bot.db.models import Person
from bot.db.models.repairs import RepairTicket
from bot.db.uow import UnitOfWork
from bot.i18n import Translator
from bot.services import repairs
from bot.services.errors import UserFacingError
from bot.services.repairs import ReportDraft
from bot.work_kinds import WorkKind
from knowledge.emergency import EMERGENCY_KINDS

# The kind of work each emergency is, so it reaches the staff who cover it (as the 🚨 button's choices do).
WORK_OF_KIND: dict[str, str] = {
    "lift": WorkKind.ELEVATOR.value,
    "gas": WorkKind.SAFETY.value,
    "fire": WorkKind.SAFETY.value,
    "electric": WorkKind.PLUMBING_ELECTRIC.value,
    "water": WorkKind.PLUMBING_ELECTRIC.value,
    "medical": WorkKind.SAFETY.value,
    "violence": WorkKind.SAFETY.value,
}
ALERT_KEY_LIMIT = 64


@dataclass(frozen=True)
class EmergencyHelp:
    """What the bot can do for this person in this chat."""

    can_alert: bool  # registered with a home in the compound: the confirm button may be shown
    duty_phone: str | None  # the compound's duty phone, when the person or the chat belongs to one
    staff_without_home: bool = False  # a butler or volunteer on duty: "您还没有绑定房屋" would be wrong


@dataclass(frozen=True)
class AlertResult:
    number: str
    assignee_name: str | None  # None: the property's duty staff
    duty_phone: str | None
    already_raised: bool


def alert_key(chat_id: int, message_id: int) -> str:
    return f"em:{chat_id}:{message_id}"[:ALERT_KEY_LIMIT]


async def _homes(uow: UnitOfWork, person: Person | None, compound_id: int | None) -> list[tuple[int, int]]:
    """(household id, compound id) of the person's homes, in the given compound when there is one."""
    if person is None:
        return []
    homes = [
        (r.household.id, r.household.unit.building.compound_id)
        for r in await uow.community.residencies_of(person.id)
    ]
    return [h for h in homes if compound_id is None or h[1] == compound_id]


async def _chat_compound(uow: UnitOfWork, chat_id: int, private: bool) -> int | None:
    if private:
        return None
    group = await uow.community.group(chat_id)
    return group.compound_id if group is not None else None


async def help_for(uow: UnitOfWork, telegram_id: int, chat_id: int, *, private: bool) -> EmergencyHelp:
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        chat_compound = await _chat_compound(uow, chat_id, private)
        if not private and chat_compound is None:
            return EmergencyHelp(False, None)  # a group not linked to a compound: the public numbers
        homes = await _homes(uow, person, chat_compound)
        compound_id = chat_compound if chat_compound is not None else (homes[0][1] if homes else None)
        roles = await uow.community.roles_of(person.id) if person is not None and not homes else []
        if compound_id is None:
            compound_id = next((r.compound_id for r in roles if r.compound_id is not None), None)
        compound = await uow.community.compound(compound_id) if compound_id is not None else None
        return EmergencyHelp(
            bool(homes),
            compound.duty_phone if compound is not None else None,
            staff_without_home=bool(roles),
        )


async def raise_alert(
    uow: UnitOfWork,
    t: Translator,
    *,
    telegram_id: int,
    chat_id: int,
    private: bool,
    kind: str,
    text: str,
    key: str,
    now: datetime,
) -> AlertResult:
    """Create the emergency ticket for one typed message, or return the one already created for it."""
    if kind not in EMERGENCY_KINDS:
        raise UserFacingError("emergency.stale")
    async with uow:
        existing = await _by_key(uow, key)
        if existing is not None:
            return await _result(uow, existing, already=True)
        person = await uow.community.person_by_telegram(telegram_id)
        homes = await _homes(uow, person, await _chat_compound(uow, chat_id, private))
        if person is None or not homes:
            raise UserFacingError("emergency.cannot_alert")
        label = t(repairs.writer_language(person, text), f"emergency.kind.{kind}")
        description = f"🚨 {label}：{text.strip()}" if text.strip() else f"🚨 {label}"
        draft = ReportDraft(
            kind=WORK_OF_KIND[kind],
            urgency="emergency",
            description=description[: repairs.DESCRIPTION_LIMIT],
            household_id=homes[0][0],
            channel="chat" if private else "group",
        )
        created = await repairs.create_ticket(uow, t, person, draft, now)
        try:
            await uow.repairs.set_alert_key(created.ticket.id, key)
            uow.schedule_changed()  # the new ticket's escalation is due
            await uow.commit()
        except Conflict:
            # The other phone's press won the race: nothing of this one is kept, the first ticket stands.
            await uow.rollback()
            existing = await _by_key(uow, key)
            if existing is None:
                raise
            return await _result(uow, existing, already=True)
        return AlertResult(
            created.ticket.number, created.ticket.assignee_name or None, created.duty_phone, False
        )


async def _by_key(uow: UnitOfWork, key: str) -> RepairTicket | None:
    return await uow.repairs.ticket_by_alert_key(key)


async def _result(uow: UnitOfWork, ticket: RepairTicket, *, already: bool) -> AlertResult:
    assignee = await uow.community.person(ticket.assignee_id) if ticket.assignee_id else None
    compound = await uow.community.compound(ticket.compound_id)
    return AlertResult(
        repairs.number_of(ticket.id),
        assignee.display_name if assignee is not None else None,
        compound.duty_phone if compound is not None else None,
        already,
    )
