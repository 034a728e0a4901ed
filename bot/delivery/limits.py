"""Telegram's flood limits as a scheduler: when may the next message to a chat go out?

One RateLimiter is shared by every send of the process — the outbox sender and the direct replies handlers
make (through FloodRateLimiter, PTB's rate-limiter hook) — so together they stay inside Telegram's budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

# Methods that put or change a message in a chat; everything else (getUpdates, answerCallbackQuery, getMe…)
# is not a message and passes straight through.
LIMITED_PREFIXES = ("send", "edit", "copyMessage", "forwardMessage", "copyMessages", "forwardMessages")
# A direct reply held back by 429s this many times in a row is given up (the handler sees the RetryAfter).
MAX_429_RETRIES = 10


@dataclass(frozen=True)
class FloodLimits:
    global_per_second: float = 30.0
    group_per_minute: int = 20
    chat_per_second: float = 1.0


class RateLimiter:
    """Global spacing (30/s), one message a second per chat, a rolling 20-in-60-s window per group.

    Group chats have negative ids in the Bot API; private chats positive. Sends can be booked ahead
    (`reserve`): the booking counts at once, so two senders never take the same slot.
    """

    def __init__(self, limits: FloodLimits, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._monotonic = monotonic
        self._global_next = 0.0
        self._chat_next: dict[int, float] = {}
        self._group_window: dict[int, deque[float]] = {}

    def _ready_at(self, chat_id: int, now: float) -> float:
        ready = max(now, self._global_next, self._chat_next.get(chat_id, 0.0))
        if chat_id < 0:
            window = self._group_window.get(chat_id)
            if window is not None:
                while window and window[0] <= now - 60.0:
                    window.popleft()
                per_minute = self.limits.group_per_minute
                if len(window) >= per_minute:
                    ready = max(ready, window[-per_minute] + 60.0)
        return ready

    def wait_time(self, chat_id: int) -> float:
        now = self._monotonic()
        return max(0.0, self._ready_at(chat_id, now) - now)

    def record(self, chat_id: int) -> None:
        self._book(chat_id, self._monotonic())

    def reserve(self, chat_id: int) -> float:
        """Book the earliest slot for a message to `chat_id`; returns how long to wait before sending."""
        now = self._monotonic()
        at = self._ready_at(chat_id, now)
        self._book(chat_id, at)
        return at - now

    def _book(self, chat_id: int, at: float) -> None:
        self._global_next = max(self._global_next, at) + 1.0 / self.limits.global_per_second
        self._chat_next[chat_id] = max(
            self._chat_next.get(chat_id, 0.0), at + 1.0 / self.limits.chat_per_second
        )
        if chat_id < 0:
            self._group_window.setdefault(chat_id, deque()).append(at)

    def hold_chat(self, chat_id: int, seconds: float) -> None:
        until = self._monotonic() + seconds
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), until)


# rate_limit_args the outbox sender passes: it has booked the slot itself already.
BOOKED = {"booked": True}


class FloodRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """PTB's rate-limiter hook over the shared RateLimiter: every message the bot sends waits for its slot,
    and a 429 is waited out (retry_after) and sent again instead of failing the reply."""

    def __init__(self, limiter: RateLimiter, sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.limiter = limiter
        self._sleep = sleep
        self.retried_after_429 = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = _chat_id(data.get("chat_id"))
        if chat_id is None or not endpoint.startswith(LIMITED_PREFIXES):
            return await callback(*args, **kwargs)
        booked = bool(rate_limit_args and rate_limit_args.get("booked"))
        for attempt in range(MAX_429_RETRIES + 1):
            if not booked or attempt > 0:
                delay = self.limiter.reserve(chat_id)
                if delay > 0:
                    await self._sleep(delay)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = _seconds(exc.retry_after)
                self.limiter.hold_chat(chat_id, seconds)
                if booked or attempt == MAX_429_RETRIES:
                    raise  # the outbox reschedules its row itself
                self.retried_after_429 += 1
                log.warning("429 on %s to a chat; sending again in %.0f s", endpoint, seconds)
        raise AssertionError("unreachable")


def _chat_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _seconds(value: int | timedelta) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
