"""The SQLite driver runs statements on the event loop; when another process holds the write lock (a
`redbutler` command), the statement waits for it in the driver's thread, and the bot goes on meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.db.engine import make_engine
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite only")


async def test_a_write_waits_for_another_process_lock_without_holding_up_the_bot(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        released = threading.Event()

        def release() -> None:
            other.execute("COMMIT")
            released.set()

        holding = threading.Timer(0.5, release)
        holding.start()
        ticks = 0

        async def meanwhile() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        other_work = asyncio.create_task(meanwhile())
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        other_work.cancel()
        assert released.is_set()  # it waited for the lock instead of failing
        assert ticks > 0  # the event loop ran other work while it waited
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT x FROM t ORDER BY rowid"))).scalars().all() == [1, 2]
        other.close()
    finally:
        await engine.dispose()


async def test_a_transaction_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'rollback.sqlite3'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER UNIQUE)"))
        with pytest.raises(Exception, match="UNIQUE"):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_only_the_handled_mark_skips_the_flush_to_disk(database_url: str) -> None:
    """The mark's commit is not flushed (a lost mark only means the update is handled again); every other
    transaction's is, the update's arrival in the inbox first of all."""
    from bot.db.engine import make_sessionmaker
    from bot.db.sqlite_driver import OneTripConnection
    from bot.db.uow import UnitOfWorkFactory

    engine = make_engine(database_url)
    uows = UnitOfWorkFactory(make_sessionmaker(engine))

    async def synchronous(uow: object) -> int:
        connection = await uow.session.connection()  # type: ignore[attr-defined]
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, OneTripConnection)
        return int(driver._conn.execute("PRAGMA synchronous").fetchone()[0])

    try:
        async with uows() as uow:
            await uow.inbox.commit_without_waiting_for_disk()
            await uow.inbox.prune(datetime(2000, 1, 1, tzinfo=UTC))
            during = await synchronous(uow)
            await uow.commit()
        async with uows() as uow:
            await uow.inbox.prune(datetime(2000, 1, 1, tzinfo=UTC))
            after = await synchronous(uow)
            await uow.commit()
        assert (during, after) == (1, 2)  # NORMAL for the mark, FULL again after it
    finally:
        await engine.dispose()
