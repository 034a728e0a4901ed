"""What approvers and requesters see about join requests: the approval card's buttons.

The buttons are declared here, once: the service queues the card inside its transaction, and the handler
reads the press with the same Button objects.
"""

from __future__ import annotations

from typing import Any

from bot.callbacks import Button
from bot.delivery.markup import inline_keyboard
from bot.i18n import Translator

JOIN_PREFIX = "jr"
JOIN_APPROVE = Button(JOIN_PREFIX, "ok", int)  # jr:ok:<request id>
JOIN_REJECT = Button(JOIN_PREFIX, "no", int)  # jr:no:<request id>


def join_request_buttons(t: Translator, language: str | None, request_id: int) -> dict[str, Any]:
    """Approve / reject, side by side, on the card each approver gets."""
    return inline_keyboard(
        [
            [
                (t(language, "residents.btn_approve"), JOIN_APPROVE.data(request_id)),
                (t(language, "residents.btn_reject"), JOIN_REJECT.data(request_id)),
            ]
        ]
    )


# The registration conversation's buttons (handlers/residents.py and the start screen's register buttons).
REGISTER_PREFIX = "rg"
REGISTER_CODE = Button(REGISTER_PREFIX, "code")  # "I have an invite code"
REGISTER_JOIN = Button(REGISTER_PREFIX, "join")  # ask to join: pick the place
REGISTER_JOIN_IN = Button(REGISTER_PREFIX, "join", int)  # ask to join this compound (from its group)
REGISTER_SEND = Button(REGISTER_PREFIX, "send")
REGISTER_BACK = Button(REGISTER_PREFIX, "back")
REGISTER_CANCEL = Button(REGISTER_PREFIX, "cancel")
# Place pickers: choice_keyboard appends ":<id>" to these.
REGISTER_PICK = {level: Button(REGISTER_PREFIX, level, int) for level in ("c", "b", "u", "h")}
