"""Patrol volunteers, leaders and coordinators, end to end through the Application with a fake clock."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.db.models.patrols import ShiftSignup
from tests.factories import USERS
from tests.harness import Harness, forged_callback
from tests.patrols_helpers import (
    GATE,
    activities,
    deliver,
    grant_patrol,
    last_id,
    local,
    make_route,
    make_shift,
    settle,
    texts_since,
)


async def sign_up(harness: Harness, user: int, label: str = "报名") -> tuple[dict | None, list]:  # type: ignore[type-arg]
    replies = await harness.send(user, "/patrol")
    return await harness.press(user, replies[-1], label)


async def outcomes(harness: Harness, shift_id: int) -> dict[int, str | None]:
    async with harness.services.uow() as uow:
        rows = await uow.session.scalars(select(ShiftSignup).where(ShiftSignup.shift_id == shift_id))
        return {r.person_id: r.outcome for r in rows}


async def test_volunteer_signs_up_and_is_reminded_once_even_across_a_restart(harness: Harness) -> None:
    route = await make_route(harness)
    shift = await make_shift(harness, route, "2026-11-03 19:30")
    replies = await harness.send(USERS.patrol, "/patrol")
    assert "东区路线" in (replies[-1].text or "") and "0/2" in (replies[-1].text or "")
    answer, replies = await harness.press(USERS.patrol, replies[-1], "报名")
    assert answer is not None and not answer.get("show_alert")
    assert "报名成功" in (replies[-1].text or "")
    # The list is refreshed in place: the button now cancels.
    assert any("取消" in b for b in harness.world.bot_messages(USERS.patrol)[-2].button_texts)

    await harness.restart(crash=True)
    before = last_id(harness, USERS.patrol)
    harness.clock.set(local("2026-11-02 19:59"))
    await settle(harness)
    assert texts_since(harness, USERS.patrol, before) == []
    harness.clock.set(local("2026-11-02 20:00"))
    await settle(harness)
    await settle(harness)
    sent = texts_since(harness, USERS.patrol, before)
    assert len(sent) == 1 and "明天" in sent[0] and "19:30" in sent[0]

    await harness.restart()
    harness.clock.set(local("2026-11-03 18:31"))
    await settle(harness)
    sent = texts_since(harness, USERS.patrol, before)
    assert len(sent) == 2 and "快开始" in sent[1]
    await settle(harness)
    assert len(texts_since(harness, USERS.patrol, before)) == 2
    assert shift.id


async def test_reminders_missed_while_down_are_sent_only_before_the_shift(harness: Harness) -> None:
    route = await make_route(harness)
    await make_shift(harness, route, "2026-11-03 19:30")
    await make_shift(harness, route, "2026-11-04 19:30")
    await sign_up(harness, USERS.patrol)
    replies = await harness.send(USERS.patrol, "/patrol")
    await harness.press(USERS.patrol, replies[-1], "报名 11/4")
    await harness.crash()
    # Down from Monday morning until Tuesday 19:00: the first shift's evening reminder is stale ("tomorrow" is
    # today), its hour-before one still makes sense; the second shift's evening reminder is not due yet.
    harness.clock.set(local("2026-11-03 19:00"))
    await harness.start()
    before = last_id(harness, USERS.patrol)
    await settle(harness)
    sent = texts_since(harness, USERS.patrol, before)
    assert len(sent) == 1 and "快开始" in sent[0] and "11月3日" in sent[0]
    # Down again until after the second shift has begun: nothing late is sent for it.
    await harness.crash()
    harness.clock.set(local("2026-11-04 19:45"))
    await harness.start()
    await settle(harness)
    assert len(texts_since(harness, USERS.patrol, before)) == 1


async def test_quiet_hours_hold_an_early_reminder_unless_the_shift_starts_sooner(harness: Harness) -> None:
    route = await make_route(harness)
    await make_shift(harness, route, "2026-11-03 07:30")  # hour-before = 06:30, inside quiet hours
    await make_shift(harness, route, "2026-11-03 23:00")  # hour-before = 22:00, quiet, but it starts sooner
    await grant_patrol(harness, USERS.neighbour)
    await sign_up(harness, USERS.patrol, "报名 11/3 07:30")
    await sign_up(harness, USERS.neighbour, "报名 11/3 23:00")
    before_p, before_n = last_id(harness, USERS.patrol), last_id(harness, USERS.neighbour)
    harness.clock.set(local("2026-11-03 06:40"))
    await settle(harness)
    assert not [t for t in texts_since(harness, USERS.patrol, before_p) if "快开始" in t]
    harness.clock.set(local("2026-11-03 07:00"))
    await settle(harness)
    assert [t for t in texts_since(harness, USERS.patrol, before_p) if "快开始" in t]
    harness.clock.set(local("2026-11-03 22:00"))
    await settle(harness)
    assert [t for t in texts_since(harness, USERS.neighbour, before_n) if "快开始" in t and "23:00" in t]


async def test_full_shift_waiting_list_and_promotion_after_a_cancel(harness: Harness) -> None:
    route = await make_route(harness)
    await make_shift(harness, route, "2026-11-05 19:30", capacity=1)
    await grant_patrol(harness, USERS.neighbour)
    await sign_up(harness, USERS.patrol)
    _, replies = await sign_up(harness, USERS.neighbour, "排队")
    assert "排在第 1 位" in (replies[-1].text or "")
    before = last_id(harness, USERS.neighbour)
    replies = await harness.send(USERS.patrol, "/patrol")
    _, replies = await harness.press(USERS.patrol, replies[-1], "取消")
    assert "已取消" in (replies[-1].text or "") and "协调员" not in (replies[-1].text or "")
    await deliver(harness)
    assert any("排队转为正式报名" in t for t in texts_since(harness, USERS.neighbour, before))
    replies = await harness.send(USERS.neighbour, "/patrol")
    assert "已报名" in (replies[-1].text or "")


async def test_late_cancel_tells_coordinator_and_first_taker_wins_the_offer(harness: Harness) -> None:
    route = await make_route(harness)
    await make_shift(harness, route, "2026-11-02 19:30", capacity=1)  # tonight: inside the 12-hour cut-off
    await grant_patrol(harness, USERS.neighbour, USERS.resident)
    await sign_up(harness, USERS.patrol)
    coordinator_before = last_id(harness, USERS.coordinator)
    replies = await harness.send(USERS.patrol, "/patrol")
    _, replies = await harness.press(USERS.patrol, replies[-1], "取消")
    assert "协调员" in (replies[-1].text or "")
    await deliver(harness)
    assert any(
        "临时取消" in t and "孙队长" in t for t in texts_since(harness, USERS.coordinator, coordinator_before)
    )
    offer_n = harness.last(USERS.neighbour)
    offer_r = harness.last(USERS.resident)
    assert "我来" in offer_n.button_texts[0] and "我来" in offer_r.button_texts[0]
    # Both tap "我来" at the same moment: exactly one gets the place.
    update_n = harness.world.user_presses_button(USERS.neighbour, offer_n, "我来")
    update_r = harness.world.user_presses_button(USERS.resident, offer_r, "我来")
    await asyncio.gather(harness.process(update_n), harness.process(update_r))
    answers = [harness.world.callback_answer(u["callback_query"]["id"]) or {} for u in (update_n, update_r)]
    refused = [a for a in answers if a.get("show_alert")]
    assert len(refused) == 1 and "已经有人接了" in refused[0]["text"]
    await deliver(harness)
    assert "已经接上了" in (harness.last(USERS.patrol).text or "")
    # The loser's offer no longer carries a button; the winner's says the place is theirs.
    loser, winner = (offer_r, offer_n) if refused[0] is answers[1] else (offer_n, offer_r)
    assert harness.world.message(loser.chat_id, loser.message_id).buttons == []
    assert "是您的了" in (harness.world.message(winner.chat_id, winner.message_id).text or "")
    async with harness.services.uow() as uow:
        booked = list(await uow.session.scalars(select(ShiftSignup).where(ShiftSignup.status == "booked")))
    assert len(booked) == 1


async def test_check_in_by_location_and_qr_then_completion_recorded_once(harness: Harness) -> None:
    route = await make_route(harness)
    shift = await make_shift(harness, route, "2026-11-03 19:30", capacity=3)
    await grant_patrol(harness, USERS.neighbour, USERS.resident)
    await sign_up(harness, USERS.patrol)
    await sign_up(harness, USERS.neighbour)
    # Too early: nothing to check in to.
    await harness.process(harness.world.user_sends_location(USERS.patrol, *GATE))
    assert "没有正在进行" in (harness.last(USERS.patrol).text or "")
    harness.clock.set(local("2026-11-03 19:25"))
    await harness.process(harness.world.user_sends_location(USERS.patrol, GATE[0] + 0.01, GATE[1]))
    assert "米" in (harness.last(USERS.patrol).text or "") and "签到成功" not in (
        harness.last(USERS.patrol).text or ""
    )
    await harness.process(harness.world.user_sends_location(USERS.patrol, GATE[0] + 0.0005, GATE[1]))
    assert "签到成功" in (harness.last(USERS.patrol).text or "")
    # QR: a forged code is refused; the real one works for the neighbour, who is on the shift.
    replies = await harness.open_link(USERS.neighbour, "cp_forgedcode1")
    assert "打卡码不对" in (replies[-1].text or "")
    gate_code = route.checkpoints[0][1]
    garden_code = route.checkpoints[1][1]
    harness.clock.set(local("2026-11-03 19:40"))
    replies = await harness.open_link(USERS.neighbour, f"cp_{gate_code}")
    assert "签到成功" in (replies[-1].text or "") and "1/2" in (replies[-1].text or "")
    replies = await harness.open_link(USERS.neighbour, f"cp_{garden_code}")
    assert "2/2" in (replies[-1].text or "")
    # The same sticker scanned by someone who is not on this shift is refused.
    replies = await harness.open_link(USERS.resident, f"cp_{gate_code}")
    assert "不在您现在的班次" in (replies[-1].text or "")
    # At the end: both recorded once, the report asked for; ticking again changes nothing.
    harness.clock.set(local("2026-11-03 21:31"))
    await settle(harness)
    await settle(harness)
    assert [a.source_key for a in await activities(harness, USERS.patrol)] == [
        f"shift:{shift.id}:person:{a.person_id}" for a in await activities(harness, USERS.patrol)
    ]
    assert len(await activities(harness, USERS.patrol)) == 1
    assert (await activities(harness, USERS.patrol))[0].activity_type == "patrol_shift"
    assert len(await activities(harness, USERS.neighbour)) == 1
    prompt = harness.last(USERS.patrol)
    assert "情况怎么样" in (prompt.text or "")
    await harness.press(USERS.patrol, prompt, "一切正常")
    assert "一切平安" in (harness.last(USERS.patrol).text or "")
    # The neighbour found something: it goes to the coordinator.
    before = last_id(harness, USERS.coordinator)
    _, replies = await harness.press(USERS.neighbour, harness.last(USERS.neighbour), "发现情况")
    replies = await harness.send(USERS.neighbour, "3栋楼道灯坏了")
    assert "转给协调员" in (replies[-1].text or "")
    await deliver(harness)
    assert any("3栋楼道灯坏了" in t for t in texts_since(harness, USERS.coordinator, before))


async def test_no_show_is_recorded_and_earns_nothing(harness: Harness) -> None:
    route = await make_route(harness)
    shift = await make_shift(harness, route, "2026-11-03 19:30")
    await sign_up(harness, USERS.patrol)
    harness.clock.set(local("2026-11-03 21:31"))
    await settle(harness)
    assert list((await outcomes(harness, shift.id)).values()) == ["no_show"]
    assert await activities(harness, USERS.patrol) == []


async def test_understaffed_alert_24_hours_before_and_leader_gets_the_roster(harness: Harness) -> None:
    route = await make_route(harness)
    await make_shift(harness, route, "2026-11-04 19:30", capacity=3, leader=USERS.patrol)
    await make_shift(harness, route, "2026-11-04 21:30", capacity=1)
    await grant_patrol(harness, USERS.neighbour)
    await sign_up(harness, USERS.neighbour, "报名 11/4 19:30")
    await sign_up(harness, USERS.patrol, "报名 11/4 21:30")
    before = last_id(harness, USERS.coordinator)
    harness.clock.set(local("2026-11-03 19:29"))
    await settle(harness)
    assert not [t for t in texts_since(harness, USERS.coordinator, before) if "缺人" in t]
    harness.clock.set(local("2026-11-03 19:30"))
    await settle(harness)
    alerts = [t for t in texts_since(harness, USERS.coordinator, before) if "还缺人" in t]
    assert len(alerts) == 1 and "1/3" in alerts[0]  # the full 21:30 shift raises no alert
    harness.clock.set(local("2026-11-04 18:30"))
    before_leader = last_id(harness, USERS.patrol)
    await settle(harness)
    roster = [t for t in texts_since(harness, USERS.patrol, before_leader) if "今晚" in t]
    assert roster and "黄先生" in roster[0]


async def test_roster_for_coordinators_only(harness: Harness) -> None:
    route = await make_route(harness)
    await make_shift(harness, route, "2026-11-03 19:30", capacity=2)
    await sign_up(harness, USERS.patrol)
    replies = await harness.send(USERS.coordinator, "/roster")
    text = replies[-1].text or ""
    assert "孙队长" in text and "1/2" in text and "缺人" in text
    replies = await harness.send(USERS.resident, "/roster")
    assert "没有权限" in (replies[-1].text or "") or "不能" in (replies[-1].text or "")


async def test_calendar_sends_an_ics_file_of_my_shifts(harness: Harness) -> None:
    route = await make_route(harness)
    await make_shift(harness, route, "2026-11-03 19:30")
    replies = await harness.send(USERS.patrol, "/calendar")
    assert "没有报名" in (replies[-1].text or "")
    await sign_up(harness, USERS.patrol)
    replies = await harness.send(USERS.patrol, "/calendar")
    document = replies[-1].document
    assert document is not None and document["file_name"] == "patrol-shifts.ics"
    data = harness.world.stored_file(document["file_id"])
    assert data is not None
    ics = data.data.decode()
    assert "BEGIN:VEVENT" in ics and "DTSTART:20261103T113000Z" in ics and "东区路线" in ics


async def test_bad_input_is_refused_with_a_clear_reason(harness: Harness) -> None:
    from bot.services.errors import UserFacingError

    route = await make_route(harness)
    for start, minutes, capacity, key in (
        ("2026-11-01 19:30", 120, 2, "patrols.in_past"),
        ("2026-11-03 19:30", -30, 2, "patrols.end_before_start"),
        ("2026-11-03 19:30", 120, 0, "patrols.bad_capacity"),
    ):
        try:
            await make_shift(harness, route, start, minutes=minutes, capacity=capacity)
        except UserFacingError as error:
            assert error.key == key
        else:
            raise AssertionError(f"{start} {minutes} {capacity} was accepted")
    shift = await make_shift(harness, route, "2026-11-03 19:30")
    other = await make_shift(harness, route, "2026-11-03 20:30")  # overlaps the first
    await sign_up(harness, USERS.patrol, "报名 11/3 19:30")
    # Signing up twice (an old list's button) and signing up to an overlapping shift.
    answer = await forged_press(harness, USERS.patrol, f"pa:up:{shift.id}")
    assert answer.get("show_alert") and "已经报上" in answer["text"]
    answer = await forged_press(harness, USERS.patrol, f"pa:up:{other.id}")
    assert answer.get("show_alert") and "时间重叠" in answer["text"]
    # A resident who is not a volunteer presses a forged button; a made-up shift id.
    await harness.send(USERS.resident, "/start")
    answer = await forged_press(harness, USERS.resident, f"pa:up:{shift.id}")
    assert "巡逻志愿者" in answer.get("text", "")
    answer = await forged_press(harness, USERS.patrol, "pa:up:99999")
    assert "找不到" in answer.get("text", "")
    # Weekly maximum (3 by default).
    for day in ("2026-11-04", "2026-11-05", "2026-11-06"):
        extra = await make_shift(harness, route, f"{day} 19:30")
        answer = await forged_press(harness, USERS.patrol, f"pa:up:{extra.id}")
    assert "上限" in answer.get("text", "")
    # Cancelling and signing up after the start.
    harness.clock.set(local("2026-11-03 19:31"))
    answer = await forged_press(harness, USERS.patrol, f"pa:cx:{shift.id}")
    assert "不能取消" in answer.get("text", "")
    await grant_patrol(harness, USERS.neighbour)
    await harness.send(USERS.neighbour, "/start")
    answer = await forged_press(harness, USERS.neighbour, f"pa:up:{shift.id}")
    assert "已经开始" in answer.get("text", "")


async def forged_press(harness: Harness, user: int, data: str) -> dict:  # type: ignore[type-arg]
    message = harness.last(user)
    update = forged_callback(harness.world, user, user, message.message_id, data)
    await harness.process(update)
    return harness.world.callback_answer(update["callback_query"]["id"]) or {}


async def test_an_english_speaking_volunteer_gets_everything_in_english(harness: Harness) -> None:
    replies = await harness.send(4001, "/start")
    await harness.press(4001, replies[-1], "English")
    await grant_patrol(harness, 4001)
    route = await make_route(harness)
    await make_shift(harness, route, "2026-11-03 19:30")
    replies = await harness.send(4001, "/patrol")
    listing = replies[-1].text or ""
    assert "Upcoming patrol shifts" in listing and "Tue 3/11 19:30" in listing
    _, replies = await harness.press(4001, replies[-1], "Sign up")
    assert "You're on the shift" in (replies[-1].text or "")
    harness.clock.set(local("2026-11-02 20:00"))
    await settle(harness)
    assert "Reminder: you have a patrol shift tomorrow" in (harness.last(4001).text or "")


async def test_a_finding_becomes_one_hazard_ticket_for_the_butlers(harness: Harness) -> None:
    import asyncio

    from sqlalchemy import select

    from bot.db.models.repairs import RepairTicket

    route = await make_route(harness)
    await make_shift(harness, route, "2026-11-03 19:30", capacity=3)
    await grant_patrol(harness, USERS.neighbour)
    await sign_up(harness, USERS.neighbour)
    harness.clock.set(local("2026-11-03 19:40"))
    await harness.open_link(USERS.neighbour, f"cp_{route.checkpoints[0][1]}")
    harness.clock.set(local("2026-11-03 21:31"))
    await settle(harness)
    await harness.press(USERS.neighbour, harness.last(USERS.neighbour), "发现情况")
    await harness.send(USERS.neighbour, "楼道里有人飞线充电")
    thanks = harness.last(USERS.neighbour)
    data = thanks.find_button("转为隐患报修")["callback_data"]
    # Two phones press at once: one ticket.
    await asyncio.gather(
        harness.process(harness.world.user_presses(USERS.neighbour, thanks.message_id, data)),
        harness.process(harness.world.user_presses(USERS.neighbour, thanks.message_id, data)),
    )
    async with harness.services.uow() as uow:
        tickets = list(await uow.session.scalars(select(RepairTicket)))
    assert len(tickets) == 1
    assert tickets[0].kind == "safety" and "飞线充电" in tickets[0].description
    assert "单号 BX" in (harness.world.message(USERS.neighbour, thanks.message_id).text or "")
    await deliver(harness)
    # Nobody covers 安全隐患 at a route: the property office's duty queue gets it.
    assert any("飞线充电" in t or "安全隐患" in t for t in harness.texts(USERS.manager))


async def test_a_location_from_a_resident_who_does_not_patrol_is_not_a_check_in(harness: Harness) -> None:
    await harness.process(harness.world.user_sends_location(USERS.resident, *GATE))
    text = harness.last(USERS.resident).text or ""
    assert "巡逻" not in text and "用不上" in text
