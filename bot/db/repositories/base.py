"""What every repository does with its session: keep new rows and give them ids. Never commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        """Keep a new row in this transaction (its id comes with the next flush)."""
        self.session.add(row)

    async def flush(self) -> None:
        """Give new rows their ids (and send pending changes) inside the transaction."""
        await self.session.flush()
