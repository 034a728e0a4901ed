"""The events capability's buttons, declared once: the services put "报名" under event posts, the handlers
match and read the presses. Wire format unchanged ("ev:go:12")."""

from __future__ import annotations

from typing import Any

from bot.callbacks import Button
from bot.delivery.markup import inline_keyboard
from bot.i18n import Translator

PREFIX = "ev"

RSVP = Button(PREFIX, "go", int)  # event id
CANCEL_RSVP = Button(PREFIX, "cx", int)  # event id
STOP = Button(PREFIX, "stop")  # leave /newevent


def rsvp_buttons(t: Translator, language: str | None, event_id: int) -> dict[str, Any]:
    """Under an event post or invitation: "报名"."""
    return inline_keyboard([[(t(language, "events.btn_rsvp"), RSVP.data(event_id))]])
