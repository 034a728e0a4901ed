"""The typed context handlers receive (PTB's custom ContextTypes pattern), and the long-lived services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.config import Settings
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.i18n import Translator, normalise_language

if TYPE_CHECKING:
    from bot.delivery.inbox import InboxProcessor
    from bot.delivery.sender import OutboxSender
    from bot.scheduling import Scheduler


@dataclass
class Services:
    """Created in post_init, closed in post_shutdown. Capabilities add their long-lived parts in `extras`."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory
    translator: Translator
    sender: OutboxSender | None = None
    scheduler: Scheduler | None = None
    inbox: InboxProcessor | None = None
    bot_username: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return self.uow_factory()

    def notify_outbox(self) -> None:
        if self.sender is not None:
            self.sender.wake()

    async def schedule_changed(self) -> None:
        """A capability added or moved something due later: re-arm the wake-up job."""
        if self.scheduler is not None:
            await self.scheduler.rearm()


class AppState:
    """Application-wide state (PTB's bot_data slot); never persisted."""

    def __init__(self) -> None:
        self.services: Services | None = None


LANGUAGE_KEY = "language"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], AppState]):
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        # The sender's person view for this update (see handlers/common.current_person); a context lives for
        # one update.
        self.person_cache: Any = None

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are created in post_init")
        return services

    @property
    def language(self) -> str:
        stored = self.user_data.get(LANGUAGE_KEY) if self.user_data is not None else None
        return normalise_language(stored, self.services.settings.default_language)

    @language.setter
    def language(self, value: str) -> None:
        if self.user_data is not None:
            self.user_data[LANGUAGE_KEY] = value

    def draft(self, key: str) -> dict[str, Any]:
        """A conversation's draft in user_data (JSON-safe values: it is persisted after every update)."""
        assert self.user_data is not None
        return self.user_data.setdefault(key, {})  # type: ignore[no-any-return]

    def drop(self, *keys: str) -> None:
        if self.user_data is not None:
            for key in keys:
                self.user_data.pop(key, None)

    def t(self, key: str, /, **values: object) -> str:
        return self.services.translator(self.language, key, **values)
