"""报修 → 派单 → 处理 → 回访: residents, butlers, the manager and the supervisor close the loop together."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from bot.services.repairs import number_of
from tests.factories import USERS
from tests.harness import Harness, forged_callback
from tests.repairs_helpers import (
    SECOND_BUTLER,
    add_butler,
    all_texts,
    drain,
    find,
    group_card,
    person_id,
    report,
    setup_compound,
    ticket,
    tickets,
    timeline,
)


async def test_whole_loop_report_accept_complete_rate(harness: Harness) -> None:
    await setup_compound(harness)
    replies = await report(harness, USERS.resident, photos=2)
    done = find(replies, "报修成功")
    number = re.search(r"BX\d{5}", done.text or "")
    assert number is not None and "王师傅" in (done.text or "")
    [row] = await tickets(harness)
    assert row.place_label == "3栋2单元501" and len(row.photos) == 2 and row.status == "open"

    await drain(harness)
    card = find(harness.world.bot_messages(USERS.butler), "有新的报修")
    assert number.group() in (card.text or "")
    assert "3栋2单元501" in (card.text or "") and "厨房水管接头漏水" in (card.text or "")
    # The photos follow the card.
    photos = [m for m in harness.world.bot_messages(USERS.butler) if m.kind == "photo"]
    assert len(photos) == 2 and all(number.group() in (m.text or "") for m in photos)
    # The staff group's card: no room, no phone, no reporter's name.
    group = group_card(harness, number.group())
    assert "3栋" in (group.text or "")
    for secret in ("501", "张阿姨", "2单元", "1380000"):
        assert secret not in (group.text or "")

    answer, _ = await harness.press(USERS.butler, card, "接单")
    assert answer is not None and "接单成功" in (answer.get("text") or "")
    await drain(harness)
    assert any("王师傅 已经接单" in t for t in all_texts(harness, USERS.resident))
    assert "处理中" in (harness.world.message(USERS.staff_group, group.message_id).text or "")
    assert "王师傅" in (harness.world.message(USERS.staff_group, group.message_id).text or "")

    card = harness.world.message(USERS.butler, card.message_id)
    await harness.press(USERS.butler, card, "完成")
    replies = await harness.send_photo(USERS.butler)
    assert "已标记完成" in (replies[-1].text or "")
    await drain(harness)
    resolved = find(harness.world.bot_messages(USERS.resident), "处理好了")
    assert harness.world.bot_messages(USERS.resident)[-1].kind == "photo"  # the result photo
    await harness.press(USERS.resident, resolved, "5⭐")
    assert "谢谢您" in (harness.world.message(USERS.resident, resolved.message_id).text or "")
    replies = await harness.send(USERS.resident, "师傅很耐心，谢谢")
    assert "记下了" in (replies[-1].text or "")
    # A second press (an old client): nothing changes, told kindly.
    update = forged_callback(
        harness.world, USERS.resident, USERS.resident, resolved.message_id, f"rp:rate:{row.id}:1"
    )
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "已经评过" in (answer.get("text") or "")
    row = await ticket(harness, row.id)
    assert row.status == "closed" and row.rating == 5 and row.rating_comment == "师傅很耐心，谢谢"
    assert row.result_photo
    await drain(harness)
    assert any("⭐⭐⭐⭐⭐" in t for t in all_texts(harness, USERS.butler))
    assert await timeline(harness, row.id) == [
        "created",
        "assigned",
        "accepted",
        "resolved",
        "rated",
        "commented",
    ]


async def test_two_butlers_press_accept_at_once_exactly_one_wins(harness: Harness) -> None:
    await setup_compound(harness)
    await add_butler(harness)
    await report(harness, USERS.resident, kind="🛗 电梯", spot="3栋电梯", text="电梯按钮不亮")
    await drain(harness)
    [row] = await tickets(harness)
    card = group_card(harness, number_of(row.id))
    data = card.find_button("接单")["callback_data"]
    first = harness.world.user_presses(USERS.butler, card.message_id, data, chat_id=USERS.staff_group)
    second = harness.world.user_presses(SECOND_BUTLER, card.message_id, data, chat_id=USERS.staff_group)
    await asyncio.gather(harness.process(first), harness.process(second))
    answers = [harness.world.callback_answer(u["callback_query"]["id"]) for u in (first, second)]
    texts = [(a or {}).get("text") or "" for a in answers]
    assert sum("接单成功" in t for t in texts) == 1
    loser = next(t for t in texts if "接单成功" not in t)
    row = await ticket(harness, row.id)
    winner_name = "李师傅" if row.assignee_id == await person_id(harness, SECOND_BUTLER) else "王师傅"
    assert "慢了一步" in loser and winner_name in loser
    assert row.status == "accepted"
    assert (await timeline(harness, row.id)).count("accepted") == 1
    await drain(harness)
    edited = harness.world.message(USERS.staff_group, card.message_id)
    assert "处理中" in (edited.text or "") and edited.button_texts == []
    # A late press on the old card is told who took it.
    update = forged_callback(harness.world, USERS.butler, USERS.staff_group, card.message_id, data)
    await harness.process(update)
    late = harness.world.callback_answer(update["callback_query"]["id"])
    assert late is not None and (
        "慢了一步" in (late.get("text") or "") or "已经接了" in (late.get("text") or "")
    )


async def test_missed_limit_climbs_the_ladder_and_survives_a_restart(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident, urgency="比较急")
    await drain(harness)
    [row] = await tickets(harness)
    # Urgent: 30 minutes to accept; the reminder comes at 70%.
    harness.clock.advance(timedelta(minutes=22))
    await harness.tick()
    await drain(harness)
    assert any("还没接" in t for t in all_texts(harness, USERS.butler))
    await harness.restart(crash=True)
    harness.clock.advance(timedelta(minutes=9))
    await harness.tick()
    await harness.tick()  # a second sweep sends nothing twice
    await drain(harness)
    manager = [t for t in all_texts(harness, USERS.manager) if "请您跟进" in t]
    assert len(manager) == 1 and "3栋2单元501" in manager[0]
    assert (await ticket(harness, row.id)).escalation_level == 1
    assert not any("请您跟进" in t for t in all_texts(harness, USERS.supervisor))
    harness.clock.advance(timedelta(minutes=31))
    await harness.restart()
    await harness.tick()
    await drain(harness)
    assert sum("请您跟进" in t for t in all_texts(harness, USERS.supervisor)) == 1
    assert (await ticket(harness, row.id)).escalation_level == 2
    assert (await timeline(harness, row.id)).count("escalated") == 2
    # The supervisor's board shows it as late.
    replies = await harness.send(USERS.supervisor, "/board")
    assert number_of(row.id) in (replies[-1].text or "") and "超时" in (replies[-1].text or "")


async def test_not_fixed_reopens_then_unrated_ticket_closes_itself(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident)
    await drain(harness)
    [row] = await tickets(harness)
    card = find(harness.world.bot_messages(USERS.butler), number_of(row.id))
    await harness.press(USERS.butler, card, "接单")
    await harness.press(USERS.butler, harness.world.message(USERS.butler, card.message_id), "完成")
    await harness.press(USERS.butler, harness.last(USERS.butler), "直接完成")
    await drain(harness)
    resolved = find(harness.world.bot_messages(USERS.resident), "处理好了")
    await harness.press(USERS.resident, resolved, "没修好")
    assert "重新处理" in (harness.world.message(USERS.resident, resolved.message_id).text or "")
    assert (await ticket(harness, row.id)).status == "accepted"
    await drain(harness)
    assert any("没修好" in t for t in all_texts(harness, USERS.butler))
    again = find(harness.world.bot_messages(USERS.butler), "没修好")
    await harness.press(USERS.butler, again, "完成")
    await harness.press(USERS.butler, harness.last(USERS.butler), "直接完成")
    # Two days later the resident presses 催一催? No: it's resolved. The clock counts from the last action.
    harness.clock.advance(timedelta(days=2, hours=23))
    await harness.tick()
    assert (await ticket(harness, row.id)).status == "resolved"
    harness.clock.advance(timedelta(hours=2))
    await harness.tick()
    await drain(harness)
    row = await ticket(harness, row.id)
    assert row.status == "closed" and row.close_reason == "auto"
    assert any("自动结单" in t for t in all_texts(harness, USERS.resident))
    # The "not fixed" button of the second notice, pressed now: closed and archived.
    resolved = find(harness.world.bot_messages(USERS.resident), "处理好了")
    answer, _ = await harness.press(USERS.resident, resolved, "没修好")
    assert answer is not None and "结单归档" in (answer.get("text") or "")
    assert await timeline(harness, row.id) == [
        "created",
        "assigned",
        "accepted",
        "resolved",
        "reopened",
        "resolved",
        "auto_closed",
    ]


async def test_several_residents_report_at_the_same_time_and_each_sees_only_their_own(
    harness: Harness,
) -> None:
    await setup_compound(harness)

    async def walk(user: int, steps: list[tuple[str, str]]) -> None:
        for kind, value in steps:
            if kind == "send":
                await harness.send(user, value)
            else:
                await harness.press(user, harness.last(user), value)
            await asyncio.sleep(0)

    resident = [
        ("send", "🔧 报修"),
        ("press", "🚰 水电"),
        ("press", "3栋2单元501"),
        ("send", "马桶水箱一直流水"),
    ]
    resident += [("press", "跳过"), ("press", "一般"), ("press", "提交报修")]
    neighbour = [
        ("send", "/report"),
        ("press", "🚰 水电"),
        ("press", "1栋1单元101"),
        ("send", "电表箱冒烟味"),
    ]
    neighbour += [("press", "跳过"), ("press", "比较急"), ("press", "提交报修")]
    await asyncio.gather(walk(USERS.resident, resident), walk(USERS.neighbour, neighbour))
    rows = await tickets(harness)
    assert sorted(r.place_label for r in rows) == ["1栋1单元101", "3栋2单元501"]
    mine = (await harness.send(USERS.resident, "/mytickets"))[-1].text or ""
    theirs = (await harness.send(USERS.neighbour, "/mytickets"))[-1].text or ""
    assert "3栋2单元501" in mine and "1栋1单元101" not in mine
    assert "1栋1单元101" in theirs and "3栋2单元501" not in theirs
    await drain(harness)
    replies = await harness.send(USERS.butler, "/tasks")
    assert all(number_of(r.id) in (replies[-1].text or "") for r in rows)
