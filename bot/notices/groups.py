"""What a compound's group sees from the bot: the greeting for newcomers, with the button to register."""

from __future__ import annotations

from typing import Any

from bot.delivery.markup import url_keyboard
from bot.i18n import Translator


def newcomers_greeting(
    t: Translator, names: str, compound_name: str, register_link: str
) -> tuple[str, dict[str, Any]]:
    """The text and the register button. A group has no one language: the default one."""
    text = t(None, "groups.greeting", names=names, compound=compound_name)
    return text, url_keyboard([[(t(None, "groups.btn_register"), register_link)]])
