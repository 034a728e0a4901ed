"""Unit of work: one transaction per service call; services commit, repositories never do.

Every repository hangs off the unit of work (`uow.repairs`, `uow.points`, ...), so a service needs nothing
but the unit of work it was given, and a test can hand it a fake one. What must happen after a successful
commit (wake the outbox sender when messages were queued, re-arm the scheduler when something due moved)
runs here, once, instead of being each caller's memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.errors import Conflict
from bot.db.repositories import (
    ActivityRepository,
    AnnouncementRepository,
    CommunityRepository,
    EventRepository,
    IdentityRepository,
    InboxRepository,
    LawRepository,
    OutboxRepository,
    PatrolRepository,
    PointsRepository,
    RepairsRepository,
    StatsRepository,
    VoteRepository,
)

if TYPE_CHECKING:
    from bot.services.activity import ActivityListener


async def _nothing_to_rearm() -> None:
    return None


@dataclass
class AfterCommit:
    """Set once the sender and the scheduler exist (post_init); until then, and in the CLI, do nothing."""

    wake_sender: Callable[[], None] = lambda: None
    rearm_scheduler: Callable[[], Awaitable[None]] = _nothing_to_rearm


class UnitOfWork:
    session: AsyncSession
    community: CommunityRepository
    outbox: OutboxRepository
    inbox: InboxRepository
    repairs: RepairsRepository
    points: PointsRepository
    patrols: PatrolRepository
    events: EventRepository
    announcements: AnnouncementRepository
    votes: VoteRepository
    law: LawRepository
    activity: ActivityRepository
    identity: IdentityRepository
    stats: StatsRepository

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        after_commit: AfterCommit | None = None,
        activity_listeners: Sequence[ActivityListener] = (),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._after_commit = after_commit or AfterCommit()
        self.activity_listeners = tuple(activity_listeners)
        self._schedule_changed = False

    async def __aenter__(self) -> UnitOfWork:
        self.session = session = self._sessionmaker()
        self.community = CommunityRepository(session)
        self.outbox = OutboxRepository(session)
        self.inbox = InboxRepository(session)
        self.repairs = RepairsRepository(session)
        self.points = PointsRepository(session)
        self.patrols = PatrolRepository(session)
        self.events = EventRepository(session)
        self.announcements = AnnouncementRepository(session)
        self.votes = VoteRepository(session)
        self.law = LawRepository(session)
        self.activity = ActivityRepository(session)
        self.identity = IdentityRepository(session)
        self.stats = StatsRepository(session)
        self._schedule_changed = False
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

    def schedule_changed(self) -> None:
        """Something due later was added or moved: the scheduler re-arms once this transaction commits."""
        self._schedule_changed = True

    async def commit(self) -> None:
        """Raises Conflict when a unique constraint refuses the transaction (roll back, then look again)."""
        try:
            await self.session.commit()
        except IntegrityError as exc:
            raise Conflict(exc.statement, exc.params, exc.orig or exc) from exc
        queued = self.outbox.take_queued()
        rearm, self._schedule_changed = self._schedule_changed, False
        if queued:
            self._after_commit.wake_sender()
        if rearm:
            await self._after_commit.rearm_scheduler()

    async def rollback(self) -> None:
        await self.session.rollback()
        self.outbox.take_queued()
        self._schedule_changed = False


class UnitOfWorkFactory:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        activity_listeners: Sequence[ActivityListener] = (),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.after_commit = AfterCommit()
        self.activity_listeners = tuple(activity_listeners)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, self.after_commit, self.activity_listeners)
