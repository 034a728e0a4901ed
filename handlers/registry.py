"""The one ordered list of handler modules.

Order matters. Every module's conversations come first, so a person in the middle of one flow (a repair
report, a new event) is answered by that flow, whatever they send; then the modules' other handlers in the
order below; the catch-all fallbacks last.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, ConversationHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from handlers import (
    announcements,
    events,
    groups,
    law,
    patrols,
    points,
    repairs,
    repairs_contact,
    repairs_reopen,
    residents,
    start,
)
from handlers.menu import MenuLabelFilter

# Our conversations track a user across messages on purpose (per_message=False); PTB warns about that.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)

CAPABILITIES = (
    residents, groups, points, patrols, events, announcements,
    repairs_reopen, repairs, repairs_contact, law, start,
)  # fmt: skip


async def leave_flow_for_menu(update: Update, context: BotContext) -> int:
    """A big menu button pressed in the middle of a flow ends that flow and does what the button says.

    Elderly users reach for the menu to get out; "please press the buttons above" would leave them stuck.
    The update goes back on the update queue and is handled again once this conversation has ended, so the
    button's own handler (which may start another conversation) takes it.
    """
    await context.application.update_queue.put(update)
    return ConversationHandler.END


def ordered_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    handlers = [handler for module in CAPABILITIES for handler in module.handlers()]
    conversations = [h for h in handlers if isinstance(h, ConversationHandler)]
    others = [h for h in handlers if not isinstance(h, ConversationHandler)]
    menu_press: Any = MessageHandler(filters.ChatType.PRIVATE & MenuLabelFilter(), leave_flow_for_menu)
    for conversation in conversations:
        # Ahead of every step's own handlers: a step that takes any text must not take a menu button as text.
        for step_handlers in conversation.states.values():
            step_handlers.insert(0, menu_press)
        conversation.fallbacks.insert(0, menu_press)
    return [*conversations, *others, *start.fallback_handlers()]
