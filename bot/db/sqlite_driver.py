"""aiosqlite, with statements run on the event loop unless SQLite makes them wait.

aiosqlite runs the sqlite3 connection in a thread of its own; every call is a trip there and back (a queue
put, the thread waking, a callback through the event loop's self-pipe), about 80 µs of CPU each on our
machines, and SQLAlchemy's adapter makes four of them for every statement (open a cursor, execute, fetch all,
close the cursor). The statements of an update are indexed look-ups that SQLite answers in microseconds, so
the trips cost far more than the work. Here a statement is run, fetched and closed in one go, on the event
loop; the rows are handed over whole, as SQLAlchemy's adapter would have fetched them whole anyway.

A commit goes to the thread (it waits for the disk, and now and then checkpoints the WAL); any other
statement only when SQLite says the database is busy (another process, such as a `redbutler` command, holds
the write lock): there it waits as long as the busy timeout allows, and the event loop stays free meanwhile.
Within this process nothing waits on SQLite's lock: the engine has one connection (bot/db/engine.py), so
transactions queue for it on the event loop.

A transaction's BEGIN is held back and run with its first statement; one that ends before any statement never
touches SQLite. The pool's rollback of a connection it takes back is skipped when no transaction is open. A
transaction may be told not to wait for the disk at its commit (the inbox's handled mark).

It relies on what SQLAlchemy's own adapter relies on as well: `Connection._execute` (queue a function for the
thread) and `Connection._conn` (the sqlite3 connection). The connection is opened with check_same_thread off,
as SQLAlchemy opens it, and is never used from two places at once: SQLAlchemy awaits each call on it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
_Description = tuple[tuple[Any, ...], ...] | None
_BEGINS = frozenset({"BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"})
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in _BUSY


class OneTripConnection(aiosqlite.Connection):
    _begin: str | None = None
    # The synchronous setting to go back to once this transaction ends; None: not changed.
    _restore_synchronous: int | None = None
    _lazy_commit = False
    busy_timeout_ms = 30_000

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    def commit_without_waiting_for_disk(self) -> None:
        """The coming transaction's commit is not flushed to disk (synchronous NORMAL, which SQLite takes only
        between transactions: it is set with the held-back BEGIN, and put back when the transaction ends).
        Too late once the transaction has run a statement: then it is ignored."""
        self._lazy_commit = self._begin is not None

    def begin_with_first_statement(self, begin: str) -> None:
        """The transaction's BEGIN, to be run with its first statement (none: it never touches SQLite)."""
        if self._begin is None:
            self._begin = begin

    def _take_begin(self) -> tuple[str | None, bool]:
        begin, self._begin = self._begin, None
        lazy, self._lazy_commit = self._lazy_commit, False
        return begin, lazy

    def _start(self, raw: sqlite3.Connection, begin: str | None, lazy: bool) -> None:
        """Run in `run`: the held-back BEGIN (once, even when the work is repeated after a busy answer)."""
        if begin is None or raw.in_transaction:
            return
        if lazy and self._restore_synchronous is None:
            self._restore_synchronous = int(raw.execute("PRAGMA synchronous").fetchone()[0])
            raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute(begin)

    def _ended(self, raw: sqlite3.Connection) -> None:
        if self._restore_synchronous is not None:
            raw.execute(f"PRAGMA synchronous={self._restore_synchronous}")
            self._restore_synchronous = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` on the event loop; in the thread, waiting for the lock, if SQLite says it is busy. Only what
        is safe to repeat after a busy answer comes here: a BEGIN, a statement outside a transaction, a COMMIT
        (inside a transaction begun IMMEDIATE, with the WAL journal, a statement never meets the lock)."""
        raw = self._conn
        try:
            return work(raw)
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise

        def waiting(connection: sqlite3.Connection) -> T:
            connection.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            try:
                return work(connection)
            finally:
                connection.execute("PRAGMA busy_timeout=0")

        return await self._execute(waiting, raw)

    async def commit(self) -> None:
        begin, _lazy = self._take_begin()
        raw = self._conn

        def commit(connection: sqlite3.Connection) -> None:
            if begin is None:
                connection.commit()
            self._ended(connection)

        if begin is None and raw.in_transaction:
            # In the thread: a commit waits for the disk, and now and then checkpoints the WAL into the
            # database file (tens of milliseconds), which must not hold up the event loop.
            await self._execute(commit, raw)
        else:
            commit(raw)

    async def rollback(self) -> None:
        begin, _lazy = self._take_begin()

        def rollback(raw: sqlite3.Connection) -> None:
            if begin is None and raw.in_transaction:
                raw.rollback()
            self._ended(raw)

        await self.run(rollback)


class OneTripCursor:
    """The part of aiosqlite's cursor SQLAlchemy uses."""

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
        if sql.upper() in _BEGINS:
            connection.begin_with_first_statement(sql)
            return self
        begin, lazy = connection._take_begin()

        def work(raw: sqlite3.Connection) -> tuple[_Description, int, int | None, list[Any]]:
            connection._start(raw, begin, lazy)
            cursor = raw.execute(sql, parameters)
            try:
                rows = cursor.fetchall() if cursor.description else []
                return cursor.description, cursor.rowcount, cursor.lastrowid, rows
            finally:
                cursor.close()

        self.description, self.rowcount, self.lastrowid, self._rows = await connection.run(work)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        connection = self._connection
        begin, lazy = connection._take_begin()
        rows = list(parameters)  # it may be run twice (busy, then in the thread)

        def work(raw: sqlite3.Connection) -> tuple[int, int | None]:
            connection._start(raw, begin, lazy)
            cursor = raw.executemany(sql, rows)
            try:
                return cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        self.description, self._rows = None, []
        self.rowcount, self.lastrowid = await connection.run(work)
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
    """An `async_creator` for create_async_engine: a new connection to the SQLite file at `path`, whose
    statements wait up to `timeout` seconds for another process's lock (in the thread)."""

    async def connect() -> OneTripConnection:
        # No busy wait on the event loop: a busy answer comes back at once, the statement goes to the thread.
        connection = OneTripConnection(
            lambda: sqlite3.connect(path, timeout=0, check_same_thread=False), iter_chunk_size=64
        )
        connection.busy_timeout_ms = int(timeout * 1000)
        # As SQLAlchemy does for aiosqlite: the connection's thread never holds the process open.
        connection._thread.daemon = True
        await connection
        return connection

    return connect
