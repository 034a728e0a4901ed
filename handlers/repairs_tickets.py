"""Residents' tickets after the report: /mytickets, /ticket, a ticket's timeline, urging (催办), 没修好 and
rating with an optional comment. The report conversation lives in handlers/repairs.py, staff actions in
handlers/repairs_staff.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.callbacks import Button, bounded_int
from bot.context import BotContext, Draft
from bot.notices.repairs import CARD, NOT_FIXED, RATE, URGE, VIEW, rating_rows
from bot.services import repairs
from bot.services.repairs import TicketDetail, TicketView
from handlers.common import ensure_current_person, user_id
from handlers.dead_ends import answer_if_legal
from handlers.render import answer, buttons, edit_or_reply, reply, send_text, stale_button

COMMENT_SKIP = Button("rc", "skip")


async def pressed_ticket(update: Update, context: BotContext, button: Button) -> int | None:
    """The ticket id a pressed ticket button carries; a press this button never made (an old or forged
    client) is told it has expired and gets None."""
    query = update.callback_query
    parsed = button.parse(query.data if query is not None else None)
    if parsed is None:
        await stale_button(update, context)
        return None
    return int(parsed[0])


def _now(context: BotContext) -> datetime:
    return context.services.clock.now()


# ---------------------------------------------------------------- tickets: list, view, follow, urge


def ticket_line(context: BotContext, ticket: TicketView, *, private_place: bool) -> str:
    return context.t(
        "repairs.list_line",
        number=ticket.number,
        kind=context.t(f"repairs.kind.{ticket.kind}"),
        place=ticket.place_label if private_place else ticket.public_label,
        status=context.t(f"repairs.status.{ticket.status}"),
    )


async def my_tickets(update: Update, context: BotContext) -> None:
    tickets = await repairs.my_tickets(context.services.uow(), user_id(update))
    if not tickets:
        await reply(update, context, "repairs.no_tickets")
        return
    me = await ensure_current_person(update, context)
    lines = [ticket_line(context, t, private_place=t.reporter_id == me.id) for t in tickets[:10]]
    rows = [
        [(f"{t.number} · {context.t(f'repairs.status.{t.status}')}", VIEW.data(t.id))] for t in tickets[:10]
    ]
    await reply(update, context, "repairs.my_tickets", markup=buttons(rows), lines="\n".join(lines))


def render_detail(context: BotContext, detail: TicketDetail) -> str:
    ticket = detail.ticket
    zone = detail.timezone or context.services.settings.timezone
    lines = []
    for line in detail.timeline:
        values = {k: v for k, v in line.detail.items() if isinstance(v, str | int | float)}
        if "level" in values:
            values["role"] = context.t(f"repairs.level_role.{values['level']}")
        if "urgency" in values:
            values["urgency"] = context.t(f"repairs.urgency.{values['urgency']}")
        if line.action == "reassigned" and not values.get("name"):
            values["name"] = context.t("repairs.duty_staff")
        actor = line.actor_name or context.t("repairs.a_resident")
        text = context.t(f"repairs.ev.{line.action}", **{"name": "", **values, "actor": actor})
        lines.append(f"{repairs.local_time(line.at, zone)} {text}")
    return context.t(
        "repairs.detail",
        number=ticket.number,
        kind=context.t(f"repairs.kind.{ticket.kind}"),
        place=ticket.place_label,
        status=context.t(f"repairs.status.{ticket.status}"),
        description=ticket.description or "—",
        name=ticket.assignee_name or context.t("repairs.duty_staff"),
        timeline="\n".join(lines),
    )


def detail_buttons(context: BotContext, detail: TicketDetail) -> InlineKeyboardMarkup | None:
    ticket = detail.ticket
    rows: list[list[tuple[str, str]]] = []
    if detail.viewer in ("reporter", "follower") and ticket.status in ("open", "accepted"):
        rows.append([(context.t("repairs.btn.urge"), URGE.data(ticket.id))])
    if detail.viewer == "reporter" and ticket.status == "resolved":
        rows.extend(
            list(row) for row in rating_rows(context.services.translator, context.language, ticket.id)
        )
    if detail.viewer == "staff" and ticket.status in ("open", "accepted"):
        rows.append([(context.t("repairs.btn.card"), CARD.data(ticket.id))])
    return buttons(rows) if rows else None


async def view_ticket(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    ticket_id = await pressed_ticket(update, context, VIEW)
    if ticket_id is None:
        return
    detail = await repairs.ticket_detail(context.services.uow(), user_id(update), ticket_id, _now(context))
    await answer(update)
    await send_text(update, context, render_detail(context, detail), detail_buttons(context, detail))


async def ticket_command(update: Update, context: BotContext) -> None:
    raw = (context.args[0] if context.args else "").upper().removeprefix("BX")
    number = bounded_int(raw) if raw.isdigit() else None
    if number is None:
        await reply(update, context, "repairs.ticket_usage")
        return
    detail = await repairs.ticket_detail(context.services.uow(), user_id(update), number, _now(context))
    await send_text(update, context, render_detail(context, detail), detail_buttons(context, detail))


async def urge(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    ticket_id = await pressed_ticket(update, context, URGE)
    if ticket_id is None:
        return
    view = await repairs.urge(
        context.services.uow(), context.services.translator, user_id(update), ticket_id, _now(context)
    )
    await answer(update, context.t("repairs.urged", number=view.number), alert=True)


async def not_fixed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    ticket_id = await pressed_ticket(update, context, NOT_FIXED)
    if ticket_id is None:
        return
    view = await repairs.reopen(
        context.services.uow(), context.services.translator, user_id(update), ticket_id, _now(context)
    )
    await answer(update)
    who = view.assignee_name or context.t("repairs.duty_staff")
    await edit_or_reply(update, context, context.t("repairs.reopened", number=view.number, name=who))


# ---------------------------------------------------------------- rating with an optional comment


class RateStep(IntEnum):
    COMMENT = 1


# Text is the rating comment only this soon after "想说几句吗？": someone who writes hours later is asking
# something new ("维修费该谁出？", "我家又漏水了"), and it goes where it would in an idle chat. The time
# is kept in the persisted draft and checked when the text arrives, so it holds across a restart (a PTB
# conversation_timeout is a JobQueue job, lost on restart, and would leave the comment step open for good).
COMMENT_WINDOW = timedelta(minutes=30)


@dataclass
class CommentDraft(Draft):
    """Which ticket the comment is for, and when it was asked for (ISO time)."""

    KEY = "repair_comment"
    ticket_id: int | None = None
    asked_at: str = ""

    def is_open(self, now: datetime) -> bool:
        # A draft persisted before the time was kept (a bare id) has no time: it is not taken as still open.
        if self.ticket_id is None or not self.asked_at:
            return False
        return now - datetime.fromisoformat(self.asked_at) <= COMMENT_WINDOW


async def rated(update: Update, context: BotContext) -> RateStep | int:
    query = update.callback_query
    assert query is not None
    parsed = RATE.parse(query.data)
    if parsed is None:
        await stale_button(update, context)
        return ConversationHandler.END
    ticket_id, stars = int(parsed[0]), int(parsed[1])
    view = await repairs.rate(
        context.services.uow(), context.services.translator, user_id(update), ticket_id, stars, _now(context)
    )
    await answer(update)
    context.store(CommentDraft(view.id, _now(context).isoformat()))
    rows = [[(context.t("repairs.btn.no_comment"), COMMENT_SKIP.data())]]
    await edit_or_reply(
        update,
        context,
        context.t("repairs.thanks_rating", number=view.number, stars="⭐" * stars),
        buttons(rows),
    )
    return RateStep.COMMENT


async def commented(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None
    draft = context.load(CommentDraft)
    context.drop(CommentDraft.KEY)
    if not draft.is_open(_now(context)):
        # Too late to be the comment: handled again once this conversation has ended, as in an idle chat.
        await context.application.update_queue.put(update)
        return ConversationHandler.END
    assert draft.ticket_id is not None
    await repairs.add_comment(
        context.services.uow(), user_id(update), draft.ticket_id, message.text or "", _now(context)
    )
    await reply(update, context, "repairs.comment_saved")
    await answer_if_legal(update, context)  # kept as the comment above, and answered too
    return ConversationHandler.END


async def comment_skipped(update: Update, context: BotContext) -> int:
    await answer(update)
    context.drop(CommentDraft.KEY)
    await edit_or_reply(update, context, context.t("repairs.comment_skipped"))
    return ConversationHandler.END


async def comment_wrong(update: Update, context: BotContext) -> RateStep:
    await reply(update, context, "repairs.hint_comment")
    return RateStep.COMMENT
