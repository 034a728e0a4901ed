"""Residents reporting: emergencies, duplicates, the daily limit, 催办, privacy, bad input, a crash."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update as sql_update

from bot.db.models import Person
from bot.services.repairs import number_of, set_policy
from tests.factories import USERS
from tests.harness import Harness, forged_callback
from tests.repairs_helpers import (
    all_texts,
    drain,
    find,
    report,
    setup_compound,
    ticket,
    tickets,
    timeline,
)


async def _place_code(harness: Harness, name: str) -> str:
    from sqlalchemy import select

    from bot.db.models.repairs import RepairPlace

    async with harness.services.uow() as uow:
        code = await uow.session.scalar(select(RepairPlace.code).where(RepairPlace.name == name))
        assert code is not None
        return str(code)


async def test_emergency_from_a_lift_poster_alerts_butler_and_supervisor_at_once(harness: Harness) -> None:
    await setup_compound(harness)
    code = await _place_code(harness, "3栋电梯")
    replies = await harness.open_link(USERS.neighbour, f"rp_{code}")
    assert any("3栋电梯" in (m.text or "") for m in replies)
    await harness.press(USERS.neighbour, harness.last(USERS.neighbour), "紧急情况")
    menu = harness.last(USERS.neighbour)
    await harness.press(USERS.neighbour, menu, "困在电梯")
    done = harness.world.message(USERS.neighbour, menu.message_id).text or ""
    # No description, photo or summary step: sent at once, with who is coming and the duty phone.
    assert "已经紧急通知" in done and "王师傅" in done and "0571-88886666" in done and "警铃" in done
    [row] = await tickets(harness)
    assert row.urgency == "emergency" and row.kind == "elevator" and row.public_label == "3栋电梯"
    await drain(harness)
    assert any("紧急报修" in t and "3栋电梯" in t for t in all_texts(harness, USERS.butler))
    assert any("紧急报修" in t for t in all_texts(harness, USERS.supervisor))
    # Emergencies have 10 minutes to be taken: at 10 the property manager is told.
    harness.clock.advance(timedelta(minutes=10))
    await harness.tick()
    await drain(harness)
    assert any("请您跟进" in t for t in all_texts(harness, USERS.manager))


async def test_emergency_without_duty_phone_points_to_the_office(harness: Harness) -> None:
    await setup_compound(harness, duty_phone=None)
    await harness.send(USERS.resident, "/report")
    await harness.press(USERS.resident, harness.last(USERS.resident), "紧急情况")
    await harness.press(USERS.resident, harness.last(USERS.resident), "燃气")
    place = harness.last(USERS.resident)
    await harness.press(USERS.resident, place, "3栋2单元501")
    text = harness.world.message(USERS.resident, place.message_id).text or ""
    assert "物业办公室" in text and "开窗" in text


async def test_duplicate_offers_to_follow_and_the_follower_gets_updates(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident, kind="🛗 电梯", spot="3栋电梯", text="电梯门关不上")
    await drain(harness)
    [row] = await tickets(harness)
    await harness.send(USERS.neighbour, "/report")
    await harness.press(USERS.neighbour, harness.last(USERS.neighbour), "🛗 电梯")
    await harness.press(USERS.neighbour, harness.last(USERS.neighbour), "公共区域")
    await harness.press(USERS.neighbour, harness.last(USERS.neighbour), "3栋电梯")
    offer = harness.last(USERS.neighbour)
    assert "已经有人报过了" in (offer.text or "") and number_of(row.id) in (offer.text or "")
    assert "张阿姨" not in (offer.text or "") and "电梯门关不上" not in (offer.text or "")
    await harness.press(USERS.neighbour, offer, "关注这一单")
    assert "已关注" in (harness.world.message(USERS.neighbour, offer.message_id).text or "")
    assert len(await tickets(harness)) == 1
    card = find(harness.world.bot_messages(USERS.butler), number_of(row.id))
    await harness.press(USERS.butler, card, "接单")
    await drain(harness)
    assert any("已经接单" in t for t in all_texts(harness, USERS.neighbour))
    replies = await harness.send(USERS.neighbour, "/mytickets")
    assert number_of(row.id) in (replies[-1].text or "")
    # The follower may hurry it up, but cannot rate it.
    update = forged_callback(
        harness.world, USERS.neighbour, USERS.neighbour, replies[-1].message_id, f"rp:rate:{row.id}:1"
    )
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "不是您的" in (answer.get("text") or "")
    assert (await ticket(harness, row.id)).rating is None


async def test_daily_limit_stops_spam_with_a_clear_message(harness: Harness) -> None:
    cid = await setup_compound(harness)
    await set_policy(harness.services.uow(), cid, daily_limit=2)
    await report(harness, USERS.resident, kind="🧹 环境卫生", spot="东门", text="门口垃圾没清")
    await report(harness, USERS.resident, kind="🌳 绿化", spot="东门", text="树枝挡路了")
    replies = await report(harness, USERS.resident, kind="📝 其他", spot="东门", text="路灯不亮")
    assert "今天已经报了 2 次" in (replies[0].text or "")
    assert len(await tickets(harness)) == 2
    harness.clock.advance(timedelta(days=1, minutes=1))
    replies = await report(harness, USERS.resident, kind="📝 其他", spot="东门", text="路灯不亮")
    assert "报修成功" in (replies[0].text or "")


async def test_urge_pings_the_butler_once_per_window_and_escalates_when_late(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident)
    await drain(harness)
    [row] = await tickets(harness)
    replies = await harness.send(USERS.resident, "/mytickets")
    _, replies = await harness.press(USERS.resident, replies[-1], number_of(row.id))
    detail = replies[-1]
    assert "王师傅" in (detail.text or "") and "进度" in (detail.text or "")
    answer, _ = await harness.press(USERS.resident, detail, "催一催")
    assert answer is not None and "已经催过" in (answer.get("text") or "")
    answer, _ = await harness.press(USERS.resident, detail, "催一催")
    assert answer is not None and "4 小时" in (answer.get("text") or "")
    await drain(harness)
    assert sum("住户催办了" in t for t in all_texts(harness, USERS.butler)) == 1
    assert (await ticket(harness, row.id)).escalation_level == 0
    # Late (2 h to accept a normal ticket) and urged again after the window: up one step at once.
    harness.clock.advance(timedelta(hours=4, minutes=1))
    answer, _ = await harness.press(USERS.resident, detail, "催一催")
    assert answer is not None and "已经催过" in (answer.get("text") or "")
    assert (await ticket(harness, row.id)).escalation_level == 1
    await drain(harness)
    assert any("请您跟进" in t for t in all_texts(harness, USERS.manager))
    assert "urged" in await timeline(harness, row.id)


async def test_a_resident_sees_only_own_or_followed_tickets(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident)
    await drain(harness)
    [row] = await tickets(harness)
    replies = await harness.send(USERS.neighbour, "/mytickets")
    assert "还没有报修记录" in (replies[-1].text or "")
    replies = await harness.send(USERS.neighbour, f"/ticket {number_of(row.id)}")
    assert "不是您的" in (replies[-1].text or "") and "501" not in (replies[-1].text or "")
    update = forged_callback(
        harness.world, USERS.neighbour, USERS.neighbour, replies[-1].message_id, f"rp:view:{row.id}"
    )
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "不是您的" in (answer.get("text") or "")
    # Someone else's urge button, forged: refused, nothing recorded.
    update = forged_callback(
        harness.world, USERS.neighbour, USERS.neighbour, replies[-1].message_id, f"rp:urg:{row.id}"
    )
    await harness.process(update)
    assert "urged" not in await timeline(harness, row.id)
    # Nothing the group ever got names a room, a phone or the reporter.
    for text in all_texts(harness, USERS.staff_group) + all_texts(harness, USERS.group):
        for secret in ("501", "张阿姨", "2单元", "0571"):
            assert secret not in text


async def test_report_survives_a_crash_in_the_middle(harness: Harness) -> None:
    await setup_compound(harness)
    await harness.send(USERS.resident, "/report")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🚰 水电")
    await harness.press(USERS.resident, harness.last(USERS.resident), "3栋2单元501")
    await harness.send(USERS.resident, "卫生间灯不亮")
    photos = harness.last(USERS.resident)
    await harness.restart(crash=True)
    await harness.press(USERS.resident, photos, "跳过")
    await harness.press(USERS.resident, harness.last(USERS.resident), "一般")
    summary = harness.last(USERS.resident)
    assert "卫生间灯不亮" in (summary.text or "") and "3栋2单元501" in (summary.text or "")
    await harness.press(USERS.resident, summary, "提交报修")
    assert "报修成功" in (harness.world.message(USERS.resident, summary.message_id).text or "")


async def test_plain_text_starts_a_report_with_the_description_filled_in(harness: Harness) -> None:
    await setup_compound(harness)
    replies = await harness.send(USERS.resident, "厨房水管漏水了")
    assert "哪方面的问题" in (replies[-1].text or "")
    await harness.press(USERS.resident, replies[-1], "🚰 水电")
    await harness.press(USERS.resident, harness.last(USERS.resident), "3栋2单元501")
    assert "照片" in (harness.last(USERS.resident).text or "")  # the description step is skipped
    await harness.press(USERS.resident, harness.last(USERS.resident), "跳过")
    await harness.press(USERS.resident, harness.last(USERS.resident), "一般")
    assert "厨房水管漏水了" in (harness.last(USERS.resident).text or "")


async def test_back_edit_and_cancel_always_work(harness: Harness) -> None:
    await setup_compound(harness)
    await harness.send(USERS.resident, "/report")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🚰 水电")
    await harness.press(USERS.resident, harness.last(USERS.resident), "上一步")
    assert "哪方面的问题" in (harness.last(USERS.resident).text or "")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🚪 门禁")
    await harness.press(USERS.resident, harness.last(USERS.resident), "公共区域")
    await harness.press(USERS.resident, harness.last(USERS.resident), "东门")
    await harness.send(USERS.resident, "门禁刷不开")
    await harness.press(USERS.resident, harness.last(USERS.resident), "跳过")
    await harness.press(USERS.resident, harness.last(USERS.resident), "比较急")
    await harness.press(USERS.resident, harness.last(USERS.resident), "修改")
    await harness.press(USERS.resident, harness.last(USERS.resident), "改描述")
    await harness.send(USERS.resident, "东门门禁刷卡没反应")
    summary = harness.last(USERS.resident)
    assert "东门门禁刷卡没反应" in (summary.text or "") and "比较急" in (summary.text or "")
    stale = summary
    replies = await harness.send(USERS.resident, "/cancel")
    assert "已取消" in (replies[-1].text or "")
    answer, _ = await harness.press(USERS.resident, stale, "提交报修")
    assert answer is not None and "过期" in (answer.get("text") or "")
    assert await tickets(harness) == []


async def test_bad_input_gets_a_clear_answer(harness: Harness) -> None:
    await setup_compound(harness)
    # An unknown or forged place code.
    replies = await harness.open_link(USERS.resident, "rp_ZZZZ9999")
    assert "不认识" in (replies[-1].text or "")
    # Not registered.
    replies = await harness.send(USERS.newcomer, "/report")
    assert "还没有绑定房屋" in (replies[-1].text or "")
    # A photo where text was expected, and text where photos were expected.
    kinds = (await harness.send(USERS.resident, "/report"))[-1]
    await harness.press(USERS.resident, harness.last(USERS.resident), "🚰 水电")
    await harness.press(USERS.resident, harness.last(USERS.resident), "3栋2单元501")
    replies = await harness.send_photo(USERS.resident)
    assert "用文字" in (replies[-1].text or "")
    replies = await harness.send(USERS.resident, "x" * 600)
    assert "太长" in (replies[-1].text or "")
    await harness.send(USERS.resident, "阳台地漏堵了")
    replies = await harness.send(USERS.resident, "还有一件事")
    assert "请发照片" in (replies[-1].text or "")
    # A button pressed twice (the kind menu, already used): stale.
    update = forged_callback(harness.world, USERS.resident, USERS.resident, kinds.message_id, "rr:k:elevator")
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "过期" in (answer.get("text") or "")


async def test_group_report_button_continues_in_private(harness: Harness) -> None:
    await setup_compound(harness)
    replies = await harness.send(USERS.resident, "/report", chat_id=USERS.group)
    button = replies[-1].find_button("私聊")
    assert button["url"].endswith("?start=rp")
    replies = await harness.open_link(USERS.resident, "rp")
    assert "哪方面的问题" in (replies[-1].text or "")


async def test_an_english_speaker_reports_in_english_and_the_butler_reads_chinese(harness: Harness) -> None:
    from bot.services.invites import create_invites

    await setup_compound(harness)
    [invite] = await create_invites(
        harness.services.uow(),
        bot_username="RedButlerBot",
        compound_name="幸福里小区",
        now=harness.clock.now(),
        building="2栋",
        unit="1单元",
        room="301",
    )
    replies = await harness.send(4001, "/start")
    await harness.press(4001, replies[-1], "English")
    await harness.open_link(4001, f"inv_{invite.code}")
    replies = await harness.send(4001, "/report")
    assert "What kind of problem" in (replies[-1].text or "")
    await harness.press(4001, replies[-1], "Water & power")
    await harness.press(4001, harness.last(4001), "2栋1单元301")
    await harness.send(4001, "The bathroom tap drips all night")
    await harness.press(4001, harness.last(4001), "No photos")
    await harness.press(4001, harness.last(4001), "Normal")
    summary = harness.last(4001)
    await harness.press(4001, summary, "Send the report")
    assert "Reported!" in (harness.world.message(4001, summary.message_id).text or "")
    await drain(harness)
    card = find(harness.world.bot_messages(USERS.butler), "有新的报修")
    assert "2栋1单元301" in (card.text or "") and "The bathroom tap" in (card.text or "")


async def test_a_menu_button_at_the_describe_step_is_not_taken_as_the_description(harness: Harness) -> None:
    await harness.send(USERS.resident, "/report")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🚰 水电")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🏠")
    replies = await harness.send(USERS.resident, "⚖️ 法律问答")
    assert replies and "第1254条" in "".join(m.text or "" for m in replies)
    assert await tickets(harness) == []
    # The report was left, not half-kept: text now goes where free text goes, not into a description.
    replies = await harness.send(USERS.resident, "厨房水管漏水了")
    assert await tickets(harness) == []


HAN = re.compile(r"[\u4e00-\u9fff]")


def _in_chinese(text: str | None) -> bool:
    """Chinese words beyond the butler's name (names are not translated)."""
    return HAN.search((text or "").replace("王师傅", "")) is not None


async def test_a_resident_who_reported_in_english_is_told_in_english_at_every_step(harness: Harness) -> None:
    await setup_compound(harness)
    # Registered through the bot, never chose a language (the roster gave none).
    async with harness.services.uow() as uow:
        await uow.session.execute(
            sql_update(Person).where(Person.telegram_id == USERS.neighbour).values(language=None)
        )
        await uow.commit()
    user = USERS.neighbour
    await harness.send(user, "my kitchen pipe is leaking")
    for label in ("🚰 Water & power", "🏠 1栋1单元101", "⏭ No photos, skip", "Normal", "✅ Send the report"):
        await harness.press(user, harness.last(user), label)
    [row] = await tickets(harness)
    await drain(harness)
    card = find(harness.world.bot_messages(USERS.butler), "有新的报修")  # the butler keeps his Chinese
    await harness.press(USERS.butler, card, "接单")
    await drain(harness)
    accepted = find(harness.world.bot_messages(user), number_of(row.id))
    assert "has taken your ticket" in (accepted.text or ""), accepted.text
    assert "Water & power" in (accepted.text or "") and not _in_chinese(accepted.text)

    await harness.press(USERS.butler, harness.world.message(USERS.butler, card.message_id), "完成")
    await harness.send_photo(USERS.butler)
    await drain(harness)
    done = find(harness.world.bot_messages(user), "is done")
    assert not _in_chinese(done.text), done.text
    assert "❌ Not fixed" in done.button_texts and "5⭐" in done.button_texts
    await harness.press(user, done, "5⭐")
    rated = harness.world.message(user, done.message_id).text or ""
    assert rated and not _in_chinese(rated), rated
    replies = await harness.send(user, "very patient, thanks")
    assert replies and not _in_chinese(replies[-1].text), replies[-1].text
    assert (await ticket(harness, row.id)).rating == 5
