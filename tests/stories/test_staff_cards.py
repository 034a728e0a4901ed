"""Every copy of a task card follows the ticket; a stale button says what happened."""

from __future__ import annotations

from bot.services.repairs import number_of
from tests.factories import USERS
from tests.harness import Harness, forged_callback
from tests.repairs_helpers import all_texts, drain, find, group_card, report, setup_compound, ticket, tickets


async def test_the_butlers_card_follows_the_ticket_to_the_end_and_old_buttons_explain(
    harness: Harness,
) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident, text="厨房水管接头漏水")
    await drain(harness)
    [row] = await tickets(harness)
    number = number_of(row.id)
    card = find(harness.world.bot_messages(USERS.butler), number)
    assert "✋ 接单" in card.button_texts
    await harness.press(USERS.butler, card, "接单")
    await drain(harness)
    card = harness.world.message(USERS.butler, card.message_id)
    assert "处理中" in (card.text or "") and "✅ 完成" in card.button_texts

    await harness.press(USERS.butler, card, "完成")
    await harness.press(USERS.butler, harness.last(USERS.butler), "不发照片")
    await drain(harness)
    card = harness.world.message(USERS.butler, card.message_id)
    assert "已修好，等居民确认" in (card.text or "")
    assert card.button_texts == []
    staff_copy = group_card(harness, number)
    assert "已修好，等居民确认" in (staff_copy.text or "")
    assert "等您确认" not in (staff_copy.text or "")

    rating = find(harness.world.bot_messages(USERS.resident), "请给个星")
    await harness.press(USERS.resident, rating, "5⭐")
    await drain(harness)
    assert (await ticket(harness, row.id)).status == "closed"
    assert "已结单" in (harness.world.message(USERS.butler, card.message_id).text or "")

    # The ✅ 完成 of a card still showing on another phone: the butler hears what happened.
    update = forged_callback(harness.world, USERS.butler, USERS.butler, card.message_id, f"rp:don:{row.id}")
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None
    assert "已经结单" in (answer.get("text") or "")
    assert "只有接了这一单的人" not in (answer.get("text") or "")


async def test_a_butler_completing_twice_is_told_it_is_done(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident, text="卫生间灯不亮")
    await drain(harness)
    [row] = await tickets(harness)
    card = find(harness.world.bot_messages(USERS.butler), number_of(row.id))
    await harness.press(USERS.butler, card, "接单")
    await harness.press(USERS.butler, harness.world.message(USERS.butler, card.message_id), "完成")
    await harness.press(USERS.butler, harness.last(USERS.butler), "不发照片")
    update = forged_callback(harness.world, USERS.butler, USERS.butler, card.message_id, f"rp:don:{row.id}")
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "已经完成了" in (answer.get("text") or "")


async def test_an_assigned_emergency_is_news_for_the_manager_not_a_queue(harness: Harness) -> None:
    from bot.services.repairs import ReportDraft, submit_report

    await setup_compound(harness)
    async with harness.services.uow() as uow:
        person = await uow.community.person_by_telegram(USERS.resident)
        assert person is not None
        [home] = await uow.community.residencies_of(person.id)
    draft = ReportDraft(
        "plumbing_electric", "emergency", "水管爆了，水喷得到处都是", household_id=home.household_id
    )
    await submit_report(
        harness.services.uow(), harness.services.translator, USERS.resident, draft, harness.clock.now()
    )
    await drain(harness)
    [row] = await tickets(harness)
    assert row.assignee_id is not None  # 王师傅 covers 3栋 plumbing
    manager = all_texts(harness, USERS.manager)
    assert not any("值班队列有一单等人接" in text for text in manager)
    assert any(number_of(row.id) in text and "紧急报修提醒" in text and "王师傅" in text for text in manager)


async def test_reassign_offers_the_colleagues_who_cover_the_place_with_their_load(harness: Harness) -> None:
    from tests.repairs_helpers import SECOND_BUTLER, add_butler, person_id

    await setup_compound(harness)
    await add_butler(harness)  # 李师傅: 1-3栋, plumbing and lifts
    await add_butler(harness, 2102, "周师傅", buildings=("1栋",))  # not 3栋
    await report(harness, USERS.resident, text="水表漏水")  # 张阿姨, 3栋
    await drain(harness)
    [row] = await tickets(harness)
    holder = USERS.butler if row.assignee_id == await person_id(harness, USERS.butler) else SECOND_BUTLER
    other = "李师傅" if holder == USERS.butler else "王师傅"
    card = find(harness.world.bot_messages(holder), number_of(row.id))
    await harness.press(holder, card, "转派")
    offer = harness.last(holder).button_texts
    assert f"👷 {other}（手上 0 单）" in offer
    assert not any("周师傅" in text for text in offer)
    assert "↩️ 退回物业值班" in offer
