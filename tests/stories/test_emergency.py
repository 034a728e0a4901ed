"""Emergencies typed in free text, from any state: one message with what to do now and one button; the
confirm alerts the on-duty butler, the property manager and the supervisor once. No dead ends in a flow."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.db.models.delivery import OutboxMessage
from bot.emulator.core import Message
from tests.factories import USERS
from tests.harness import Harness, forged_callback
from tests.points_helpers import seed_catalogue
from tests.repairs_helpers import all_texts, drain, find, setup_compound, ticket, tickets

CONFIRM = "确认，马上通知物业"

# What a resident types, the ticket's kind of work, the public number the advice must give.
KINDS = {
    "lift": ("电梯里有人被困了，快来人", "elevator", "96333"),
    "gas": ("家里有煤气味", "safety", "119"),
    "fire": ("楼道着火了好多烟", "safety", "119"),
    "electric": ("楼道电箱冒火花了", "plumbing_electric", "电闸"),
    "water": ("水管爆了家里全是水", "plumbing_electric", "总水阀"),
    "medical": ("楼下有个老人晕倒了", "safety", "120"),
    "violence": ("有人拿刀在楼下砍人", "safety", "110"),
}


async def outbox_texts(harness: Harness, telegram_id: int) -> list[str]:
    """What the outbox holds for one person (queued or sent): the alerts, before and after delivery."""
    async with harness.services.uow() as uow:
        rows = await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == telegram_id))
        return [str((row.payload or {}).get("text", "")) for row in rows]


def alerts(texts: list[str], number: str) -> list[str]:
    return [t for t in texts if number in t]


async def finish_report(harness: Harness, user: int, description: str) -> None:
    """From the description step on: describe, no photos, normal urgency, submit."""
    await harness.send(user, description)
    for button in ("跳过", "一般", "提交报修"):
        await harness.press(user, harness.last(user), button)


def confirm_data(advice: Message) -> str:
    assert advice.reply_markup is not None
    return str(advice.reply_markup["inline_keyboard"][0][0]["callback_data"])


async def confirm(harness: Harness, user: int, advice: Message, chat_id: int | None = None) -> str:
    await harness.press(user, advice, CONFIRM)
    return harness.world.message(chat_id or user, advice.message_id).text or ""


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_kind_typed_by_a_resident_alerts_butler_manager_and_supervisor_once(
    harness: Harness, kind: str
) -> None:
    await setup_compound(harness)
    text, work, number_or_step = KINDS[kind]
    replies = await harness.send(USERS.resident, text)
    [advice] = replies  # one message: what to do now, and the button
    assert number_or_step in (advice.text or "")
    assert advice.button_texts == ["🚨 " + CONFIRM]
    data = confirm_data(advice)
    assert await tickets(harness) == []  # nobody is alerted before the confirm

    done = await confirm(harness, USERS.resident, advice)
    [row] = await tickets(harness)
    assert row.urgency == "emergency" and row.kind == work and row.place_label == "3栋2单元501"
    assert text in row.description
    assert "已经紧急通知" in done and "BX" in done and "0571-88886666" in done
    coming = "王师傅" if work != "safety" else "物业值班人员"
    assert coming in done

    # Pressed again (the other phone still shows the button): the same ticket, no new alert.
    update = forged_callback(harness.world, USERS.resident, USERS.resident, advice.message_id, data)
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and not answer.get("show_alert")
    assert harness.world.message(USERS.resident, advice.message_id).text == done
    assert len(await tickets(harness)) == 1

    number = f"BX{row.id:05d}"
    await drain(harness)
    supervisor = alerts(await outbox_texts(harness, USERS.supervisor), number)
    manager = alerts(await outbox_texts(harness, USERS.manager), number)
    butler = alerts(await outbox_texts(harness, USERS.butler), number)
    assert len(supervisor) == 1 and "紧急报修提醒" in supervisor[0]
    assert len(manager) == 1 and "紧急" in manager[0]
    if work != "safety":  # 王师傅 covers 水电 and 电梯 in the resident's building
        assert len(butler) == 1 and "紧急报修" in butler[0] and "3栋2单元501" in butler[0]
    else:  # nobody covers 安全隐患: the duty queue, and the manager's card has the accept button
        assert butler == []
    assert any(number in t for t in all_texts(harness, USERS.supervisor))


async def test_two_phones_press_confirm_at_once_one_alert(harness: Harness) -> None:
    await setup_compound(harness)
    [advice] = await harness.send(USERS.resident, "电梯卡住了，我被关在里面")
    await asyncio.gather(
        harness.press(USERS.resident, advice, CONFIRM), harness.press(USERS.resident, advice, CONFIRM)
    )
    [row] = await tickets(harness)
    await drain(harness)
    assert len(alerts(await outbox_texts(harness, USERS.supervisor), f"BX{row.id:05d}")) == 1


async def test_an_unregistered_person_gets_the_advice_and_the_public_numbers_without_a_button(
    harness: Harness,
) -> None:
    await setup_compound(harness)
    [advice] = await harness.send(USERS.newcomer, "家里有煤气味，怎么办")
    text = advice.text or ""
    assert "开窗" in text and "119" in text and "96333" in text and "没有绑定房屋" in text
    assert advice.button_texts == []
    assert await tickets(harness) == []


async def test_a_newcomer_who_writes_english_gets_the_advice_in_english_before_choosing_a_language(
    harness: Harness,
) -> None:
    await setup_compound(harness)
    [advice] = await harness.send(USERS.newcomer, "Help, I smell gas in my kitchen!")
    text = advice.text or ""
    assert "Close the gas valve" in text and "119" in text and "96333" in text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text)
    # Nothing was chosen for them: /start still asks which language they read.
    replies = await harness.send(USERS.newcomer, "/start")
    assert any("English" in r.button_texts for r in replies)


async def test_a_resident_who_writes_english_confirms_and_reads_the_alert_in_english(
    harness: Harness,
) -> None:
    await setup_compound(harness)
    # Registered by the office, never asked which language they read.
    async with harness.services.uow() as uow:
        person = await uow.community.person_by_telegram(USERS.resident)
        assert person is not None
        person.language = None
        await uow.commit()
    [advice] = await harness.send(USERS.resident, "someone is trapped in the lift, please hurry")
    assert "Lift rescue: call 96333" in (advice.text or "")
    assert advice.button_texts == ["🚨 Confirm: alert the property now"]
    await harness.press(USERS.resident, advice, "🚨 Confirm: alert the property now")
    done = harness.world.message(USERS.resident, advice.message_id).text or ""
    assert "Alert sent!" in done and "BX" in done and "0571-88886666" in done
    [row] = await tickets(harness)
    assert row.urgency == "emergency" and row.kind == "elevator"


async def test_a_chosen_language_wins_over_the_language_of_the_message(harness: Harness) -> None:
    await setup_compound(harness)
    replies = await harness.send(USERS.newcomer, "/start")
    await harness.press(USERS.newcomer, replies[-1], "中文")
    [advice] = await harness.send(USERS.newcomer, "fire! smoke in the stairwell")
    assert "119" in (advice.text or "") and "楼梯" in (advice.text or "")
    # Pinyin from a Chinese reader is not taken for English either.
    [advice] = await harness.send(USERS.resident, "wyf 电梯困人了")
    assert "96333" in (advice.text or "") and "电梯" in (advice.text or "")


async def test_a_group_message_to_the_bot_alerts_without_rooms_or_phones_of_residents(
    harness: Harness,
) -> None:
    await setup_compound(harness)
    [advice] = await harness.send(USERS.resident, "@RedButlerBot 3栋电梯困人了", chat_id=USERS.group)
    assert "96333" in (advice.text or "") and advice.button_texts == ["🚨 " + CONFIRM]
    done = await confirm(harness, USERS.resident, advice, chat_id=USERS.group)
    assert "已经紧急通知" in done and "0571-88886666" in done  # the property's duty phone
    for secret in ("501", "2单元", "1380000", "张阿姨"):
        assert secret not in done
    [row] = await tickets(harness)
    assert row.urgency == "emergency" and row.kind == "elevator"
    # Talk that is not addressed to the bot is left alone, even about fire.
    assert await harness.send(USERS.resident, "昨天吃火锅了", chat_id=USERS.group) == []


async def test_a_group_not_linked_to_a_compound_gets_the_public_numbers(harness: Harness) -> None:
    [advice] = await harness.send(USERS.resident, "@RedButlerBot 楼道着火了", chat_id=USERS.group)
    assert "119" in (advice.text or "") and advice.button_texts == []
    assert "0571" not in (advice.text or "")


async def test_an_emergency_in_the_middle_of_a_report_keeps_the_report(harness: Harness) -> None:
    await setup_compound(harness)
    await harness.send(USERS.resident, "/report")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🚰 水电")
    place_step = harness.last(USERS.resident)
    [advice] = await harness.send(USERS.resident, "等一下，楼道电箱冒火花了！")
    assert "电闸" in (advice.text or "")
    await confirm(harness, USERS.resident, advice)
    [alert] = await tickets(harness)
    assert alert.urgency == "emergency"
    # The report goes on where it was (and knows about the alert just raised for the same home).
    await harness.press(USERS.resident, place_step, "3栋2单元501")
    duplicate = harness.world.message(USERS.resident, place_step.message_id)
    assert "您已经报过了" in (duplicate.text or "")  # the reporter's own alert, in their own words
    await harness.press(USERS.resident, duplicate, "我要新报")
    await finish_report(harness, USERS.resident, "厨房水管接头漏水")
    rows = await tickets(harness)
    assert [r.urgency for r in rows] == ["emergency", "normal"]
    assert rows[1].description == "厨房水管接头漏水"


async def test_an_emergency_in_the_middle_of_a_points_flow(harness: Harness) -> None:
    await setup_compound(harness)
    await seed_catalogue(harness.services.uow_factory, harness.clock.now())
    replies = await harness.send(USERS.resident, "/points")
    await harness.press(USERS.resident, replies[-1], "兑换好礼")
    menu = harness.last(USERS.resident)
    [advice] = await harness.send(USERS.resident, "有人晕倒了 快叫救护车")
    assert "120" in (advice.text or "")
    await confirm(harness, USERS.resident, advice)
    [row] = await tickets(harness)
    assert row.urgency == "emergency"
    # The catalogue the resident was looking at still works.
    _, replies = await harness.press(USERS.resident, menu, menu.button_texts[0])
    assert replies or harness.world.message(USERS.resident, menu.message_id).edited


async def _resolved_ticket(harness: Harness) -> Message:
    """A resident's report, accepted and finished by the butler: the resident is asked to rate it."""
    from tests.repairs_helpers import report

    await report(harness, USERS.resident)
    await drain(harness)
    card = find(harness.world.bot_messages(USERS.butler), "有新的报修")
    await harness.press(USERS.butler, card, "接单")
    await harness.press(USERS.butler, harness.world.message(USERS.butler, card.message_id), "完成")
    await harness.send_photo(USERS.butler)
    await drain(harness)
    return find(harness.world.bot_messages(USERS.resident), "处理好了")


async def test_the_rating_comment_is_stored_and_not_taken_for_a_new_report(harness: Harness) -> None:
    await setup_compound(harness)
    resolved = await _resolved_ticket(harness)
    await harness.press(USERS.resident, resolved, "5⭐")
    assert "想说几句" in (harness.world.message(USERS.resident, resolved.message_id).text or "")
    replies = await harness.send(USERS.resident, "师傅来得很快，修得很好")
    assert [m.text for m in replies] == ["记下了，谢谢您！"]
    [row] = await tickets(harness)
    assert row.rating == 5 and row.rating_comment == "师傅来得很快，修得很好"


async def test_an_emergency_as_a_rating_comment_then_the_comment(harness: Harness) -> None:
    await setup_compound(harness)
    resolved = await _resolved_ticket(harness)
    await harness.press(USERS.resident, resolved, "4⭐")
    [advice] = await harness.send(USERS.resident, "楼上往下灌水 家里成河了")
    assert "总水阀" in (advice.text or "")
    await confirm(harness, USERS.resident, advice)
    rows = await tickets(harness)
    assert [r.urgency for r in rows] == ["normal", "emergency"]
    assert rows[0].rating_comment is None  # the alarm is not the comment
    replies = await harness.send(USERS.resident, "师傅人很好")
    assert "记下了" in (replies[-1].text or "")
    assert (await ticket(harness, rows[0].id)).rating_comment == "师傅人很好"


async def test_a_legal_question_inside_a_report_is_answered_and_the_report_goes_on(
    harness: Harness,
) -> None:
    await setup_compound(harness)
    await harness.send(USERS.resident, "/report")
    replies = await harness.send(USERS.resident, "高空抛物砸坏了我的车找谁")
    assert len(replies) == 2
    assert "1254" in (replies[0].text or "")  # the Civil Code answer on things thrown from a height
    kept = replies[-1]
    assert "还留着" in (kept.text or "") and "✏️ 继续填写" in kept.button_texts
    await harness.press(USERS.resident, kept, "继续填写")
    kind_step = harness.world.message(USERS.resident, kept.message_id)  # the report's first step again
    assert "🚰 水电" in kind_step.button_texts
    await harness.press(USERS.resident, kind_step, "🚰 水电")
    await harness.press(USERS.resident, harness.last(USERS.resident), "3栋2单元501")
    await finish_report(harness, USERS.resident, "厨房水管接头漏水")
    [row] = await tickets(harness)
    assert row.description == "厨房水管接头漏水" and row.status == "open"


async def test_the_second_unusable_text_in_a_row_offers_continue_or_cancel(harness: Harness) -> None:
    await setup_compound(harness)
    await harness.send(USERS.resident, "/report")
    kind_step = harness.last(USERS.resident)
    [first] = await harness.send(USERS.resident, "嗯嗯")
    assert first.text == "请点上面的按钮继续，或发送 /cancel 取消。"
    [second] = await harness.send(USERS.resident, "好的好的")
    assert second.text != first.text
    assert second.button_texts == ["✏️ 继续填写", "✖️ 取消"]
    await harness.press(USERS.resident, second, "继续填写")
    shown = harness.world.message(USERS.resident, second.message_id)
    assert shown.text == kind_step.text and "🚰 水电" in str(shown.button_texts)
    # Stuck again twice: this time cancel.
    await harness.send(USERS.resident, "嗯")
    [again] = await harness.send(USERS.resident, "嗯嗯嗯")
    await harness.press(USERS.resident, again, "取消")
    assert "已取消" in (harness.world.message(USERS.resident, again.message_id).text or "")
    replies = await harness.send(USERS.resident, "嗯嗯")
    assert all("请点上面的按钮" not in (m.text or "") for m in replies)  # the report is over


async def test_another_capability_in_the_middle_of_a_report_is_offered_as_a_switch(harness: Harness) -> None:
    await setup_compound(harness)
    await harness.send(USERS.resident, "/report")
    [offer] = await harness.send(USERS.resident, "我有多少积分")
    assert "积分" in (offer.text or "") and len(offer.button_texts) == 2
    _, replies = await harness.press(USERS.resident, offer, "去")
    assert any("积分" in (m.text or "") for m in replies)
    # The report has ended: the next text is not the report's.
    replies = await harness.send(USERS.resident, "嗯嗯")
    assert all("请点上面的按钮" not in (m.text or "") for m in replies)


@pytest.mark.parametrize(
    "text",
    [
        "😀😀😀",
        "12345",
        "a" * 4000,
        "火锅店开在小区门口太吵了",
        "火车票怎么订",
        "漏交物业费有什么后果",
        "困难补助怎么申请",
        "电梯广告费归谁",
        "煤气费怎么交",
        "上次漏水的事法律上怎么说",
    ],
)
async def test_ordinary_words_get_a_reply_and_no_alarm(harness: Harness, text: str) -> None:
    await setup_compound(harness)
    replies = await harness.send(USERS.resident, text)
    assert replies, text
    assert all(CONFIRM not in str(m.button_texts) for m in replies)
    assert all("紧急电话" not in (m.text or "") for m in replies)
    assert await tickets(harness) == []


async def test_help_alone_gets_the_public_numbers_and_a_question_not_an_alarm(harness: Harness) -> None:
    await setup_compound(harness)
    for user in (USERS.resident, USERS.newcomer):
        [reply] = await harness.send(user, "救命")
        text = reply.text or ""
        assert "119" in text and "120" in text and "110" in text and "发生了什么" in text
        assert reply.button_texts == []
    assert await tickets(harness) == []


async def test_an_unregistered_person_in_the_compound_group_gets_the_duty_phone(harness: Harness) -> None:
    await setup_compound(harness)
    harness.world.add_member(USERS.group, USERS.outsider)
    [advice] = await harness.send(USERS.outsider, "@RedButlerBot 1栋有人晕倒了", chat_id=USERS.group)
    text = advice.text or ""
    assert "120" in text and "0571-88886666" in text and advice.button_texts == []
    assert await tickets(harness) == []


async def test_the_confirm_button_still_works_after_a_restart(harness: Harness) -> None:
    await setup_compound(harness)
    [advice] = await harness.send(USERS.resident, "卫生间水管爆了 水一直喷")
    data = confirm_data(advice)
    await harness.restart()
    update = forged_callback(harness.world, USERS.resident, USERS.resident, advice.message_id, data)
    await harness.process(update)
    [row] = await tickets(harness)
    assert row.urgency == "emergency" and "卫生间水管爆了" in row.description
    assert "已经紧急通知" in (harness.world.message(USERS.resident, advice.message_id).text or "")


async def test_after_a_crash_the_confirm_still_alerts(harness: Harness) -> None:
    """The typed words may be lost in a crash right after the advice; the alert is not."""
    await setup_compound(harness)
    [advice] = await harness.send(USERS.resident, "卫生间水管爆了 水一直喷")
    data = confirm_data(advice)
    await harness.restart(crash=True)
    update = forged_callback(harness.world, USERS.resident, USERS.resident, advice.message_id, data)
    await harness.process(update)
    [row] = await tickets(harness)
    assert row.urgency == "emergency" and row.kind == "plumbing_electric" and "漏水" in row.description
    await drain(harness)
    assert len(alerts(await outbox_texts(harness, USERS.supervisor), f"BX{row.id:05d}")) == 1


async def test_in_a_group_only_someone_with_a_home_there_can_confirm(harness: Harness) -> None:
    await setup_compound(harness)
    harness.world.add_member(USERS.group, USERS.outsider)
    [advice] = await harness.send(USERS.resident, "@RedButlerBot 2栋楼道着火了", chat_id=USERS.group)
    answer, _ = await harness.press(USERS.outsider, advice, CONFIRM)
    assert answer is not None and answer.get("show_alert") and "119" in (answer.get("text") or "")
    assert await tickets(harness) == []
    await harness.press(USERS.neighbour, advice, CONFIRM)  # 黄先生 lives in the compound too
    [row] = await tickets(harness)
    assert row.urgency == "emergency" and row.place_label == "1栋1单元101"
    assert "已经紧急通知" in (harness.world.message(USERS.group, advice.message_id).text or "")


async def test_an_english_writer_who_raised_an_alert_is_told_of_its_progress_in_english(
    harness: Harness,
) -> None:
    """The alert's ticket is the reporter's own words: what they are told about it afterwards (taken, done,
    the rating question) follows the language they wrote in, as for a report made step by step."""
    await setup_compound(harness)
    async with harness.services.uow() as uow:
        person = await uow.community.person_by_telegram(USERS.resident)
        assert person is not None
        person.language = None  # registered by the office, never asked which language they read
        await uow.commit()
    [advice] = await harness.send(USERS.resident, "water pipe burst, the flat is flooding")
    await harness.press(USERS.resident, advice, "🚨 Confirm: alert the property now")
    [row] = await tickets(harness)
    assert row.urgency == "emergency" and "water pipe burst" in row.description
    await drain(harness)
    card = find(harness.world.bot_messages(USERS.butler), "紧急报修")
    await harness.press(USERS.butler, card, "接单")
    await harness.press(USERS.butler, harness.world.message(USERS.butler, card.message_id), "完成")
    await harness.send_photo(USERS.butler)
    await drain(harness)
    told = [t for t in all_texts(harness, USERS.resident) if f"BX{row.id:05d}" in t]
    assert told, all_texts(harness, USERS.resident)
    for text in told:  # names and the flat are as the office wrote them: everything else is English
        words = text.replace("3栋2单元501", "").replace("王师傅", "").replace("幸福里", "")
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in words), text
