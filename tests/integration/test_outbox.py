"""The outbox sender: flood limits, Telegram's errors, and a crash in the middle of a batch."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.clock import FakeClock
from bot.db.models import OutboxMessage, Person
from bot.db.uow import UnitOfWorkFactory
from bot.delivery.limits import FloodLimits, RateLimiter
from bot.delivery.sender import OutboxSender
from bot.emulator.core import TelegramWorld
from bot.emulator.transport import EmulatorRequest
from tests.conftest import START
from tests.factories import USERS

# Slots 1 ns apart: at 100,000/s two sends in one pass were 10 µs apart, and a fast pass found the second
# one not yet due (a flaky "retried == 2").
FAST = FloodLimits(global_per_second=1e9, group_per_minute=10**9, chat_per_second=1e9)


async def make_bot(world: TelegramWorld) -> Bot:
    bot = Bot(
        "123456:TEST-TOKEN-FOR-OUTBOX-TESTS",
        request=EmulatorRequest(world),
        get_updates_request=EmulatorRequest(world),
    )
    await bot.initialize()
    return bot


async def enqueue(
    uow_factory: UnitOfWorkFactory, chat_ids: list[int], clock: FakeClock, prefix: str = "msg"
) -> None:
    async with uow_factory() as uow:
        for index, chat_id in enumerate(chat_ids):
            await uow.outbox.add(chat_id=chat_id, payload={"text": f"{prefix} {index}"}, now=clock.now())
        await uow.commit()


def delivered(world: TelegramWorld, chat_ids: list[int]) -> Counter[str]:
    return Counter(m.text or "" for chat in set(chat_ids) for m in world.bot_messages(chat))


def test_rate_limiter_keeps_telegram_limits() -> None:
    now = [0.0]
    limiter = RateLimiter(FloodLimits(), monotonic=lambda: now[0])
    sends: list[tuple[float, int]] = []
    pending = [USERS.resident] * 3 + [USERS.group] * 25 + list(range(5000, 5100))
    while pending:
        progressed = False
        for chat in list(pending):
            if limiter.wait_time(chat) == 0:
                limiter.record(chat)
                sends.append((now[0], chat))
                pending.remove(chat)
                progressed = True
                break
        if not progressed:
            now[0] += 0.001
    times = [t for t, _ in sends]
    # Never more than 30 in any one second overall.
    assert max(sum(1 for u in times if t <= u < t + 1) for t in times) <= 30
    # A private chat: at least a second between messages.
    resident = [t for t, c in sends if c == USERS.resident]
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(resident))
    # A group: never more than 20 in a minute.
    group = [t for t, c in sends if c == USERS.group]
    assert max(sum(1 for u in group if t <= u < t + 60) for t in group) <= 20
    assert group[20] >= group[0] + 60


async def test_sender_delivers_in_order_and_marks_sent(
    uow_factory: UnitOfWorkFactory, world: TelegramWorld
) -> None:
    clock = FakeClock(START)
    chats = [USERS.resident, USERS.neighbour, USERS.butler]
    await enqueue(uow_factory, chats, clock)
    sender = OutboxSender(uow_factory, await make_bot(world), clock, FAST)
    stats = await sender.drain()
    assert stats.sent == 3
    assert delivered(world, chats) == Counter({"msg 0": 1, "msg 1": 1, "msg 2": 1})
    again = await sender.drain()
    assert again.sent == 0
    async with uow_factory() as uow:
        rows = list(await uow.session.scalars(select(OutboxMessage)))
    assert {r.status for r in rows} == {"sent"} and all(r.telegram_message_id for r in rows)


async def test_429_is_honoured_then_sent(uow_factory: UnitOfWorkFactory, world: TelegramWorld) -> None:
    clock = FakeClock(START)
    await enqueue(uow_factory, [USERS.resident], clock)
    world.inject_fault(method="sendMessage", kind="429", retry_after=7)
    sender = OutboxSender(uow_factory, await make_bot(world), clock, FAST)
    stats = await sender.drain(wait_for_limits=False)
    assert stats.rate_limited == 1 and stats.sent == 0
    async with uow_factory() as uow:
        row = (await uow.session.scalars(select(OutboxMessage))).one()
        assert row.status == "pending" and row.next_attempt_at == START + timedelta(seconds=7)
    clock.advance(timedelta(seconds=6))
    assert (await sender.drain(wait_for_limits=False)).sent == 0
    clock.advance(timedelta(seconds=1))
    sender.limiter = RateLimiter(FAST)
    assert (await sender.drain(wait_for_limits=False)).sent == 1
    assert delivered(world, [USERS.resident]) == Counter({"msg 0": 1})


async def test_5xx_and_dropped_connections_are_retried_with_backoff(
    uow_factory: UnitOfWorkFactory, world: TelegramWorld
) -> None:
    clock = FakeClock(START)
    await enqueue(uow_factory, [USERS.resident, USERS.neighbour], clock)
    world.inject_fault(method="sendMessage", chat_id=USERS.resident, kind="5xx", count=2)
    world.inject_fault(method="sendMessage", chat_id=USERS.neighbour, kind="drop")
    sender = OutboxSender(uow_factory, await make_bot(world), clock, FAST)
    first = await sender.drain(wait_for_limits=False)
    assert first.retried == 2 and first.sent == 0
    clock.advance(timedelta(seconds=2))
    second = await sender.drain(wait_for_limits=False)
    assert second.sent == 1  # the dropped one; the resident's second 5xx backs off 4 s
    clock.advance(timedelta(seconds=4))
    third = await sender.drain(wait_for_limits=False)
    assert third.sent == 1
    assert delivered(world, [USERS.resident, USERS.neighbour]) == Counter({"msg 0": 1, "msg 1": 1})


async def test_blocked_recipient_is_marked_unreachable(
    uow_factory: UnitOfWorkFactory, world: TelegramWorld
) -> None:
    clock = FakeClock(START)
    world.block_bot(USERS.resident)
    await enqueue(uow_factory, [USERS.resident, USERS.neighbour], clock)
    sender = OutboxSender(uow_factory, await make_bot(world), clock, FAST)
    stats = await sender.drain()
    assert stats.blocked == 1 and stats.sent == 1
    async with uow_factory() as uow:
        person = await uow.session.scalar(select(Person).where(Person.telegram_id == USERS.resident))
        assert person is not None and person.reachable is False
        failed = await uow.session.scalar(
            select(OutboxMessage).where(OutboxMessage.chat_id == USERS.resident)
        )
        assert failed is not None and failed.status == "failed" and "403" in (failed.last_error or "")


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_crash_mid_batch_loses_nothing_and_doubles_at_most_the_in_flight(
    uow_factory: UnitOfWorkFactory, world: TelegramWorld, concurrency: int
) -> None:
    clock = FakeClock(START)
    chats = list(range(700000, 700060))
    for chat in chats:
        world.add_user(chat, f"居民{chat}")
    await enqueue(uow_factory, chats, clock)
    sent_so_far = 0
    reached = asyncio.Event()

    def count(event: dict[str, object]) -> None:
        nonlocal sent_so_far
        message = event.get("message")
        if event.get("type") == "message" and isinstance(message, dict) and message.get("from_bot"):
            sent_so_far += 1
            if sent_so_far == 25:
                reached.set()

    world.listeners.append(count)
    sender = OutboxSender(uow_factory, await make_bot(world), clock, FAST, concurrency=concurrency)
    task = asyncio.create_task(sender.drain())
    await asyncio.wait_for(reached.wait(), timeout=10)
    task.cancel()  # the process dies here
    with pytest.raises(asyncio.CancelledError):
        await task
    restarted = OutboxSender(uow_factory, await make_bot(world), clock, FAST, concurrency=concurrency)
    await restarted.drain()
    counts = delivered(world, chats)
    assert set(counts) == {f"msg {i}" for i in range(60)}  # nothing lost
    doubled = sum(n - 1 for n in counts.values())
    assert doubled <= concurrency  # only what was in flight at the crash
    async with uow_factory() as uow:
        statuses = Counter(r.status for r in await uow.session.scalars(select(OutboxMessage)))
    assert statuses == Counter({"sent": 60})


async def test_dedupe_key_never_queues_twice(uow_factory: UnitOfWorkFactory) -> None:
    clock = FakeClock(START)
    async with uow_factory() as uow:
        first = await uow.outbox.add(
            chat_id=1, payload={"text": "a"}, now=clock.now(), dedupe_key="reminder:1"
        )
        await uow.commit()
        second = await uow.outbox.add(
            chat_id=1, payload={"text": "a"}, now=clock.now(), dedupe_key="reminder:1"
        )
        await uow.commit()
    assert first is not None and second is None


async def test_a_picture_goes_through_the_outbox_as_an_upload(
    uow_factory: UnitOfWorkFactory, world: TelegramWorld
) -> None:
    """A chart drawn for a digest has no Telegram file id: the row carries it, the sender uploads it."""
    from bot.delivery.notify import notify_person_photo
    from bot.emulator.core import make_png
    from bot.i18n import Translator

    clock = FakeClock(START)
    picture = make_png(4, 4)
    async with uow_factory() as uow:
        person = await uow.community.person_by_telegram(USERS.supervisor)
        assert person is not None
        row = await notify_person_photo(
            uow, Translator(), person, "stats.no_data", photo=picture, filename="week.png", now=clock.now(),
            dedupe_key="photo-1",
        )  # fmt: skip
        assert row is not None and row.method == "sendPhoto"
        await uow.commit()
    sender = OutboxSender(uow_factory, await make_bot(world), clock, FAST)
    assert (await sender.drain()).sent == 1
    [message] = world.bot_messages(USERS.supervisor)
    assert message.kind == "photo" and message.text == "暂无数据"
    assert message.photo is not None
    stored = world.stored_file(message.photo[-1]["file_id"])
    assert stored is not None and stored.data == picture
