"""PTB persistence in our own database, so conversation steps and user data survive a restart."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.db.models import PtbConversation, PtbStore

Write = Callable[[AsyncSession], Awaitable[None]]

_STORE = cast(Table, PtbStore.__table__)
_UPDATE_STORE = (
    update(_STORE)
    .where(_STORE.c.kind == bindparam("row_kind"), _STORE.c.key == bindparam("row_key"))
    .values(data=bindparam("row_data"))
)
_INSERT_STORE = insert(_STORE)

# The writes held back for the update this task is handling (None: write at once). A context variable, not an
# attribute, so updates of different chats handled side by side each keep their own.
_HELD: ContextVar[list[Write] | None] = ContextVar("persistence_held", default=None)

# What is stored, as last written or read, per (kind, key) and per (conversation name, key): a write whose
# document equals it is skipped, so an update that changed nothing costs no statement and no transaction.
_Key = tuple[str, str]


class SqlPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """bot_data is not persisted: it holds the live services (see bot.context.AppState).

    While the inbox handles an update (between `collect()` and `take()`), writes are held back and handed to
    it, so the conversation step and the update's "handled" mark are committed in one transaction.

    Only what changed is written: PTB hands over every touched user's and chat's data after each update, and
    most updates (a greeting, a points check) change none of it. If a transaction with held writes fails,
    the caller calls `forget()` so the next write of the same data is not skipped.
    """

    def __init__(self, engine: Callable[[], AsyncEngine], update_interval: float = 5.0) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self._engine = engine
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._stored: dict[_Key, str] = {}
        self._states: dict[_Key, str] = {}
        self._rows: set[_Key] = set()  # (kind, key) of the ptb_store rows known to exist
        # True while every stored row was read at start or written since: a key missing above has no row.
        self._complete = True

    def collect(self) -> None:
        _HELD.set([])

    def take(self) -> list[Write]:
        held = _HELD.get() or []
        _HELD.set(None)
        return held

    @staticmethod
    def collecting() -> bool:
        """Whether the update this task handles has its writes held (the inbox persists after it)."""
        return _HELD.get() is not None

    def forget(self) -> None:
        """The held writes were not committed: what is stored is no longer known."""
        self._stored.clear()
        self._states.clear()
        self._rows.clear()
        self._complete = False

    async def _write(self, work: Write) -> None:
        held = _HELD.get()
        if held is not None:
            held.append(work)
            return
        try:
            async with self._session() as session:
                await work(session)
                await session.commit()
        except BaseException:
            self.forget()
            raise

    def _session(self) -> AsyncSession:
        if self._sessionmaker is None:
            self._sessionmaker = async_sessionmaker(self._engine(), expire_on_commit=False)
        return self._sessionmaker()

    async def _load(self, kind: str) -> dict[int, dict[Any, Any]]:
        async with self._session() as session:
            rows = await session.scalars(select(PtbStore).where(PtbStore.kind == kind))
            loaded = {int(row.key): dict(row.data or {}) for row in rows}
        for key, data in loaded.items():
            self._stored[(kind, str(key))] = _dump(data)
            self._rows.add((kind, str(key)))
        return loaded

    async def _store(self, kind: str, key: int | str, data: dict[Any, Any]) -> None:
        document = _dump(data)
        slot = (kind, str(key))
        if self._stored.get(slot) == document:
            return
        self._stored[slot] = document
        if slot not in self._rows and not data and self._complete:
            return  # nothing stored and nothing to store: a person who only ever greets leaves no row
        mode = "update" if slot in self._rows else "insert" if self._complete else "unknown"
        self._rows.add(slot)
        plain = json.loads(document)
        await self._write(lambda session: store_row(session, kind, key, plain, mode=mode))

    async def _drop(self, kind: str, key: int) -> None:
        self._stored.pop((kind, str(key)), None)
        self._rows.discard((kind, str(key)))

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
            loaded = {row.key: row.state for row in rows}
        for db_key, state in loaded.items():
            self._states[(name, db_key)] = json.dumps(state)
        return {tuple(json.loads(db_key)): state for db_key, state in loaded.items()}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        db_key = json.dumps(list(key))
        state = None if new_state is None else _plain(new_state)
        slot = (name, db_key)
        document = json.dumps(state)
        known = self._states.get(slot)
        if known == document or (known is None and state is None and self._complete):
            return
        self._states[slot] = document

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
        await self._store("user", user_id, data)

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        await self._store("chat", chat_id, data)

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


def _dump(data: dict[Any, Any]) -> str:
    """The stored JSON document, compared to decide whether anything changed."""
    # Not sort_keys (keys of mixed types cannot be sorted): an order that differs only costs a write.
    return json.dumps(data, default=str, ensure_ascii=False)


async def store_row(
    session: AsyncSession, kind: str, key: int | str, data: Any, *, mode: str = "unknown"
) -> None:
    """mode: "update" (the row is known to exist: one UPDATE), "insert" (known not to: one INSERT), or
    "unknown" (an UPDATE, and an INSERT if it found no row)."""
    # Core statements built once, not ORM objects: this runs for a person's first update of every process
    # (their language is stored), and an ORM add and flush cost more CPU than the statement itself.
    if mode != "insert":
        result = await session.execute(
            _UPDATE_STORE, {"row_kind": kind, "row_key": str(key), "row_data": data}
        )
        if getattr(result, "rowcount", 0):
            return
    await session.execute(_INSERT_STORE, {"kind": kind, "key": str(key), "data": data})
