"""Unit of work: one transaction per service call; services commit, repositories never do.

Every repository hangs off the unit of work (`uow.repairs`, `uow.points`, ...), so a service needs nothing
but the unit of work it was given, and a test can hand it a fake one. What must happen after a successful
commit (wake the outbox sender when messages were queued, re-arm the scheduler when something due moved)
runs here, once, instead of being each caller's memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

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

R = TypeVar("R")

# Set by the inbox while it handles an update (bot/delivery/inbox.py): every commit of that update's task
# counts here, so the inbox knows when an update changed nothing (its "handled" mark may then wait).
COMMITS_OF_UPDATE: ContextVar[list[int] | None] = ContextVar("commits_of_update", default=None)


class _Repository(Generic[R]):
    """A repository made on first use, on the unit of work's current session: most updates touch one or two
    of the thirteen, and a unit of work is opened several times per update."""

    def __init__(self, kind: Callable[[AsyncSession], R]) -> None:
        self.kind = kind

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> _Repository[R]: ...
    @overload
    def __get__(self, uow: UnitOfWork, owner: type) -> R: ...
    def __get__(self, uow: UnitOfWork | None, owner: type) -> Any:
        if uow is None:
            return self
        # Kept in the instance's __dict__, which Python looks in before this (non-data) descriptor: the next
        # access is a plain attribute read, and a test may put a fake repository there.
        repository = uow.__dict__[self.name] = self.kind(uow.session)
        return repository


async def _nothing_to_rearm() -> None:
    return None


@dataclass
class AfterCommit:
    """Set once the sender and the scheduler exist (post_init); until then, and in the CLI, do nothing."""

    wake_sender: Callable[[], None] = lambda: None
    rearm_scheduler: Callable[[], Awaitable[None]] = _nothing_to_rearm


class UnitOfWork:
    session: AsyncSession
    community = _Repository(CommunityRepository)
    outbox = _Repository(OutboxRepository)
    inbox = _Repository(InboxRepository)
    repairs = _Repository(RepairsRepository)
    points = _Repository(PointsRepository)
    patrols = _Repository(PatrolRepository)
    events = _Repository(EventRepository)
    announcements = _Repository(AnnouncementRepository)
    votes = _Repository(VoteRepository)
    law = _Repository(LawRepository)
    activity = _Repository(ActivityRepository)
    identity = _Repository(IdentityRepository)
    stats = _Repository(StatsRepository)

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
        self.session = self._sessionmaker()
        # A unit of work entered again gets repositories on its new session.
        for name in _REPOSITORIES:
            self.__dict__.pop(name, None)
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
        if (counted := COMMITS_OF_UPDATE.get()) is not None:
            counted.append(1)
        queued = self._queued()
        rearm, self._schedule_changed = self._schedule_changed, False
        if queued:
            self._after_commit.wake_sender()
        if rearm:
            await self._after_commit.rearm_scheduler()

    async def rollback(self) -> None:
        await self.session.rollback()
        self._queued()
        self._schedule_changed = False

    def _queued(self) -> int:
        """Outbox messages this transaction queued (none when the outbox was never used)."""
        outbox = self.__dict__.get("outbox")
        return outbox.take_queued() if outbox is not None else 0


_REPOSITORIES = tuple(name for name, value in vars(UnitOfWork).items() if isinstance(value, _Repository))


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
