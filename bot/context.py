"""The typed context handlers receive (PTB's custom ContextTypes pattern), and the long-lived services."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.capability import Wiring
from bot.clock import Clock
from bot.config import Settings
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.i18n import Translator, normalise_language, written_in_chinese, written_in_english
from knowledge.small_talk import small_talk

if TYPE_CHECKING:
    from bot.delivery.inbox import InboxProcessor
    from bot.delivery.sender import OutboxSender
    from bot.scheduling import Scheduler


@dataclass
class Services:
    """Created in post_init, closed in post_shutdown. Capabilities keep their long-lived parts in `extras`."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory
    translator: Translator
    sender: OutboxSender | None = None
    scheduler: Scheduler | None = None
    inbox: InboxProcessor | None = None
    bot_username: str = ""
    wiring: Wiring = field(default_factory=Wiring)
    extras: dict[str, Any] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return self.uow_factory()


class AppState:
    """Application-wide state (PTB's bot_data slot); never persisted."""

    def __init__(self) -> None:
        self.services: Services | None = None


LANGUAGE_KEY = "language"
# The language a person who has not chosen one last wrote in ("en"), so the buttons of an English answer keep
# answering in English; gone once they write Chinese.
WRITTEN_LANGUAGE_KEY = "written_language"


@dataclass
class Draft:
    """A conversation's draft: one dataclass per conversation (fields with defaults, JSON-safe values),
    kept in user_data under KEY and persisted after every update, so a restart loses no step. Field names
    are the keys the dict had before the drafts were typed: a conversation persisted then reads back."""

    KEY: ClassVar[str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Self:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DraftT = TypeVar("DraftT", bound=Draft)


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
        self.writer_language: str | None = None
        # The language on the sender's record, when this update read it (a roster import may set it before
        # the person ever chose): it outranks the language they happen to write in.
        self.person_language: str | None = None

    @classmethod
    def from_update(
        cls, update: object, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> Self:
        context = super().from_update(update, application)
        if isinstance(update, Update):
            context._note_written_language(update)
        return context

    def _note_written_language(self, update: Update) -> None:
        # What the person wrote: a button press's message is the bot's own (its text may quote Chinese).
        message, chat = update.message or update.edited_message, update.effective_chat
        user_data = self.user_data
        if message is None or chat is None or chat.type != chat.PRIVATE or user_data is None:
            return
        text = message.text or message.caption
        if not text or text.startswith("/") or LANGUAGE_KEY in user_data:
            return
        if written_in_english(text):
            user_data[WRITTEN_LANGUAGE_KEY] = "en"
        elif written_in_chinese(text):
            user_data.pop(WRITTEN_LANGUAGE_KEY, None)

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are created in post_init")
        return services

    @property
    def language(self) -> str:
        user_data = self.user_data
        stored = user_data.get(LANGUAGE_KEY) if user_data is not None else None
        if stored is None:
            stored = self.person_language
        if stored is None:
            written = self.writer_language or (user_data or {}).get(WRITTEN_LANGUAGE_KEY)
            if written is not None:
                return str(written)
        return normalise_language(stored, self.services.settings.default_language)

    @language.setter
    def language(self, value: str) -> None:
        if self.user_data is not None:
            self.user_data[LANGUAGE_KEY] = value

    def answer_in_language_of(self, text: str) -> None:
        """For this update only: someone who has not chosen a language and writes in English is answered in
        English (a cry for help must be understood before anyone has asked which language they read). English
        small talk counts too: "thanks" or "hi" is too short for the language check."""
        talk = small_talk(text)
        if written_in_english(text) or (talk is not None and talk.english):
            self.writer_language = "en"

    def draft(self, key: str) -> dict[str, Any]:
        """A conversation's draft in user_data (JSON-safe values: it is persisted after every update)."""
        assert self.user_data is not None
        return self.user_data.setdefault(key, {})  # type: ignore[no-any-return]

    def load(self, kind: type[DraftT]) -> DraftT:
        """The conversation's draft as it was stored (an empty one if there is none)."""
        stored = self.user_data.get(kind.KEY) if self.user_data is not None else None
        return kind.from_json(stored if isinstance(stored, Mapping) else None)

    def store(self, draft: Draft) -> None:
        """Keep the draft for the next step (and for the persistence written after this update)."""
        if self.user_data is not None:
            self.user_data[draft.KEY] = draft.to_json()

    def drop(self, *keys: str) -> None:
        if self.user_data is not None:
            for key in keys:
                self.user_data.pop(key, None)

    def t(self, key: str, /, **values: object) -> str:
        return self.services.translator(self.language, key, **values)
