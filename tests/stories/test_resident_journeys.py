"""Residents' journeys of issue 12: the approval brings the menu, and the other small dead ends."""

from __future__ import annotations

from tests.factories import COMPOUND, USERS
from tests.harness import Harness


async def test_an_approved_join_request_brings_the_menu(harness: Harness) -> None:
    replies = await harness.send(USERS.newcomer, "/register")
    await harness.press(USERS.newcomer, replies[-1], "申请加入")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), COMPOUND)
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "3栋")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "1单元")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "402")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "发送申请")
    await harness.drain_outbox()
    await harness.press(USERS.building_leader, harness.last(USERS.building_leader), "同意")
    await harness.drain_outbox()
    news = harness.last(USERS.newcomer)
    assert "申请已经通过" in (news.text or "") and "/start" not in (news.text or "")
    menu = harness.world.reply_keyboard(USERS.newcomer)
    assert menu is not None
    labels = [b if isinstance(b, str) else b["text"] for row in menu["keyboard"] for b in row]
    assert "🔧 报修" in labels and "🏠 绑定房屋" not in labels
