"""The one ordered list of handler modules. Order matters: conversations before the commands they wrap,
the catch-all fallbacks last."""

from __future__ import annotations

import warnings

from telegram.ext import BaseHandler
from telegram.warnings import PTBUserWarning

from handlers import groups, residents, start

# Our conversations track a user across messages on purpose (per_message=False); PTB warns about that.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)


def ordered_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    return [
        *residents.handlers(),
        *groups.handlers(),
        *start.handlers(),
        *start.fallback_handlers(),
    ]
