"""The big reply-keyboard menu. Capabilities declare entries; a pressed label runs that entry's callback."""

from __future__ import annotations

from telegram import KeyboardButton, Message, ReplyKeyboardMarkup
from telegram.ext import filters

from bot.capability import MenuEntry, Wiring
from bot.context import BotContext
from bot.i18n import SUPPORTED_LANGUAGES, Translator, default_translator
from bot.services.views import PersonView
from handlers.render import reply_keyboard


def main_menu(context: BotContext, person: PersonView | None) -> ReplyKeyboardMarkup:
    return menu_for(context.services.wiring, context.services.translator, context.language, person)


def menu_for(
    wiring: Wiring, t: Translator, language: str | None, person: PersonView | None
) -> ReplyKeyboardMarkup:
    """Each role's daily work first (its entries have the lowest order), then what everyone has; in the
    person's own language, so it can go with a message to someone else (an approved join request)."""
    labels = tuple((e.label_key, e.request_location) for e in wiring.menu_for(person))
    key = (t, language, labels)
    keyboard = _keyboards.get(key)
    if keyboard is None:
        # A keyboard is frozen once built (PTB), so one per language and set of entries serves every reply.
        if len(_keyboards) >= _KEYBOARDS:
            _keyboards.clear()
        keyboard = _keyboards[key] = _keyboard(t, language, labels)
    return keyboard


_KEYBOARDS = 256
_keyboards: dict[tuple[Translator, str | None, tuple[tuple[str, bool], ...]], ReplyKeyboardMarkup] = {}


def _keyboard(
    t: Translator, language: str | None, labels: tuple[tuple[str, bool], ...]
) -> ReplyKeyboardMarkup:
    buttons = [
        KeyboardButton(t(language, key), request_location=True)
        if location
        else KeyboardButton(t(language, key))
        for key, location in labels
    ]
    # Two big buttons a row: easy to hit for elderly users.
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return reply_keyboard(rows, kept=True)


def entry_for_label(context: BotContext, text: str) -> MenuEntry | None:
    translator = context.services.translator
    for entry in context.services.wiring.menu:
        for language in SUPPORTED_LANGUAGES:
            if translator(language, entry.label_key) == text:
                return entry
    return None


class MenuLabelFilter(filters.MessageFilter):
    """A press of one of the big menu buttons (in any language)."""

    def __init__(self, wiring: Wiring) -> None:
        super().__init__()
        translator = default_translator()
        self.labels = frozenset(
            translator(language, entry.label_key) for entry in wiring.menu for language in SUPPORTED_LANGUAGES
        )

    def filter(self, message: Message) -> bool:
        return bool(message.text) and message.text in self.labels


class LabelFilter(filters.MessageFilter):
    """A press of one particular menu button (in any language): a conversation's entry point."""

    def __init__(self, label_key: str) -> None:
        super().__init__()
        self.label_key = label_key

    def filter(self, message: Message) -> bool:
        translator = default_translator()
        return bool(message.text) and any(
            translator(language, self.label_key) == message.text for language in SUPPORTED_LANGUAGES
        )
