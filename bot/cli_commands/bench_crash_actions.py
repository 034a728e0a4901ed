"""`redbutler bench crash --scenario reports|redemptions|mixed`: residents walk real conversations against
the HTTP emulator; a burst of their final presses (提交报修, 分兑换), in `mixed` together with staff awards,
meets a kill -9 at a random moment; after the restart everyone who saw no confirmation presses the same button
again, as a person would. Counted from the database: tickets per report, vouchers per card, task cards queued
per ticket, stock and the points audit."""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli_commands.crash_world import ADMIN, RESIDENT, TARGET, _bot_process, _until, demo_world, settle
from bot.config import Settings

FIRST_EXTRA_RESIDENT = 40001
SERVICE = ("生活服务", "理发一次")
START_POINTS = 100
SERVICE_STOCK = 1000


@dataclass
class ActionResult:
    scenario: str
    cycles: int
    reports: int = 0
    redemptions: int = 0
    awards: int = 0
    broadcasts: int = 0
    messages_sent: int = 0  # announcement × recipient
    messages_doubled: list[int] = field(default_factory=list)  # per announcement (one crash each)
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    pressed_again: int = 0
    cards_doubled: list[str] = field(default_factory=list)
    stock_ok: bool = True
    audit_problems: list[str] = field(default_factory=list)
    quarantined: int = 0
    applied_at_kill: list[int] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            not (self.lost or self.doubled or self.unanswered or self.cards_doubled or self.audit_problems)
            and self.stock_ok
            and self.quarantined == 0
            and all(n <= Settings(_env_file=None).outbox_concurrency for n in self.messages_doubled)  # type: ignore[call-arg]
        )


async def _add_residents(url: str, count: int) -> list[int]:
    """`count` residents bound to the demo compound's homes, each with START_POINTS, and a service with
    stock and no per-person limit, so twenty cycles never hit a limit that is not under test."""
    from sqlalchemy import select, update

    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.models import Building, Household, Residency, Unit
    from bot.db.models.points import RewardService
    from bot.db.uow import UnitOfWorkFactory
    from bot.demo import DEMO_COMPOUND
    from bot.services.points import main_compound

    engine = make_engine(url)
    factory = UnitOfWorkFactory(make_sessionmaker(engine))
    now = datetime.now(UTC)
    ids = [FIRST_EXTRA_RESIDENT + n for n in range(count)]
    try:
        async with factory() as uow:
            # Homes of the demo compound only (the roster has a second compound with no catalogue).
            demo = await uow.community.compound_by_name(DEMO_COMPOUND)
            assert demo is not None
            homes = list(
                await uow.session.scalars(
                    select(Household.id)
                    .join(Unit, Unit.id == Household.unit_id)
                    .join(Building, Building.id == Unit.building_id)
                    .where(Building.compound_id == demo.id)
                    .order_by(Household.id)
                )
            )
            for n, telegram_id in enumerate(ids):
                person = await uow.community.add_person(
                    telegram_id=telegram_id, name=f"住户{n + 1}", language="zh_CN", now=now
                )
                uow.session.add(
                    Residency(person_id=person.id, household_id=homes[n % len(homes)], created_at=now)
                )
            await uow.session.execute(
                update(RewardService)
                .where(RewardService.name == SERVICE[1])
                .values(stock=SERVICE_STOCK, per_person_limit=None)
            )
            await uow.commit()
        for telegram_id in ids:
            async with factory() as uow:
                repo = uow.points
                resident = await uow.community.person_by_telegram(telegram_id)
                assert resident is not None
                compound_id = await main_compound(repo, resident.id)
                assert compound_id is not None
                account_id = await repo.ensure_account(resident.id, compound_id, now)
                await repo.lock_balance(account_id)
                await repo.append(
                    account_id=account_id,
                    person_id=resident.id,
                    compound_id=compound_id,
                    amount=START_POINTS,
                    kind="award",
                    earning=True,
                    key=f"bench-crash:{telegram_id}",
                    reason="社区志愿服务",
                    now=now,
                )
                await uow.commit()
    finally:
        await engine.dispose()
    return ids


class Driver:
    """A resident's thumb: act, then wait for the bot's answer (a new or edited message with a button)."""

    def __init__(self, world: Any) -> None:
        self.world = world

    def _seen(self, user: int) -> set[tuple[int, int]]:
        return {(m.message_id, m.edited) for m in self.world.bot_messages(user)}

    def with_button(self, user: int, label: str) -> Any | None:
        for message in reversed(self.world.bot_messages(user)):
            if any(label in text for text in message.button_texts):
                return message
        return None

    async def step(self, user: int, act: Any, next_label: str, timeout: float = 60) -> Any:
        seen = self._seen(user)
        act()

        async def answered() -> bool:
            message = self.with_button(user, next_label)
            return message is not None and (message.message_id, message.edited) not in seen

        if not await _until(answered, timeout):
            said = [(m.text, m.button_texts) for m in self.world.bot_messages(user)[-3:]]
            raise RuntimeError(f"{user}: no answer with {next_label!r}; the bot said {said}")
        return self.with_button(user, next_label)

    async def answer(self, user: int, act: Any, timeout: float = 60) -> None:
        """Act and wait for any new or edited message (a question with no button under it)."""
        seen = self._seen(user)
        act()

        async def answered() -> bool:
            return bool(self._seen(user) - seen)

        if not await _until(answered, timeout):
            raise RuntimeError(f"{user}: no answer")

    async def announcement(self, admin: int, title: str) -> Any:
        """/announce to every resident of the compound, up to the preview with 确认发送."""
        await self.step(admin, lambda: self.world.user_sends_text(admin, "/announce"), "普通公告")
        kinds = self.with_button(admin, "普通公告")
        await self.answer(admin, lambda: self.world.user_presses_button(admin, kinds, "普通公告"))
        await self.answer(admin, lambda: self.world.user_sends_text(admin, title))
        body = f"{title}：周五 9:00-12:00 停水，请提前储水。"
        await self.step(admin, lambda: self.world.user_sends_text(admin, body), "全小区每位住户")
        return await self.press_through(admin, ["全小区每位住户", "现在发"], "确认发送")

    async def press_through(self, user: int, labels: list[str], last: str) -> Any:
        message = self.with_button(user, labels[0])
        for label, following in zip(labels, [*labels[1:], last], strict=True):
            assert message is not None
            msg = message
            message = await self.step(
                user, lambda m=msg, lb=label: self.world.user_presses_button(user, m, lb), following
            )
        return message

    async def report_draft(self, user: int, tag: str) -> Any:
        """/report up to the confirmation card; returns it (with 提交报修)."""
        await self.step(user, lambda: self.world.user_sends_text(user, "/report"), "水电")
        await self.press_through(user, ["水电", "🏠"], "上一步")  # then the bot asks what happened
        await self.step(user, lambda: self.world.user_sends_text(user, f"卫生间漏水 {tag}"), "跳过")
        return await self.press_through(user, ["跳过", "一般"], "提交报修")  # no photo; urgency

    async def service_card(self, user: int) -> Any:
        """/points → 兑换好礼 → category → service: the card with 分兑换."""
        await self.step(user, lambda: self.world.user_sends_text(user, "/points"), "兑换好礼")
        return await self.press_through(user, ["兑换好礼", SERVICE[0], SERVICE[1]], "分兑换")


async def action_campaign(
    url: str, scenario: str, cycles: int, per_cycle: int = 4, awards: int = 10, seed: int = 16
) -> ActionResult:
    from sqlalchemy import func, select

    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.models import InboxUpdate, OutboxMessage
    from bot.db.models.announcements import Announcement
    from bot.db.models.points import PointsEntry, RewardService, Voucher
    from bot.db.models.repairs import RepairTicket
    from bot.db.uow import UnitOfWorkFactory
    from bot.emulator.server import start_emulator
    from bot.services.points_reports import audit

    rng = random.Random(seed)
    reports = scenario in ("reports", "mixed")
    redemptions = scenario in ("redemptions", "mixed")
    broadcasts = scenario == "broadcast"
    with_awards = scenario == "mixed"
    world = await demo_world(url)
    # One report per resident: a second one the same day with the same words is (rightly) taken for a repeat.
    residents = await _add_residents(url, max(2 * per_cycle, cycles * per_cycle))
    for telegram_id in residents:
        world.add_user(telegram_id, f"住户{telegram_id}")
    engine = make_engine(url)
    factory = UnitOfWorkFactory(make_sessionmaker(engine))
    server = await start_emulator(world, "127.0.0.1", 0)
    driver = Driver(world)
    result = ActionResult(scenario=scenario, cycles=cycles)
    started = time.monotonic()
    report_tags: dict[str, int] = {}  # tag → reporter
    cards: dict[str, tuple[int, Any]] = {}  # f"{user}:{message_id}" → (user, card)
    award_reasons: list[str] = []
    titles: list[str] = []  # one announcement per cycle, to every resident
    next_resident = 0

    async def pending_rows() -> int:
        async with factory() as uow:
            return int(
                await uow.session.scalar(
                    select(func.count(InboxUpdate.update_id)).where(InboxUpdate.status == "pending")
                )
                or 0
            )

    async def due_outbox() -> int:
        async with factory() as uow:
            return int(
                await uow.session.scalar(
                    select(func.count(OutboxMessage.id)).where(
                        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= datetime.now(UTC)
                    )
                )
                or 0
            )

    async with factory() as uow:
        stock_before = int(
            await uow.session.scalar(select(RewardService.stock).where(RewardService.name == SERVICE[1])) or 0
        )

    asked = 0
    unconfirmed: list[tuple[int, int, str, str]] = []  # (user, card id, button data, answer) to press again
    try:
        for cycle in range(cycles + 1):
            process = _bot_process(url, server.base_url)
            try:
                world.user_sends_text(RESIDENT, "/points")
                asked += 1

                async def ready(wanted: int = asked) -> bool:
                    answers = [m for m in world.bot_messages(RESIDENT) if (m.text or "").startswith("⭐")]
                    return (
                        len(answers) >= wanted and not world.pending_updates() and await pending_rows() == 0
                    )

                if not await _until(ready, 300):
                    raise RuntimeError("the bot did not start")
                # Whoever saw no confirmation before the crash presses the same button again.
                for user, card_id, data, wanted in unconfirmed:
                    result.pressed_again += 1
                    await _press_again(world, user, card_id, data, wanted)
                unconfirmed = []
                if cycle == cycles:
                    await settle(world, lambda: _sum(pending_rows(), due_outbox()))
                    break
                # Walk the conversations up to the last button (the bot is not killed here).
                users = [residents[(next_resident + n) % len(residents)] for n in range(per_cycle)]
                next_resident += per_cycle
                drafts: list[tuple[int, Any, str]] = []
                holds: list[tuple[int, Any]] = []
                if reports:
                    for user, card in zip(
                        users,
                        await asyncio.gather(*(driver.report_draft(u, f"c{cycle}u{u}") for u in users)),
                        strict=True,
                    ):
                        drafts.append((user, card, f"c{cycle}u{user}"))
                if redemptions:
                    for user, card in zip(
                        users, await asyncio.gather(*(driver.service_card(u) for u in users)), strict=True
                    ):
                        holds.append((user, card))
                # The burst, then kill -9 at a random moment.
                previews = []
                if broadcasts:
                    titles.append(f"停水通知第{cycle}次")  # no title is a part of another
                    previews.append(await driver.announcement(ADMIN, titles[-1]))
                before = {u: len(world.bot_messages(u)) for u in [*users, ADMIN]}
                presses: list[tuple[int, int, str, str]] = []
                for preview in previews:  # the admin, too, presses again if no confirmation came
                    data = preview.find_button("确认发送")["callback_data"]
                    presses.append((ADMIN, preview.message_id, data, "已发出"))
                for user, card, tag in drafts:
                    report_tags[tag] = user
                    presses.append(
                        (user, card.message_id, card.find_button("提交报修")["callback_data"], "BX")
                    )
                for user, card in holds:
                    cards[f"{user}:{card.message_id}"] = (user, card)
                    presses.append(
                        (user, card.message_id, card.find_button("分兑换")["callback_data"], "确认兑换")
                    )
                for user, card_id, data, _wanted in presses:
                    world.user_sends_callback(user, card_id, data, chat_id=user)
                if with_awards:
                    for index in range(awards):
                        reason = f"c{cycle}n{index}"
                        award_reasons.append(reason)
                        world.user_sends_text(ADMIN, f"/award {TARGET} 1 {reason}")
                await asyncio.sleep(rng.uniform(0.05, 2.5))
            finally:
                if process.poll() is None:
                    if cycle == cycles:
                        process.send_signal(signal.SIGTERM)
                    else:
                        process.kill()
                    await asyncio.to_thread(process.wait, 30)
            if cycle < cycles:
                applied = 0
                for press in presses:
                    user, card_id, _data, wanted = press
                    if _answered(world, user, card_id, before[user], wanted):
                        applied += 1
                    else:
                        unconfirmed.append(press)
                result.applied_at_kill.append(applied)

        async with factory() as uow:
            session = uow.session
            tickets = Counter(
                str(d).rsplit(" ", 1)[-1]
                for d in await session.scalars(
                    select(RepairTicket.description).where(RepairTicket.description.like("卫生间漏水 c%"))
                )
            )
            ticket_ids = list(
                await session.scalars(
                    select(RepairTicket.id).where(RepairTicket.description.like("卫生间漏水 c%"))
                )
            )
            vouchers = Counter(str(k) for k in await session.scalars(select(Voucher.request_key)))
            stock_after = int(
                await session.scalar(select(RewardService.stock).where(RewardService.name == SERVICE[1])) or 0
            )
            held = int(
                await session.scalar(
                    select(func.count(Voucher.id))
                    .join(RewardService, RewardService.id == Voucher.service_id)
                    .where(RewardService.name == SERVICE[1], Voucher.status.in_(("held", "active", "used")))
                )
                or 0
            )
            awarded = Counter(
                {
                    str(r): int(n)
                    for r, n in await session.execute(
                        select(PointsEntry.reason, func.count(PointsEntry.id))
                        .where(PointsEntry.kind == "award")
                        .group_by(PointsEntry.reason)
                    )
                }
            )
            result.quarantined = int(
                await session.scalar(
                    select(func.count(InboxUpdate.update_id)).where(InboxUpdate.status == "failed")
                )
                or 0
            )
            outbox_cards = Counter(
                str(key) for key in await session.scalars(select(OutboxMessage.dedupe_key)) if key is not None
            )
            # Who each announcement went to: its queued rows (ann:<id>:person:<person>).
            titles_by_id = {
                int(i): str(t) for i, t in await session.execute(select(Announcement.id, Announcement.title))
            }
            recipients: dict[str, set[int]] = {title: set() for title in titles}
            for key, chat_id in await session.execute(
                select(OutboxMessage.dedupe_key, OutboxMessage.chat_id).where(
                    OutboxMessage.dedupe_key.like("ann:%:person:%")
                )
            ):
                title = titles_by_id[int(str(key).split(":")[1])]
                recipients.setdefault(title, set()).add(int(chat_id))
        result.audit_problems = list((await audit(factory())).problems)
        for tag in report_tags:
            result.reports += 1
            if tickets[tag] == 0:
                result.lost.append(f"report {tag}")
            elif tickets[tag] > 1:
                result.doubled.append(f"report {tag} ×{tickets[tag]}")
        for key in cards:
            user, card = cards[key]
            result.redemptions += 1
            request = f"{user}:{card.message_id}:"
            mine = [k for k in vouchers if k.split(":", 1)[1].startswith(request)]
            count = sum(vouchers[k] for k in mine)
            if count == 0:
                result.lost.append(f"hold {key}")
            elif count > 1:
                result.doubled.append(f"hold {key} ×{count}")
        for reason in award_reasons:
            result.awards += 1
            if awarded[reason] == 0:
                result.lost.append(f"award {reason}")
            elif awarded[reason] > 1:
                result.doubled.append(f"award {reason} ×{awarded[reason]}")
        for ticket_id in ticket_ids:
            queued = sum(n for key, n in outbox_cards.items() if key.startswith(f"rp:task:{ticket_id}:"))
            if queued > 1:
                result.cards_doubled.append(f"ticket {ticket_id} ×{queued}")
        for title in titles:
            result.broadcasts += 1
            if title not in titles_by_id.values():
                result.lost.append(f"announcement {title}")
            doubled = 0
            for user in recipients[title]:
                got = sum(1 for m in world.bot_messages(user) if title in (m.text or ""))
                result.messages_sent += 1
                if got == 0:
                    result.lost.append(f"announcement {title} to {user}")
                doubled += max(0, got - 1)
            result.messages_doubled.append(doubled)
        result.stock_ok = stock_before - stock_after == held
        replies = "\n".join(m.text or "" for m in world.bot_messages(ADMIN))
        result.unanswered = [f"award {r}" for r in award_reasons if r not in replies]
        result.elapsed = time.monotonic() - started
        return result
    finally:
        await server.runner.cleanup()
        await engine.dispose()


def _answered(world: Any, user: int, card_id: int, since: int, wanted: str) -> bool:
    """The person saw the result: the card edited into it, or a new message with it (text or button)."""
    shown = [world.message(user, card_id), *world.bot_messages(user)[since:]]
    return any(wanted in (m.text or "") or any(wanted in b for b in m.button_texts) for m in shown)


async def _press_again(world: Any, user: int, card_id: int, data: str, wanted: str) -> None:
    since = len(world.bot_messages(user))
    world.user_sends_callback(user, card_id, data, chat_id=user)

    async def answered() -> bool:
        shown = world.bot_messages(user)[since:]
        card = world.message(user, card_id)
        return any(wanted in (m.text or "") or any(wanted in b for b in m.button_texts) for m in shown) or (
            wanted in (card.text or "") or any(wanted in b for b in card.button_texts)
        )

    if not await _until(answered, 60):
        raise RuntimeError(f"{user}: pressed again, no answer with {wanted!r}")


def print_action_campaign(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'crash.sqlite3'}"
        result = asyncio.run(
            action_campaign(url, args.scenario, args.cycles, per_cycle=args.residents, seed=args.seed)
        )
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    concurrency = Settings(_env_file=None).outbox_concurrency  # type: ignore[call-arg]
    print(f"crash campaign on {backend}, scenario {args.scenario}: {result.cycles} kill -9 during bursts")
    print(f"  reports submitted      {result.reports}")
    print(f"  redemptions pressed    {result.redemptions}")
    print(f"  awards sent            {result.awards}")
    print(f"  announcements          {result.broadcasts} ({result.messages_sent} announcement × recipient)")
    print(f"  duplicate messages     {result.messages_doubled} per crash (outbox concurrency {concurrency})")
    print(f"  pressed again after    {result.pressed_again} (no confirmation seen before the kill)")
    print(f"  lost                   {len(result.lost)} {result.lost[:5]}")
    print(f"  applied twice          {len(result.doubled)} {result.doubled[:5]}")
    print(f"  task cards doubled     {len(result.cards_doubled)}")
    print(f"  awards never answered  {len(result.unanswered)}")
    print(f"  stock = held vouchers  {'yes' if result.stock_ok else 'NO'}")
    print(f"  points audit           {'clean' if not result.audit_problems else result.audit_problems[:3]}")
    print(f"  quarantined            {result.quarantined}")
    print(f"  confirmed at kills     {result.applied_at_kill}")
    print(f"  took                   {result.elapsed:.0f} s")
    return 0 if result.ok else 1


async def _sum(*counts: Any) -> int:
    return sum([await count for count in counts])
