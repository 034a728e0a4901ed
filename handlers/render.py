"""Replying to the user: catalogue text, keyboards, Telegram's 4096-character limit."""

from __future__ import annotations

import json
from collections.abc import Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    TelegramObject,
    Update,
)
from telegram._utils.types import JSONDict
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop

from bot.callbacks import int_part, is_valid, pack, unpack
from bot.context import BotContext
from bot.services.views import Choice

TEXT_LIMIT = 4096
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | None


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at line breaks where possible; Telegram refuses messages over 4096 characters."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current:
        parts.append(current)
    return parts


async def send_text(update: Update, context: BotContext, text: str, markup: Markup = None) -> Message | None:
    chat = update.effective_chat
    if chat is None:
        return None
    chunks = split_text(text)
    sent: Message | None = None
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        sent = await context.bot.send_message(chat.id, chunk, reply_markup=markup if last else None)
    return sent


async def reply(
    update: Update, context: BotContext, key: str, /, markup: Markup = None, **values: object
) -> Message | None:
    return await send_text(update, context, context.t(key, **values), markup)


async def edit_or_reply(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    entities: Sequence[MessageEntity] | None = None,
) -> None:
    """Edit the message whose button was pressed; fall back to a new message if it cannot be edited.
    `entities` (e.g. a monospace block) only for a text within one message."""
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(split_text(text)[0], reply_markup=markup, entities=entities)
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return
    if entities and len(text) <= TEXT_LIMIT and update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup, entities=entities)
        return
    await send_text(update, context, text, markup)


async def answer(update: Update, text: str | None = None, *, alert: bool = False) -> bool:
    """Answer the pressed button; False when Telegram no longer accepts an answer (already answered or
    older than its answer window)."""
    query = update.callback_query
    if query is None:
        return False
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest:
        return False
    return True


def choice_keyboard(
    choices: Sequence[Choice], prefix: str, *, per_row: int = 3, extra: Sequence[tuple[str, str]] = ()
) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for choice in choices:
        row.append(InlineKeyboardButton(choice.label, callback_data=pack(prefix, choice.id)))
        if len(row) == per_row:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    if extra:
        rows.append([InlineKeyboardButton(text, callback_data=data) for text, data in extra])
    return InlineKeyboardMarkup(rows)


def buttons(rows: Sequence[Sequence[tuple[str, str]]], *, kept: bool = False) -> InlineKeyboardMarkup:
    """`kept`: the markup is built once and sent many times (see _Kept)."""
    kind = _KeptInlineKeyboard if kept else InlineKeyboardMarkup
    return kind([[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows])


def reply_keyboard(
    labels: Sequence[Sequence[str | KeyboardButton]], *, kept: bool = False
) -> ReplyKeyboardMarkup:
    """`kept`: the keyboard is built once and sent many times (see _Kept)."""
    kind = _KeptReplyKeyboard if kept else ReplyKeyboardMarkup
    return kind(
        [[b if isinstance(b, KeyboardButton) else KeyboardButton(b) for b in row] for row in labels],
        resize_keyboard=True,
        is_persistent=True,
    )


# A markup kept and sent with many replies (the main menu, a page's buttons) is frozen (PTB), yet PTB turned
# it into a dict again for every send, walking each button's attributes: ~70 µs for the main menu, a few
# percent of a greeting's CPU. Kept ones are turned into JSON once; every send gets a fresh copy of it.
def _kept_dict(markup: _KeptInlineKeyboard | _KeptReplyKeyboard, base: type[TelegramObject]) -> JSONDict:
    document: str | None = getattr(markup, "_document", None)
    if document is None:
        document = json.dumps(base.to_dict(markup))
        object.__setattr__(markup, "_document", document)  # a cache, not a field: the object stays frozen
    return json.loads(document)  # type: ignore[no-any-return]


class _KeptInlineKeyboard(InlineKeyboardMarkup):
    __slots__ = ("_document",)

    def to_dict(self, recursive: bool = True) -> JSONDict:
        return _kept_dict(self, InlineKeyboardMarkup) if recursive else super().to_dict(recursive)


class _KeptReplyKeyboard(ReplyKeyboardMarkup):
    __slots__ = ("_document",)

    def to_dict(self, recursive: bool = True) -> JSONDict:
        return _kept_dict(self, ReplyKeyboardMarkup) if recursive else super().to_dict(recursive)


def display_name(update: Update) -> str:
    user = update.effective_user
    if user is None:
        return ""
    return user.full_name[:100]


async def pressed_int(update: Update, context: BotContext, index: int = 2) -> int | None:
    """The number a pressed button carries at `index` ("px:action:42"); a button without one (an old or forged
    client) is told it has expired and gets None."""
    query = update.callback_query
    value = int_part(unpack(query.data if query is not None else None), index)
    if value is None:
        await stale_button(update, context)
    return value


async def stale_button(update: Update, context: BotContext) -> None:
    """A button whose moment has passed (a finished flow, an old message, a forged press)."""
    await answer(update, context.t("common.stale_button"), alert=True)


async def refuse_unusable_press(update: Update, context: BotContext) -> None:
    """Ahead of every handler: a press with no message under it (we never send inline-mode messages) or with
    data no button of ours carries (empty, over Telegram's 64 bytes) is answered like a stale button."""
    query = update.callback_query
    if query is None:
        return
    if query.message is None or not is_valid(query.data):
        await stale_button(update, context)
        raise ApplicationHandlerStop
