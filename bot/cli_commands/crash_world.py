"""The world the crash benchmarks share: the demo community in a fresh database, the bot as a child process
that can be killed, and waiting for a backlog to settle."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import EMULATOR_TOKEN

ADMIN = 20003  # 刘主任 in the demo community: may award points
TARGET = "张阿姨"
RESIDENT = 10003  # 黄先生: gets nothing but the answers to his own /points
ROOT = Path(__file__).resolve().parents[2]


def _bot_process(url: str, base_url: str, **extra_env: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(extra_env)
    env.update(
        REDBUTLER_TELEGRAM_TOKEN=EMULATOR_TOKEN,
        REDBUTLER_TELEGRAM_BASE_URL=base_url,
        REDBUTLER_DATABASE_URL=url,
        REDBUTLER_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _until(check: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(step)
    return False


async def settle(world: Any, waiting: Any) -> None:
    """Wait while the backlog (updates at the emulator + `await waiting()`) still shrinks; 30 s without
    progress ends it."""
    last, still = -1, time.monotonic()
    while time.monotonic() - still < 30:
        left = len(world.pending_updates()) + await waiting()
        if left == 0:
            break
        if left != last:
            last, still = left, time.monotonic()
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)  # the last replies leave their flood slots


async def demo_world(url: str) -> Any:
    """The demo community in a fresh database, and an emulator world that knows its people."""
    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.migrate import upgrade
    from bot.db.uow import UnitOfWorkFactory
    from bot.demo import DEMO_PEOPLE, seed_demo
    from bot.emulator.core import TelegramWorld

    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        await seed_demo(
            UnitOfWorkFactory(make_sessionmaker(engine)), datetime.now(UTC), bot_username="RedButlerBot"
        )
    finally:
        await engine.dispose()
    world = TelegramWorld(bot_username="RedButlerBot")
    for person in DEMO_PEOPLE:
        world.add_user(person.telegram_id, person.name)
    return world
