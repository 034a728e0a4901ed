"""Unit of work: one transaction per service call; services commit, repositories never do."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repositories import CommunityRepository, OutboxRepository
from bot.db.repositories.stats import StatsRepository


class UnitOfWork:
    session: AsyncSession
    community: CommunityRepository
    outbox: OutboxRepository
    stats: StatsRepository

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessionmaker()
        self.community = CommunityRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.stats = StatsRepository(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Closing ends any uncommitted transaction (a rollback) while keeping loaded values readable;
        # an explicit rollback would expire them.
        try:
            if exc_type is not None:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class UnitOfWorkFactory:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker)
