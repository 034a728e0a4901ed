"""Drive the real PTB Application as real users, through the in-process Bot API emulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from telegram.ext import Application

from bot.app import build_application
from bot.clock import FakeClock
from bot.config import Settings
from bot.context import Services
from bot.delivery.inbox import InboxProcessor
from bot.delivery.limits import FloodLimits, FloodRateLimiter, RateLimiter
from bot.delivery.sender import SendStats
from bot.emulator.core import Message, TelegramWorld
from bot.emulator.transport import EmulatorRequest

UNLIMITED = FloodLimits(global_per_second=1e9, group_per_minute=10**9, chat_per_second=1e9)


@dataclass
class Harness:
    """`http=True` serves the emulator on a local port and the bot talks to it through PTB's real HTTP stack;
    otherwise the emulator answers in-process."""

    settings: Settings
    world: TelegramWorld
    clock: FakeClock
    http: bool = False
    app: Application[Any, Any, Any, Any, Any, Any] = field(init=False)
    server: Any = field(init=False, default=None)

    async def start(self) -> Harness:
        if self.http:
            from bot.emulator.server import start_emulator

            if self.server is None:
                self.server = await start_emulator(self.world, "127.0.0.1", 0)
            settings = self.settings.model_copy(update={"telegram_base_url": self.server.base_url})
            self.app = build_application(settings, clock=self.clock, background=False)
        else:
            self.app = build_application(
                self.settings,
                request=EmulatorRequest(self.world),
                get_updates_request=EmulatorRequest(self.world),
                clock=self.clock,
                background=False,
            )
        await self.app.initialize()
        assert self.app.post_init is not None
        await self.app.post_init(self.app)
        # Stories run on a fake clock; real-time flood waits would only make them slow or flaky. The limits
        # themselves are proven in tests/integration/test_outbox.py and by `redbutler bench reminders`.
        assert self.services.sender is not None
        unlimited = RateLimiter(UNLIMITED)
        self.services.sender.limiter = unlimited
        self.flood_limiter.limiter = unlimited
        # A failing handler is tried again at once instead of after a real-time pause.
        self.inbox.retry_delays = (0.0,)
        return self

    async def stop(self) -> None:
        await self.app.update_persistence()
        await self.app.shutdown()
        if self.app.post_shutdown is not None:
            await self.app.post_shutdown(self.app)

    async def close(self) -> None:
        await self.stop()
        if self.server is not None:
            await self.server.runner.cleanup()
            self.server = None

    async def crash(self) -> None:
        """Stop without the orderly persistence flush a clean shutdown does."""
        self.app.persistence = None  # type: ignore[assignment]
        await self.app.shutdown()
        if self.app.post_shutdown is not None:
            await self.app.post_shutdown(self.app)

    async def restart(self, *, crash: bool = False) -> None:
        await (self.crash() if crash else self.stop())
        await self.start()

    @property
    def services(self) -> Services:
        services = self.app.bot_data.services
        assert services is not None
        return services

    async def process(self, update_json: dict[str, Any]) -> None:
        """The way a running bot takes an update: into the inbox first, then handled from there."""
        await self.inbox.receive([update_json])
        await self.inbox.process_pending()

    @contextmanager
    def statements(self) -> Iterator[list[str]]:
        """Every SQL statement the bot sends while the block runs (transaction control and settings such as
        BEGIN, COMMIT and SET LOCAL are not counted)."""
        seen: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK", "SET", "PRAGMA"):
                seen.append(statement)

        engine = self.services.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", record)

    @property
    def flood_limiter(self) -> FloodRateLimiter:
        limiter = self.app.bot.rate_limiter
        assert isinstance(limiter, FloodRateLimiter)
        return limiter

    @property
    def inbox(self) -> InboxProcessor:
        assert self.services.inbox is not None
        return self.services.inbox

    def _since(self, chat_id: int, before: int) -> list[Message]:
        return [m for m in self.world.chat_history(chat_id) if m.from_bot and m.message_id > before]

    def _last_id(self, chat_id: int) -> int:
        history = self.world.chat_history(chat_id)
        return history[-1].message_id if history else 0

    async def send(self, user_id: int, text: str, *, chat_id: int | None = None) -> list[Message]:
        target = chat_id if chat_id is not None else user_id
        before = self._last_id(target)
        await self.process(self.world.user_sends_text(user_id, text, chat_id=chat_id))
        return self._since(target, before)

    async def open_link(self, user_id: int, payload: str) -> list[Message]:
        before = self._last_id(user_id)
        await self.process(self.world.user_opens_deep_link(user_id, payload))
        return self._since(user_id, before)

    async def press(
        self, user_id: int, message: Message, button_text: str
    ) -> tuple[dict[str, Any] | None, list[Message]]:
        """Press a button; returns what the callback answer said and the bot's new messages."""
        before = self._last_id(message.chat_id)
        update = self.world.user_presses_button(user_id, message, button_text)
        await self.process(update)
        answer = self.world.callback_answer(update["callback_query"]["id"])
        return answer, self._since(message.chat_id, before)

    async def press_data(self, user_id: int, message: Message, data: str) -> dict[str, Any] | None:
        update = self.world.user_presses(user_id, message.message_id, data, chat_id=message.chat_id)
        await self.process(update)
        return self.world.callback_answer(update["callback_query"]["id"])

    async def send_photo(
        self, user_id: int, *, chat_id: int | None = None, caption: str | None = None
    ) -> list[Message]:
        target = chat_id if chat_id is not None else user_id
        before = self._last_id(target)
        await self.process(self.world.user_sends_photo(user_id, chat_id=chat_id, caption=caption))
        return self._since(target, before)

    async def tick(self) -> dict[str, int]:
        """What the scheduler's job does when it wakes: process everything due at the (fake) clock's now."""
        from bot.scheduling import sweep

        return await sweep(self.services)

    async def drain_outbox(self) -> SendStats:
        assert self.services.sender is not None
        return await self.services.sender.drain(wait_for_limits=False)

    def last(self, chat_id: int) -> Message:
        return self.world.last_bot_message(chat_id)

    def texts(self, chat_id: int) -> list[str]:
        return [m.text or "" for m in self.world.bot_messages(chat_id)]


def forged_callback(
    world: TelegramWorld, user_id: int, chat_id: int, message_id: int, data: str
) -> dict[str, Any]:
    """A callback query Telegram would deliver if a client sent arbitrary data (old clients, tampering)."""
    return world.user_sends_callback(user_id, message_id, data, chat_id=chat_id)
