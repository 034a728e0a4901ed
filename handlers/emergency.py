"""The emergency path: a message that signals danger is answered first, from any state of any conversation.

Registered ahead of every conversation (handlers/registry.py), so the flow the person was in keeps its state
and draft: they can go on with it afterwards. Private chats: every message; groups: a message that mentions
the bot or replies to it. The person gets one message with what to do right now and, when we can raise the
alert for them, one big button to confirm it (the button is the guard against a false alarm).
"""

from __future__ import annotations

from typing import Any

from telegram import Message, MessageEntity, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.callbacks import Button
from bot.capability import Capability, Placement, Wiring
from bot.context import BotContext
from bot.services import emergency
from bot.services.errors import UserFacingError
from bot.services.routing import EMERGENCY_KINDS, detect_emergency, is_distress_call
from handlers.common import AddressedToBot, ensure_current_person, is_private
from handlers.render import answer, buttons, edit_or_reply, send_text

PREFIX = "em"
CONFIRM = Button(PREFIX, "ok", str, int)  # em:ok:<kind>:<message id>: raise the alert for that message
TEXTS_KEY = "emergency_texts"  # chat_data: the typed message behind each confirm button
KEPT_TEXTS = 5


def _text_of(message: Message) -> str:
    """The message without mentions of the bot ("@RedButlerBot 电梯困人了")."""
    text = message.text or message.caption or ""
    for entity in reversed(message.entities or message.caption_entities or ()):
        if entity.type == MessageEntity.MENTION:
            text = text[: entity.offset] + " " + text[entity.offset + entity.length :]
    return text.strip()


class Danger(filters.MessageFilter):
    """Danger, or a cry for help that does not say what is wrong."""

    def filter(self, message: Message) -> bool:
        text = _text_of(message)
        if not text or text.startswith("/"):
            return False
        return detect_emergency(text).emergency or is_distress_call(text)


def public_help(context: BotContext, duty_phone: str | None) -> str:
    if duty_phone:
        return (
            context.t("emergency.duty_phone", phone=duty_phone) + "\n" + context.t("emergency.public_numbers")
        )
    return context.t("emergency.public_numbers")


def _remember(context: BotContext, message_id: int, text: str) -> None:
    if context.chat_data is None:
        return
    texts: dict[str, str] = context.chat_data.setdefault(TEXTS_KEY, {})
    texts[str(message_id)] = text[:500]
    for old in list(texts)[:-KEPT_TEXTS]:
        texts.pop(old, None)


async def on_danger(update: Update, context: BotContext) -> None:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    assert message is not None and user is not None and chat is not None
    private = is_private(update)
    if private:
        await ensure_current_person(update, context)
    text = _text_of(message)
    context.answer_in_language_of(text)
    signal = detect_emergency(text)
    if not signal.emergency or signal.kind is None:
        await send_text(update, context, context.t("emergency.distress"))
        return
    help_ = await emergency.help_for(context.services.uow(), user.id, chat.id, private=private)
    lines = [context.t(f"emergency.advice.{signal.kind}"), ""]
    markup = None
    if help_.can_alert:
        lines.append(context.t("emergency.confirm_prompt"))
        markup = buttons(
            [[(context.t("emergency.btn.confirm"), CONFIRM.data(signal.kind, message.message_id))]]
        )
        _remember(context, message.message_id, text)
    else:
        if private:
            why = "emergency.staff_no_home" if help_.staff_without_home else "emergency.not_registered"
            lines.append(context.t(why))
        lines.append(public_help(context, help_.duty_phone))
    await send_text(update, context, "\n".join(lines), markup)


async def on_confirm(update: Update, context: BotContext) -> None:
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    pressed = CONFIRM.parse(query.data)
    kind, message_id = (str(pressed[0]), int(pressed[1])) if pressed else ("", None)
    if kind not in EMERGENCY_KINDS or message_id is None:
        await answer(update, context.t("emergency.stale"), alert=True)
        return
    texts: dict[str, Any] = (context.chat_data or {}).get(TEXTS_KEY, {})
    context.answer_in_language_of(str(texts.get(str(message_id), "")))
    try:
        result = await emergency.raise_alert(
            context.services.uow(),
            context.services.translator,
            telegram_id=user.id,
            chat_id=chat.id,
            private=is_private(update),
            kind=kind,
            text=str(texts.get(str(message_id), "")),
            key=emergency.alert_key(chat.id, message_id),
            now=context.services.clock.now(),
        )
    except UserFacingError as error:
        await answer(update, context.t(error.key, **error.values), alert=True)
        return
    await answer(update)
    done = context.t(
        "emergency.sent",
        number=result.number,
        name=result.assignee_name or context.t("emergency.duty_staff"),
        phone=result.duty_phone or context.t("emergency.property_office"),
    )
    await edit_or_reply(update, context, context.t(f"emergency.advice.{kind}") + "\n\n" + done)


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    """Registered before every conversation: see handlers/registry.py."""
    private = filters.ChatType.PRIVATE & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND
    group = filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND & AddressedToBot()
    return [
        MessageHandler((private | group) & Danger(), on_danger),
        CallbackQueryHandler(on_confirm, pattern=CONFIRM.pattern),
    ]


CAPABILITY = Capability(name="emergency", handlers=handlers, placement=Placement.AHEAD)
