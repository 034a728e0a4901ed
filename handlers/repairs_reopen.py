"""❌ 没修好: the ticket goes back to work, and the resident is asked what is still wrong (text or a photo),
which goes on the ticket and to whoever has it."""

from __future__ import annotations

from enum import IntEnum

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
from bot.capability import Capability, Wiring
from bot.context import BotContext
from bot.notices.repairs import NOT_FIXED
from bot.services import repairs_contact
from handlers.common import user_id
from handlers.dead_ends import answer_if_legal
from handlers.render import answer, buttons, edit_or_reply, reply, send_text
from handlers.repairs_tickets import not_fixed as reopen_ticket

PREFIX = "rw"
STILL_WRONG_SKIP = Button(PREFIX, "skip")
TICKET_KEY = "repair_still_wrong"


class StillWrongStep(IntEnum):
    WHAT = 1


async def not_fixed(update: Update, context: BotContext) -> StillWrongStep | int:
    await reopen_ticket(update, context)  # reopens and says who will come back (refusals are raised)
    query = update.callback_query
    parsed = NOT_FIXED.parse(query.data if query is not None else None)
    if parsed is None:
        return ConversationHandler.END
    ticket_id = int(parsed[0])
    assert context.user_data is not None
    context.user_data[TICKET_KEY] = ticket_id
    skip = buttons([[(context.t("repairs.btn.nothing_to_add"), STILL_WRONG_SKIP.data())]])
    await send_text(update, context, context.t("repairs.ask_still_wrong"), skip)
    return StillWrongStep.WHAT


async def _save(update: Update, context: BotContext, text: str, photo: str | None) -> int:
    assert context.user_data is not None
    ticket_id = context.user_data.pop(TICKET_KEY, None)
    if ticket_id is None:
        return ConversationHandler.END
    target = await repairs_contact.add_still_wrong(
        context.services.uow(),
        context.services.translator,
        user_id(update),
        int(ticket_id),
        context.services.clock.now(),
        text=text,
        photo=photo,
    )
    name = target.name or context.t("repairs.duty_staff")
    await reply(update, context, "repairs.still_wrong_saved", number=target.number, name=name)
    await answer_if_legal(update, context)  # on the ticket for the butler above, and answered here too
    return ConversationHandler.END


async def what_text(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None
    return await _save(update, context, message.text or "", None)


async def what_photo(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None and message.photo
    return await _save(update, context, message.caption or "", message.photo[-1].file_id)


async def skipped(update: Update, context: BotContext) -> int:
    await answer(update)
    if context.user_data is not None:
        context.user_data.pop(TICKET_KEY, None)
    if update.callback_query is not None:
        await edit_or_reply(update, context, context.t("repairs.still_wrong_skipped"))
    else:
        await reply(update, context, "repairs.still_wrong_skipped")
    return ConversationHandler.END


async def other_content(update: Update, context: BotContext) -> StillWrongStep:
    await reply(update, context, "repairs.hint_still_wrong")
    return StillWrongStep.WHAT


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    conversation: ConversationHandler[BotContext] = ConversationHandler(
        name="repairs_still_wrong",
        persistent=True,
        allow_reentry=True,
        entry_points=[CallbackQueryHandler(not_fixed, pattern=NOT_FIXED.pattern)],
        states={
            StillWrongStep.WHAT: [
                MessageHandler(private & filters.PHOTO, what_photo),
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, what_text),
                CallbackQueryHandler(skipped, pattern=STILL_WRONG_SKIP.pattern),
                MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, other_content),
            ]
        },
        fallbacks=[CommandHandler("cancel", skipped)],
    )
    return [conversation]


CAPABILITY = Capability(name="repairs_reopen", handlers=handlers)
