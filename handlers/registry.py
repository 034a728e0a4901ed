"""The one ordered list of handler modules.

Order matters. Every module's conversations come first, so a person in the middle of one flow (a repair
report, a new event) is answered by that flow, whatever they send; then the modules' other handlers in the
order below; the catch-all fallbacks last.
"""

from __future__ import annotations

import warnings

from telegram.ext import BaseHandler, ConversationHandler
from telegram.warnings import PTBUserWarning

from handlers import (
    announcements,
    events,
    groups,
    law,
    patrols,
    points,
    repairs,
    residents,
    start,
)

# Our conversations track a user across messages on purpose (per_message=False); PTB warns about that.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)

CAPABILITIES = (residents, groups, points, patrols, events, announcements, repairs, law, start)


def ordered_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    handlers = [handler for module in CAPABILITIES for handler in module.handlers()]
    conversations = [h for h in handlers if isinstance(h, ConversationHandler)]
    others = [h for h in handlers if not isinstance(h, ConversationHandler)]
    return [*conversations, *others, *start.fallback_handlers()]
