"""Keyboards as Telegram checks them, and UTF-16 lengths (entity offsets count UTF-16 code units).

The bot formats text with entities, never parse_mode, so there is no Markdown/HTML parser here.
"""

from __future__ import annotations

import re
from typing import Any


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class MarkupError(ValueError):
    """Invalid reply_markup; ``str(exc)`` is the full Bot API description (with "Bad Request: ")."""


_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "copy_text",
)
_URL_RE = re.compile(
    r"^(https?://)?[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?([/?#].*)?$|^tg://\S+$|^https?://"
    r"(localhost|127\.0\.0\.1|\[::1\])(:\d+)?([/?#].*)?$"
)


def validate_reply_markup(markup: Any, *, private_chat: bool, inline_only: bool = False) -> dict[str, Any]:
    if not isinstance(markup, dict):
        raise MarkupError("Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _validate_inline(markup["inline_keyboard"])
        return markup
    if inline_only:
        raise MarkupError("Bad Request: can't parse inline keyboard markup JSON object")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise MarkupError(
                'Bad Request: field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                if isinstance(button, str):
                    continue
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise MarkupError(
                        'Bad Request: can\'t parse keyboard button: Field "text" must be of type String'
                    )
                if button.get("request_contact") and not private_chat:
                    raise MarkupError(
                        "Bad Request: can't parse keyboard button: "
                        "Phone number can be requested in private chats only"
                    )
                if button.get("request_location") and not private_chat:
                    raise MarkupError(
                        "Bad Request: can't parse keyboard button: "
                        "Location can be requested in private chats only"
                    )
        return markup
    if "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise MarkupError('Bad Request: field "remove_keyboard" of the ReplyKeyboardRemove must be true')
        return markup
    if "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise MarkupError('Bad Request: field "force_reply" of the ForceReply must be true')
        return markup
    raise MarkupError("Bad Request: can't parse reply keyboard markup JSON object")


def _validate_inline(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise MarkupError(
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise MarkupError(
                    'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            actions = [a for a in _INLINE_ACTIONS if a in button]
            if not actions:
                raise MarkupError(
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise MarkupError(
                    "Bad Request: can't parse inline keyboard button: "
                    "InlineKeyboardButton must have exactly one optional field"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not data or len(data.encode("utf-8")) > 64:
                    raise MarkupError("Bad Request: BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not _URL_RE.match(url):
                    raise MarkupError(
                        f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
                    )
