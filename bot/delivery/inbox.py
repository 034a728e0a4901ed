"""The way in: every update is stored in the inbox before Telegram is told we have it, then handled.

Long polling confirms a batch to Telegram by asking for the next offset; PTB's Updater asks as soon as
the batch is on its in-memory queue, so a crash lost whatever was queued. Here the next getUpdates (or the
webhook's 200) happens only after the batch is committed to the inbox table. The processor then feeds the
Application from the table and marks each handled in the same transaction as the conversation step it
caused. Updates of different chats and people are handled side by side (one slow person never delays
another); two updates that share a chat or a person are handled one after the other, in update_id order.
A crash in between repeats at most the updates being handled; the actions that create something carry keys
derived from the update or the draft, so the repeat finds the first result.

An update that changed nothing (a greeting, a points check: its handlers committed nothing and took no
conversation step) is not worth a transaction of its own: its mark waits and goes with the next mark
committed, at the latest when the batch it came in has been handled, one statement for all. A crash before
then loses no update and applies none twice; it can make the bot answer those updates again (the same
read-only answers, sent twice). A conversation step is still committed at the end of its update, with its
mark: written later, it could land after a newer document of the same person's data.

An update that cannot be parsed, or whose handlers keep failing, is quarantined with its error (see
bot/services/inbox.py) and the line moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.error import Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.clock import Clock
from bot.db.persistence import SqlPersistence, Write
from bot.db.repositories.inbox import sender_of
from bot.db.uow import COMMITS_OF_UPDATE, UnitOfWorkFactory
from bot.delivery.background import Background
from bot.i18n import Translator
from bot.services import inbox as inbox_service
from bot.services.errors import UserFacingError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# Updates handled at the same time (each waits for the earlier ones of its chat and of its sender).
CONCURRENCY = 8
RETRY_DELAYS = (0.5, 2.0)
BATCH = 100
PRUNE_EVERY = 3600.0
ALLOWED_UPDATES = ["message", "callback_query", "chat_member", "my_chat_member", "poll_answer"]

# The updates a handler hands back while this task handles one (see InboxApplication): each update keeps its
# own, so updates handled side by side never take each other's.
_REQUEUED: ContextVar[deque[object] | None] = ContextVar("inbox_requeued", default=None)

# False while a failed update will be tried again: the error handler keeps quiet until the last try, so the
# person reads one apology, not three.
FINAL_ATTEMPT: ContextVar[bool] = ContextVar("inbox_final_attempt", default=True)


class InboxApplication(Application):  # type: ignore[type-arg]
    """An Application whose update queue is only for handlers that hand an update back (see
    handlers/registry.leave_flow_for_menu); the inbox processor handles those right after the update that
    put them there, so they stay in order and inside that update's inbox row."""

    requeued: deque[object]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.update_queue = _RequeueQueue()

    async def _update_fetcher(self) -> None:
        self.requeued = getattr(self, "requeued", deque())
        while True:
            item = await self.update_queue.get()
            self.update_queue.task_done()
            if not isinstance(item, Update):
                return  # PTB's stop signal
            self.requeued.append(item)


class _RequeueQueue(asyncio.Queue):  # type: ignore[type-arg]
    """An update put back while the inbox handles one goes to that update's own list."""

    def put_nowait(self, item: object) -> None:
        local = _REQUEUED.get()
        if local is not None and isinstance(item, Update):
            local.append(item)
        else:
            super().put_nowait(item)


def _keys(chat_id: int | None, payload: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    """What an update must wait for: its chat, and its sender (user_data and conversations are per person,
    across chats). An update with neither waits for everything before it."""
    keys: list[tuple[str, int]] = []
    if chat_id is not None:
        keys.append(("chat", chat_id))
    person = sender_of(payload)
    if person is not None:
        keys.append(("user", person))
    return tuple(keys) or (("all", 0),)


class InboxProcessor:
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        translator: Translator,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.application = application
        self.concurrency = max(1, concurrency)
        self.uow_factory = uow_factory
        self.clock = clock
        self.translator = translator
        self.max_attempts = max_attempts
        self.retry_delays = tuple(retry_delays)
        self._sleep = sleep
        self._failures: dict[int, BaseException] = {}
        self._wake = asyncio.Event()
        self._background = Background(self._run, "inbox-processor")
        self._lock = asyncio.Lock()
        self._last_prune = 0.0
        self._resumed = False
        # After a start the backlog's first batch is handled one at a time, in order: if an update takes the
        # whole process down, it is then the oldest pending row the next start counts (see below).
        self._careful = True
        # People this process has already marked reachable since it last heard they blocked the bot: saves a
        # write per update.
        self._reachable: set[int] = set()
        # Updates handled whose marks wait (see the module's docstring), in order, and their senders not yet
        # marked reachable.
        self._unmarked: dict[int, None] = {}
        self._unreached: set[int] = set()
        self.handled = 0
        self.quarantined = 0

    # -- the way in

    async def receive(self, updates: Sequence[dict[str, Any]]) -> int:
        """Commit raw updates to the inbox; returns how many were new. Raises if the database refuses, so the
        caller does not confirm them to Telegram."""
        if not self._resumed:
            async with self._lock:
                if not self._resumed:
                    await self._suspect_first_pending()
        async with self.uow_factory() as uow:
            added = await uow.inbox.add_all(updates, self.clock.now())
            await uow.commit()
        self._wake.set()
        return added

    # -- the way through

    async def record_failure(self, update: object, context: Any) -> None:
        """Registered as the first error handler: remembers which update's handler failed."""
        error = context.error
        # A refusal the user reads, or a person who blocked the bot mid-reply, is an outcome, not a failure.
        if isinstance(error, UserFacingError | Forbidden) or not isinstance(error, Exception):
            return
        self._failures[id(update)] = error

    async def process_pending(self) -> int:
        """Handle everything pending, oldest first; returns how many updates were settled."""
        settled = 0
        async with self._lock:
            if not self._resumed:
                await self._suspect_first_pending()
            while True:
                async with self.uow_factory() as uow:
                    rows = await uow.inbox.pending(BATCH)
                    batch = [(r.update_id, r.chat_id, dict(r.payload), r.attempts) for r in rows]
                if not batch:
                    break
                if self._careful or self.concurrency == 1:
                    # Marked one by one while careful: the oldest pending row after a crash must be the
                    # update that was being handled, not a harmless one whose mark was waiting.
                    careful, self._careful = self._careful, False
                    for update_id, _chat, payload, attempts in batch:
                        await self._settle(update_id, payload, attempts, wait_to_mark=not careful)
                else:
                    await self._settle_side_by_side(batch)
                # Before the pending rows are read again, which would otherwise include these.
                await self._mark_waiting()
                settled += len(batch)
                if len(batch) < BATCH:
                    # That was all of it; what arrived meanwhile woke the loop (see _run), which comes back.
                    break
        return settled

    async def _settle_side_by_side(self, batch: list[tuple[int, int | None, dict[str, Any], int]]) -> None:
        """Each update starts once the earlier ones sharing its chat or sender are settled."""
        slots = asyncio.Semaphore(self.concurrency)
        last: dict[tuple[str, int], asyncio.Task[None]] = {}

        async def settle_after(
            before: list[asyncio.Task[None]], update_id: int, payload: dict[str, Any], attempts: int
        ) -> None:
            if before:
                await asyncio.wait(before)
            async with slots:
                await self._settle(update_id, payload, attempts)

        tasks: list[asyncio.Task[None]] = []
        for update_id, chat_id, payload, attempts in batch:
            keys = _keys(chat_id, payload)
            if keys == (("all", 0),):
                before = list(tasks)
            else:
                before = list({id(t): t for k in keys if (t := last.get(k)) is not None}.values())
                if (t := last.get(("all", 0))) is not None:
                    before.append(t)
            task = asyncio.create_task(settle_after(before, update_id, payload, attempts))
            tasks.append(task)
            for key in keys:
                last[key] = task
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _suspect_first_pending(self) -> None:
        """Updates are handled one at a time in update_id order, so the oldest row still pending at start is
        the one the last process was handling when it stopped (or the next in line). Counting that as a try
        quarantines an update that takes the whole process down, instead of crashing on it forever — and costs
        one write per start instead of one per update."""
        self._resumed = True
        async with self.uow_factory() as uow:
            repo = uow.inbox
            first = await repo.pending(1)
            if first:
                await repo.bump_attempts(first[0].update_id)
                await uow.commit()

    async def _settle(
        self, update_id: int, payload: dict[str, Any], attempts: int, *, wait_to_mark: bool = True
    ) -> None:
        if update_id in self._unmarked:
            return  # handled in a pass that ended before its mark was committed
        if attempts >= self.max_attempts:
            await self._quarantine(
                update_id, "the bot stopped while handling it, every time it tried", attempts
            )
            return
        while True:
            attempts += 1
            try:
                update = Update.de_json(payload, self.application.bot)
            except Exception as exc:
                await self._quarantine(update_id, f"cannot be parsed: {exc!r}", attempts)
                return
            failure, held, wrote = await self._dispatch(update, final=attempts >= self.max_attempts)
            if failure is None:
                self._handled(update_id, payload)
                if held or wrote or not wait_to_mark:
                    await self._mark_waiting(held)
                return
            await self._apply(held)
            if attempts >= self.max_attempts:
                text = "".join(traceback.format_exception(failure))
                await self._quarantine(
                    update_id, f"handler failed {attempts} times: {failure!r}\n{text}", attempts
                )
                return
            log.warning(
                "update %s failed (try %s of %s); trying again", update_id, attempts, self.max_attempts
            )
            await self._sleep(self.retry_delays[min(attempts - 1, len(self.retry_delays) - 1)])

    async def _dispatch(
        self, update: Update, *, final: bool
    ) -> tuple[BaseException | None, list[Write], bool]:
        """The handlers' failure (None), the conversation writes held back, and whether anything committed."""
        persistence = self.application.persistence
        holder = persistence if isinstance(persistence, SqlPersistence) else None
        if holder is not None:
            holder.collect()
        token = FINAL_ATTEMPT.set(final)
        commits: list[int] = []
        counting = COMMITS_OF_UPDATE.set(commits)
        try:
            failure = await self._run_handlers(update)
            # After process_update has marked this update's user and chat: their data is written now, in
            # this update's transaction, not with the next update's.
            await self.application.update_persistence()
        finally:
            FINAL_ATTEMPT.reset(token)
            COMMITS_OF_UPDATE.reset(counting)
            held = holder.take() if holder is not None else []
        return failure, held, bool(commits)

    async def _run_handlers(self, update: Update) -> BaseException | None:
        local: deque[object] = deque()
        token = _REQUEUED.set(local)
        try:
            await self.application.process_update(update)
            failure = self._failures.pop(id(update), None)
            while local:
                again = local.popleft()
                await self.application.process_update(again)
                failure = failure or self._failures.pop(id(again), None)
        finally:
            _REQUEUED.reset(token)
        return failure

    def _forget_persisted(self) -> None:
        persistence = self.application.persistence
        if isinstance(persistence, SqlPersistence):
            persistence.forget()

    async def _apply(self, held: list[Write]) -> None:
        if not held:
            return
        try:
            async with self.uow_factory() as uow:
                await uow.inbox.apply(held)
                await uow.commit()
        except BaseException:
            self._forget_persisted()
            raise

    def _handled(self, update_id: int, payload: dict[str, Any]) -> None:
        self._unmarked[update_id] = None
        person = sender_of(payload)
        if person is not None and person not in self._reachable:
            # Someone who writes again can be reached again: broadcasts include them from now on.
            self._unreached.add(person)

    async def _mark_waiting(self, held: list[Write] | None = None) -> None:
        """Commit the waiting marks in one statement; `held`, the conversation step of the update just handled
        (the last of them), in the same transaction: a step is committed with its mark, never without it."""
        if not self._unmarked:
            return
        marked, senders, writes = tuple(self._unmarked), self._unreached, held or []
        self._unmarked, self._unreached = {}, set()
        try:
            async with self.uow_factory() as uow:
                repo = uow.inbox
                await repo.commit_without_waiting_for_disk()
                await repo.apply(writes)
                await repo.mark_handled(self.clock.now(), *marked)
                await repo.mark_reachable(*senders)
                await uow.commit()
        except BaseException:
            # Not committed: these updates are still pending and are handled again; what the persistence
            # holds as stored is no longer known.
            self._forget_persisted()
            raise
        self._reachable |= senders
        self.handled += len(marked)

    def unreachable(self, telegram_id: int) -> None:
        """The sender was refused (403) by this person: the next update from them marks them reachable."""
        self._reachable.discard(telegram_id)
        self._unreached.discard(telegram_id)

    async def _quarantine(self, update_id: int, error: str, attempts: int) -> None:
        log.error("update %s quarantined: %s", update_id, error.splitlines()[0][:300])
        await inbox_service.quarantine(
            self.uow_factory(), self.translator, update_id, error, attempts, self.clock.now()
        )
        self.quarantined += 1

    # -- running in the background

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()
        # Whatever waits is handled: marked now, it is not answered again at the next start.
        with contextlib.suppress(Exception):
            await self._mark_waiting()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.process_pending()
                if time.monotonic() - self._last_prune > PRUNE_EVERY:
                    self._last_prune = time.monotonic()
                    removed = await inbox_service.prune(self.uow_factory(), self.clock.now())
                    if removed:
                        log.info("pruned %s old inbox rows", removed)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("inbox pass failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)


class InboxPoller:
    """getUpdates → commit to the inbox → only then ask for the next offset (which confirms the batch)."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        processor: InboxProcessor,
        *,
        timeout: int = 10,
        allowed_updates: Sequence[str] = ALLOWED_UPDATES,
    ) -> None:
        self.application = application
        self.processor = processor
        self.timeout = timeout
        self.allowed_updates = list(allowed_updates)
        self._background = Background(self._run, "inbox-poller")
        self.offset: int | None = None

    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def poll_once(self, timeout: int | None = None) -> int:
        bot = self.application.bot
        wait = self.timeout if timeout is None else timeout
        kwargs: dict[str, Any] = {"timeout": wait, "allowed_updates": self.allowed_updates}
        if self.offset is not None:
            kwargs["offset"] = self.offset
        # The raw JSON, not PTB's parsed objects: one update PTB cannot parse must not block the others.
        result = await bot.do_api_request("getUpdates", api_kwargs=kwargs, read_timeout=wait + 10)
        updates = [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []
        if not updates:
            return 0
        await self.processor.receive(updates)
        ids = [u["update_id"] for u in updates if isinstance(u.get("update_id"), int)]
        if ids:
            self.offset = max(ids) + 1
        return len(updates)

    async def _run(self) -> None:
        with contextlib.suppress(TelegramError):
            await self.application.bot.delete_webhook()
        backoff = 1.0
        while True:
            try:
                await self.poll_once()
                backoff = 1.0
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                log.critical("Telegram refused the bot token; polling stops")
                raise
            except (NetworkError, TelegramError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(30.0, backoff * 2)
            except Exception:
                # The database refused the batch: it was not confirmed, Telegram will send it again.
                log.exception("could not store updates; retrying in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(30.0, backoff * 2)
