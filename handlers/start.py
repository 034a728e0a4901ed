"""/start, /help, /language, /me, /cancel, the main menu, and a clear answer to anything unexpected."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import Button
from bot.capability import Capability, MenuEntry, Placement, Wiring
from bot.commands import REGISTERED, Audience, CommandSpec
from bot.context import BotContext, Draft
from bot.i18n import SUPPORTED_LANGUAGES
from bot.notices.residents import REGISTER_CODE, REGISTER_JOIN, REGISTER_JOIN_IN
from bot.services import people
from bot.services.routing import small_talk
from bot.services.views import PersonView
from handlers.common import (
    SPOKEN,
    AddressedToBot,
    current_person,
    ensure_current_person,
    group_report,
    is_private,
    private_chat_link,
    refresh_commands,
    show_menu,
)
from handlers.menu import entry_for_label
from handlers.render import answer, buttons, display_name, edit_or_reply, reply, stale_button
from handlers.routing import IntentFilter, offer_repair

LANG_PREFIX = "lang"
# One button per language: "lang:en".
LANGUAGE_BUTTONS = {lang: Button(LANG_PREFIX, lang) for lang in SUPPORTED_LANGUAGES}


def language_keyboard(context: BotContext) -> object:
    # Each language is named in itself, whatever the current language.
    return buttons(
        [
            [
                (context.services.translator(lang, "start.language_name"), LANGUAGE_BUTTONS[lang].data())
                for lang in SUPPORTED_LANGUAGES
            ]
        ]
    )


async def start(update: Update, context: BotContext) -> None:
    if not is_private(update):
        await reply(update, context, "start.in_group")
        return
    person = await ensure_current_person(update, context)
    payload = context.args[0] if context.args else ""
    if payload:
        prefix, _, rest = payload.partition("_")
        callback = context.services.wiring.deep_links.get(prefix)
        if callback is None or len(payload) > 64:
            await reply(update, context, "start.bad_link")
        else:
            await callback(update, context, rest)
            return
    if person.language is None and "language" not in (context.user_data or {}):
        if person.roles:  # staff have work waiting: their keyboard comes before the language question
            await show_menu(update, context, person, "start.staff_keyboard")
        await reply(update, context, "start.choose_language", markup=language_keyboard(context))  # type: ignore[arg-type]
        return
    await welcome(update, context, person)


async def welcome(update: Update, context: BotContext, person: PersonView | None) -> None:
    chat = update.effective_chat
    if chat is not None:
        await refresh_commands(context, chat.id, person)
    if person is not None and person.is_registered:
        await show_menu(update, context, person, "start.welcome_back", name=person.name or "")
    else:
        await show_menu(update, context, person, "start.welcome_new")
        await reply(update, context, "start.how_to_register", markup=register_buttons(context))  # type: ignore[arg-type]


def register_buttons(context: BotContext, compound_id: int | None = None) -> object:
    join = REGISTER_JOIN_IN.data(compound_id) if compound_id is not None else REGISTER_JOIN.data()
    return buttons(
        [
            [(context.t("residents.btn_enter_code"), REGISTER_CODE.data())],
            [(context.t("residents.btn_join"), join)],
        ]
    )


async def choose_language(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    language = next((lang for lang, b in LANGUAGE_BUTTONS.items() if b.parse(query.data) is not None), "")
    if not language:
        await stale_button(update, context)
        return
    await people.set_language(
        context.services.uow(),
        update.effective_user.id,
        display_name(update),
        language,
        context.services.clock.now(),
    )
    context.language = language
    await answer(update)
    await edit_or_reply(update, context, context.t("start.language_set"))
    await welcome(update, context, await current_person(update, context))


async def language_command(update: Update, context: BotContext) -> None:
    await reply(update, context, "start.choose_language", markup=language_keyboard(context))  # type: ignore[arg-type]


async def help_command(update: Update, context: BotContext) -> None:
    person = await current_person(update, context)
    commands = context.services.wiring.commands_for(person)
    lines = [f"/{c.command} — {context.t(c.description_key)}" for c in commands]
    key = "help.registered" if person is not None and person.is_registered else "help.unregistered"
    if not is_private(update):
        await reply(update, context, "help.group")
        return
    await show_menu(update, context, person, key, commands="\n".join(lines))


async def me_command(update: Update, context: BotContext) -> None:
    person = await current_person(update, context)
    if person is None or not person.is_registered:
        await reply(update, context, "common.not_registered", markup=register_buttons(context))  # type: ignore[arg-type]
        return
    homes = "\n".join(f"🏠 {h.label}" for h in person.homes) or context.t("me.no_home")
    roles = "、".join(context.t(f"role.{r.role}") for r in person.roles) or context.t("me.no_role")
    await reply(update, context, "me.summary", name=person.name, homes=homes, roles=roles)


async def cancel_command(update: Update, context: BotContext) -> None:
    await reply(update, context, "common.nothing_to_cancel")


async def menu_or_unknown_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    entry = entry_for_label(context, message.text)
    if entry is not None:
        await entry.callback(update, context)
        return
    for hook in context.services.wiring.text_hooks:
        if await hook(update, context):
            return
    await reply(update, context, "common.not_understood")


async def unknown_command(update: Update, context: BotContext) -> None:
    if is_private(update):
        await reply(update, context, "common.unknown_command")


@dataclass
class PhotoAlbum(Draft):
    """The album (Telegram's media group) whose first photo was offered a repair."""

    KEY = "photo_album"
    id: str | None = None


async def unexpected_content(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is not None and message.photo:  # a picture of the leak, sent before saying anything
        person = await current_person(update, context)
        if person is not None and person.is_registered:
            if message.media_group_id and context.load(PhotoAlbum).id == message.media_group_id:
                return  # one offer for an album of three photos, not three
            context.store(PhotoAlbum(id=message.media_group_id))
            await offer_repair(update, context, "common.photo_repair")
            return
    await reply(update, context, "common.unexpected_content")


async def voice_message(update: Update, context: BotContext) -> None:
    await reply(update, context, "common.voice")


async def mentioned_in_group(update: Update, context: BotContext) -> None:
    """Someone @-mentions the bot in a group with something only the private chat can do: a button there.
    (Legal questions, emergencies and repairs are answered in the group before this.)"""
    message = update.effective_message
    if message is not None and message.text:
        context.answer_in_language_of(message.text)
        talk = small_talk(message.text)
        if talk is not None:
            # "@红管家 谢谢" is said to a person: answered like one, without a button nobody asked for.
            await reply(update, context, f"group.{talk.kind}")
            return
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(context.t("group.btn.private"), url=private_chat_link(context))]]
    )
    await reply(update, context, "group.mentioned", markup=markup)


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CommandHandler("language", language_command, filters=private),
        CommandHandler("me", me_command, filters=private),
        CommandHandler("cancel", cancel_command),
        CallbackQueryHandler(choose_language, pattern=rf"^{LANG_PREFIX}:"),
    ]


def fallback_handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    mentioned = filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND & AddressedToBot(replies=False)
    return [
        MessageHandler(private & filters.COMMAND, unknown_command),
        MessageHandler(private & filters.TEXT, menu_or_unknown_text),
        MessageHandler(private & SPOKEN, voice_message),
        # Mentions only: replies to the bot's posts in a group ("收到" under an announcement) stay unanswered.
        MessageHandler(mentioned & IntentFilter(wiring, "repair"), group_report),
        MessageHandler(mentioned, mentioned_in_group),
        MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL, unexpected_content),
        CallbackQueryHandler(stale_button),
    ]


CAPABILITY = Capability(
    name="start",
    handlers=handlers,
    commands=(
        CommandSpec("start", "cmd.start", Audience(), 0),
        CommandSpec("me", "cmd.me", Audience(REGISTERED), 800),
        CommandSpec("help", "cmd.help", Audience(), 900),
        CommandSpec("language", "cmd.language", Audience(), 910),
        CommandSpec("cancel", "cmd.cancel", Audience(), 950),
    ),
    menu=(
        MenuEntry("menu.me", me_command, Audience(REGISTERED), 800),
        MenuEntry("menu.help", help_command, Audience(), 900),
        MenuEntry("menu.language", language_command, Audience(), 910),
    ),
)
# Registered last: whatever nobody else took.
FALLBACKS = Capability(name="fallbacks", handlers=fallback_handlers, placement=Placement.LAST)
