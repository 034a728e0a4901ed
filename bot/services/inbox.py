"""The inbox's admin side: quarantine a poison update (with one notice to the admins), list, retry, drop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db.models import InboxUpdate
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import Translator
from bot.services.errors import UserFacingError

# Telegram keeps an unconfirmed update for 24 hours; a week of handled ids also catches late webhook retries.
RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class FailedUpdate:
    update_id: int
    chat_id: int | None
    received_at: datetime
    attempts: int
    error: str
    kind: str


async def quarantine(
    uow: UnitOfWork, t: Translator, update_id: int, error: str, attempts: int, now: datetime
) -> None:
    """Move an update aside and tell every admin once (the notice carries no personal data)."""
    async with uow:
        repo = uow.inbox
        await repo.set_status(update_id, "failed", now, error, attempts=attempts)
        for admin in await repo.admins():
            await notify_person(
                uow,
                t,
                admin,
                "inbox.quarantined",
                now=now,
                dedupe_key=f"inbox-failed:{update_id}",
                update_id=update_id,
            )
        await uow.commit()


async def failed_updates(uow: UnitOfWork) -> list[FailedUpdate]:
    async with uow:
        rows = await uow.inbox.quarantined()
        return [
            FailedUpdate(
                r.update_id,
                r.chat_id,
                r.received_at,
                r.attempts,
                (r.error or "").splitlines()[0][:200] if r.error else "",
                next((k for k in r.payload if k != "update_id"), "?"),
            )
            for r in rows
        ]


async def retry(uow: UnitOfWork, update_id: int, now: datetime) -> None:
    """Put a quarantined update back in line (after a fix); it gets a fresh set of attempts."""
    async with uow:
        row = await _quarantined(uow, update_id)
        row.status, row.attempts, row.handled_at = "pending", 0, None
        await uow.commit()


async def drop(uow: UnitOfWork, update_id: int, now: datetime) -> None:
    async with uow:
        row = await _quarantined(uow, update_id)
        row.status, row.handled_at = "dropped", now
        await uow.commit()


async def _quarantined(uow: UnitOfWork, update_id: int) -> InboxUpdate:
    row = await uow.inbox.get(update_id)
    if row is None or row.status != "failed":
        raise UserFacingError("inbox.not_failed", update_id=update_id)
    return row


async def prune(uow: UnitOfWork, now: datetime, retention: timedelta = RETENTION) -> int:
    async with uow:
        removed = await uow.inbox.prune(now - retention)
        await uow.commit()
        return removed
