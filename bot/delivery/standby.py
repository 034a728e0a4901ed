"""One running bot per database.

PostgreSQL: the bot holds a session-level advisory lock on a connection of its own; a second `redbutler run`
waits as a standby, trying the lock every second, and takes over (polling, scheduler and sender) as soon as
the first process's connection is gone: PostgreSQL drops it, and the lock with it, when that process dies.

SQLite is a single-machine database: a second process refuses to start and says which one is running (an
exclusive lock on a file next to the database; the operating system releases it when the process dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

# Any fixed number: advisory locks are scoped to the database, so one key per bot database is enough.
ADVISORY_KEY = 0x5245_4442_7574_6C72 & 0x7FFF_FFFF_FFFF_FFFF
TRY_EVERY = 1.0
CHECK_EVERY = 2.0


class AlreadyRunning(RuntimeError):
    pass


class InstanceLock:
    def __init__(self, database_url: str, *, try_every: float = TRY_EVERY) -> None:
        self.database_url = database_url
        self.try_every = try_every
        self._engine: AsyncEngine | None = None
        self._connection: AsyncConnection | None = None
        self._file: IO[str] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    async def acquire(self, on_wait: Callable[[], Any] | None = None) -> None:
        if self.is_sqlite:
            self._lock_file()
            return
        self._engine = create_async_engine(self.database_url, pool_size=1, max_overflow=0)
        told = False
        while True:
            try:
                connection = await self._engine.connect()
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                got = await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
                )
            except Exception as exc:
                log.warning("cannot reach the database for the instance lock (%s); trying again", exc)
                await asyncio.sleep(self.try_every)
                continue
            if got:
                self._connection = connection
                if told:
                    log.warning("the other bot process is gone; this one takes over")
                return
            await connection.close()
            if not told:
                told = True
                log.warning("another bot process runs on this database; waiting as a standby")
                if on_wait is not None:
                    on_wait()
            await asyncio.sleep(self.try_every)

    async def watch(self) -> None:
        """Returns when the lock is lost (the database connection broke): the caller must stop at once, since
        a standby may already be taking over."""
        if self._connection is None:
            await asyncio.Event().wait()
            return
        while True:
            await asyncio.sleep(CHECK_EVERY)
            try:
                await self._connection.scalar(text("SELECT 1"))
            except Exception as exc:
                log.critical("lost the instance lock's database connection (%s); stopping", exc)
                return

    async def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                await self._connection.close()
            self._connection = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def _lock_file(self) -> None:
        import fcntl

        path = self.database_url.split("///", 1)[-1]
        if not path or path == ":memory:":
            return
        lock_path = Path(path + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise AlreadyRunning(
                f"another redbutler (pid {holder}) is already running on {path}. "
                "SQLite allows one bot per database: stop that one first, "
                "or use PostgreSQL to run a standby next to it."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
