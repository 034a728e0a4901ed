"""Queueing a ready-made message for a chat (groups, broadcasts) through the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_chat


async def queue_group_message(
    uow: UnitOfWork,
    chat_id: int,
    text: str,
    reply_markup: dict[str, Any] | None,
    now: datetime,
    *,
    dedupe_key: str | None = None,
) -> bool:
    async with uow:
        row = await notify_chat(
            uow, text, chat_id=chat_id, now=now, reply_markup=reply_markup, dedupe_key=dedupe_key
        )
        await uow.commit()
        return row is not None
