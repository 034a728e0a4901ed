"""Time-driven work. Schedules live in our tables; PTB's JobQueue (APScheduler) only wakes us up.

Each capability declares its DueSources (bot/capability.py): `process_due` sends what has fallen due
(through the outbox, with dedupe keys, so never twice) and `next_due` says when it next needs waking. At
start the scheduler runs one sweep a second after start (catching up on what fell due while the bot was down)
and arms a job for each source's next due time; a periodic sweep is the safety net. Nothing about a
schedule lives only in a job.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.context import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueSource:
    name: str
    process_due: Callable[[Services, datetime], Awaitable[int]]  # returns how many items it handled
    next_due: Callable[[Services, datetime], Awaitable[datetime | None]]


async def in_batches(batch: Callable[[], Awaitable[tuple[int, bool]]]) -> int:
    """Run `batch` (one transaction each; it returns how many it handled and whether it was full) until a
    batch comes back not full, so a long backlog after downtime never becomes one huge transaction."""
    total = 0
    while True:
        handled, full = await batch()
        total += handled
        if not full:
            return total


SWEEP_INTERVAL = timedelta(seconds=30)
# Seconds after start before the catch-up sweep: long enough for the first poll's updates to be stored and
# answered (about 0.3 s after start), short enough to still be "at start".
CATCH_UP_AFTER = 1.0


async def sweep(services: Services) -> dict[str, int]:
    """Process everything due now, source by source; one failing source does not stop the others."""
    now = services.clock.now()
    handled: dict[str, int] = {}
    for source in services.wiring.due_sources:
        try:
            handled[source.name] = await source.process_due(services, now)
        except Exception:
            log.exception("due source %s failed", source.name)
            handled[source.name] = 0
    return handled


async def next_wakeup(services: Services) -> datetime | None:
    now = services.clock.now()
    times = []
    for source in services.wiring.due_sources:
        try:
            when = await source.next_due(services, now)
        except Exception:
            log.exception("due source %s could not say when it is next due", source.name)
            continue
        if when is not None:
            times.append(when)
    return min(times) if times else None


class Scheduler:
    """Arms PTB JobQueue jobs from our tables."""

    def __init__(self, services: Services, job_queue: Any) -> None:
        self.services = services
        self.job_queue = job_queue

    async def start(self) -> None:
        if self.job_queue is None:
            await sweep(self.services)
            return
        # What fell due while the bot was down is swept by the job queue shortly after the bot runs, not
        # before it starts: the updates waiting at start are answered first instead of after it (a monthly
        # report due at start is seconds of queries and charts; on SQLite the sweep's writes would also hold
        # the first inbox commit behind them). The sweep re-arms the next-due job.
        self.job_queue.run_once(self._job, when=CATCH_UP_AFTER, name="next-due")
        self.job_queue.run_repeating(self._job, interval=SWEEP_INTERVAL, first=SWEEP_INTERVAL, name="sweep")

    async def rearm(self) -> None:
        """Arm a job at the next due time (at start, and whenever a capability schedules something)."""
        if self.job_queue is None:
            return
        when = await next_wakeup(self.services)
        if when is None:
            return
        for job in self.job_queue.get_jobs_by_name("next-due"):
            job.schedule_removal()
        delay = max(0.0, (when - self.services.clock.now()).total_seconds())
        self.job_queue.run_once(self._job, when=delay, name="next-due")

    async def _job(self, context: Any) -> None:
        await sweep(self.services)
        await self.rearm()
