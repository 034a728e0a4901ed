"""A resident may leave a phone for the butler; only the butler calls; both sides message via the bot."""

from __future__ import annotations

from bot.services.repairs import number_of
from tests.factories import USERS
from tests.harness import Harness, forged_callback
from tests.repairs_helpers import drain, find, report, setup_compound, tickets


async def _accepted_card(harness: Harness) -> tuple[int, object]:
    await drain(harness)
    [row] = await tickets(harness)
    card = find(harness.world.bot_messages(USERS.butler), number_of(row.id))
    await harness.press(USERS.butler, card, "接单")
    await drain(harness)
    return row.id, harness.world.message(USERS.butler, card.message_id)


async def test_a_shared_phone_reaches_the_assignee_only_and_messages_go_both_ways(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident, text="厨房水管接头漏水")
    ask = harness.last(USERS.resident)
    assert "方便留个电话吗" in (ask.text or "")
    shown = harness.world.reply_keyboard(USERS.resident)
    assert shown is not None
    share = shown["keyboard"][0][0]
    assert share["text"] == "📞 留下我的电话" and share["request_contact"] is True
    await harness.process(harness.world.user_sends_contact(USERS.resident, "+8613912345678"))
    assert "电话记下了" in (harness.last(USERS.resident).text or "")

    ticket_id, card = await _accepted_card(harness)
    assert "📞 打电话给住户" in card.button_texts and "💬 给对方留言" in card.button_texts  # type: ignore[attr-defined]
    await harness.press(USERS.butler, card, "打电话给住户")  # type: ignore[arg-type]
    contacts = [m for m in harness.world.bot_messages(USERS.butler) if m.contact]
    assert contacts and contacts[-1].contact["phone_number"] == "+8613912345678"
    # Nobody else gets the number: not the manager (forging the button), never the staff group.
    seen = (await harness.send(USERS.manager, "/help"))[-1]
    update = forged_callback(
        harness.world, USERS.manager, USERS.manager, seen.message_id, f"rp:tel:{ticket_id}"
    )
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "只有接这一单的师傅" in (answer.get("text") or "")
    assert not any("13912345678" in (m.text or "") for m in harness.world.bot_messages(USERS.staff_group))

    await harness.press(USERS.butler, card, "给对方留言")  # type: ignore[arg-type]
    assert "请输入要转给 张阿姨 的话" in (harness.last(USERS.butler).text or "")
    replies = await harness.send(USERS.butler, "我半小时后到，家里有人吗？")
    assert "已经转给 张阿姨" in (replies[-1].text or "")
    await drain(harness)
    note = harness.last(USERS.resident)
    assert "王师傅" in (note.text or "") and "我半小时后到" in (note.text or "")
    await harness.press(USERS.resident, note, "回复")
    await harness.send(USERS.resident, "有人，我在家")
    await drain(harness)
    assert "有人，我在家" in (harness.last(USERS.butler).text or "")
    assert "张阿姨" in (harness.last(USERS.butler).text or "")


async def test_without_a_phone_there_is_no_call_button_and_skipping_is_remembered(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident, text="卫生间灯不亮")
    assert "方便留个电话吗" in (harness.last(USERS.resident).text or "")
    await harness.process(harness.world.user_replies_keyboard(USERS.resident, "不用了"))
    assert "好的" in (harness.last(USERS.resident).text or "")
    menu = harness.world.reply_keyboard(USERS.resident)
    assert menu is not None and any("报修" in str(b) for row in menu["keyboard"] for b in row)
    _ticket_id, card = await _accepted_card(harness)
    assert "💬 给对方留言" in card.button_texts  # type: ignore[attr-defined]
    assert "📞 打电话给住户" not in card.button_texts  # type: ignore[attr-defined]
    await report(harness, USERS.resident, kind="🛗 电梯", text="电梯按钮不亮")
    assert "方便留个电话吗" not in (harness.last(USERS.resident).text or "")
