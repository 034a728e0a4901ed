"""Set-up shared by the patrol, event and announcement stories: routes, shifts, volunteers, a group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.db.models import ActivityRecord, GroupChat, Person, StaffRole
from bot.services import patrols
from tests.factories import COMPOUND, USERS
from tests.harness import Harness

TZ = ZoneInfo("Asia/Shanghai")
GATE = (31.2300, 121.4700)
GARDEN = (31.2310, 121.4712)


def local(text: str) -> datetime:
    """'2026-11-03 19:30' in Shanghai → aware UTC."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=TZ).astimezone(UTC)


async def compound_id(harness: Harness) -> int:
    async with harness.services.uow() as uow:
        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        return compound.id


async def make_route(harness: Harness) -> patrols.RouteView:
    return await patrols.create_route(
        harness.services.uow(),
        compound_id=await compound_id(harness),
        name="东区路线",
        checkpoints=[("东门", *GATE), ("中心花园", *GARDEN)],
        now=harness.clock.now(),
        radius_m=200,
    )


async def make_shift(
    harness: Harness,
    route: patrols.RouteView,
    start: str,
    *,
    minutes: int = 120,
    capacity: int = 2,
    leader: int | None = None,
) -> patrols.ShiftView:
    begin = local(start)
    view = await patrols.create_shift(
        harness.services.uow(),
        actor_telegram_id=USERS.coordinator,
        route_id=route.id,
        starts_at=begin,
        ends_at=begin + timedelta(minutes=minutes),
        capacity=capacity,
        now=harness.clock.now(),
        leader_telegram_id=leader,
    )
    assert harness.services.scheduler is not None
    await harness.services.scheduler.rearm()  # the shift was made here, outside any handler
    return view


async def grant_patrol(harness: Harness, *telegram_ids: int) -> None:
    cid = await compound_id(harness)
    async with harness.services.uow() as uow:
        for telegram_id in telegram_ids:
            person = await uow.community.person_by_telegram(telegram_id)
            assert person is not None
            uow.session.add(
                StaffRole(
                    person_id=person.id,
                    role="patrol",
                    compound_id=cid,
                    active=True,
                    source="roster",
                    created_at=harness.clock.now(),
                )
            )
        await uow.commit()


async def link_group(harness: Harness, chat_id: int = USERS.group, *, bot_admin: bool = True) -> None:
    cid = await compound_id(harness)
    async with harness.services.uow() as uow:
        uow.session.add(
            GroupChat(chat_id=chat_id, title="幸福里业主群", compound_id=cid, purpose="residents")
        )
        await uow.commit()
    if bot_admin:
        harness.world.make_admin(chat_id, harness.world.bot_id)


async def activities(harness: Harness, telegram_id: int) -> list[ActivityRecord]:
    async with harness.services.uow() as uow:
        return list(
            await uow.session.scalars(
                select(ActivityRecord)
                .join(Person, Person.id == ActivityRecord.person_id)
                .where(Person.telegram_id == telegram_id)
            )
        )


async def deliver(harness: Harness) -> None:
    """Send everything queued, keeping the flood limits (the harness's drain stops at the first wait)."""
    assert harness.services.sender is not None
    await harness.services.sender.drain(wait_for_limits=True)


async def settle(harness: Harness) -> None:
    """What the running bot does on its own: process due work, then send the outbox."""
    await harness.tick()
    await deliver(harness)


def texts_since(harness: Harness, chat_id: int, before: int) -> list[str]:
    return [m.text or "" for m in harness.world.bot_messages(chat_id) if m.message_id > before]


def last_id(harness: Harness, chat_id: int) -> int:
    history = harness.world.chat_history(chat_id)
    return history[-1].message_id if history else 0
