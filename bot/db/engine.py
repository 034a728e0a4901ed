from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.db import sqlite_driver

_commits = 0


def commit_count() -> int:
    """How many transactions this process's engines have committed: a person's view read before the last
    commit may be out of date (a registration, a new role), one read after it is not."""
    return _commits


def _count_commit(_connection: Any) -> None:
    global _commits
    _commits += 1


def make_engine(database_url: str) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        # Writers queue on SQLite's single lock instead of failing at once.
        kwargs["connect_args"] = {"timeout": 30}
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Every transaction takes the write lock at BEGIN (below), so only one connection can work at a
            # time anyway; with several, the others wait in SQLite's busy handler, which sleeps 1, 2, 5 …
            # 100 ms between tries, and updates handled side by side spent most of their time asleep there.
            # One connection makes them wait in line on the event loop instead, woken the moment it is free.
            kwargs["pool_size"] = 1
            kwargs["max_overflow"] = 0
            kwargs["async_creator"] = sqlite_driver.connector(path, timeout=30)
    else:
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 20
    engine = create_async_engine(database_url, **kwargs)
    event.listen(engine.sync_engine, "commit", _count_commit)
    if database_url.startswith("sqlite"):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own handling defers it).
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin_immediate(conn: Any) -> None:
            # Take the write lock at BEGIN so read-then-write transactions serialise instead of deadlocking.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)
