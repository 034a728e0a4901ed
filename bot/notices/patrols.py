"""The patrol capability's buttons, declared once: the services put them under queued notices, the handlers
match and read the presses. Wire format unchanged ("pa:take:12")."""

from __future__ import annotations

from typing import Any

from bot.callbacks import Button
from bot.delivery.markup import inline_keyboard
from bot.i18n import Translator

PREFIX = "pa"  # patrol buttons ("pt" is the points capability)

SIGN_UP = Button(PREFIX, "up", int)  # shift id
LEAVE = Button(PREFIX, "cx", int)  # shift id: cancel a booking or leave the waiting list
TAKE_PLACE = Button(PREFIX, "take", int)  # offer id: "我来" for a freed place
ALL_QUIET = Button(PREFIX, "ok", int)  # shift id: the end-of-shift report, nothing found
FOUND = Button(PREFIX, "issue", int)  # shift id: the end-of-shift report, something found
TO_HAZARD = Button(PREFIX, "hz", int)  # shift id: turn the report into a 安全隐患 ticket
REPORT_CANCEL = Button(PREFIX, "rcancel")


def offer_buttons(t: Translator, language: str | None, offer_id: int) -> dict[str, Any]:
    """Under "a place was freed": "我来"."""
    return inline_keyboard([[(t(language, "patrols.btn_take"), TAKE_PLACE.data(offer_id))]])


def report_buttons(t: Translator, language: str | None, shift_id: int) -> dict[str, Any]:
    """Under "how was the patrol?": all quiet, or I found something."""
    return inline_keyboard(
        [
            [(t(language, "patrols.btn_all_quiet"), ALL_QUIET.data(shift_id))],
            [(t(language, "patrols.btn_found"), FOUND.data(shift_id))],
        ]
    )


NO_BUTTONS: dict[str, Any] = {"inline_keyboard": []}  # takes the buttons off a message already sent
