"""The law capability's buttons, declared once ("lw:<verb>:<values>", the wire format buttons already sent
carry), and the card a legal volunteer gets when a question is handed over."""

from __future__ import annotations

from typing import Any

from bot.callbacks import Button
from bot.delivery.markup import inline_keyboard
from bot.i18n import Translator

PREFIX = "lw"

SHOW = Button(PREFIX, "s", int, str)  # question id (0: none), FAQ key
VOTE = Button(PREFIX, "v", int, str, str)  # question id, FAQ key, "1" helpful / "0" not
REASON = Button(PREFIX, "w", str, str)  # FAQ key, reason code (law.REASONS)
NOT_ASKED = Button(PREFIX, "n", int, str)  # question id, FAQ key
PASS = Button(PREFIX, "p", int)  # question id: "none of these", hand it to a volunteer
ASK_VOLUNTEER = Button(PREFIX, "q", int)  # question id, under an answer
ARTICLE_TEXT = Button(PREFIX, "t", int)  # article number
GAPS_PAGE = Button(PREFIX, "g", int)  # page of /law_gaps
CANCEL = Button(PREFIX, "x")
VOLUNTEER_REPLY = Button(PREFIX, "r", int)  # question id, on the volunteer's card


def volunteer_markup(t: Translator, language: str | None, question_id: int) -> dict[str, Any]:
    return inline_keyboard([[(t(language, "law.btn_volunteer_reply"), VOLUNTEER_REPLY.data(question_id))]])
