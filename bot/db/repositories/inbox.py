"""The inbox table: raw updates stored before Telegram is told we have them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import InboxUpdate, Person, StaffRole
from bot.roles import Role

_INBOX = cast(Table, InboxUpdate.__table__)
# Built once: this runs for every update, and building an ORM update each time cost more CPU than SQLite
# took to run it.
_MARK_HANDLED = (
    update(_INBOX)
    .where(_INBOX.c.update_id == bindparam("row_id"))
    .values(status="handled", handled_at=bindparam("at"), error=None)
)
_MARK_ALL_HANDLED = (
    update(_INBOX)
    .where(_INBOX.c.update_id.in_(bindparam("row_ids", expanding=True)))
    .values(status="handled", handled_at=bindparam("at"), error=None)
)

# A person's first update of every process marks them reachable: built once, and Core rather than an ORM
# update, whose session synchronisation cost more CPU than the statement.
_PEOPLE = cast(Table, Person.__table__)
_MARK_REACHABLE = (
    update(_PEOPLE)
    .where(
        _PEOPLE.c.telegram_id.in_(bindparam("telegram_ids", expanding=True)),
        _PEOPLE.c.reachable.is_(False),
    )
    .values(reachable=True)
)


def chat_of(payload: dict[str, Any]) -> int | None:
    """The chat an update belongs to (its order is kept per chat); a button press without a message, or a
    poll answer, belongs to the person's private chat."""
    for kind in (
        "message",
        "edited_message",
        "channel_post",
        "chat_member",
        "my_chat_member",
        "chat_join_request",
    ):
        body = payload.get(kind)
        if isinstance(body, dict) and isinstance(body.get("chat"), dict):
            return _int(body["chat"].get("id"))
    query = payload.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return _int(message["chat"].get("id"))
        if isinstance(query.get("from"), dict):
            return _int(query["from"].get("id"))
    for kind in ("poll_answer", "inline_query", "pre_checkout_query"):
        body = payload.get(kind)
        if isinstance(body, dict):
            who = body.get("user") or body.get("from")
            if isinstance(who, dict):
                return _int(who.get("id"))
    return None


def sender_of(payload: dict[str, Any]) -> int | None:
    """The person who caused the update (None for channel posts and service updates)."""
    for kind in (
        "message",
        "edited_message",
        "callback_query",
        "chat_member",
        "my_chat_member",
        "poll_answer",
    ):
        body = payload.get(kind)
        if isinstance(body, dict):
            who = body.get("from") or body.get("user")
            if isinstance(who, dict) and not who.get("is_bot"):
                return _int(who.get("id"))
    return None


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_all(self, updates: Sequence[dict[str, Any]], now: datetime) -> int:
        """Store what is new; an update_id already stored (a resend, a webhook retry) is left as it is."""
        rows = [
            {
                "update_id": u["update_id"],
                "chat_id": chat_of(u),
                "payload": u,
                "received_at": now,
                "status": "pending",
                "attempts": 0,
            }
            for u in updates
            if isinstance(u.get("update_id"), int) and 0 <= u["update_id"] < 2**63
        ]
        if not rows:
            return 0
        # Each dialect's own module, imported only on its database (the PostgreSQL one is 2 MB of code).
        if self.session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            statement: Any = pg_insert(_INBOX)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            statement = sqlite_insert(_INBOX)
        # Rows passed as parameters, not as VALUES: a statement with as many VALUES as updates is compiled
        # anew for every batch size (a tenth of a greeting's CPU in a burst); this one is compiled once and
        # SQLAlchemy's insertmanyvalues still sends one INSERT. RETURNING counts what was new, which rowcount
        # does not for many parameter sets.
        result = await self.session.execute(
            statement.on_conflict_do_nothing(index_elements=["update_id"]).returning(_INBOX.c.update_id),
            rows,
        )
        return len(result.all())

    async def commit_without_waiting_for_disk(self) -> None:
        """This transaction's commit does not wait for the disk. Only for the handled mark: if the machine
        itself goes down in the next moment the mark may be lost, and the update is handled again — which the
        actions' keys make harmless. A crash of the bot alone loses nothing. Call it first in the transaction.

        PostgreSQL: synchronous_commit off for this transaction. SQLite (our driver, bot/db/sqlite_driver.py):
        synchronous NORMAL for it, so the commit is not flushed until the next one that is (an update's
        arrival in the inbox always is)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            return
        from bot.db.sqlite_driver import OneTripConnection

        connection = await self.session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        if isinstance(driver, OneTripConnection):
            driver.commit_without_waiting_for_disk()

    async def apply(self, writes: Sequence[Callable[[AsyncSession], Awaitable[None]]]) -> None:
        """The conversation and user data writes the persistence held back while the update was handled, in
        this transaction (bot/db/persistence.py)."""
        for write in writes:
            await write(self.session)

    async def pending(self, limit: int) -> list[InboxUpdate]:
        rows = await self.session.scalars(
            select(InboxUpdate)
            .where(InboxUpdate.status == "pending")
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
        return list(rows)

    async def count_pending(self) -> int:
        from sqlalchemy import func

        return int(
            await self.session.scalar(
                select(func.count(InboxUpdate.update_id)).where(InboxUpdate.status == "pending")
            )
            or 0
        )

    async def bump_attempts(self, update_id: int) -> None:
        await self.session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id)
            .values(attempts=InboxUpdate.attempts + 1)
        )

    async def set_status(
        self,
        update_id: int,
        status: str,
        now: datetime,
        error: str | None = None,
        attempts: int | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "handled_at": now,
            "error": error[:2000] if error else None,
        }
        if attempts is not None:
            values["attempts"] = attempts
        await self.session.execute(
            update(InboxUpdate).where(InboxUpdate.update_id == update_id).values(**values)
        )

    async def mark_handled(self, now: datetime, *update_ids: int) -> None:
        """One statement however many (the inbox marks the updates that changed nothing together)."""
        if len(update_ids) == 1:
            await self.session.execute(_MARK_HANDLED, {"row_id": update_ids[0], "at": now})
        elif update_ids:
            await self.session.execute(_MARK_ALL_HANDLED, {"row_ids": list(update_ids), "at": now})

    async def get(self, update_id: int) -> InboxUpdate | None:
        return await self.session.get(InboxUpdate, update_id)

    async def quarantined(self) -> list[InboxUpdate]:
        rows = await self.session.scalars(
            select(InboxUpdate).where(InboxUpdate.status == "failed").order_by(InboxUpdate.update_id)
        )
        return list(rows)

    async def prune(self, before: datetime) -> int:
        """Forget settled rows older than the retention window; quarantined ones wait for an admin."""
        result = await self.session.execute(
            delete(InboxUpdate).where(
                InboxUpdate.received_at < before, InboxUpdate.status.in_(("handled", "dropped"))
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def mark_reachable(self, *telegram_ids: int) -> None:
        if telegram_ids:
            await self.session.execute(_MARK_REACHABLE, {"telegram_ids": list(telegram_ids)})

    async def admins(self) -> list[Person]:
        rows = await self.session.scalars(
            select(Person)
            .join(StaffRole, StaffRole.person_id == Person.id)
            .where(StaffRole.role == Role.ADMIN.value, StaffRole.active.is_(True))
            .distinct()
        )
        return list(rows)
