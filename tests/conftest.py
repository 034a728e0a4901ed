"""Test databases: SQLite by default; PostgreSQL when REDBUTLER_TEST_DATABASE_URL names one.

A template database is migrated and seeded once per session; every test gets a fresh copy
(a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.migrate import upgrade
from bot.db.uow import UnitOfWorkFactory
from bot.emulator.core import TelegramWorld
from tests.factories import NAMES, USERS, seed_community
from tests.harness import Harness

PG_URL = os.environ.get("REDBUTLER_TEST_DATABASE_URL", "")
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def _pg_admin_dsn(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    return base.replace("postgresql+asyncpg", "postgresql") + "/postgres", name


async def _pg_exec(url: str, *statements: str) -> None:
    import asyncpg

    dsn, _ = _pg_admin_dsn(url)
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        await seed_community(UnitOfWorkFactory(make_sessionmaker(engine)), START)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PG_URL:
        _, name = _pg_admin_dsn(PG_URL)
        template = f"{name}_template_{uuid.uuid4().hex[:6]}"
        url = PG_URL.rpartition("/")[0] + "/" + template
        asyncio.run(
            _pg_exec(PG_URL, f'DROP DATABASE IF EXISTS "{template}"', f'CREATE DATABASE "{template}"')
        )
        upgrade(url)
        asyncio.run(_seed(url))
        yield url
        asyncio.run(_pg_exec(PG_URL, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("db") / "template.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        asyncio.run(_seed(url))
        yield url


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        template = template_database.rpartition("/")[2]
        name = f"rbt_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_exec(PG_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        yield PG_URL.rpartition("/")[0] + "/" + name
        asyncio.run(_pg_exec(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        source = Path(template_database.split("///", 1)[1])
        target = tmp_path / "test.sqlite3"
        shutil.copy(source, target)
        yield f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        telegram_token=None,
        outbox_autostart=False,
        bot_username="RedButlerBot",
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def world() -> TelegramWorld:
    world = TelegramWorld(bot_username="RedButlerBot")
    for telegram_id, name in NAMES.items():
        world.add_user(telegram_id, name)
    world.add_user(4001, "Tom", language_code="en")
    world.add_group(
        USERS.group,
        "幸福里业主群",
        members=[USERS.resident, USERS.admin, USERS.neighbour],
        admins=[USERS.admin],
    )
    world.add_group(
        USERS.staff_group,
        "幸福里工作群",
        members=[USERS.butler, USERS.admin, USERS.manager],
        admins=[USERS.admin],
    )
    return world


@pytest.fixture
async def harness(settings: Settings, world: TelegramWorld, clock: FakeClock) -> AsyncIterator[Harness]:
    h = await Harness(settings, world, clock).start()
    try:
        yield h
    finally:
        await h.stop()


@pytest.fixture
async def uow_factory(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    from bot.app import collect_wiring

    engine = make_engine(database_url)
    try:
        # As the application builds it: recording a volunteer activity awards its points.
        yield UnitOfWorkFactory(make_sessionmaker(engine), collect_wiring().on_activity)
    finally:
        await engine.dispose()
