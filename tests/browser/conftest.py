"""The browser test's world: the demo community on a fresh SQLite file, the emulator on a free port, the real
bot polling it over HTTP (as `redbutler demo` runs them), and Debian's headless Chromium driven by Playwright.

Chromium is never downloaded: CI installs Debian's `chromium` package; without /usr/bin/chromium these tests
are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.emulator.core import TelegramWorld
from bot.emulator.server import EmulatorServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALLOWED_UPDATES = ["message", "callback_query", "chat_member", "my_chat_member", "poll_answer"]

log = logging.getLogger(__name__)


@dataclass
class LiveDemo:
    """What a person running `redbutler demo` has: the web chat's address and the newcomer's invite."""

    server: EmulatorServer
    world: TelegramWorld
    application: Any
    invite_code: str
    bot_username: str

    @property
    def invite_link(self) -> str:
        return f"https://t.me/{self.bot_username}?start=inv_{self.invite_code}"

    poller: Any = None

    async def stop_polling(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None

    async def start_polling(self) -> None:
        # As `redbutler demo` runs it (bot.runner.serve): updates reach the bot through the durable inbox.
        from bot.delivery.inbox import InboxPoller

        self.poller = InboxPoller(self.application, self.application.bot_data.services.inbox)
        self.poller.start()


def _demo_world(bot_username: str) -> TelegramWorld:
    """The same people and group chats `redbutler demo` puts in its emulator."""
    from bot.demo import DEMO_GROUP_ID, DEMO_PEOPLE, DEMO_STAFF_GROUP_ID

    world = TelegramWorld(bot_username=bot_username, flood_limits=True)
    for person in DEMO_PEOPLE:
        world.add_user(person.telegram_id, person.name)
    world.add_group(
        DEMO_GROUP_ID, "幸福里业主群", members=[p.telegram_id for p in DEMO_PEOPLE], admins=[20003]
    )
    world.add_group(
        DEMO_STAFF_GROUP_ID,
        "幸福里工作群",
        members=[p.telegram_id for p in DEMO_PEOPLE if p.phone],
        admins=[20003],
    )
    return world


@pytest.fixture
async def live_demo(tmp_path: Path) -> AsyncIterator[LiveDemo]:
    from bot.app import build_application  # imports the handlers, which register their demo seeders
    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.migrate import upgrade_async
    from bot.db.uow import UnitOfWorkFactory
    from bot.demo import seed_demo, web_presets
    from bot.emulator.server import start_emulator

    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        telegram_token=None,
        bot_username="RedButlerBot",
    )
    await upgrade_async(url)
    engine = make_engine(url)
    try:
        uow_factory = UnitOfWorkFactory(make_sessionmaker(engine))
        info = await seed_demo(uow_factory, datetime.now(UTC), bot_username=settings.bot_username)
    finally:
        await engine.dispose()

    world = _demo_world(settings.bot_username)
    server = await start_emulator(world, "127.0.0.1", 0, presets=web_presets())
    application = build_application(settings.model_copy(update={"telegram_base_url": server.base_url}))
    started = polling = False
    try:
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        started = True
        application.bot_data.services.inbox.start()
        demo = LiveDemo(server, world, application, info.newcomer_invite, settings.bot_username)
        await demo.start_polling()
        polling = True
        yield demo
    finally:
        # each step on its own, so one failure does not leave the rest running
        if polling:
            with contextlib.suppress(Exception):
                await demo.stop_polling()
            with contextlib.suppress(Exception):
                await application.bot_data.services.inbox.stop()
        if started:
            with contextlib.suppress(Exception):
                await application.stop()
        with contextlib.suppress(Exception):
            await application.shutdown()
        if application.post_shutdown is not None:
            with contextlib.suppress(Exception):
                await application.post_shutdown(application)
        await server.stop()


HAVE_CHROMIUM = CHROMIUM.exists()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A desktop-sized tab; JavaScript errors on the page fail the test."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
