"""Free text in a private chat goes to the capability it is about ("厨房水管漏水了" → a repair report).

Capabilities use `IntentFilter("repair")` in their conversation's entry points; the router itself lives in
knowledge/ (via bot.services.routing). A message is routed once and the answer reused by every filter.

When the router finds two intents close ("楼上漏水不管怎么办": a repair or a legal question?), no filter
matches; `ask_which` asks with two big buttons, and the pressed one continues into that flow with the
original text (a repair report starts with it as the description; a legal question is answered). The text
waits in the person's user_data under the question's id; a second or stale press finds nothing and says so.
A photo sent in an idle chat gets one 🔧 button (`offer_repair`) that waits the same way.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.callbacks import Button
from bot.capability import Capability, Wiring
from bot.context import BotContext, Draft
from bot.services.routing import INTENTS, RouteResult, route_text
from handlers.menu import MenuLabelFilter
from handlers.render import answer, buttons, edit_or_reply, reply

PREFIX = "rt"
PENDING_KEY = "route_choice"
# "rt:<intent>:<question id>": one button per intent the router knows.
CHOICES = {intent: Button(PREFIX, intent, int) for intent in INTENTS}
# The 🔧 under a photo sent in an idle chat: it starts a report like the "repair" choice, but nothing was
# asked, so a second press is told about the photo, not about a question ("rt:photo:<photo's message id>").
PHOTO_OFFER = Button(PREFIX, "photo", int)
# Either press starts a report from what is waiting (handlers/repairs.py takes both).
REPORT_PATTERN = f"{CHOICES['repair'].pattern}|{PHOTO_OFFER.pattern}"
PENDING_TEXT_LIMIT = 1000
_CACHE_SIZE = 256
# Keyed by the text too: an edited message, or a fresh emulator reusing message ids, is routed anew.
_cache: OrderedDict[tuple[int, int, str], RouteResult] = OrderedDict()


@dataclass
class RouteChoiceDraft(Draft):
    """The message a close call asked about, waiting for the press (by the question's message id)."""

    KEY = PENDING_KEY
    id: int | None = None
    text: str = ""


def _choice(data: str | None) -> tuple[str, int] | None:
    """(intent, id of the message it is about); the photo offer is a "repair"."""
    photo = PHOTO_OFFER.parse(data)
    if photo is not None:
        return "repair", int(photo[0])
    for intent, button in CHOICES.items():
        parsed = button.parse(data)
        if parsed is not None:
            return intent, int(parsed[0])
    return None


def is_pending(context: BotContext, data: str | None) -> bool:
    """The press is about the message still waiting (not a second press, nor an older offer's)."""
    pressed = _choice(data)
    pending = context.load(RouteChoiceDraft)
    return pressed is not None and pending.id is not None and pending.id == pressed[1]


def is_photo_offer(data: str | None) -> bool:
    return (data or "").startswith(PHOTO_OFFER.pattern[1:])


async def answer_stale(update: Update, context: BotContext) -> None:
    """A second or old press, told what it was about: the photo, or the question."""
    data = update.callback_query.data if update.callback_query is not None else None
    key = "routing.stale_photo" if is_photo_offer(data) else "routing.stale"
    await answer(update, context.t(key), alert=True)


def route_of(message: Message) -> RouteResult:
    key = (message.chat_id, message.message_id, message.text or "")
    result = _cache.get(key)
    if result is None:
        result = route_text(message.text)
        _cache[key] = result
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def intent_of(message: Message) -> str:
    return route_of(message).intent


class IntentFilter(filters.MessageFilter):
    """The message is about one of ``intents`` — and the router is sure (a close call is asked first)."""

    def __init__(self, wiring: Wiring, *intents: str) -> None:
        super().__init__(name=f"IntentFilter({', '.join(intents)})")
        self.intents = frozenset(intents)
        self.menu_press = MenuLabelFilter(wiring)

    def filter(self, message: Message) -> bool:
        # A big menu button is a press, never free text to route, whatever words its label has.
        if not message.text or message.text.startswith("/") or self.menu_press.filter(message):
            return False
        result = route_of(message)
        return result.alternative is None and result.intent in self.intents


class _CloseCall(filters.MessageFilter):
    def filter(self, message: Message) -> bool:
        if not message.text or message.text.startswith("/"):
            return False
        return route_of(message).alternative is not None


async def ask_which(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None and context.user_data is not None
    result = route_of(message)
    first, second = result.intent, result.alternative or "help"
    # Kept in the persisted session, so bounded: more than any description or question needs.
    text = (message.text or "")[:PENDING_TEXT_LIMIT]
    context.store(RouteChoiceDraft(id=message.message_id, text=text))
    markup = buttons([
        [(context.t(f"routing.btn.{first}"), CHOICES[first].data(message.message_id))],
        [(context.t(f"routing.btn.{second}"), CHOICES[second].data(message.message_id))],
    ])
    await reply(update, context, "routing.which", markup=markup,
                first=context.t(f"routing.do.{first}"), second=context.t(f"routing.do.{second}"))


async def offer_repair(update: Update, context: BotContext, key: str) -> None:
    """One big 🔧 button for something that looks like a repair but said no words (a photo of a leak)."""
    message = update.effective_message
    assert message is not None
    text = (message.caption or "")[:PENDING_TEXT_LIMIT]
    context.store(RouteChoiceDraft(id=message.message_id, text=text))
    markup = buttons([[(context.t("routing.btn.repair"), PHOTO_OFFER.data(message.message_id))]])
    await reply(update, context, key, markup=markup)


async def take_pending(update: Update, context: BotContext) -> str | None:
    """The text the pressed button is about, once: None (and the person told) for a stale or second press."""
    query = update.callback_query
    assert query is not None
    pressed = _choice(query.data)
    if pressed is None or not is_pending(context, query.data):
        await answer_stale(update, context)
        return None
    pending = context.load(RouteChoiceDraft)
    context.drop(RouteChoiceDraft.KEY)
    await answer(update)
    choice = context.t(f"routing.btn.{pressed[0]}")
    await edit_or_reply(update, context, context.t("routing.chosen", choice=choice))
    return pending.text or ""


async def choice_pressed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    pressed = _choice(query.data)
    intent = pressed[0] if pressed is not None else ""
    # Each capability declares the choices it takes (`Capability.choices`). A repair is not among them: the
    # report is a conversation, so its entry point takes the "repair" button and the photo's 🔧 itself
    # (handlers/repairs.py: `CallbackQueryHandler(start_from_choice, pattern=REPORT_PATTERN)`); a press
    # left for this handler is a stale one (an open flow answers a live one: handlers/dead_ends.py).
    choice = context.services.wiring.choices.get(intent)
    if choice is None:
        await answer_stale(update, context)
        return
    text = await take_pending(update, context)
    if text is not None:
        await choice(update, context, text)


async def patrol_text(update: Update, context: BotContext) -> None:
    await context.services.wiring.choices["patrol"](update, context, "")


async def event_text(update: Update, context: BotContext) -> None:
    await context.services.wiring.choices["event"](update, context, "")


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    text = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & ~MenuLabelFilter(wiring)
    return [
        MessageHandler(text & _CloseCall(), ask_which),
        MessageHandler(text & IntentFilter(wiring, "patrol"), patrol_text),
        MessageHandler(text & IntentFilter(wiring, "event"), event_text),
        CallbackQueryHandler(choice_pressed, pattern=rf"^{PREFIX}:"),
    ]


CAPABILITY = Capability(name="routing", handlers=handlers)
