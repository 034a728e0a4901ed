"""Shared adapter pieces: who is this person, their menu and command list."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import filters

from bot.context import BotContext
from bot.services import people
from bot.services.invites import deep_link
from bot.services.views import PersonView
from handlers.menu import main_menu
from handlers.render import display_name, send_text

log = logging.getLogger(__name__)
# user_data: the command menu last set for the person's private chat.
COMMANDS_KEY = "command_menu"


@dataclass(frozen=True)
class _CachedPerson:
    telegram_id: int
    commits: int  # people.commits() when it was read: any commit since may have changed it
    view: PersonView | None
    ensured: bool


def _cached(context: BotContext, telegram_id: int, *, ensured: bool) -> _CachedPerson | None:
    cached = getattr(context, "person_cache", None)
    if (
        isinstance(cached, _CachedPerson)
        and cached.telegram_id == telegram_id
        and cached.commits == people.commits()
        and (cached.ensured or not ensured)
    ):
        return cached
    return None


async def current_person(update: Update, context: BotContext) -> PersonView | None:
    """Looked up once per update: several handler groups (the guard, the router, the capability) ask."""
    user = update.effective_user
    if user is None:
        return None
    cached = _cached(context, user.id, ensured=False)
    if cached is not None:
        return cached.view
    view = await people.whoami(context.services.uow(), user.id)
    context.person_cache = _CachedPerson(user.id, people.commits(), view, ensured=False)
    if view is not None:
        context.person_language = view.language
    return view


async def ensure_current_person(update: Update, context: BotContext) -> PersonView:
    view = ensured_person(update, context)
    if view is None:
        user = update.effective_user
        assert user is not None
        view = await people.ensure_person(
            context.services.uow(), user.id, display_name(update), context.services.clock.now()
        )
        remember_ensured_person(update, context, view)
    return view


def ensured_person(update: Update, context: BotContext) -> PersonView | None:
    """The person as ensure_current_person gave them earlier in this update (language set), or None: a
    service that also reads other things may then make sure of them in its own transaction."""
    user = update.effective_user
    assert user is not None
    cached = _cached(context, user.id, ensured=True)
    if cached is None or cached.view is None:
        return None
    if cached.view.language:
        context.language = cached.view.language
    return cached.view


def remember_ensured_person(update: Update, context: BotContext, view: PersonView) -> None:
    """What a service made sure of (people.ensure_person, or a page's service doing the same): kept for the
    rest of this update, and their language answers them."""
    user = update.effective_user
    assert user is not None
    context.person_cache = _CachedPerson(user.id, people.commits(), view, ensured=True)
    if view.language:
        context.language = view.language


_COMMAND_MENUS = 64
_command_menus: dict[tuple[object, str, tuple[tuple[str, str], ...]], tuple[tuple[BotCommand, ...], str]] = {}


async def refresh_commands(context: BotContext, chat_id: int, person: PersonView | None) -> None:
    """The command menu shows each person only what their role can do (scope: their private chat). Telegram
    keeps a chat's menu, so it is sent again only when it changed (a role, the language): most /start
    presses then cost one Bot API call, not two."""
    translator, language = context.services.translator, context.language
    specs = context.services.wiring.commands_for(person)
    key = (translator, language, tuple((c.command, c.description_key) for c in specs))
    known = _command_menus.get(key)
    if known is None:
        # Translated and hashed once per language and set of commands, not on every /start.
        if len(_command_menus) >= _COMMAND_MENUS:
            _command_menus.clear()
        commands = tuple(BotCommand(c.command, translator(language, c.description_key)[:256]) for c in specs)
        digest = hashlib.blake2b(
            repr([(c.command, c.description) for c in commands]).encode(), digest_size=8
        ).hexdigest()
        known = _command_menus[key] = (commands, digest)
    commands, digest = known
    menu = f"{chat_id}:{digest}"
    if context.user_data is not None and context.user_data.get(COMMANDS_KEY) == menu:
        return
    try:
        await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except TelegramError:
        log.warning("could not set the command menu for a chat")
        return
    if context.user_data is not None:
        context.user_data[COMMANDS_KEY] = menu


async def show_menu(
    update: Update, context: BotContext, person: PersonView | None, key: str, **values: object
) -> None:
    await send_text(update, context, context.t(key, **values), main_menu(context, person))


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == "private"


def user_id(update: Update) -> int:
    """The Telegram id of whoever sent the update (every handler that calls this has one)."""
    assert update.effective_user is not None
    return update.effective_user.id


class AddressedToBot(filters.MessageFilter):
    """A group message that mentions the bot or (unless ``replies`` is False) replies to one of its own."""

    def __init__(self, *, replies: bool = True) -> None:
        super().__init__()
        self.replies = replies

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        reply_to = message.reply_to_message
        if (
            self.replies
            and reply_to is not None
            and reply_to.from_user is not None
            and reply_to.from_user.id == bot.id
        ):
            return True
        mention = f"@{bot.username}".lower() if bot.username else None
        return mention is not None and any(
            entity.type == MessageEntity.MENTION and message.parse_entity(entity).lower() == mention
            for entity in message.entities
        )


# Many older residents speak rather than type (WeChat habits); the bot cannot listen, and says so.
SPOKEN = filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE


def private_chat_link(context: BotContext, payload: str | None = None) -> str:
    """The button that opens the private chat with the bot (and starts ``payload`` there)."""
    username = context.services.bot_username or context.bot.username or "RedButlerBot"
    return deep_link(username, payload) if payload else f"https://t.me/{username}"


async def group_report(update: Update, context: BotContext) -> None:
    """In a group: never collect details there; a button continues in the private chat."""
    message = update.effective_message
    if message is not None and message.text and not message.text.startswith("/"):
        context.answer_in_language_of(message.text)
    link = private_chat_link(context, "rp")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(context.t("repairs.btn.report_private"), url=link)]])
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, context.t("repairs.group_report"), reply_markup=markup)
