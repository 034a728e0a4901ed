"""No dead ends inside a flow: what a conversation step does with text it cannot use.

handlers/registry.py adds `step_handler(...)` at the end of every conversation step (after the step's own
handlers, so a step that asks for text still gets it) and `button_handler(...)` to every conversation's
fallbacks. For text the step cannot use:

- a legal question ("高空抛物砸坏了我的车找谁": the router says law, or it asks who is responsible or pays)
  is answered at once, and the flow is offered back;
- a clear request for another capability ("我有多少积分") is offered as a switch; the draft is kept;
- anything else gets the step's own hint the first time; the second time in a row, two big buttons
  (继续填写 / 取消) instead of the same hint again.

A photo the conversation has no use for is not offered as a repair report (as it is in an idle chat): the
person is told this step takes none, with 继续填写 / 取消. An older 🔧 报修 offer (under a photo, or "a repair
or a legal question?") pressed while a flow is open does not start a report beside it: it offers the switch.

Emergencies never reach this module: handlers/emergency.py answers them before any conversation.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)
from telegram.ext import filters as ptb_filters

from bot.callbacks import Button
from bot.context import BotContext
from bot.notices.repairs import REPORT_CONVERSATION
from bot.services.routing import is_clear_request, is_rights_question
from handlers.common import SPOKEN
from handlers.render import answer, buttons, edit_or_reply, reply
from handlers.routing import REPORT_PATTERN, answer_stale, is_pending, is_photo_offer, route_of

PREFIX = "de"
CONTINUE = Button(PREFIX, "go")
CANCEL = Button(PREFIX, "x")
SWITCH = Button(PREFIX, "sw")
STRIKE_KEY = "dead_end"  # user_data: [conversation, state, message id] of the last unusable text
SWITCH_KEY = "dead_end_switch"  # user_data: the message to hand to another capability
# A hint is one bot message: the next message of the person is at most this many ids later.
IN_A_ROW = 3

# Intents another capability answers, and the menu label that names it. Both spellings of the intent names
# are accepted (the router's names change with issue 10 part B: events → event, none → help).
SWITCH_LABELS: dict[str, str] = {
    "repair": "menu.repairs",
    "tickets": "menu.mytickets",
    "points": "points.menu",
    "patrol": "menu.patrols",
    "event": "menu.events",
    "events": "menu.events",
}
# Which intents a conversation itself is about (by its name's start): no switch offered to itself.
OWN_INTENTS: dict[str, frozenset[str]] = {
    "repairs": frozenset({"repair", "tickets"}),
    "patrol": frozenset({"patrol"}),
    "events": frozenset({"event", "events"}),
    "law": frozenset({"law"}),
}

def _own(conversation: ConversationHandler[Any]) -> frozenset[str]:
    name = conversation.name or ""
    return next((intents for start, intents in OWN_INTENTS.items() if name.startswith(start)), frozenset())


class DeadEndText(MessageHandler[Any, Any]):
    """Marks ours among a conversation's handlers (never asked for the step's own hint)."""


class DeadEndButtons(CallbackQueryHandler[Any, Any]):
    pass


def _stuck_markup(context: BotContext) -> Any:
    return buttons(
        [
            [(context.t("flow.btn.continue"), CONTINUE.data())],
            [(context.t("flow.btn.cancel"), CANCEL.data())],
        ]
    )


async def _step_hint(update: Update, context: BotContext, conversation: ConversationHandler[Any]) -> object:
    """The conversation's own answer to text it cannot use (its catch-all fallback), or a plain hint."""
    for handler in conversation.fallbacks:
        if isinstance(handler, DeadEndText | DeadEndButtons | CommandHandler):
            continue
        check = handler.check_update(update)
        if check is not None and check is not False:
            return await handler.handle_update(update, context.application, check, context)
    await reply(update, context, "flow.hint_again", markup=_stuck_markup(context))
    return None


async def _unusable_text(
    update: Update, context: BotContext, conversation: ConversationHandler[Any], state: object
) -> object:
    message = update.effective_message
    assert message is not None and context.user_data is not None
    route = route_of(message)
    intent = route.intent
    own = _own(conversation)
    if "law" not in own and (intent == "law" or is_rights_question(message.text)):
        from handlers.law import answer_question

        context.user_data.pop(STRIKE_KEY, None)
        await answer_question(update, context, message.text or "")
        await reply(update, context, "flow.kept", markup=_stuck_markup(context))
        return None
    if intent in SWITCH_LABELS and intent not in own and is_clear_request(route):
        context.user_data.pop(STRIKE_KEY, None)
        context.user_data[SWITCH_KEY] = update.to_dict()
        what = context.t(SWITCH_LABELS[intent])
        markup = buttons(
            [
                [(context.t("flow.btn.switch", what=what), SWITCH.data())],
                [(context.t("flow.btn.continue"), CONTINUE.data())],
            ]
        )
        await reply(update, context, "flow.switch", markup=markup, what=what)
        return None
    here = [conversation.name, str(state)]
    last = context.user_data.get(STRIKE_KEY)
    if last and last[:2] == here and 0 < message.message_id - int(last[2]) <= IN_A_ROW:
        context.user_data.pop(STRIKE_KEY, None)
        await reply(update, context, "flow.hint_again", markup=_stuck_markup(context))
        return None
    context.user_data[STRIKE_KEY] = [*here, message.message_id]
    return await _step_hint(update, context, conversation)


async def answer_if_legal(update: Update, context: BotContext) -> None:
    """A step that keeps any text (a rating comment, what is still wrong) keeps a legal question too; this
    answers it as well, so the resident is not left waiting for a reply nobody will write."""
    message = update.effective_message
    if message is None or not message.text:
        return
    route = route_of(message)
    if is_rights_question(message.text) or (route.intent == "law" and is_clear_request(route)):
        from handlers.law import answer_question

        await answer_question(update, context, message.text)


def step_handler(conversation: ConversationHandler[Any], state: object) -> BaseHandler[Any, Any, Any]:
    """Last in a step's handlers: private text the step's own handlers did not take."""

    async def callback(update: Update, context: BotContext) -> object:
        return await _unusable_text(update, context, conversation, state)

    text = ptb_filters.ChatType.PRIVATE & ptb_filters.TEXT & ~ptb_filters.COMMAND
    return DeadEndText(text, callback)


async def _spoken(update: Update, context: BotContext) -> None:
    await reply(update, context, "flow.voice")


def voice_handler() -> BaseHandler[Any, Any, Any]:
    """After a step's own handlers: a voice message is answered with "please type", the step kept."""
    return DeadEndText(ptb_filters.ChatType.PRIVATE & SPOKEN, _spoken)


async def _photo(update: Update, context: BotContext) -> None:
    await reply(update, context, "flow.photo", markup=_stuck_markup(context))


def photo_handler() -> BaseHandler[Any, Any, Any]:
    """Last in a conversation's fallbacks: a photo that neither a step nor the conversation itself takes."""
    return DeadEndText(ptb_filters.ChatType.PRIVATE & ptb_filters.PHOTO, _photo)


def offer_handler(conversation: ConversationHandler[Any]) -> BaseHandler[Any, Any, Any]:
    """A 🔧 报修 offer still waiting, pressed while this conversation is open: the report it would start
    is offered as a switch (the draft here is kept unless the person goes); inside a report, carry on."""
    async def callback(update: Update, context: BotContext) -> object:
        data = update.callback_query.data if update.callback_query else None
        if not is_pending(context, data):
            await answer_stale(update, context)
            return None
        if conversation.name == REPORT_CONVERSATION:
            key = "routing.already_reporting_photo" if is_photo_offer(data) else "routing.already_reporting"
            await answer(update, context.t(key), alert=True)
            return None
        await answer(update)
        assert context.user_data is not None
        context.user_data[SWITCH_KEY] = update.to_dict()  # pressed again after the switch: starts the report
        what = context.t(SWITCH_LABELS["repair"])
        markup = buttons(
            [
                [(context.t("flow.btn.switch", what=what), SWITCH.data())],
                [(context.t("flow.btn.continue"), CONTINUE.data())],
            ]
        )
        await reply(update, context, "flow.switch", markup=markup, what=what)
        return None

    return DeadEndButtons(callback, pattern=REPORT_PATTERN)


def button_handler(conversation: ConversationHandler[Any]) -> BaseHandler[Any, Any, Any]:
    """继续填写 / 取消 / 去「…」, answered inside the conversation so 取消 and 去 can end it."""

    async def callback(update: Update, context: BotContext) -> object:
        data = update.callback_query.data if update.callback_query else None
        if CANCEL.parse(data) is not None:
            return await _cancel(update, context, conversation)
        if SWITCH.parse(data) is not None:
            return await _switch(update, context)
        await answer(update)
        if context.user_data is not None:
            context.user_data.pop(STRIKE_KEY, None)
        resume = context.services.wiring.resumers.get(conversation.name or "")
        checked = conversation.check_update(update)  # (current state, key, handler, check)
        if resume is not None and isinstance(checked, tuple):
            return await resume(update, context, checked[0])
        await edit_or_reply(update, context, context.t("flow.resume"))
        return None

    return DeadEndButtons(callback, pattern=rf"^{PREFIX}:")


async def _cancel(update: Update, context: BotContext, conversation: ConversationHandler[Any]) -> object:
    """The conversation's own /cancel, so it drops its draft the way it always does."""
    if context.user_data is not None:
        context.user_data.pop(STRIKE_KEY, None)
    for handler in conversation.fallbacks:
        if isinstance(handler, CommandHandler) and "cancel" in handler.commands:
            result = await handler.callback(update, context)
            await answer(update)
            return result
    await answer(update)
    await edit_or_reply(update, context, context.t("common.cancelled"))
    return ConversationHandler.END


async def _switch(update: Update, context: BotContext) -> object:
    """End this flow and hand the message to the capability it was about, as if it had just arrived."""
    await answer(update)
    stored = context.user_data.pop(SWITCH_KEY, None) if context.user_data is not None else None
    if not stored:
        await edit_or_reply(update, context, context.t("common.stale_button"))
        return None
    await edit_or_reply(update, context, context.t("flow.resume_elsewhere"))
    await context.application.update_queue.put(Update.de_json(stored, context.bot))
    return ConversationHandler.END
