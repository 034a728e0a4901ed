from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage, Person


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._queued = 0

    def take_queued(self) -> int:
        """How many messages were queued since the last call (the unit of work wakes the sender for them)."""
        queued, self._queued = self._queued, 0
        return queued

    async def add(
        self,
        *,
        chat_id: int,
        payload: dict[str, Any],
        now: datetime,
        method: str = "sendMessage",
        person_id: int | None = None,
        dedupe_key: str | None = None,
        purpose: str = "notice",
        not_before: datetime | None = None,
    ) -> OutboxMessage | None:
        """Queue a message; with a dedupe_key already queued, nothing is added and None is returned."""
        if dedupe_key is not None:
            existing = await self.session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
            )
            if existing is not None:
                return None
        row = OutboxMessage(
            chat_id=chat_id,
            person_id=person_id,
            method=method,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=not_before or now,
            dedupe_key=dedupe_key,
            purpose=purpose,
            created_at=now,
        )
        self.session.add(row)
        self._queued += 1
        return row

    async def retry_failed_pins(self, chat_id: int, purpose: str, now: datetime) -> int:
        """The pins Telegram refused in this group go back to pending; returns how many."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.purpose == purpose,
                OutboxMessage.status == "failed",
            )
            .values(status="pending", attempts=0, next_attempt_at=now, last_error=None)
        )
        requeued = int(result.rowcount or 0)  # type: ignore[attr-defined]
        self._queued += requeued
        return requeued

    async def due(self, now: datetime, limit: int) -> list[OutboxMessage]:
        rows = await self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        return list(rows)

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def next_due_at(self) -> datetime | None:
        return await self.session.scalar(
            select(OutboxMessage.next_attempt_at)
            .where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.next_attempt_at)
            .limit(1)
        )

    async def mark_sent(self, message_id: int, now: datetime, telegram_message_id: int | None) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="sent", sent_at=now, telegram_message_id=telegram_message_id, last_error=None)
        )

    async def retry_later(self, message_id: int, *, attempts: int, at: datetime, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(attempts=attempts, next_attempt_at=at, last_error=error[:500])
        )

    async def mark_failed(self, message_id: int, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="failed", last_error=error[:500])
        )

    async def mark_unreachable(self, telegram_id: int) -> None:
        """Telegram refused to deliver to this person (blocked the bot, deleted the account)."""
        await self.session.execute(
            update(Person).where(Person.telegram_id == telegram_id).values(reachable=False)
        )
