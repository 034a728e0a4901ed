"""Points earned end to end from the other capabilities: a completed patrol shift and an attended event."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db.models.points import PointsEntry
from bot.services import events, patrols
from bot.services.events import EventDraft
from tests.factories import USERS
from tests.harness import Harness
from tests.patrols_helpers import GATE, local, make_route, make_shift, settle
from tests.points_helpers import assert_audit_ok, balance, compound_id, seed_catalogue


async def test_a_completed_patrol_shift_earns_points_once(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    route = await make_route(harness)
    shift = await make_shift(harness, route, "2026-11-03 19:30", capacity=3)
    await patrols.sign_up(
        harness.services.uow(), harness.services.translator, USERS.patrol, shift.id, harness.clock.now()
    )
    harness.clock.set(local("2026-11-03 19:25"))
    await harness.process(harness.world.user_sends_location(USERS.patrol, GATE[0] + 0.0005, GATE[1]))
    assert "签到成功" in (harness.last(USERS.patrol).text or "")

    harness.clock.set(local("2026-11-03 21:31"))
    await settle(harness)
    await settle(harness)  # the shift is closed once, the points are paid once

    assert await balance(uf, USERS.patrol) == 2
    assert any("「平安巡逻」获得 2 分" in t for t in harness.texts(USERS.patrol))
    replies = await harness.send(USERS.patrol, "/points")
    assert "您现在有 2 分" in (replies[-1].text or "") and "平安巡逻" in (replies[-1].text or "")
    async with uf() as uow:
        entry = await uow.session.scalar(select(PointsEntry))
        assert entry is not None
        assert entry.idempotency_key == f"activity:shift:{shift.id}:person:{entry.person_id}"
        assert entry.ref_type == "activity" and entry.kind == "earn"
    await assert_audit_ok(uf)


async def test_checking_in_at_a_party_day_earns_points_once(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    start = local("2026-11-10 09:00")
    event = await events.create_event(
        harness.services.uow(),
        harness.services.translator,
        USERS.coordinator,
        EventDraft(
            compound_id=await compound_id(uf),
            title="十一月主题党日",
            place="党群服务中心",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            capacity=20,
            audience="everyone",
            event_type="party_day",
        ),
        harness.clock.now(),
    )
    await events.rsvp(harness.services.uow(), USERS.resident, "张阿姨", event.id, harness.clock.now())
    harness.clock.set(local("2026-11-10 09:05"))

    replies = await harness.send(USERS.resident, f"/checkin {event.checkin_code}")
    assert "签到成功" in (replies[-1].text or "")
    await harness.send(USERS.resident, f"/checkin {event.checkin_code}")  # twice: still once

    assert await balance(uf, USERS.resident) == 2
    replies = await harness.send(USERS.resident, "我还有多少积分")
    assert "您现在有 2 分" in (replies[-1].text or "") and "主题党日" in (replies[-1].text or "")
    await assert_audit_ok(uf)
