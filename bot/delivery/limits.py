"""Telegram's flood limits as a scheduler: when may the next message to a chat go out?"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FloodLimits:
    global_per_second: float = 30.0
    group_per_minute: int = 20
    chat_per_second: float = 1.0


class RateLimiter:
    """Global spacing (30/s), one message a second per private chat, a sliding 20/min window per group.

    Group chats have negative ids in the Bot API; private chats positive.
    """

    def __init__(self, limits: FloodLimits, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._monotonic = monotonic
        self._global_next = 0.0
        self._chat_next: dict[int, float] = {}
        self._group_window: dict[int, deque[float]] = {}

    def wait_time(self, chat_id: int) -> float:
        now = self._monotonic()
        ready = max(self._global_next, self._chat_next.get(chat_id, 0.0))
        if chat_id < 0:
            window = self._group_window.get(chat_id)
            if window is not None:
                while window and window[0] <= now - 60.0:
                    window.popleft()
                if len(window) >= self.limits.group_per_minute:
                    ready = max(ready, window[0] + 60.0)
        return max(0.0, ready - now)

    def record(self, chat_id: int) -> None:
        now = self._monotonic()
        self._global_next = max(self._global_next, now) + 1.0 / self.limits.global_per_second
        self._chat_next[chat_id] = now + 1.0 / self.limits.chat_per_second
        if chat_id < 0:
            self._group_window.setdefault(chat_id, deque()).append(now)

    def hold_chat(self, chat_id: int, seconds: float) -> None:
        until = self._monotonic() + seconds
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), until)
