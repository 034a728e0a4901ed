"""📞 and 💬 on a ticket: the assignee calls the resident who shared a phone, and either side sends the
other a message through the bot. After a report the resident is asked, skippably, for a phone to call."""

from __future__ import annotations

from enum import IntEnum

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Button
from bot.capability import Capability, TextHookSpec, Wiring
from bot.context import BotContext
from bot.i18n import SUPPORTED_LANGUAGES, default_translator
from bot.notices.repairs import CALL, MESSAGE
from bot.services import repairs_contact
from handlers.common import current_person, user_id
from handlers.menu import main_menu
from handlers.render import answer, buttons, reply, send_text, stale_button
from handlers.repairs_tickets import pressed_ticket

PREFIX = "rc"
RELAY_CANCEL = Button(PREFIX, "cancel")
RELAY_KEY = "repair_relay"
SKIPPED_KEY = "repair_phone_skipped"
ASKED_KEY = "repair_phone_asked"  # when the phone question was asked: a number typed soon after answers it


class RelayStep(IntEnum):
    TEXT = 1


async def call_pressed(update: Update, context: BotContext) -> None:
    """📞: the resident's number as a contact card the assignee taps to call (never posted anywhere else)."""
    ticket_id = await pressed_ticket(update, context, CALL)
    chat = update.effective_chat
    if ticket_id is None or chat is None:
        return
    contact = await repairs_contact.reporter_contact(context.services.uow(), user_id(update), ticket_id)
    await answer(update)
    await context.bot.send_contact(chat.id, phone_number=contact.phone, first_name=contact.name)
    await reply(update, context, "repairs.contact_sent", number=contact.number, name=contact.name)


async def relay_start(update: Update, context: BotContext) -> RelayStep | int:
    ticket_id = await pressed_ticket(update, context, MESSAGE)
    if ticket_id is None:
        return ConversationHandler.END
    target = await repairs_contact.relay_target(context.services.uow(), user_id(update), ticket_id)
    await answer(update)
    assert context.user_data is not None
    context.user_data[RELAY_KEY] = ticket_id
    markup = buttons([[(context.t("common.btn_cancel"), RELAY_CANCEL.data())]])
    await send_text(
        update, context, context.t("repairs.relay_ask", name=target.name, number=target.number), markup
    )
    return RelayStep.TEXT


async def relay_text(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None and context.user_data is not None
    ticket_id = context.user_data.pop(RELAY_KEY, None)
    if ticket_id is None:
        await stale_button(update, context)
        return ConversationHandler.END
    target = await repairs_contact.relay(
        context.services.uow(),
        context.services.translator,
        user_id(update),
        int(ticket_id),
        message.text or "",
        message.message_id,
        context.services.clock.now(),
    )
    await reply(update, context, "repairs.relay_sent", name=target.name)
    return ConversationHandler.END


async def relay_not_text(update: Update, context: BotContext) -> RelayStep:
    await reply(update, context, "repairs.relay_text_only")
    return RelayStep.TEXT


async def relay_cancel(update: Update, context: BotContext) -> int:
    await answer(update)
    if context.user_data is not None:
        context.user_data.pop(RELAY_KEY, None)
    await reply(update, context, "common.cancelled")
    return ConversationHandler.END


async def ask_phone_if_missing(update: Update, context: BotContext) -> None:
    """After a report: "方便留个电话吗？" with Telegram's own share-contact button, and a way to skip."""
    if (context.user_data or {}).get(SKIPPED_KEY):
        return  # said "不用了" once: not asked again on every report
    if not await repairs_contact.needs_phone(context.services.uow(), user_id(update)):
        return
    keyboard = ReplyKeyboardMarkup(
        [
            [KeyboardButton(context.t("repairs.btn.share_phone"), request_contact=True)],
            [KeyboardButton(context.t("repairs.btn.skip_phone"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    if context.user_data is not None:
        context.user_data[ASKED_KEY] = context.services.clock.now().isoformat()
    await send_text(update, context, context.t("repairs.ask_phone"), keyboard)


async def contact_shared(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None and message.contact is not None
    person = await current_person(update, context)
    if message.contact.user_id != user_id(update):
        # Someone else's card: a butler should reach the person who reported, so only one's own number.
        await send_text(update, context, context.t("repairs.phone_not_own"), main_menu(context, person))
        return
    await repairs_contact.save_shared_phone(
        context.services.uow(), user_id(update), message.contact.phone_number
    )
    context.drop(ASKED_KEY)
    await send_text(update, context, context.t("repairs.phone_saved"), main_menu(context, person))


async def typed_phone(update: Update, context: BotContext) -> bool:
    """A text hook: asked for a phone, many type the number instead of pressing the contact button."""
    message = update.effective_message
    if message is None or not message.text:
        return False
    asked_at = (context.user_data or {}).get(ASKED_KEY)
    if not repairs_contact.phone_question_open(asked_at, context.services.clock.now()):
        context.drop(ASKED_KEY)
        return False
    if not repairs_contact.looks_like_phone(message.text):
        return False
    await repairs_contact.save_shared_phone(context.services.uow(), user_id(update), message.text)
    context.drop(ASKED_KEY)
    person = await current_person(update, context)
    await send_text(update, context, context.t("repairs.phone_saved"), main_menu(context, person))
    return True


async def phone_skipped(update: Update, context: BotContext) -> None:
    context.drop(ASKED_KEY)
    if context.user_data is not None:
        context.user_data[SKIPPED_KEY] = True
    person = await current_person(update, context)
    await send_text(update, context, context.t("repairs.phone_skipped"), main_menu(context, person))


class SkipPhoneFilter(filters.MessageFilter):
    def filter(self, message: object) -> bool:
        text = getattr(message, "text", None)
        translator = default_translator()
        return bool(text) and any(
            translator(language, "repairs.btn.skip_phone") == text for language in SUPPORTED_LANGUAGES
        )


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    relay: ConversationHandler[BotContext] = ConversationHandler(
        name="repairs_relay",
        persistent=True,
        allow_reentry=True,
        entry_points=[CallbackQueryHandler(relay_start, pattern=MESSAGE.pattern)],
        states={
            RelayStep.TEXT: [
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, relay_text),
                MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, relay_not_text),
            ]
        },
        fallbacks=[
            CommandHandler("cancel", relay_cancel),
            CallbackQueryHandler(relay_cancel, pattern=RELAY_CANCEL.pattern),
        ],
    )
    return [
        relay,
        CallbackQueryHandler(call_pressed, pattern=CALL.pattern),
        MessageHandler(private & filters.CONTACT, contact_shared),
        MessageHandler(private & SkipPhoneFilter(), phone_skipped),
    ]


CAPABILITY = Capability(
    name="repairs_contact",
    handlers=handlers,
    # Ahead of the law hook, which would read a bare number as a request for help.
    text_hooks=(TextHookSpec(typed_phone, 10),),
)
