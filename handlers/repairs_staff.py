"""Butlers' and supervisors' side of repairs: the task card (接单/转派/需要协助/完成), /tasks, /board."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Button
from bot.capability import Capability, MenuEntry, Wiring
from bot.commands import CommandSpec, roles
from bot.context import BotContext, Draft
from bot.notices.repairs import ACCEPT, CARD, DONE, HELP, REASSIGN, task_card
from bot.roles import Role
from bot.services import repairs
from bot.services.repairs import TicketView
from handlers.common import current_person, is_private, user_id
from handlers.render import answer, buttons, edit_or_reply, reply, send_text, stale_button
from handlers.repairs_tickets import ticket_line

PREFIX = "rs"  # staff conversation buttons
REASSIGN_TO = Button(PREFIX, "to", int)  # a colleague's person id, or 0 for the duty queue
NO_PHOTO = Button(PREFIX, "nophoto")
STAFF_CANCEL = Button(PREFIX, "cancel")
STAFF_KEY = "repair_staff"


@dataclass
class StaffDraft(Draft):
    """A hand-over (转派) or a completion (完成) in progress: the ticket, and to whom (0: duty queue)."""

    KEY: ClassVar[str] = STAFF_KEY
    ticket_id: int | None = None
    target: int = 0


class StaffStep(IntEnum):
    REASSIGN_PICK = 1
    REASSIGN_REASON = 2
    DONE_PHOTO = 3


def _ticket_id(update: Update, button: Button) -> int | None:
    """The id the pressed button carries (None for a press this button never made)."""
    query = update.callback_query
    parsed = button.parse(query.data) if query is not None else None
    return int(parsed[0]) if parsed is not None else None


async def _show_card(update: Update, context: BotContext, view: TicketView) -> None:
    """Edit the pressed private card to the ticket's new state (the group card is edited via the outbox)."""
    if not is_private(update):
        return
    phone = await repairs.card_contact(context.services.uow(), user_id(update), view.id)
    card = task_card(
        context.services.translator, context.language, view, view.assignee_name, reporter_phone=phone
    )
    await edit_or_reply(update, context, card.text, buttons(card.rows))


async def accept(update: Update, context: BotContext) -> None:
    ticket_id = _ticket_id(update, ACCEPT)
    if ticket_id is None:
        await stale_button(update, context)
        return
    view = await repairs.accept(
        context.services.uow(),
        context.services.translator,
        user_id(update),
        ticket_id,
        context.services.clock.now(),
    )
    await answer(update, context.t("repairs.accepted_ok", number=view.number))
    await _show_card(update, context, view)


async def ask_help(update: Update, context: BotContext) -> None:
    ticket_id = _ticket_id(update, HELP)
    if ticket_id is None:
        await stale_button(update, context)
        return
    view = await repairs.ask_help(
        context.services.uow(),
        context.services.translator,
        user_id(update),
        ticket_id,
        context.services.clock.now(),
    )
    await answer(update, context.t("repairs.help_sent"), alert=True)
    await _show_card(update, context, view)


async def open_card(update: Update, context: BotContext) -> None:
    ticket_id = _ticket_id(update, CARD)
    if ticket_id is None:
        await stale_button(update, context)
        return
    detail = await repairs.ticket_detail(
        context.services.uow(), user_id(update), ticket_id, context.services.clock.now()
    )
    if detail.viewer != "staff":
        await answer(update, context.t("common.not_allowed"), alert=True)
        return
    await answer(update)
    phone = await repairs.card_contact(context.services.uow(), user_id(update), ticket_id)
    card = task_card(
        context.services.translator,
        context.language,
        detail.ticket,
        detail.ticket.assignee_name,
        reporter_phone=phone,
    )
    await send_text(update, context, card.text, buttons(card.rows))


# ---------------------------------------------------------------- 转派 with a reason


async def reassign_start(update: Update, context: BotContext) -> StaffStep | int:
    ticket_id = _ticket_id(update, REASSIGN)
    if ticket_id is None or not is_private(update):
        await stale_button(update, context)
        return ConversationHandler.END
    targets = await repairs.reassign_targets(context.services.uow(), user_id(update), ticket_id)
    await answer(update)
    context.store(StaffDraft(ticket_id=ticket_id))
    rows = [
        [(context.t("repairs.btn.colleague", name=c.name, count=c.open_tasks), REASSIGN_TO.data(c.id))]
        for c in targets
    ]
    rows.append([(context.t("repairs.btn.to_duty"), REASSIGN_TO.data(0))])
    rows.append([(context.t("common.btn_cancel"), STAFF_CANCEL.data())])
    await send_text(
        update,
        context,
        context.t("repairs.ask_reassign_to", number=repairs.number_of(ticket_id)),
        buttons(rows),
    )
    return StaffStep.REASSIGN_PICK


async def reassign_target(update: Update, context: BotContext) -> StaffStep:
    target = _ticket_id(update, REASSIGN_TO)
    draft = context.load(StaffDraft)
    if target is None or draft.ticket_id is None:
        await stale_button(update, context)
        return StaffStep.REASSIGN_PICK
    await answer(update)
    draft.target = target
    context.store(draft)
    await edit_or_reply(
        update,
        context,
        context.t("repairs.ask_reason"),
        buttons([[(context.t("common.btn_cancel"), STAFF_CANCEL.data())]]),
    )
    return StaffStep.REASSIGN_REASON


async def reassign_reason(update: Update, context: BotContext) -> StaffStep | int:
    message = update.effective_message
    assert message is not None
    draft = context.load(StaffDraft)
    if draft.ticket_id is None:
        await stale_button(update, context)
        return ConversationHandler.END
    reason = (message.text or "").strip()
    if len(reason) > repairs.REASON_LIMIT:
        await reply(update, context, "common.too_long", limit=repairs.REASON_LIMIT)
        return StaffStep.REASSIGN_REASON
    view = await repairs.reassign(
        context.services.uow(),
        context.services.translator,
        user_id(update),
        draft.ticket_id,
        draft.target,
        reason,
        context.services.clock.now(),
    )
    context.drop(STAFF_KEY)
    await reply(
        update,
        context,
        "repairs.reassigned_ok",
        number=view.number,
        name=view.assignee_name or context.t("repairs.duty_staff"),
    )
    return ConversationHandler.END


# ---------------------------------------------------------------- 完成 with an optional photo


async def done_start(update: Update, context: BotContext) -> StaffStep | int:
    ticket_id = _ticket_id(update, DONE)
    if ticket_id is None or not is_private(update):
        await stale_button(update, context)
        return ConversationHandler.END
    detail = await repairs.ticket_detail(
        context.services.uow(), user_id(update), ticket_id, context.services.clock.now()
    )
    me = await repairs_me(update, context)
    if detail.ticket.status in ("resolved", "closed"):
        stale = context.t(f"repairs.stale_now.{detail.ticket.status}", number=detail.ticket.number)
        await answer(update, stale, alert=True)
        return ConversationHandler.END
    if detail.ticket.assignee_id != me or detail.ticket.status != "accepted":
        await answer(update, context.t("repairs.cannot_complete"), alert=True)
        return ConversationHandler.END
    await answer(update)
    context.store(StaffDraft(ticket_id=ticket_id))
    rows = [
        [(context.t("repairs.btn.skip_photo"), NO_PHOTO.data())],
        [(context.t("common.btn_cancel"), STAFF_CANCEL.data())],
    ]
    await send_text(
        update, context, context.t("repairs.ask_result_photo", number=detail.ticket.number), buttons(rows)
    )
    return StaffStep.DONE_PHOTO


async def repairs_me(update: Update, context: BotContext) -> int | None:
    person = await current_person(update, context)
    return person.id if person else None


async def _finish(update: Update, context: BotContext, photo: str | None) -> int:
    draft = context.load(StaffDraft)
    if draft.ticket_id is None:
        await stale_button(update, context)
        return ConversationHandler.END
    view = await repairs.complete(
        context.services.uow(),
        context.services.translator,
        user_id(update),
        draft.ticket_id,
        photo,
        context.services.clock.now(),
    )
    context.drop(STAFF_KEY)
    await answer(update)
    await reply(update, context, "repairs.completed_ok", number=view.number)
    return ConversationHandler.END


async def done_photo(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None
    return await _finish(update, context, message.photo[-1].file_id)


async def done_no_photo(update: Update, context: BotContext) -> int:
    return await _finish(update, context, None)


async def done_text(update: Update, context: BotContext) -> StaffStep:
    await reply(update, context, "repairs.hint_result_photo")
    return StaffStep.DONE_PHOTO


async def staff_cancel(update: Update, context: BotContext) -> int:
    await answer(update)
    context.drop(STAFF_KEY)
    if update.callback_query is not None:
        await edit_or_reply(update, context, context.t("common.cancelled"))
    else:
        await reply(update, context, "common.cancelled")
    return ConversationHandler.END


async def staff_wrong(update: Update, context: BotContext) -> None:
    await reply(update, context, "repairs.hint_buttons")


# ---------------------------------------------------------------- lists


async def tasks_command(update: Update, context: BotContext) -> None:
    tasks = await repairs.staff_tasks(context.services.uow(), user_id(update))
    if not tasks:
        await reply(update, context, "repairs.no_tasks")
        return
    lines = [ticket_line(context, t, private_place=True) for t in tasks[:20]]
    rows = [
        [(f"{t.number} · {context.t(f'repairs.status.{t.status}')}", CARD.data(t.id))] for t in tasks[:20]
    ]
    await reply(update, context, "repairs.tasks", markup=buttons(rows), lines="\n".join(lines))


async def board_command(update: Update, context: BotContext) -> None:
    view = await repairs.board(context.services.uow(), user_id(update), context.services.clock.now())
    none = context.t("repairs.none")
    overdue = "\n".join(ticket_line(context, t, private_place=True) for t in view.overdue) or none
    worst = (
        "\n".join(
            ticket_line(context, t, private_place=True) + f" {'⭐' * (t.rating or 0)}"
            for t in view.worst_rated
        )
        or none
    )
    help_needed = "\n".join(ticket_line(context, t, private_place=True) for t in view.help_needed) or none
    await reply(
        update,
        context,
        "repairs.board",
        compound=view.compound_name,
        open=view.counts.get("open", 0),
        accepted=view.counts.get("accepted", 0),
        resolved=view.counts.get("resolved", 0),
        closed=view.counts.get("closed", 0),
        overdue=overdue,
        worst=worst,
        help=help_needed,
    )


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    cb = CallbackQueryHandler
    staff: ConversationHandler[BotContext] = ConversationHandler(
        name="repairs_staff",
        persistent=True,
        allow_reentry=True,
        entry_points=[cb(reassign_start, pattern=REASSIGN.pattern), cb(done_start, pattern=DONE.pattern)],
        states={
            StaffStep.REASSIGN_PICK: [cb(reassign_target, pattern=REASSIGN_TO.pattern)],
            StaffStep.REASSIGN_REASON: [
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, reassign_reason)
            ],
            StaffStep.DONE_PHOTO: [
                MessageHandler(private & filters.PHOTO, done_photo),
                cb(done_no_photo, pattern=NO_PHOTO.pattern),
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, done_text),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", staff_cancel),
            cb(staff_cancel, pattern=STAFF_CANCEL.pattern),
            MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, staff_wrong),
        ],
    )
    return [
        staff,
        cb(accept, pattern=ACCEPT.pattern),
        cb(ask_help, pattern=HELP.pattern),
        cb(open_card, pattern=CARD.pattern),
        CommandHandler("tasks", tasks_command, filters=private),
        CommandHandler("board", board_command, filters=private),
        cb(stale_button, pattern=rf"^{PREFIX}:"),
    ]


CAPABILITY = Capability(
    name="repairs_staff",
    handlers=handlers,
    commands=(
        CommandSpec("tasks", "cmd.tasks", roles(Role.BUTLER, Role.PROPERTY_MANAGER, Role.MEDIATOR), 200),
        CommandSpec("board", "cmd.board", roles(Role.SUPERVISOR, Role.PROPERTY_MANAGER, Role.ADMIN), 210),
    ),
    # Each role's daily work on its keyboard, ahead of everything else.
    menu=(
        MenuEntry("menu.tasks", tasks_command, roles(Role.BUTLER, Role.PROPERTY_MANAGER, Role.MEDIATOR), 22),
        MenuEntry("menu.board", board_command, roles(Role.SUPERVISOR), 30),
    ),
)
