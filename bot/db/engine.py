from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

# The tables a person's view is read from (bot/services/people.py): who they are, their homes, their roles.
_PEOPLE_WRITE = re.compile(
    r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(?:people|residencies|households|units|buildings|compounds"
    r"|staff_roles|responsibility_areas)\b",
    re.IGNORECASE,
)
_WROTE_PEOPLE = "redbutler_wrote_people"
_commits = 0


def commit_count() -> int:
    """How many transactions this process's engines have committed that wrote to the tables a person's view
    is read from: a view read before the last of them may be out of date (a registration, a new role), one
    read after it is not. Commits that changed nothing there (every update's handled mark, a points check, a
    repair report) leave views read in the same update valid."""
    return _commits


def _note_people_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if statement[:1] in "IUDiud" and _PEOPLE_WRITE.match(statement):
        conn.info[_WROTE_PEOPLE] = True


def _count_commit(connection: Any) -> None:
    global _commits
    if connection.info.pop(_WROTE_PEOPLE, False):
        _commits += 1


def _forget_writes(connection: Any) -> None:
    connection.info.pop(_WROTE_PEOPLE, None)


def make_engine(database_url: str) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if database_url.startswith("sqlite"):
        # Our SQLite driver (with sqlite3 and aiosqlite, 1 MB) only where it runs.
        from bot.db import sqlite_driver

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
    event.listen(engine.sync_engine, "before_cursor_execute", _note_people_write)
    event.listen(engine.sync_engine, "commit", _count_commit)
    event.listen(engine.sync_engine, "rollback", _forget_writes)
    if database_url.startswith("sqlite"):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            if not isinstance(getattr(dbapi_conn, "_connection", None), sqlite_driver.OneTripConnection):
                # (That driver waits for the lock in its thread, never on the event loop: see there.)
                cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own handling defers it).
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin_immediate(conn: Any) -> None:
            # Take the write lock at BEGIN so read-then-write transactions serialise instead of deadlocking.
            driver = conn.connection.driver_connection
            if isinstance(driver, sqlite_driver.OneTripConnection):
                # It holds a BEGIN back for the first statement anyway: handed over directly, the BEGIN
                # skips a pass through SQLAlchemy's execution (a cursor, events, a result) on every
                # transaction.
                driver.begin_with_first_statement("BEGIN IMMEDIATE")
                return
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)
