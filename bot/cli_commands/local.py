"""`redbutler demo` and `redbutler run` with no token: the local emulator, its web chat and the bot."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from bot.config import Settings
from bot.logging_setup import configure_logging


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser("demo", help="seed a demo community and run it on the local emulator")
    demo.add_argument("--port", type=int, help="emulator port (default REDBUTLER_EMULATOR_PORT)")
    demo.add_argument("--database", help="database URL (default var/demo.sqlite3)")
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_level)
    overrides: dict[str, Any] = {"telegram_token": None}
    if args.database:
        overrides["database_url"] = args.database
    elif "REDBUTLER_DATABASE_URL" not in __import__("os").environ:
        overrides["database_url"] = "sqlite+aiosqlite:///var/demo.sqlite3"
    if args.port:
        overrides["emulator_port"] = args.port
    from bot.db.migrate import upgrade

    demo_settings = settings.model_copy(update=overrides)
    upgrade(demo_settings.database_url)
    return run_local(demo_settings, seed=True)


def run_local(settings: Settings, *, seed: bool) -> int:
    return int(asyncio.run(_run_local(settings, seed=seed)))


async def _run_local(settings: Settings, *, seed: bool) -> int:
    from bot.app import build_application
    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.uow import UnitOfWorkFactory
    from bot.demo import (
        DEMO_GROUP_ID,
        DEMO_PEOPLE,
        DEMO_STAFF_GROUP_ID,
        demo_places,
        is_empty,
        seed_demo,
        unused_home_invite,
        web_presets,
    )
    from bot.emulator.core import TelegramWorld
    from bot.emulator.server import start_emulator
    from bot.runner import serve, wait_for_signal

    engine = make_engine(settings.database_url)
    uow_factory = UnitOfWorkFactory(make_sessionmaker(engine))
    invite_code = None
    try:
        if seed and await is_empty(uow_factory):
            info = await seed_demo(uow_factory, datetime.now(UTC), bot_username=settings.bot_username)
            invite_code = info.newcomer_invite
        elif seed:
            invite_code = await unused_home_invite(uow_factory)
    finally:
        await engine.dispose()

    world = TelegramWorld(bot_username=settings.bot_username, flood_limits=True)
    presets = web_presets() if seed else []
    for person in DEMO_PEOPLE if seed else []:
        world.add_user(person.telegram_id, person.name)
    if seed:
        residents = [p.telegram_id for p in DEMO_PEOPLE]
        world.add_group(DEMO_GROUP_ID, "幸福里业主群", members=residents, admins=[20003])
        world.add_group(
            DEMO_STAFF_GROUP_ID,
            "幸福里工作群",
            members=[p.telegram_id for p in DEMO_PEOPLE if p.phone],
            admins=[20003],
        )
    places = demo_places() if seed else []
    try:
        server = await start_emulator(
            world, settings.emulator_host, settings.emulator_port, presets=presets, places=places
        )
    except OSError as error:
        # Port taken (another demo still running?): say how to pick another instead of a traceback.
        print(
            f"端口 {settings.emulator_port} 已被占用（{error.strerror}）。另一个 demo 可能还在运行；"
            f"可以先停掉它，或者换一个端口：redbutler demo --port 8082"
            f"（或设置 REDBUTLER_EMULATOR_PORT）。",
            file=sys.stderr,
        )
        return 1
    app_settings = settings.model_copy(update={"telegram_base_url": server.base_url})

    def ready(_application: Any) -> None:
        print(f"红管家已在本地模拟器上运行。请用浏览器打开 {server.chat_url}")
        if invite_code:
            print(f"李大爷（还没绑定房屋）可以用邀请码 {invite_code} 绑定，")
            print(f"  或者打开链接 https://t.me/{settings.bot_username}?start=inv_{invite_code}")
        print("demo 在前台运行，关掉这个窗口或按 Ctrl+C 就会停止。")

    try:
        return await serve(
            app_settings, lambda: build_application(app_settings), wait_for_signal, on_ready=ready
        )
    finally:
        await server.runner.cleanup()
