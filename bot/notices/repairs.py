"""What people see of a repair ticket: the staff task card, the staff group's card, the rating buttons and
the labels status notices are filled with. Plain values in, a plain `Notice` (text and button rows) out:
services queue them into the outbox (`notice.markup()`), handlers reply with them (`buttons(notice.rows)`).

The buttons are declared once here; their wire format ("rp:acc:12") is the one already in people's chats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.callbacks import Button
from bot.delivery.markup import inline_keyboard
from bot.i18n import Translator
from bot.services.repairs_common import ACTIVE_STATUSES, TicketStatus, number_of

# The repair report conversation's name: its persisted states are stored under it (never rename it), and
# other flows tell "inside a report" by it (handlers/dead_ends.py).
REPORT_CONVERSATION = "repairs_report"
RP = "rp"  # staff and resident buttons on tickets
ACCEPT = Button(RP, "acc", int)
REASSIGN = Button(RP, "rea", int)
HELP = Button(RP, "hlp", int)
DONE = Button(RP, "don", int)
MESSAGE = Button(RP, "msg", int)
CALL = Button(RP, "tel", int)
RATE = Button(RP, "rate", int, int)
NOT_FIXED = Button(RP, "bad", int)
VIEW = Button(RP, "view", int)
URGE = Button(RP, "urg", int)
CARD = Button(RP, "card", int)

Rows = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)


@dataclass(frozen=True)
class Notice:
    text: str
    rows: Rows = ()

    def markup(self) -> dict[str, Any]:
        """The Bot API reply_markup JSON the outbox sends (an empty keyboard removes old buttons)."""
        return inline_keyboard([list(row) for row in self.rows])


class CardTicket(Protocol):
    """What a card shows of a ticket (a TicketView or the stored ticket)."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def urgency(self) -> str: ...
    @property
    def place_label(self) -> str: ...
    @property
    def public_label(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def photos(self) -> Sequence[str] | None: ...


class GroupCardTicket(CardTicket, Protocol):
    @property
    def needs_help(self) -> bool: ...
    @property
    def escalation_level(self) -> int: ...
    @property
    def rating(self) -> int | None: ...


def task_card(
    t: Translator,
    language: str | None,
    ticket: CardTicket,
    assignee_name: str = "",
    *,
    reporter_phone: bool | None = None,
) -> Notice:
    """The assignee's private card: full place (staff need the room), description and the buttons.

    reporter_phone is given only for the assignee's own copy: it adds 💬 (a message relayed through the bot)
    and, where the resident shared a phone, 📞."""
    tid = ticket.id
    status = ticket.status
    values = {
        "number": number_of(tid),
        "kind": t(language, f"repairs.kind.{ticket.kind}"),
        "urgency": t(language, f"repairs.urgency.{ticket.urgency}"),
        "status": t(language, f"repairs.staff_status.{status}"),
        "place": ticket.place_label,
        "description": ticket.description or "—",
        "photos": len(ticket.photos or ()),
    }
    text = t(language, "repairs.card.task", **values)
    if assignee_name and status != TicketStatus.OPEN:
        text += "\n" + t(language, "repairs.card.handled_by", name=assignee_name)
    rows: list[tuple[tuple[str, str], ...]] = []
    if status == TicketStatus.OPEN:
        rows.append(
            (
                (t(language, "repairs.btn.accept"), ACCEPT.data(tid)),
                (t(language, "repairs.btn.reassign"), REASSIGN.data(tid)),
            )
        )
        rows.append(((t(language, "repairs.btn.help"), HELP.data(tid)),))
    elif status == TicketStatus.ACCEPTED:
        rows.append(
            (
                (t(language, "repairs.btn.done"), DONE.data(tid)),
                (t(language, "repairs.btn.reassign"), REASSIGN.data(tid)),
            )
        )
        rows.append(((t(language, "repairs.btn.help"), HELP.data(tid)),))
    if reporter_phone is not None and status in ACTIVE_STATUSES:
        contact = [(t(language, "repairs.btn.message"), MESSAGE.data(tid))]
        if reporter_phone:
            contact.insert(0, (t(language, "repairs.btn.call"), CALL.data(tid)))
        rows.append(tuple(contact))
    return Notice(text, tuple(rows))


def ticket_labels(
    t: Translator, language: str | None, ticket: CardTicket, assignee_name: str = ""
) -> dict[str, str]:
    """The values a status notice about this ticket is filled with, in the reader's language."""
    return {
        "number": number_of(ticket.id),
        "kind": t(language, f"repairs.kind.{ticket.kind}"),
        "urgency": t(language, f"repairs.urgency.{ticket.urgency}"),
        "status": t(language, f"repairs.status.{ticket.status}"),
        "place": ticket.public_label,
        "name": assignee_name,
    }


def group_card(t: Translator, ticket: GroupCardTicket, assignee_name: str) -> Notice:
    """The staff group's card: never a room, a phone or the reporter's name."""
    values = ticket_labels(t, None, ticket, assignee_name)
    values["status"] = t(None, f"repairs.staff_status.{ticket.status}")  # staff read it, not the resident
    text = t(None, "repairs.card.group", **values)
    if assignee_name:
        text += "\n" + t(None, "repairs.card.handled_by", name=assignee_name)
    if ticket.needs_help and ticket.status in ACTIVE_STATUSES:
        text += "\n" + t(None, "repairs.card.needs_help")
    if ticket.escalation_level:
        text += "\n" + t(None, f"repairs.card.level{ticket.escalation_level}")
    if ticket.rating:
        text += "\n" + "⭐" * ticket.rating
    rows: Rows = ()
    if ticket.status == TicketStatus.OPEN:
        rows = (((t(None, "repairs.btn.accept"), ACCEPT.data(ticket.id)),),)
    return Notice(text, rows)


def rating_rows(t: Translator, language: str | None, ticket_id: int) -> Rows:
    """Under "fixed, please rate": five stars and 没修好."""
    stars = tuple((f"{n}⭐", RATE.data(ticket_id, n)) for n in range(1, 6))
    return (stars, ((t(language, "repairs.btn.not_fixed"), NOT_FIXED.data(ticket_id)),))


def reply_rows(t: Translator, language: str | None, ticket_id: int) -> Rows:
    """Under a relayed message: 💬 回复 (to the other side of the ticket)."""
    return (((t(language, "repairs.btn.reply"), MESSAGE.data(ticket_id)),),)
