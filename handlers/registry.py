"""The one ordered list of capabilities: what the application can do, each declared at the bottom of its
module.

Order matters. The emergency path comes first: danger is answered from any state, and the flow the person was
in keeps its state and draft. Then every module's conversations, so a person in the middle of one flow (a
repair report, a new event) is answered by that flow, whatever they send: a conversation's entry point never
takes an update that a conversation the person is already in would take (the rating comment "修得很好" is
the comment, not a new repair report). Then the capabilities' other handlers in the order below; the
catch-all fallbacks last (each capability's `placement` says which of the three it is). Inside a
conversation, text a step cannot use goes to handlers/dead_ends.py.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, ConversationHandler, MessageHandler, filters

from bot.capability import Capability, Placement, Wiring
from bot.context import BotContext
from handlers import (
    announcements,
    dead_ends,
    emergency,
    events,
    groups,
    law,
    patrols,
    points,
    repairs,
    repairs_contact,
    repairs_reopen,
    repairs_staff,
    residents,
    routing,
    start,
    stats,
    votes,
)
from handlers.menu import MenuLabelFilter

CAPABILITIES: tuple[Capability, ...] = (
    emergency.CAPABILITY,
    routing.CAPABILITY,
    residents.CAPABILITY,
    groups.CAPABILITY,
    points.CAPABILITY,
    patrols.CAPABILITY,
    events.CAPABILITY,
    announcements.CAPABILITY,
    repairs_reopen.CAPABILITY,
    repairs.CAPABILITY,
    repairs_staff.CAPABILITY,
    stats.CAPABILITY,
    repairs_contact.CAPABILITY,
    votes.CAPABILITY,
    law.CAPABILITY,
    start.CAPABILITY,
    start.FALLBACKS,
)


async def leave_flow_for_menu(update: Update, context: BotContext) -> int:
    """A big menu button pressed in the middle of a flow ends that flow and does what the button says.

    Elderly users reach for the menu to get out; "please press the buttons above" would leave them stuck.
    The update goes back on the update queue and is handled again once this conversation has ended, so the
    button's own handler (which may start another conversation) takes it.
    """
    await context.application.update_queue.put(update)
    return ConversationHandler.END


class YieldsToActiveConversation(BaseHandler[Update, BotContext, Any]):
    """A conversation's entry point that lets a conversation the person is already in answer first.

    All conversations sit in one handler group, where the first one to match wins; without this, the report
    (listed earlier) would start on a rating comment that mentions a repair ("修得很好").
    """

    def __init__(self, inner: BaseHandler[Any, Any, Any], conversations: list[ConversationHandler[Any]]):
        super().__init__(inner.callback, block=inner.block)
        self.inner = inner
        self.conversations = conversations

    def check_update(self, update: object) -> Any:
        check = self.inner.check_update(update)
        if check is None or check is False or not isinstance(update, Update):
            return check
        for conversation in self.conversations:
            if _is_in(conversation, update):
                taken = conversation.check_update(update)
                if taken is not None and taken is not False:
                    return None
        return check

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, Any, Any, Any, Any, Any],
        check_result: Any,
        context: BotContext,
    ) -> Any:
        return await self.inner.handle_update(update, application, check_result, context)


def _is_in(conversation: ConversationHandler[Any], update: Update) -> bool:
    try:
        key = conversation._get_key(update)
    except RuntimeError:  # the update has no chat or user this conversation is keyed on
        return False
    return conversation._conversations.get(key) is not None


def ordered_handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    def placed(placement: Placement) -> list[BaseHandler]:  # type: ignore[type-arg]
        return [h for c in wiring.capabilities if c.placement == placement for h in c.handlers(wiring)]

    ahead, handlers, last = placed(Placement.AHEAD), placed(Placement.NORMAL), placed(Placement.LAST)
    conversations = [h for h in handlers if isinstance(h, ConversationHandler)]
    others = [h for h in handlers if not isinstance(h, ConversationHandler)]
    menu_press: Any = MessageHandler(filters.ChatType.PRIVATE & MenuLabelFilter(wiring), leave_flow_for_menu)
    for conversation in conversations:
        # Ahead of every step's own handlers: a step that takes any text must not take a menu button as text.
        for state, step_handlers in conversation.states.items():
            step_handlers.insert(0, menu_press)
            # After them: text the step cannot use is answered, never met with the same hint twice.
            step_handlers.append(dead_ends.step_handler(conversation, state))
            step_handlers.append(dead_ends.voice_handler())
        conversation.fallbacks.insert(0, menu_press)
        conversation.fallbacks.insert(1, dead_ends.button_handler(conversation))
        conversation.fallbacks.insert(2, dead_ends.offer_handler(conversation))
        # After the conversation's own: a photo nothing here takes is not offered as a repair mid-flow.
        conversation.fallbacks.append(dead_ends.photo_handler())
        others_ = [c for c in conversations if c is not conversation]
        entry_points = conversation.entry_points
        entry_points[:] = [YieldsToActiveConversation(h, others_) for h in entry_points]
    return [*ahead, *conversations, *others, *last]
