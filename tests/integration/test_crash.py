"""A real bot process, killed with SIGKILL in the middle of a burst of awards, against the HTTP emulator."""

from __future__ import annotations

import asyncio
import glob
import signal
import time
from pathlib import Path

from bot.cli_commands.bench_crash import RESIDENT, _bot_process, crash_campaign, demo_world
from bot.cli_commands.bench_crash_actions import action_campaign
from tests.conftest import PG_URL
from tests.integration import test_migrations

# An empty database, SQLite or PostgreSQL: the same fixture the migration tests use.
empty_database = test_migrations.empty_database


async def test_kill_9_during_bursts_loses_nothing_and_doubles_nothing(empty_database: str) -> None:
    result = await crash_campaign(empty_database, cycles=3, burst=20, seed=7)
    assert result.sent == 60
    assert result.lost == [] and result.doubled == [] and result.unanswered == []
    assert result.quarantined == 0


async def test_kill_9_while_residents_submit_reports_and_redeem_files_and_holds_each_once(
    empty_database: str,
) -> None:
    """Residents press 提交报修 and 分兑换 at once; the bot dies mid-burst; after the restart whoever saw no
    confirmation presses the same button again. Every report is one ticket with one task card, every press
    one hold; the stock and the points ledger agree."""
    result = await action_campaign(empty_database, "mixed", cycles=2, per_cycle=2, awards=4, seed=5)
    assert (result.reports, result.redemptions, result.awards) == (4, 4, 8)
    assert result.lost == [] and result.doubled == [] and result.cards_doubled == []
    assert result.unanswered == [] and result.quarantined == 0
    assert result.stock_ok and result.audit_problems == []


async def _answers(world: object, user: int, count: int, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if len(world.bot_messages(user)) >= count:  # type: ignore[attr-defined]
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    return None


async def test_sigterm_while_the_law_engine_trains_on_a_cold_start_stops_at_once_and_cleanly(
    empty_database: str, tmp_path: Path
) -> None:
    """A supervisor stops the bot (SIGTERM; Docker and systemd kill after 10 s) soon after a start on a cold
    cache, while the intent model is still training in the background: the bot stops cleanly at once instead
    of holding on until the training ends."""
    from bot.emulator.server import start_emulator

    world = await demo_world(empty_database)
    server = await start_emulator(world, "127.0.0.1", 0)
    process = _bot_process(empty_database, server.base_url, TMPDIR=str(tmp_path))
    try:
        world.user_sends_text(RESIDENT, "/points")
        assert await _answers(world, RESIDENT, 1, 90) is not None
        # The build starts half a second after start; the index alone takes seconds on a cold cache, the
        # model's training ten and more after it.
        await asyncio.sleep(3)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 10) == 0
        # It did stop during the training: the model never reached the cache.
        assert glob.glob(f"{tmp_path}/redbutler-index-*/intent-*.pickle") == []
    finally:
        if process.poll() is None:
            process.kill()
            await asyncio.to_thread(process.wait, 30)
        await server.runner.cleanup()


async def test_a_second_process_waits_and_takes_over_within_10_s(empty_database: str) -> None:
    from bot.emulator.server import start_emulator

    world = await demo_world(empty_database)
    server = await start_emulator(world, "127.0.0.1", 0)
    first = _bot_process(empty_database, server.base_url)
    second = None
    try:
        world.user_sends_text(RESIDENT, "/points")
        assert await _answers(world, RESIDENT, 1, 90) is not None
        second = _bot_process(empty_database, server.base_url)
        if not PG_URL:
            # SQLite: one bot per database; the second refuses and says why.
            code = await asyncio.to_thread(second.wait, 60)
            assert code == 3
            return
        await asyncio.sleep(8)  # the standby is up and waiting
        assert second.poll() is None
        first.kill()
        await asyncio.to_thread(first.wait, 10)
        world.user_sends_text(RESIDENT, "/points")
        took = await _answers(world, RESIDENT, 2, 30)
        assert took is not None and took <= 10
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.to_thread(process.wait, 30)
        await server.runner.cleanup()
