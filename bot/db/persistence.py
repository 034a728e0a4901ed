"""PTB persistence in our own database, so conversation steps and user data survive a restart."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.db.models import PtbConversation, PtbStore

Write = Callable[[AsyncSession], Awaitable[None]]


class SqlPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """bot_data is not persisted: it holds the live services (see bot.context.AppState).

    While the inbox handles an update (between `collect()` and `take()`), writes are held back and handed to
    it, so the conversation step and the update's "handled" mark are committed in one transaction.
    """

    def __init__(self, engine: Callable[[], AsyncEngine], update_interval: float = 5.0) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self._engine = engine
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._held: list[Write] | None = None

    def collect(self) -> None:
        self._held = []

    def take(self) -> list[Write]:
        held, self._held = self._held or [], None
        return held

    async def _write(self, work: Write) -> None:
        if self._held is not None:
            self._held.append(work)
            return
        async with self._session() as session:
            await work(session)
            await session.commit()

    def _session(self) -> AsyncSession:
        if self._sessionmaker is None:
            self._sessionmaker = async_sessionmaker(self._engine(), expire_on_commit=False)
        return self._sessionmaker()

    async def _load(self, kind: str) -> dict[int, dict[Any, Any]]:
        async with self._session() as session:
            rows = await session.scalars(select(PtbStore).where(PtbStore.kind == kind))
            return {int(row.key): dict(row.data or {}) for row in rows}

    async def _store(self, kind: str, key: int | str, data: Any) -> None:
        await self._write(lambda session: store_row(session, kind, key, data))

    async def _drop(self, kind: str, key: int) -> None:
        async def work(session: AsyncSession) -> None:
            await session.execute(delete(PtbStore).where(PtbStore.kind == kind, PtbStore.key == str(key)))

        await self._write(work)

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return await self._load("user")

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return await self._load("chat")

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        async with self._session() as session:
            rows = await session.scalars(select(PtbConversation).where(PtbConversation.name == name))
            return {tuple(json.loads(row.key)): row.state for row in rows}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        db_key = json.dumps(list(key))
        state = None if new_state is None else _plain(new_state)

        async def work(session: AsyncSession) -> None:
            row = await session.get(PtbConversation, (name, db_key))
            if state is None:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(PtbConversation(name=name, key=db_key, state=state))
                await session.flush()  # a second held write to the same key finds this row
            else:
                row.state = state

        await self._write(work)

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        await self._store("user", user_id, _json_safe(data))

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        await self._store("chat", chat_id, _json_safe(data))

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._drop("chat", chat_id)

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop("user", user_id)

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None


def _plain(state: object) -> Any:
    return int(state) if isinstance(state, int) else state


def _json_safe(data: dict[Any, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, default=str))


async def store_row(session: AsyncSession, kind: str, key: int | str, data: Any) -> None:
    row = await session.get(PtbStore, (kind, str(key)))
    if row is None:
        session.add(PtbStore(kind=kind, key=str(key), data=data))
        await session.flush()  # a second held write to the same key finds this row
    else:
        row.data = data
