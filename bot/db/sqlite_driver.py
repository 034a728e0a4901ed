"""aiosqlite with one trip to its thread per statement instead of four.

aiosqlite runs the sqlite3 connection in a thread of its own; every call is a trip there and back (a queue
put, the thread waking, a callback through the event loop's self-pipe), about 80 µs of CPU each on our
machines. SQLAlchemy's adapter makes four of them for every statement (open a cursor, execute, fetch all,
close the cursor), so the three to six short statements of an update spent more CPU travelling than in
SQLite. Here a statement is executed, fetched and closed in one trip; the rows are handed over whole, as
SQLAlchemy's adapter would have fetched them whole anyway.

It relies on two things SQLAlchemy's own adapter relies on as well: `Connection._execute` (queue a function
for the thread) and `Connection._conn` (the sqlite3 connection, used only inside that thread).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

_Description = tuple[tuple[Any, ...], ...] | None


_BEGINS = frozenset({"BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"})


class OneTripConnection(aiosqlite.Connection):
    # A BEGIN is held back and sent with the transaction's first statement, in the same trip; a transaction
    # that ends before any statement never went to the thread at all.
    _begin: str | None = None

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    def _take_begin(self) -> str | None:
        begin, self._begin = self._begin, None
        return begin

    async def commit(self) -> None:
        if self._take_begin() is None:
            await super().commit()

    async def rollback(self) -> None:
        # The pool rolls back every connection it takes back, even one whose transaction was just committed:
        # no trip when there is nothing to roll back. (Only asks SQLite's autocommit flag; the connection is
        # not in use meanwhile, SQLAlchemy awaits each call on it.)
        if self._take_begin() is None and self._conn.in_transaction:
            await super().rollback()


class OneTripCursor:
    """The part of aiosqlite's cursor SQLAlchemy uses, each statement a single trip to the thread."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> OneTripCursor:
        connection = self._connection
        self.description, self.rowcount, self.lastrowid, self._rows = None, -1, None, []
        if sql.upper() in _BEGINS and connection._begin is None:
            connection._begin = sql
            return self
        raw = connection._conn  # used only in the connection's thread, below
        begin = connection._take_begin()

        def run() -> tuple[_Description, int, int | None, list[Any]]:
            if begin is not None:
                raw.execute(begin)
            cursor = raw.execute(sql, parameters)
            try:
                rows = cursor.fetchall() if cursor.description else []
                return cursor.description, cursor.rowcount, cursor.lastrowid, rows
            finally:
                cursor.close()

        self.description, self.rowcount, self.lastrowid, self._rows = await connection._execute(run)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        connection = self._connection
        raw = connection._conn
        begin = connection._take_begin()

        def run() -> tuple[int, int | None]:
            if begin is not None:
                raw.execute(begin)
            cursor = raw.executemany(sql, parameters)
            try:
                return cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        self.description, self._rows = None, []
        self.rowcount, self.lastrowid = await connection._execute(run)
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def close(self) -> None:
        self._rows = []


def connector(path: str, timeout: float) -> Any:
    """An `async_creator` for create_async_engine: a new connection to the SQLite file at `path`."""

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(
            lambda: sqlite3.connect(path, timeout=timeout, check_same_thread=False), iter_chunk_size=64
        )
        # As SQLAlchemy does for aiosqlite: the connection's thread never holds the process open.
        connection._thread.daemon = True
        await connection
        return connection

    return connect
