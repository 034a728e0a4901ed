"""One flood budget for every send: direct replies (through PTB's rate-limiter hook) and the outbox sender."""

from __future__ import annotations

import itertools
import random
from typing import Any

from bot.delivery.limits import BOOKED, FloodLimits, FloodRateLimiter, RateLimiter

GROUP, OTHER_GROUP, RESIDENT = -100500, -100600, 7001


async def test_direct_replies_and_outbox_together_keep_telegrams_limits() -> None:
    now = [0.0]
    limiter = RateLimiter(FloodLimits(30.0, 20, 1.0), monotonic=lambda: now[0])

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    hook = FloodRateLimiter(limiter, sleep=sleep)
    sends: list[tuple[float, int, str]] = []

    def callback_for(chat: int, way: str) -> Any:
        async def send(*args: object, **kwargs: object) -> dict[str, Any]:
            sends.append((now[0], chat, way))
            return {"message_id": len(sends)}

        return send

    rng = random.Random(3)
    chats = [GROUP, OTHER_GROUP, RESIDENT, *range(8000, 8200)]
    for index in range(700):
        chat = rng.choice(chats[:3]) if index % 4 == 0 else rng.choice(chats)
        if index % 2:
            # The outbox sender: waits until the chat is free, books the slot, sends with "booked".
            now[0] += limiter.wait_time(chat)
            limiter.record(chat)
            await hook.process_request(
                callback_for(chat, "outbox"), (), {}, "sendMessage", {"chat_id": chat}, BOOKED
            )
        else:
            await hook.process_request(
                callback_for(chat, "reply"), (), {}, "sendMessage", {"chat_id": chat}, None
            )
    assert {way for _, _, way in sends} == {"outbox", "reply"}
    times = sorted(t for t, _, _ in sends)
    eps = 1e-9
    assert max(sum(1 for u in times if t <= u < t + 1 - eps) for t in times) <= 30
    for group in (GROUP, OTHER_GROUP):
        mine = [t for t, c, _ in sends if c == group]
        assert len(mine) > 21
        # Rolling window: never 21 in any 60 s.
        assert max(sum(1 for u in mine if t <= u < t + 60 - eps) for t in mine) <= 20
    private = [t for t, c, _ in sends if c == RESIDENT]
    assert all(b - a >= 1.0 - eps for a, b in itertools.pairwise(private))


async def test_updates_and_answers_are_not_held_back() -> None:
    limiter = RateLimiter(FloodLimits(1.0, 1, 0.001), monotonic=lambda: 0.0)

    async def no_sleep(seconds: float) -> None:
        raise AssertionError("nothing here should wait")

    hook = FloodRateLimiter(limiter, sleep=no_sleep)

    async def ok(*args: object, **kwargs: object) -> bool:
        return True

    for _ in range(5):
        assert await hook.process_request(ok, (), {}, "getUpdates", {"timeout": 10}, None) is True
        assert await hook.process_request(ok, (), {}, "answerCallbackQuery", {"callback_query_id": "1"}, None)
