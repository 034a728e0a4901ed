"""Civil Code answers people can trust: the bot says which question it answered, takes "不是我问的" and 👎
with a reason, points questions outside the Civil Code to the right number, and shows related articles when
it has no answer."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select, update

from bot.db.models import Person
from bot.db.models.law import LawFeedback, LawQuestion
from bot.services import law as law_service
from bot.services.routing import law_matcher
from handlers import routing as routing_handlers
from tests.factories import USERS
from tests.harness import Harness, forged_callback
from tests.stories.test_law import ask, count, entry_for

DOG = "狗把我家孩子咬了谁负责"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _fresh_routing_cache() -> None:
    routing_handlers._cache.clear()


async def forged_press(
    harness: Harness, user: int, message_id: int, data: str, *, chat_id: int | None = None
) -> dict[str, object] | None:
    """A press of old or tampered button data (the button may be gone); what the callback answer said."""
    update_json = forged_callback(harness.world, user, chat_id or user, message_id, data)
    await harness.process(update_json)
    return harness.world.callback_answer(update_json["callback_query"]["id"])


def _first(candidates: list[str], test: object) -> str:
    for question in candidates:
        if test(law_matcher().match(question)):  # type: ignore[operator]
            return question
    pytest.fail(f"none of {candidates} fits any more; update the list")


async def test_the_answer_opens_with_the_question_it_answers_and_says_what_each_article_says(
    harness: Harness,
) -> None:
    entry = entry_for(DOG)
    replies = await ask(harness, USERS.resident, DOG)
    text = replies[-1].text or ""
    assert text.startswith(f"💬 您问的是：{entry.asked('zh')}")
    assert text.index("您问的是") < text.index(entry.answer_zh.strip()[:20])
    summaries = law_service.corpus().summaries
    for article in entry.articles:
        if article in summaries:
            assert f"· 第{article}条：{summaries[article].summary_zh}" in text
    if entry.caveat_zh:
        assert f"⚠️ 要注意：{entry.caveat_zh}" in text
    assert replies[-1].button_texts[:4] == ["👍 有用", "👎 没用", "🤔 不是我问的", "🙋 问法律志愿者"]


async def test_not_what_i_asked_shows_the_next_two_then_the_volunteer(harness: Harness) -> None:
    shown = entry_for(DOG)
    replies = await ask(harness, USERS.resident, DOG)
    card = replies[-1]
    _, replies = await harness.press(USERS.resident, card, "🤔 不是我问的")
    offer = replies[-1]
    assert "您想问的是下面这些吗" in (offer.text or "")
    others = [c.faq_id for c in law_matcher().match(DOG, limit=5).candidates if c.faq_id != shown.id][:2]
    expected = [law_matcher().entry(i).asked("zh") for i in others]  # type: ignore[union-attr]
    labels = [b["text"] for row in offer.buttons for b in row if b["callback_data"].startswith("lw:s:")]
    assert [label.rstrip("…") for label in labels] == [e[: len(label.rstrip("…"))] for e, label in
                                                     zip(expected, labels, strict=True)]
    assert len(labels) == 2 and shown.asked("zh") not in labels
    # The press counts as a 👎 "答非所问" on the entry shown, once however often it is pressed.
    _, again = await harness.press(USERS.resident, card, "🤔 不是我问的")
    assert again[-1].button_texts == offer.button_texts
    async with harness.services.uow() as uow:
        reasons = list(await uow.session.scalars(select(LawFeedback.reason)))
    assert reasons == ["not_asked"]
    # An alternative opens its answer; "都不是" hands the question to the legal volunteer.
    _, opened = await harness.press(USERS.resident, offer, labels[0])
    assert (opened[-1].text or "").startswith("💬 您问的是：")
    answer, _ = await harness.press(USERS.resident, offer, "都不是")
    assert answer is not None and "已经转给法律志愿者" in (answer.get("text") or "")
    await harness.drain_outbox()
    assert DOG in (harness.last(USERS.legal).text or "")
    assert await count(harness, LawQuestion, LawQuestion.passed_at.is_not(None)) == 1


async def test_ask_the_volunteer_straight_from_an_answer(harness: Harness) -> None:
    replies = await ask(harness, USERS.resident, DOG)
    answer, _ = await harness.press(USERS.resident, replies[-1], "🙋 问法律志愿者")
    assert answer is not None and "已经转给法律志愿者" in (answer.get("text") or "")
    answer, _ = await harness.press(USERS.resident, replies[-1], "🙋 问法律志愿者")
    assert answer is not None and "已经转给" in (answer.get("text") or "")
    await harness.drain_outbox()
    assert len([m for m in harness.world.bot_messages(USERS.legal) if DOG in (m.text or "")]) == 1


async def test_thumbs_down_asks_why_once_and_law_gaps_lists_it_with_the_question(harness: Harness) -> None:
    entry = entry_for(DOG)
    replies = await ask(harness, USERS.resident, DOG)
    card = replies[-1]
    answer, asked_why = await harness.press(USERS.resident, card, "👎 没用")
    assert answer is not None and "改得更好" in (answer.get("text") or "")
    why = asked_why[-1]
    assert "哪里不对" in (why.text or "")
    assert why.button_texts == ["答非所问", "说得不对", "看不懂"]
    second_reason = why.find_button("说得不对")["callback_data"]
    answer, _ = await harness.press(USERS.resident, why, "看不懂")
    assert answer is not None and "记下了" in (answer.get("text") or "")
    assert "记下了：看不懂" in (harness.world.message(why.chat_id, why.message_id).text or "")
    # A second tap from an old copy of the buttons changes nothing.
    answer = await forged_press(harness, USERS.resident, why.message_id, second_reason)
    assert answer is not None and "已经记下了" in (answer.get("text") or "")
    async with harness.services.uow() as uow:
        rows = list(await uow.session.scalars(select(LawFeedback)))
    assert [(r.helpful, r.reason, r.faq_id) for r in rows] == [(False, "unclear", entry.id)]
    replies = await harness.send(USERS.admin, "/law_gaps")
    text = replies[-1].text or ""
    assert "看不懂×1" in text and DOG in text and entry.id in text


async def test_a_question_outside_the_civil_code_gets_the_number_to_call(harness: Harness) -> None:
    replies = await ask(harness, USERS.resident, "被车撞了交警不管")
    text = replies[-1].text or ""
    assert "122" in text and "交警" in text
    assert "依据" not in text and "您问的是" not in text
    async with harness.services.uow() as uow:
        decision = await uow.session.scalar(select(LawQuestion.decision))
    assert decision == "none"
    # Typed straight into the chat (no /law first) and in other fields: each gets its own office.
    for question, number in (("公司拖欠我三个月工资不发怎么办", "12333"), ("个人所得税怎么退", "12366"),
                             ("家里被盗了 小偷把金项链偷走了", "110")):
        replies = await harness.send(USERS.resident, question)
        assert number in (replies[-1].text or ""), question


async def test_no_entry_still_gets_related_articles_marked_as_a_pointer(harness: Harness) -> None:
    question = _first(
        ["承揽合同里定作人中途变更要求怎么办", "悬赏广告说找到狗给五千 现在不给了",
         "收养孩子需要满足哪些条件", "遗失物一直没人认领归谁", "典当的金项链过期了还能赎回吗",
         "保证人替朋友还了钱能找谁要"],
        lambda r: r.decision != "answer" and r.related and r.pointer is None,
    )
    result = law_matcher().match(question)
    replies = await ask(harness, USERS.resident, question)
    text = replies[-1].text or ""
    assert "📚 相关法条（只是帮您指个方向，不是对您问题的回答）" in text
    assert f"第{result.related[0]}条：" in text
    assert "依据" not in text  # a pointer, never presented as the basis of an answer


async def test_english_reader_sees_english_everywhere(harness: Harness) -> None:
    replies = await harness.send(4001, "/start")
    await harness.press(4001, replies[-1], "English")
    entry = entry_for(DOG)
    replies = await harness.send(4001, DOG)
    card = replies[-1]
    assert (card.text or "").startswith(f"💬 You asked: {entry.asked('en')}")
    assert card.button_texts[:4] == ["👍 Helpful", "👎 Not helpful", "🤔 Not what I asked",
                                     "🙋 Ask a legal volunteer"]
    _, why = await harness.press(4001, card, "👎 Not helpful")
    assert "What was wrong" in (why[-1].text or "")
    assert why[-1].button_texts == ["Not my question", "Not correct", "Hard to follow"]
    _, replies = await harness.press(4001, card, "🤔 Not what I asked")
    offer = replies[-1]
    assert "Did you mean one of these" in (offer.text or "")
    for row in offer.buttons:
        for button in row:
            data = button["callback_data"]
            if data.startswith("lw:s:"):
                shown = law_service.entry_by_key(data.split(":")[3])
                assert shown is not None
                if shown.asked_en:
                    assert not CJK.search(button["text"]), button["text"]
    # An English question is matched through the glossary and answered (or offered) in English.
    replies = await harness.send(4001, "/law my dog bit the neighbour's kid, who pays?")
    text = replies[-1].text or ""
    assert "You asked" in text or "Did you mean" in text


async def test_someone_who_skipped_the_language_question_and_writes_english_is_answered_in_english(
    harness: Harness,
) -> None:
    replies = await harness.send(4001, "/start")
    assert "English" in replies[-1].button_texts  # asked, and left unanswered
    replies = await harness.send(4001, "my dog bit the neighbour's kid, who pays?")
    card = replies[-1]
    assert "You asked" in (card.text or "") or "Did you mean" in (card.text or ""), card.text
    assert not any(CJK.search(label) for label in card.button_texts), card.button_texts
    # The buttons of that answer keep answering in English (the person wrote English last).
    pressed = "👎 Not helpful" if "👎 Not helpful" in card.button_texts else card.button_texts[0]
    _, after = await harness.press(4001, card, pressed)
    assert after and not CJK.search(after[-1].text or ""), after[-1].text if after else "no reply"
    # Writing Chinese again brings Chinese back; nothing was chosen for them.
    replies = await harness.send(4001, DOG)
    assert (replies[-1].text or "").startswith("💬 您问的是")
    replies = await harness.send(4001, "/start")
    assert "English" in replies[-1].button_texts


async def test_the_volunteers_reply_to_an_english_question_comes_back_in_english(harness: Harness) -> None:
    await harness.send(4001, "/start")  # the language question left unanswered
    card = (await harness.send(4001, "my dog bit the neighbour's kid, who pays?"))[-1]
    ask_label = next(label for label in card.button_texts if "volunteer" in label)
    answer, _ = await harness.press(4001, card, ask_label)
    assert answer is not None and not CJK.search(answer.get("text") or ""), answer
    await harness.drain_outbox()
    received = harness.last(USERS.legal)
    assert "my dog bit" in (received.text or "")
    await harness.press(USERS.legal, received, "回复居民")  # the volunteer works in Chinese
    await harness.send(USERS.legal, "狗的主人要赔，先去打疫苗，留好票据。")
    await harness.drain_outbox()
    relayed = harness.last(4001).text or ""
    assert relayed.startswith("⚖️ Legal volunteer") and "留好票据" in relayed, relayed


async def test_a_language_on_the_record_outranks_the_language_someone_writes_in(harness: Harness) -> None:
    async with harness.services.uow() as uow:
        await uow.session.execute(
            update(Person).where(Person.telegram_id == USERS.resident).values(language="zh_CN")
        )
        await uow.commit()
    harness.app.user_data[USERS.resident].pop("language", None)  # set by a roster import, never chosen here
    replies = await harness.send(USERS.resident, "what can you do for me please")
    assert CJK.search(replies[-1].text or ""), replies[-1].text


async def test_a_press_on_an_english_card_quoting_chinese_stays_english(harness: Harness) -> None:
    await harness.send(4001, "/start")
    card = (await harness.send(4001, "my dog bit the neighbour's kid, who pays?"))[-1]
    pressed = "👎 Not helpful" if "👎 Not helpful" in card.button_texts else card.button_texts[0]
    update = harness.world.user_presses_button(4001, card, pressed)
    # Some English answers quote a Chinese term (定金); a press carries the bot's card, not the person's text.
    update["callback_query"]["message"]["text"] += " (定金)"
    before = len(harness.world.bot_messages(4001))
    await harness.process(update)
    after = harness.world.bot_messages(4001)[before:]
    assert after and not CJK.search(after[-1].text or ""), after[-1].text if after else "no reply"


async def test_stale_or_forged_buttons_get_a_clear_answer(harness: Harness) -> None:
    replies = await ask(harness, USERS.resident, DOG)
    for data in ("lw:n:0:zzzzzzzz", "lw:w:zzzzzzzz:a", f"lw:w:{law_service.faq_key(entry_for(DOG).id)}:q"):
        answer = await forged_press(harness, USERS.resident, replies[-1].message_id, data)
        assert answer is not None and "重新问一次" in (answer.get("text") or ""), data
    # Two phones pressing "不是我问的" at once: one vote, the same alternatives on both.
    card = replies[-1]
    data = card.find_button("🤔 不是我问的")["callback_data"]
    await asyncio.gather(forged_press(harness, USERS.resident, card.message_id, data),
                         forged_press(harness, USERS.resident, card.message_id, data))
    assert await count(harness, LawFeedback) == 1
