from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage


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
