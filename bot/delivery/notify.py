"""Queue a message for a person or a group, rendered in the recipient's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.db.models import OutboxMessage, Person
from bot.db.uow import UnitOfWork
from bot.i18n import Translator

TELEGRAM_TEXT_LIMIT = 4096


def clip(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def notify_person(
    uow: UnitOfWork,
    t: Translator,
    person: Person,
    key: str,
    *,
    now: datetime,
    reply_markup: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    purpose: str = "notice",
    not_before: datetime | None = None,
    **values: object,
) -> OutboxMessage | None:
    if person.telegram_id is None or person.reachable is False:
        # Blocked us (403): skipped until they write again (the inbox marks them reachable then).
        return None
    payload: dict[str, Any] = {"text": clip(t(person.language, key, **values))}
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    return await uow.outbox.add(
        chat_id=person.telegram_id,
        person_id=person.id,
        payload=payload,
        now=now,
        dedupe_key=dedupe_key,
        purpose=purpose,
        not_before=not_before,
    )


async def notify_chat(
    uow: UnitOfWork,
    text: str,
    *,
    chat_id: int,
    now: datetime,
    reply_markup: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    purpose: str = "notice",
    method: str = "sendMessage",
    extra: dict[str, Any] | None = None,
) -> OutboxMessage | None:
    payload: dict[str, Any] = {"text": clip(text)}
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    if extra:
        payload.update(extra)
    return await uow.outbox.add(
        chat_id=chat_id, payload=payload, now=now, dedupe_key=dedupe_key, purpose=purpose, method=method
    )
