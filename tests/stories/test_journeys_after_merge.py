"""Where the emergency path, the intent router, the "no dead ends" handling and issue 12's role work meet:
journeys a new user of each role walks, through the real Application, after the four were merged."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db.models import Person
from bot.services.repairs import number_of
from tests.factories import USERS
from tests.harness import Harness
from tests.repairs_helpers import drain, find, report, setup_compound, tickets


async def phone_of(harness: Harness, telegram_id: int) -> str | None:
    async with harness.services.uow() as uow:
        return await uow.session.scalar(select(Person.phone).where(Person.telegram_id == telegram_id))


async def test_a_phone_typed_after_the_phone_question_is_saved_for_the_butler(harness: Harness) -> None:
    """Asked "方便留个电话吗？", many older residents type the number instead of pressing the contact button.
    Before: the number got the help list and was lost; the butler's card had no 📞."""
    await setup_compound(harness)
    await report(harness, USERS.resident)
    assert "方便留个电话吗" in (harness.last(USERS.resident).text or "")
    replies = await harness.send(USERS.resident, "139 1234 5678")
    assert "电话记下了" in (replies[-1].text or "")
    assert await phone_of(harness, USERS.resident) == "13912345678"

    await drain(harness)
    [row] = await tickets(harness)
    card = find(harness.world.bot_messages(USERS.butler), number_of(row.id))
    await harness.press(USERS.butler, card, "接单")
    card = harness.world.message(USERS.butler, card.message_id)
    assert "📞 打电话给住户" in card.button_texts
    # Once answered, a later number is just a message again (not silently taken as a new phone).
    replies = await harness.send(USERS.resident, "13800001111")
    assert "电话记下了" not in (replies[-1].text or "")
    assert await phone_of(harness, USERS.resident) == "13912345678"


async def test_a_number_typed_long_after_the_phone_question_is_not_taken_as_a_phone(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident)
    assert "方便留个电话吗" in (harness.last(USERS.resident).text or "")
    harness.clock.advance(timedelta(hours=2))
    replies = await harness.send(USERS.resident, "13912345678")
    assert replies and "电话记下了" not in (replies[-1].text or "")
    assert await phone_of(harness, USERS.resident) is None


async def test_a_number_typed_without_being_asked_is_not_taken_as_a_phone(harness: Harness) -> None:
    await setup_compound(harness)
    replies = await harness.send(USERS.resident, "13912345678")
    assert replies and "电话记下了" not in (replies[-1].text or "")
    assert await phone_of(harness, USERS.resident) is None


async def test_emoji_only_is_not_a_repair_description(harness: Harness) -> None:
    """Before: "😀😀" was taken as the description and went to the butler's card as the whole problem."""
    await setup_compound(harness)
    await harness.send(USERS.resident, "/report")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🚰 水电")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🏠")
    replies = await harness.send(USERS.resident, "😀😀")
    assert "多写几个字" in (replies[-1].text or "")
    replies = await harness.send(USERS.resident, "厨房水龙头关不紧")
    assert "照片" in (replies[-1].text or "")
    for button in ("跳过", "一般", "提交报修"):
        await harness.press(USERS.resident, harness.last(USERS.resident), button)
    [row] = await tickets(harness)
    assert row.description == "厨房水龙头关不紧"


async def test_the_switch_offer_does_not_promise_to_keep_what_it_drops(harness: Harness) -> None:
    """Typing "我有多少积分" in the middle of a report offers a switch. Before, the offer said
    "刚才在填的内容先留着", yet going there ended the report and the next 🔧 报修 started from scratch."""
    await setup_compound(harness)
    await harness.send(USERS.resident, "/report")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🚰 水电")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🏠")
    await harness.send(USERS.resident, "厨房水龙头关不紧")
    [offer] = await harness.send(USERS.resident, "我有多少积分")
    assert "不保存" in (offer.text or "") and "留着" not in (offer.text or "")
    # 继续填写 does keep it: the report goes on at the photo step.
    _, replies = await harness.press(USERS.resident, offer, "继续填写")
    shown = [harness.world.message(USERS.resident, offer.message_id), *replies]
    assert any("照片" in (m.text or "") for m in shown), [m.text for m in shown]
    [offer] = await harness.send(USERS.resident, "我有多少积分")
    _, replies = await harness.press(USERS.resident, offer, "去")
    assert any("分" in (m.text or "") for m in replies)
    replies = await harness.send(USERS.resident, "/report")
    assert "是哪方面的问题" in (replies[-1].text or "")  # what the offer said: a new report
    assert await tickets(harness) == []  # nothing half-written was kept as a ticket


async def test_the_switch_offer_in_english(harness: Harness) -> None:
    await setup_compound(harness)
    await harness.send(USERS.resident, "/language")
    await harness.press(USERS.resident, harness.last(USERS.resident), "English")
    await harness.send(USERS.resident, "/report")
    [offer] = await harness.send(USERS.resident, "how many points do I have")
    text = offer.text or ""
    assert "not saved" in text and "flow." not in text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_a_patrol_volunteer_typing_a_fire_is_not_told_to_register_a_home(harness: Harness) -> None:
    """Staff have roles, not homes. Before: a volunteer on patrol who typed a fire read "您还没有绑定房屋"."""
    await setup_compound(harness)
    for staff in (USERS.patrol, USERS.butler):
        [advice] = await harness.send(staff, "3栋楼道着火了好多烟")
        text = advice.text or ""
        assert "119" in text and "0571-88886666" in text
        assert "还没有绑定房屋" not in text and "值班电话" in text and "工作群" in text
    # Someone with neither a home nor a role is still told to link a home.
    [advice] = await harness.send(USERS.newcomer, "3栋楼道着火了好多烟")
    assert "还没有绑定房屋" in (advice.text or "")
    assert await tickets(harness) == []


async def _rated(harness: Harness, stars: str) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident)
    await drain(harness)
    card = find(harness.world.bot_messages(USERS.butler), "有新的报修")
    await harness.press(USERS.butler, card, "接单")
    await harness.press(USERS.butler, harness.world.message(USERS.butler, card.message_id), "完成")
    await harness.press(USERS.butler, harness.last(USERS.butler), "直接完成")
    await drain(harness)
    resolved = find(harness.world.bot_messages(USERS.resident), "处理好了")
    await harness.press(USERS.resident, resolved, stars)


async def test_a_legal_question_as_the_rating_comment_is_kept_and_answered(harness: Harness) -> None:
    """Asked "想说几句吗？", the resident wrote "修是修好了，维修费该谁出？".
    Before: "记下了", and the question was never answered."""
    await _rated(harness, "3⭐")
    replies = await harness.send(USERS.resident, "修是修好了，维修费该谁出？")
    assert "记下了" in (replies[0].text or "")
    # Then the law capability's own answer (an answer, or the questions it may be: its wording is law's).
    assert len(replies) >= 2 and replies[1].button_texts, [m.text for m in replies]
    assert any(word in (replies[1].text or "") for word in ("民法典", "想问")), replies[1].text
    [row] = await tickets(harness)
    assert row.rating == 3 and row.rating_comment == "修是修好了，维修费该谁出？"


async def test_an_ordinary_rating_comment_gets_no_legal_answer(harness: Harness) -> None:
    await _rated(harness, "5⭐")
    replies = await harness.send(USERS.resident, "师傅来得很快，修得很好")
    assert [m.text for m in replies] == ["记下了，谢谢您！"]


async def test_the_merchants_code_step_is_no_dead_end(harness: Harness) -> None:
    """🎫 核销 then anything but a code. Before: every message (a question, an emoji, "我有多少积分") got
    "没有找到这张兑换券" again and again."""
    from tests.points_helpers import seed_catalogue

    await setup_compound(harness)
    await seed_catalogue(harness.services.uow_factory, harness.clock.now())
    merchant = USERS.merchant
    await harness.send(merchant, "🎫 核销")
    [again] = await harness.send(merchant, "😀")
    assert "请把顾客的兑换码发给我" in (again.text or "")
    replies = await harness.send(merchant, "楼上漏水谁负责赔偿")
    assert "没有找到这张兑换券" not in (replies[0].text or "") and "还留着" in (replies[-1].text or "")
    [offer] = await harness.send(merchant, "我有多少积分")
    assert "积分" in (offer.text or "") and "没有找到" not in (offer.text or "")
    _, replies = await harness.press(merchant, offer, "继续填写")
    shown = [harness.world.message(merchant, offer.message_id), *replies]
    assert any("兑换码" in (m.text or "") for m in shown)
    # A mistyped code is still a code: told to check it, and the step stays open for the next try.
    [wrong] = await harness.send(merchant, "ZZZZ 9999")
    assert "没有找到这张兑换券" in (wrong.text or "")


async def test_a_merchant_typing_a_code_without_the_button_is_not_told_about_invite_codes(
    harness: Harness,
) -> None:
    """Before: "ABCD2345" from the barber got "这个邀请码不对" (the residents' invite code)."""
    from tests.points_helpers import seed_catalogue

    await seed_catalogue(harness.services.uow_factory, harness.clock.now())
    [told] = await harness.send(USERS.merchant, "ABCD2345")
    assert "邀请码" not in (told.text or "") and "🎫 核销" in (told.text or "")
    # Someone without a home or a role still gets the invite-code answer.
    [told] = await harness.send(USERS.newcomer, "ABCD2345")
    assert "邀请码" in (told.text or "")


async def test_a_legal_question_after_not_fixed_goes_on_the_ticket_and_is_answered(harness: Harness) -> None:
    """❌ 没修好, then "还是漏，物业不修我能不交物业费吗". Before: only "已经记在报修单上"; no answer."""
    await _rated(harness, "没修好")
    replies = await harness.send(USERS.resident, "还是漏，物业不修我能不交物业费吗")
    assert "已经记在报修单" in (replies[0].text or "")
    assert len(replies) >= 2 and replies[1].button_texts, [m.text for m in replies]
    await drain(harness)
    assert any("物业不修我能不交物业费吗" in (m.text or "") for m in harness.world.bot_messages(USERS.butler))


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_the_new_answers_in_english(harness: Harness) -> None:
    """Staff who chose English: the staff emergency line and the merchant's hint, with no Chinese or keys."""
    from tests.points_helpers import seed_catalogue

    await setup_compound(harness)
    await seed_catalogue(harness.services.uow_factory, harness.clock.now())
    for staff in (USERS.patrol, USERS.merchant):
        await harness.send(staff, "/start")
        await harness.press(staff, harness.last(staff), "English")
    [advice] = await harness.send(USERS.patrol, "there is a fire in the stairwell, smoke everywhere")
    staff_line = (advice.text or "").split("\n")[-3]
    assert "duty phone" in staff_line and not has_chinese(staff_line), advice.text
    [told] = await harness.send(USERS.merchant, "ABCD2345")
    assert "Verify a voucher" in (told.text or "") and "invite" not in (told.text or "")
    await harness.send(USERS.merchant, "🎫 Verify a voucher")
    [again] = await harness.send(USERS.merchant, "🙂")
    assert "voucher code" in (again.text or "") and not has_chinese(again.text or "")


async def test_a_patrol_finding_needs_words(harness: Harness) -> None:
    """⚠️ 发现情况 after a shift, then "👍". Before: "👍" was the finding, sent on as a hazard report."""
    from tests.patrols_helpers import grant_patrol, local, make_route, make_shift, settle

    route = await make_route(harness)
    await make_shift(harness, route, "2026-11-03 19:30", capacity=3)
    await grant_patrol(harness, USERS.neighbour)
    await harness.press(USERS.neighbour, (await harness.send(USERS.neighbour, "/patrol"))[-1], "报名")
    harness.clock.set(local("2026-11-03 19:40"))
    await harness.open_link(USERS.neighbour, f"cp_{route.checkpoints[0][1]}")
    harness.clock.set(local("2026-11-03 21:31"))
    await settle(harness)
    await harness.press(USERS.neighbour, harness.last(USERS.neighbour), "发现情况")
    [again] = await harness.send(USERS.neighbour, "👍")
    assert "发现了什么" in (again.text or "")
    assert not any("转为隐患报修" in b for b in again.button_texts)
    replies = await harness.send(USERS.neighbour, "楼道里有人飞线充电")
    assert any("转为隐患报修" in b for b in replies[-1].button_texts)


async def test_a_question_an_hour_after_rating_is_answered_not_taken_for_the_comment(
    harness: Harness,
) -> None:
    """Rated ⭐⭐⭐⭐⭐, never wrote the comment; an hour later, a legal question. Before: "记下了" and the
    question stored on the old ticket as its rating comment, the comment step open for good."""
    await _rated(harness, "5⭐")
    await harness.restart()  # the comment step and its time are persisted: a restart changes nothing here
    harness.clock.advance(timedelta(hours=1))
    replies = await harness.send(USERS.resident, "维修费该谁出？")
    assert not any("记下了" in (m.text or "") for m in replies), [m.text for m in replies]
    # The law capability's own answer (an answer, or the questions it may be: its wording is law's).
    assert replies and any(word in (replies[0].text or "") for word in ("民法典", "想问")), replies[0].text
    [row] = await tickets(harness)
    assert row.rating == 5 and row.rating_comment is None
    # The step is over: later text is not a comment either (a new problem starts a new report).
    replies = await harness.send(USERS.resident, "师傅来得很快，修得很好")
    assert not any("记下了" in (m.text or "") for m in replies)
    assert (await tickets(harness))[0].rating_comment is None


async def test_a_comment_soon_after_rating_is_kept_across_a_restart(harness: Harness) -> None:
    await _rated(harness, "4⭐")
    await harness.restart()
    harness.clock.advance(timedelta(minutes=10))
    replies = await harness.send(USERS.resident, "师傅来得很快，修得很好")
    assert [m.text for m in replies] == ["记下了，谢谢您！"]
    [row] = await tickets(harness)
    assert row.rating == 4 and row.rating_comment == "师傅来得很快，修得很好"
