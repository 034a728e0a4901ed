"""One error handler: the user reads a short message with an error id; the log gets the trace."""

from __future__ import annotations

import logging
import secrets

from telegram import Update

from bot.context import BotContext
from bot.delivery.inbox import FINAL_ATTEMPT
from bot.services.errors import UserFacingError
from handlers.render import answer, send_text

log = logging.getLogger("redbutler.errors")


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if isinstance(error, UserFacingError) and isinstance(update, Update):
        text = context.t(error.key, **error.values)
        if update.callback_query is not None and await answer(update, text, alert=True):
            return
        await send_text(update, context, text)
        return
    error_id = secrets.token_hex(4)
    log.error("error %s while handling an update", error_id, exc_info=error)
    if not FINAL_ATTEMPT.get():
        return  # the inbox tries this update again; the person hears from us once, after the last try
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            text = context.t("common.error", error_id=error_id)
            if update.callback_query is None or not await answer(update, text, alert=True):
                await send_text(update, context, text)
        except Exception:
            log.exception("could not tell the user about error %s", error_id)
