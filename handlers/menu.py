"""The big reply-keyboard menu. Capabilities add entries; a pressed label runs that entry's callback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import KeyboardButton, Message, ReplyKeyboardMarkup, Update
from telegram.ext import filters

from bot.commands import Audience
from bot.context import BotContext
from bot.i18n import SUPPORTED_LANGUAGES, Translator, default_translator
from bot.services.views import PersonView
from handlers.render import reply_keyboard

Callback = Callable[[Update, BotContext], Awaitable[object]]


@dataclass(frozen=True)
class MenuEntry:
    label_key: str
    callback: Callback
    audience: Audience
    order: int
    # The button shares the person's location instead of its label (📍 签到: one tap checks in).
    request_location: bool = False


MENU: list[MenuEntry] = []


def add_menu_entry(entry: MenuEntry) -> None:
    if all(e.label_key != entry.label_key for e in MENU):
        MENU.append(entry)


def main_menu(context: BotContext, person: PersonView | None) -> ReplyKeyboardMarkup:
    return menu_for(context.services.translator, context.language, person)


def menu_for(t: Translator, language: str | None, person: PersonView | None) -> ReplyKeyboardMarkup:
    """Each role's daily work first (its entries have the lowest order), then what everyone has; in the
    person's own language, so it can go with a message to someone else (an approved join request)."""
    entries = [e for e in sorted(MENU, key=lambda e: e.order) if e.audience.admits(person)]
    buttons = [
        KeyboardButton(t(language, e.label_key), request_location=True)
        if e.request_location
        else KeyboardButton(t(language, e.label_key))
        for e in entries
    ]
    # Two big buttons a row: easy to hit for elderly users.
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return reply_keyboard(rows)


def entry_for_label(context: BotContext, text: str) -> MenuEntry | None:
    translator = context.services.translator
    for entry in MENU:
        for language in SUPPORTED_LANGUAGES:
            if translator(language, entry.label_key) == text:
                return entry
    return None


class MenuLabelFilter(filters.MessageFilter):
    """A press of one of the big menu buttons (in any language)."""

    def filter(self, message: Message) -> bool:
        if not message.text:
            return False
        translator = default_translator()
        return any(
            translator(language, entry.label_key) == message.text
            for entry in MENU
            for language in SUPPORTED_LANGUAGES
        )


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
