"""The one sender of outbox rows.

A row is marked sent in its own transaction right after Telegram accepts it, so a crash loses nothing and can
repeat at most the messages in flight at that moment (`concurrency` of them, 4 by default).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Bot, InputFile, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.clock import Clock
from bot.db.uow import UnitOfWorkFactory
from bot.delivery.limits import BOOKED, FloodLimits, RateLimiter
from bot.delivery.notify import UPLOAD

log = logging.getLogger(__name__)
# Outbox rows name their Bot API method; PTB suggests the typed wrappers, which cannot take a stored row.

MAX_ATTEMPTS = 8
BATCH_SIZE = 200


@dataclass
class SendStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    blocked: int = 0
    sent_ids: list[int] = field(default_factory=list)


class OutboxSender:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        bot: Bot,
        clock: Clock,
        limits: FloodLimits | None = None,
        *,
        concurrency: int = 4,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        on_unreachable: Callable[[int], None] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.bot = bot
        self.clock = clock
        self.limiter = limiter or RateLimiter(limits or FloodLimits())
        self.concurrency = concurrency
        self._sleep = sleep
        self.on_unreachable = on_unreachable
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.stats = SendStats()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.drain(wait_for_limits=True)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox sender pass failed; retrying shortly")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    async def drain(self, *, wait_for_limits: bool = True, max_rounds: int | None = None) -> SendStats:
        """Send everything due now. Returns what this call did."""
        stats = SendStats()
        rounds = 0
        while max_rounds is None or rounds < max_rounds:
            rounds += 1
            async with self.uow_factory() as uow:
                rows = await uow.outbox.due(self.clock.now(), BATCH_SIZE)
                batch = [(r.id, r.chat_id, r.method, dict(r.payload), r.attempts) for r in rows]
            if not batch:
                break
            await self._send_batch(batch, stats, wait_for_limits)
            if not wait_for_limits:
                break
        self.stats.sent += stats.sent
        self.stats.failed += stats.failed
        self.stats.retried += stats.retried
        self.stats.rate_limited += stats.rate_limited
        self.stats.blocked += stats.blocked
        return stats

    async def _send_batch(
        self, batch: list[tuple[int, int, str, dict[str, Any], int]], stats: SendStats, wait: bool
    ) -> None:
        pending = list(batch)
        in_flight: set[asyncio.Task[None]] = set()
        slots = asyncio.Semaphore(self.concurrency)
        # A chat's messages keep their order: a later row never overtakes an earlier one still waiting.
        busy_chats: set[int] = set()
        while pending:
            blocked_chats: set[int] = set()
            next_ready = None
            remaining = []
            for item in pending:
                chat_id = item[1]
                if chat_id in blocked_chats or chat_id in busy_chats:
                    remaining.append(item)
                    continue
                delay = self.limiter.wait_time(chat_id)
                if delay > 0:
                    blocked_chats.add(chat_id)
                    remaining.append(item)
                    next_ready = delay if next_ready is None else min(next_ready, delay)
                    continue
                await slots.acquire()
                self.limiter.record(chat_id)
                busy_chats.add(chat_id)
                task = asyncio.create_task(self._send_one(item, stats, slots, busy_chats))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            pending = remaining
            if not pending:
                break
            if not wait:
                break
            if next_ready is None:
                # Only chats with a message in flight are left: let those finish.
                await asyncio.sleep(0.001)
            else:
                await self._sleep(min(next_ready, 1.0))
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _send_one(
        self,
        item: tuple[int, int, str, dict[str, Any], int],
        stats: SendStats,
        slots: asyncio.Semaphore,
        busy_chats: set[int],
    ) -> None:
        row_id, chat_id, method, payload, attempts = item
        try:
            try:
                # Booked above; the bot's own rate limiter (shared with direct replies) lets it by.
                booked: dict[str, Any] = (
                    {"rate_limit_args": BOOKED} if getattr(self.bot, "rate_limiter", None) is not None else {}
                )
                result = await self.bot.do_api_request(
                    method, api_kwargs={"chat_id": chat_id, **_with_uploads(payload)}, **booked
                )
            except RetryAfter as exc:
                seconds = _seconds(exc.retry_after)
                self.limiter.hold_chat(chat_id, seconds)
                stats.rate_limited += 1
                await self._reschedule(row_id, attempts, seconds, f"429 retry_after={seconds}", count=False)
                return
            except Forbidden as exc:
                stats.blocked += 1
                await self._fail(row_id, f"403 {exc.message}", unreachable_chat=chat_id)
                return
            except BadRequest as exc:
                if "message is not modified" in exc.message:
                    await self._mark_sent(row_id, None)
                    stats.sent += 1
                    return
                stats.failed += 1
                log.warning("outbox row %s rejected by Telegram: %s", row_id, exc.message)
                await self._fail(row_id, f"400 {exc.message}")
                return
            except (NetworkError, TelegramError) as exc:
                stats.retried += 1
                if attempts + 1 >= MAX_ATTEMPTS:
                    stats.failed += 1
                    await self._fail(row_id, f"gave up: {exc}")
                else:
                    await self._reschedule(row_id, attempts, min(300.0, 2.0 ** (attempts + 1)), str(exc))
                return
            message_id = result.get("message_id") if isinstance(result, dict) else None
            if isinstance(result, Message):
                message_id = result.message_id
            await self._mark_sent(row_id, message_id)
            stats.sent += 1
            stats.sent_ids.append(row_id)
        finally:
            busy_chats.discard(chat_id)
            slots.release()

    async def _mark_sent(self, row_id: int, message_id: int | None) -> None:
        async with self.uow_factory() as uow:
            await uow.outbox.mark_sent(row_id, self.clock.now(), message_id)
            await uow.commit()

    async def _reschedule(
        self, row_id: int, attempts: int, seconds: float, error: str, *, count: bool = True
    ) -> None:
        async with self.uow_factory() as uow:
            await uow.outbox.retry_later(
                row_id,
                attempts=attempts + 1 if count else attempts,
                at=self.clock.now() + timedelta(seconds=seconds),
                error=error,
            )
            await uow.commit()

    async def _fail(self, row_id: int, error: str, *, unreachable_chat: int | None = None) -> None:
        async with self.uow_factory() as uow:
            await uow.outbox.mark_failed(row_id, error)
            if unreachable_chat is not None and unreachable_chat > 0:
                await uow.outbox.mark_unreachable(unreachable_chat)
            await uow.commit()
        if unreachable_chat is not None and self.on_unreachable is not None:
            self.on_unreachable(unreachable_chat)


def _with_uploads(payload: dict[str, Any]) -> dict[str, Any]:
    """Stored uploads (base64 in the row) become files for this request; everything else goes as stored."""
    out = dict(payload)
    for key, value in payload.items():
        if isinstance(value, dict) and UPLOAD in value:
            data = base64.b64decode(value[UPLOAD])
            out[key] = InputFile(data, filename=str(value.get("filename") or "file"))
    return out


def _seconds(value: int | timedelta) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
