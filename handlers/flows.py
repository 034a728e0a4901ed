"""The shape every step-by-step conversation shares: persisted (a restart loses no step), re-entered by its
command, ended by /cancel or its "取消" button, which drops the draft and says so."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.callbacks import Button
from bot.context import BotContext, DraftT
from handlers.render import answer, reply, stale_button

Stop = Callable[[Update, BotContext], Coroutine[Any, Any, int]]
Handlers = Sequence[BaseHandler]  # type: ignore[type-arg]


async def pressed(update: Update, context: BotContext, *kinds: Button) -> tuple[Button, int] | None:
    """Which of `kinds` was pressed and the id it carries; anything else (an old, forged or overlong press)
    is answered like a stale button and gives None."""
    query = update.callback_query
    data = query.data if query is not None else None
    for kind in kinds:
        values = kind.parse(data)
        if values is not None and isinstance(values[0], int):
            return kind, values[0]
    await stale_button(update, context)
    return None


def revise(context: BotContext, kind: type[DraftT], /, **values: object) -> DraftT:
    """The conversation's draft with `values` changed, stored for the next step; returns it."""
    draft = dataclasses.replace(context.load(kind), **values)  # type: ignore[arg-type]
    context.store(draft)
    return draft


def draft_id(context: BotContext, kind: type[DraftT], field: str) -> int | None:
    """The id a one-field draft carries (which shift, which event); a conversation begun before the drafts
    were typed stored the bare id under the same key, and still reads back."""
    stored = (context.user_data or {}).get(kind.KEY)
    if isinstance(stored, int):
        return stored
    value = getattr(context.load(kind), field)
    return value if isinstance(value, int) else None


def stem(button: Button) -> str:
    """ "an:b": what a keyboard of choices (one button per id) puts before each id."""
    return f"{button.prefix}:{button.verb}"


def stopper(stopped_key: str, *draft_keys: str) -> Stop:
    """A conversation's way out: the press is answered, its drafts dropped, `stopped_key` said."""

    async def stop(update: Update, context: BotContext) -> int:
        await answer(update)
        context.drop(*draft_keys)
        await reply(update, context, stopped_key)
        return ConversationHandler.END

    # Named for what it says, so the wiring listing tells one conversation's way out from another's.
    stop.__qualname__ = stop.__name__ = f"stopper({stopped_key!r})"
    return stop


def flow(
    name: str,
    *,
    entry_points: Handlers,
    states: dict[Any, Handlers],
    stop: Stop,
    stop_button: Button | None = None,
    fallbacks: Handlers = (),
) -> ConversationHandler:  # type: ignore[type-arg]
    """One persisted, re-enterable conversation: /cancel (and `stop_button` when it has one) runs `stop`
    before any of the other `fallbacks`."""
    ways_out: list[BaseHandler] = [CommandHandler("cancel", stop)]  # type: ignore[type-arg]
    if stop_button is not None:
        ways_out.append(CallbackQueryHandler(stop, pattern=stop_button.pattern))
    return ConversationHandler(
        name=name,
        persistent=True,
        allow_reentry=True,
        entry_points=list(entry_points),
        states={state: list(handlers) for state, handlers in states.items()},
        fallbacks=[*ways_out, *fallbacks],
    )
