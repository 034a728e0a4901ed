"""Each role's keyboard starts with its daily work, and staff have it before choosing a language."""

from __future__ import annotations

from typing import Any

from tests.factories import USERS
from tests.harness import Harness


def keyboard(harness: Harness, chat_id: int) -> list[dict[str, Any]]:
    shown = harness.world.reply_keyboard(chat_id)
    assert shown is not None, "no reply keyboard"
    return [b if isinstance(b, dict) else {"text": b} for row in shown["keyboard"] for b in row]


def labels(harness: Harness, chat_id: int) -> list[str]:
    return [b["text"] for b in keyboard(harness, chat_id)]


async def test_staff_get_their_keyboard_before_choosing_a_language(harness: Harness) -> None:
    replies = await harness.send(USERS.butler, "/start")
    assert "请选择语言" in (replies[-1].text or "")
    assert labels(harness, USERS.butler)[0] == "📋 我的任务"
    await harness.press(USERS.butler, replies[-1], "中文")
    assert labels(harness, USERS.butler)[0] == "📋 我的任务"
    tasks = await harness.send(USERS.butler, "📋 我的任务")
    assert "没有待办" in (tasks[-1].text or "")


async def test_each_role_sees_its_daily_work_first(harness: Harness) -> None:
    expected = {
        USERS.merchant: "🎫 核销",
        USERS.supervisor: "📊 看板",
        USERS.patrol: "📍 签到",
        USERS.manager: "📋 我的任务",
    }
    for user, label in expected.items():
        replies = await harness.send(user, "/start")
        await harness.press(user, replies[-1], "中文")
        assert labels(harness, user)[0] == label, (user, labels(harness, user))
    await harness.send(USERS.resident, "/start")
    resident = labels(harness, USERS.resident)
    assert not {"📋 我的任务", "🎫 核销", "📊 看板", "📍 签到"} & set(resident)

    board = await harness.send(USERS.supervisor, "📊 看板")
    assert "幸福里" in (board[-1].text or "")
    verify = await harness.send(USERS.merchant, "🎫 核销")
    assert "兑换码" in (verify[-1].text or "")


async def test_the_check_in_button_shares_the_location(harness: Harness) -> None:
    replies = await harness.send(USERS.patrol, "/start")
    await harness.press(USERS.patrol, replies[-1], "中文")
    [checkin] = [b for b in keyboard(harness, USERS.patrol) if b["text"] == "📍 签到"]
    assert checkin.get("request_location") is True
    # Pressed outside a shift: the location arrives and the volunteer is told when check-in opens.
    await harness.process(harness.world.user_sends_location(USERS.patrol, 30.57, 104.06))
    assert "没有正在进行的巡逻班次" in (harness.last(USERS.patrol).text or "")


async def test_the_merchant_presses_verify_and_types_the_code(harness: Harness) -> None:
    from tests.points_helpers import give_points, seed_catalogue, vouchers
    from tests.stories.test_points import code_of, redeem

    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await give_points(uf, USERS.resident, 20, harness.clock.now(), "menu-verify")
    card = await redeem(harness, USERS.resident, "医疗保健", "测血压血糖")
    _, replies = await harness.press(USERS.resident, card, "确认兑换")
    code = code_of(replies[-1])

    ask = await harness.send(USERS.merchant, "🎫 核销")
    assert "请把顾客的兑换码发给我" in (ask[-1].text or "")
    wrong = await harness.send(USERS.merchant, "ZZZZ9999")
    assert "没有找到这张兑换券" in (wrong[-1].text or "")
    done = await harness.send(USERS.merchant, code.lower())
    assert "核销成功" in (done[-1].text or "")
    assert [v.status for v in await vouchers(uf)] == ["used"]
    # The flow has ended: the next text is not taken as a code.
    after = await harness.send(USERS.merchant, "ABCD2345")
    assert "没有找到这张兑换券" not in (after[-1].text or "")
