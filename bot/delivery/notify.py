"""Queue a message for a person or a group, rendered in the recipient's language."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from bot.db.models import OutboxMessage, Person
from bot.db.uow import UnitOfWork
from bot.i18n import Translator

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
# A payload value {UPLOAD: base64, "filename": ...} is a file the sender uploads (a chart): an outbox row is
# JSON, and a picture drawn for one digest has no Telegram file id until it is sent.
UPLOAD = "upload_b64"


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
    language: str | None = None,
    **values: object,
) -> OutboxMessage | None:
    """``language``: for someone who never chose one, the language the message answers (their own, in
    their own words); a language on their record always wins."""
    if person.telegram_id is None or person.reachable is False:
        # Blocked us (403): skipped until they write again (the inbox marks them reachable then).
        return None
    payload: dict[str, Any] = {"text": clip(t(person.language or language, key, **values))}
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


def upload(data: bytes, filename: str) -> dict[str, str]:
    return {UPLOAD: base64.b64encode(data).decode("ascii"), "filename": filename}


async def notify_person_photo(
    uow: UnitOfWork,
    t: Translator,
    person: Person,
    key: str,
    *,
    photo: bytes,
    filename: str,
    now: datetime,
    dedupe_key: str | None = None,
    purpose: str = "notice",
    **values: object,
) -> OutboxMessage | None:
    """A picture with a caption in the person's language, through the outbox like any other notice."""
    if person.telegram_id is None or person.reachable is False:
        return None
    payload: dict[str, Any] = {
        "photo": upload(photo, filename),
        "caption": clip(t(person.language, key, **values), TELEGRAM_CAPTION_LIMIT),
    }
    return await uow.outbox.add(
        chat_id=person.telegram_id,
        person_id=person.id,
        payload=payload,
        now=now,
        method="sendPhoto",
        dedupe_key=dedupe_key,
        purpose=purpose,
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
