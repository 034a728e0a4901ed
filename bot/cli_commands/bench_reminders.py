"""redbutler bench reminders: fan event reminders out to N people through the local Telegram emulator with
Telegram's flood limits switched on; prints the rate achieved against the limit, 429s, duplicates, losses."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.cli_commands.bench import bench_subparsers
from bot.config import EMULATOR_TOKEN, Settings

FIRST_ID = 50_000_000


def register(subparsers: Any) -> None:
    bench = bench_subparsers(subparsers)
    parser = bench.add_parser("reminders", help="fan out event reminders to N people through the emulator")
    parser.add_argument("--people", type=int, default=3000, help="recipients (default 3000)")
    parser.add_argument(
        "--rate", type=float, help="global messages per second (default: the configured limit)"
    )
    parser.add_argument(
        "--concurrency", type=int, help="sends in flight (default: REDBUTLER_OUTBOX_CONCURRENCY)"
    )
    parser.add_argument("--in-process", action="store_true", help="skip HTTP: call the emulator in-process")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.set_defaults(handler=cmd_bench_reminders)


@dataclass
class BenchResult:
    recipients: int
    queued: int
    queued_again: int
    sent: int
    elapsed: float
    limit: float
    rate_limited: int
    duplicates: int
    lost: int

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0


async def _seed(factory: Any, people: int, now: datetime) -> None:
    from sqlalchemy import insert, select

    from bot.db.models import Compound, Person
    from bot.db.models.events import CommunityEvent, EventReminder, EventRsvp

    async with factory() as uow:
        uow.session.add(Compound(name="压测小区", timezone="Asia/Shanghai", created_at=now))
        await uow.session.flush()
        compound_id = await uow.session.scalar(select(Compound.id).where(Compound.name == "压测小区"))
        await uow.session.execute(
            insert(Person),
            [
                {
                    "telegram_id": FIRST_ID + i,
                    "display_name": f"居民{i}",
                    "language": "zh_CN",
                    "reachable": True,
                    "public_name_opt_in": False,
                    "created_at": now,
                }
                for i in range(people)
            ],
        )
        event = CommunityEvent(
            compound_id=compound_id,
            title="防诈骗讲座",
            place="社区活动室",
            starts_at=now + timedelta(minutes=50),
            ends_at=now + timedelta(minutes=110),
            capacity=people,
            audience="everyone",
            event_type="talk",
            repeat="none",
            status="open",
            checkin_code="bench1",
            post_at=now,
            posted=True,
            created_at=now,
        )
        uow.session.add(event)
        await uow.session.flush()
        ids = list(await uow.session.scalars(select(Person.id).where(Person.telegram_id >= FIRST_ID)))
        await uow.session.execute(
            insert(EventRsvp),
            [{"event_id": event.id, "person_id": pid, "status": "going", "created_at": now} for pid in ids],
        )
        await uow.session.execute(
            insert(EventReminder),
            [
                {"event_id": event.id, "person_id": pid, "kind": "hour", "due_at": now, "done": False}
                for pid in ids
            ],
        )
        await uow.commit()


async def run_bench(
    settings: Settings, people: int, rate: float, in_process: bool, url: str, concurrency: int
) -> BenchResult:
    from sqlalchemy import func, select
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from bot.clock import SystemClock
    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.migrate import upgrade
    from bot.db.models import OutboxMessage
    from bot.db.uow import UnitOfWorkFactory
    from bot.delivery.limits import FloodLimits
    from bot.delivery.sender import OutboxSender
    from bot.emulator.core import TelegramWorld
    from bot.i18n import default_translator
    from bot.services import events

    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    factory = UnitOfWorkFactory(make_sessionmaker(engine))
    clock = SystemClock()
    world = TelegramWorld(flood_limits=True)
    for i in range(people):
        world.add_user(FIRST_ID + i, f"居民{i}")
    server = None
    try:
        await _seed(factory, people, clock.now())
        t = default_translator()
        await events.process_due(factory(), t, clock.now())
        await events.process_due(factory(), t, clock.now())  # a second sweep must add nothing
        async with factory() as uow:
            queued = int(await uow.session.scalar(select(func.count(OutboxMessage.id))) or 0)
        if in_process:
            from bot.emulator.transport import EmulatorRequest

            bot = Bot(EMULATOR_TOKEN, request=EmulatorRequest(world))
        else:
            from bot.emulator.server import start_emulator

            server = await start_emulator(world, "127.0.0.1", 0)
            bot = Bot(
                EMULATOR_TOKEN,
                base_url=server.base_url,
                base_file_url=server.base_file_url,
                request=HTTPXRequest(connection_pool_size=concurrency + 4),
            )
        await bot.initialize()
        limits = FloodLimits(rate, settings.outbox_group_per_minute, settings.outbox_chat_per_second)
        sender = OutboxSender(factory, bot, clock, limits, concurrency=concurrency)
        started = time.monotonic()
        while True:
            await sender.drain(wait_for_limits=True)
            async with factory() as uow:
                pending = int(
                    await uow.session.scalar(
                        select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "pending")
                    )
                    or 0
                )
            if not pending:
                break
            await asyncio.sleep(0.2)  # rows held back by a 429 come due again shortly
        elapsed = time.monotonic() - started
        await bot.shutdown()
        await events.process_due(factory(), t, clock.now())  # after the run: still nothing new
        async with factory() as uow:
            queued_again = int(await uow.session.scalar(select(func.count(OutboxMessage.id))) or 0) - queued
        per_chat = Counter(m.chat_id for chat in range(people) for m in world.bot_messages(FIRST_ID + chat))
        duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
        lost = sum(1 for i in range(people) if per_chat.get(FIRST_ID + i, 0) == 0)
        return BenchResult(
            recipients=people,
            queued=queued,
            queued_again=queued_again,
            sent=sender.stats.sent,
            elapsed=elapsed,
            limit=rate,
            rate_limited=sender.stats.rate_limited,
            duplicates=duplicates,
            lost=lost,
        )
    finally:
        if server is not None:
            await server.runner.cleanup()
        await engine.dispose()


def cmd_bench_reminders(args: argparse.Namespace, settings: Settings) -> int:
    rate = args.rate or settings.outbox_global_per_second
    if args.people < 1 or rate <= 0:
        print("--people and --rate must be positive", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        concurrency = args.concurrency or settings.outbox_concurrency
        result = asyncio.run(run_bench(settings, args.people, rate, args.in_process, url, concurrency))
    transport = "in-process" if args.in_process else "HTTP emulator"
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    print(f"reminders bench ({transport}, flood limits on, {concurrency} sends in flight) at {stamp}")
    print(f"  recipients        {result.recipients}")
    print(f"  queued            {result.queued} (a second sweep queued {result.queued_again} more)")
    print(f"  sent              {result.sent} in {result.elapsed:.1f} s")
    print(
        f"  rate              {result.rate:.1f} msg/s against a limit of {result.limit:.0f} msg/s "
        f"({100 * result.rate / result.limit:.0f}%; best possible {result.recipients / result.limit:.0f} s)"
    )
    print(f"  429 responses     {result.rate_limited}")
    print(f"  duplicates        {result.duplicates}")
    print(f"  lost              {result.lost}")
    ok = result.duplicates == 0 and result.lost == 0 and result.queued_again == 0
    return 0 if ok else 1
