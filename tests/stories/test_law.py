"""Residents ask Civil Code questions; admins and legal volunteers grow the corpus from what went wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.db.models import Person, StaffRole
from bot.db.models.law import LawFeedback, LawQuestion
from bot.emulator.core import Message
from bot.services import law as law_service
from bot.services.routing import law_matcher, route_text
from handlers import routing as routing_handlers
from knowledge.corpus import FaqEntry
from tests.factories import USERS
from tests.harness import Harness, forged_callback

CIVIL_CODE = Path(__file__).resolve().parents[3] / "shared" / "civil-code" / "civil_code.jsonl"


@pytest.fixture(autouse=True)
def _fresh_routing_cache() -> None:
    # handlers.routing caches intents by (chat id, message id); every test's emulator restarts message ids.
    routing_handlers._cache.clear()


async def ask(harness: Harness, user: int, question: str) -> list[Message]:
    """Ask through /law then the question, the way a resident who pressed the big button would."""
    replies = await harness.send(user, "/law")
    assert "请说说您遇到的事" in (replies[-1].text or "")
    return await harness.send(user, question)


async def count(harness: Harness, model: type[Any], *where: Any) -> int:
    async with harness.services.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# The corpus grows; the tests pick whichever of these the matcher currently places in the outcome they need.
# (no entry and nothing outside the Civil Code either: stock and trademark questions now get 12348)
NO_MATCH = ["网购的衣服不合身能退吗", "游戏账号被盗了能报警吗", "我想问问宅基地上的老房子翻建的事",
            "股票被套了能起诉券商吗"]
VAGUE = ["物业费", "邻居", "狗", "房子", "合同", "车位", "押金", "楼上", "孩子", "钱"]


def pick(candidates: list[str], decision: str) -> str:
    for question in candidates:
        result = law_matcher().match(question)
        if result.decision == decision and (decision == "none" or result.candidates):
            if decision == "none" and result.pointer is not None:
                continue  # an out-of-scope pointer is its own outcome
            return question
    pytest.fail(f"none of {candidates} is a {decision!r} for the matcher any more; update the list")


def entry_for(question: str) -> FaqEntry:
    result = law_matcher().match(question)
    assert result.top is not None
    entry = law_matcher().entry(result.top.faq_id)
    assert entry is not None
    return entry


# --- the three outcomes ------------------------------------------------------------------------------------


async def test_free_text_legal_question_gets_our_answer_with_article_and_note(harness: Harness) -> None:
    question = "狗把我家孩子咬了谁负责"
    entry = entry_for(question)
    replies = await harness.send(USERS.resident, question)
    text = replies[-1].text or ""
    assert entry.answer_zh.strip().splitlines()[0] in text
    assert "依据：民法典" in text and f"第{entry.articles[0]}条" in text
    assert "不是正式的法律意见" in text
    assert replies[-1].button_texts[:2] == ["👍 有用", "👎 没用"]
    # Without an imported official text there is no "查看原文" button.
    assert not any("查看原文" in b for b in replies[-1].button_texts)
    assert await count(harness, LawQuestion, LawQuestion.decision == "answer") == 1


async def test_menu_button_asks_then_answers_and_works_for_unregistered_people(harness: Harness) -> None:
    replies = await harness.send(USERS.outsider, "⚖️ 法律问答")
    assert "请说说您遇到的事" in (replies[-1].text or "")
    replies = await harness.send(USERS.outsider, "楼上天天半夜蹦迪咋办")
    assert "依据：民法典" in (replies[-1].text or "")
    # The conversation is over: the next text is routed afresh (a greeting gets the help text).
    replies = await harness.send(USERS.outsider, "你好")
    assert "依据" not in (replies[-1].text or "")


async def test_law_command_with_the_question_answers_at_once_and_cancel_works(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "/law\n狗把我家孩子咬了谁负责")
    assert "依据：民法典" in (replies[-1].text or "")
    replies = await harness.send(USERS.resident, "/law")
    _, replies = await harness.press(USERS.resident, replies[-1], "取消")
    assert "已取消" in (harness.last(USERS.resident).text or "")
    # After cancelling, chit-chat is not taken for a legal question (small talk is "help": what I can do).
    replies = await harness.send(USERS.resident, "今天天气不错")
    assert "依据" not in (replies[-1].text or "") and "我能帮您做这些" in (replies[-1].text or "")


async def test_a_restart_between_law_and_the_question_loses_nothing(harness: Harness) -> None:
    # A word the router alone would not take for a legal question: only the waiting /law makes it one.
    words = ["老人", "装修", "停车", "养狗", "电梯", "宠物", "车位", "物业", "小区",
             "孩子", "狗", "结婚", "朋友", "爸妈"]
    candidates = [
        q for q in words if route_text(q).intent == "help" and law_matcher().match(q).decision != "none"
    ]
    if not candidates:
        pytest.fail(f"every one of {words} is routed to law or unmatched now; update the list")
    await harness.send(USERS.resident, "/law")
    await harness.restart(crash=True)
    replies = await harness.send(USERS.resident, candidates[0])
    text = replies[-1].text or ""
    assert "依据：民法典" in text or "您是不是想问" in text


async def test_everyone_sees_the_law_button_and_another_button_leaves_the_question(harness: Harness) -> None:
    replies = await harness.send(USERS.outsider, "/help")
    keyboard = (replies[-1].reply_markup or {}).get("keyboard", [])
    assert "⚖️ 法律问答" in [b["text"] if isinstance(b, dict) else b for row in keyboard for b in row]
    await harness.send(USERS.outsider, "⚖️ 法律问答")
    replies = await harness.send(USERS.outsider, "❓ 帮助")
    assert "/law" in (replies[-1].text or "") and "依据" not in (replies[-1].text or "")
    assert await count(harness, LawQuestion) == 0


async def test_english_user_gets_the_english_answer(harness: Harness) -> None:
    replies = await harness.send(4001, "/start")
    await harness.press(4001, replies[-1], "English")
    question = "物业不修电梯我能不交物业费吗"
    entry = entry_for(question)
    replies = await harness.send(4001, question)
    text = replies[-1].text or ""
    assert entry.answer_en.split()[0] in text and entry.answer_en.strip()[:40] in text
    assert f"Based on: Civil Code Art. {entry.articles[0]}" in text
    assert "not legal advice" in text
    assert replies[-1].button_texts[:2] == ["👍 Helpful", "👎 Not helpful"]


async def test_traditional_characters_get_the_same_answer(harness: Harness) -> None:
    simplified = (await harness.send(USERS.resident, "物业不修电梯我能不交物业费吗"))[-1].text
    traditional = (await harness.send(USERS.resident, "物業不修電梯我能不交物業費嗎"))[-1].text
    assert simplified and simplified == traditional


async def test_vague_question_offers_did_you_mean_buttons_that_show_answers(harness: Harness) -> None:
    question = pick(VAGUE, "suggest")
    replies = await ask(harness, USERS.resident, question)
    card = replies[-1]
    assert "您是不是想问" in (card.text or "")
    suggestions = [row[0] for row in card.buttons if row[0]["callback_data"].startswith("lw:s:")]
    assert 1 <= len(suggestions) <= 3
    assert all(len(b["callback_data"].encode()) <= 64 for row in card.buttons for b in row)
    assert "都不是" in card.button_texts[-1]
    expected = law_matcher().match(question).candidates[0]
    entry = law_matcher().entry(expected.faq_id)
    assert entry is not None
    _, replies = await harness.press(USERS.resident, card, suggestions[0]["text"])
    assert entry.answer_zh.strip()[:30] in (replies[-1].text or "")
    assert "👍 有用" in replies[-1].button_texts


async def test_none_of_these_passes_the_question_on_and_lists_it_as_a_gap(harness: Harness) -> None:
    question = pick(VAGUE, "suggest")
    replies = await ask(harness, USERS.resident, question)
    answer, _ = await harness.press(USERS.resident, replies[-1], "都不是")
    assert answer is not None and "已经转给法律志愿者" in (answer.get("text") or "")
    await harness.drain_outbox()
    assert question in (harness.last(USERS.legal).text or "")
    replies = await harness.send(USERS.admin, "/law_gaps")
    assert question in (replies[-1].text or "") and "已转志愿者" in (replies[-1].text or "")


async def test_no_match_says_so_and_passes_to_the_legal_volunteer_via_outbox(harness: Harness) -> None:
    question = pick(NO_MATCH, "none")
    replies = await ask(harness, USERS.resident, question)
    card = replies[-1]
    assert "暂时答不上来" in (card.text or "")
    assert await count(harness, LawQuestion, LawQuestion.decision == "none") == 1
    data = card.find_button("转给法律志愿者")["callback_data"]
    answer, _ = await harness.press(USERS.resident, card, "转给法律志愿者")
    assert answer is not None and "已经转给法律志愿者" in (answer.get("text") or "")
    # Pressing again (an old copy of the button) passes nothing twice.
    update_json = forged_callback(harness.world, USERS.resident, USERS.resident, card.message_id, data)
    await harness.process(update_json)
    answer = harness.world.callback_answer(update_json["callback_query"]["id"])
    assert answer is not None and "已经转给" in (answer.get("text") or "")
    await harness.drain_outbox()
    received = [m for m in harness.world.bot_messages(USERS.legal) if question in (m.text or "")]
    assert len(received) == 1
    assert "张阿姨" in (received[0].text or "") and "501" not in (received[0].text or "")
    # The volunteer replies; the resident gets the answer through the outbox.
    await harness.press(USERS.legal, received[0], "回复居民")
    replies = await harness.send(USERS.legal, "这个要看具体情况，您带上材料来找我聊聊。")
    assert "已经把您的回复转给张阿姨" in (replies[-1].text or "")
    await harness.drain_outbox()
    relayed = harness.last(USERS.resident).text or ""
    assert "带上材料来找我聊聊" in relayed and question in relayed


async def test_unregistered_question_goes_to_all_legal_volunteers_or_none_is_there(harness: Harness) -> None:
    question = pick(NO_MATCH, "none")
    replies = await ask(harness, USERS.outsider, question)
    answer, _ = await harness.press(USERS.outsider, replies[-1], "转给法律志愿者")
    assert answer is not None and "1 位" in (answer.get("text") or "")
    await harness.drain_outbox()
    assert question in (harness.last(USERS.legal).text or "")
    # Nobody left to ask: said honestly, nothing marked as passed.
    async with harness.services.uow() as uow:
        await uow.session.execute(
            update(StaffRole).where(StaffRole.role == "legal_volunteer").values(active=False)
        )
        await uow.commit()
    replies = await ask(harness, USERS.newcomer, question)
    answer, _ = await harness.press(USERS.newcomer, replies[-1], "转给法律志愿者")
    assert answer is not None and "12348" in (answer.get("text") or "")
    assert await count(harness, LawQuestion, LawQuestion.passed_at.is_not(None)) == 1


async def test_someone_else_cannot_pass_my_question(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "/law " + pick(NO_MATCH, "none"), chat_id=USERS.group)
    answer, _ = await harness.press(USERS.neighbour, replies[-1], "转给法律志愿者")
    assert answer is not None and "提问的人" in (answer.get("text") or "")
    assert await count(harness, LawQuestion, LawQuestion.passed_at.is_not(None)) == 0


async def test_only_legal_volunteers_can_answer_a_passed_question(harness: Harness) -> None:
    replies = await ask(harness, USERS.resident, pick(NO_MATCH, "none"))
    await harness.press(USERS.resident, replies[-1], "转给法律志愿者")
    async with harness.services.uow() as uow:
        question_id = await uow.session.scalar(select(LawQuestion.id))
    mine = await harness.send(USERS.neighbour, "/help")
    update_json = forged_callback(
        harness.world, USERS.neighbour, USERS.neighbour, mine[-1].message_id, f"lw:r:{question_id}"
    )
    await harness.process(update_json)
    answer = harness.world.callback_answer(update_json["callback_query"]["id"])
    assert answer is not None and "没有权限" in (answer.get("text") or "")
    await harness.drain_outbox()
    before = len(harness.world.bot_messages(USERS.resident))
    await harness.send(USERS.neighbour, "随便回一句")
    await harness.drain_outbox()
    assert len(harness.world.bot_messages(USERS.resident)) == before


# --- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["😀😀😀", "？？？。。。", "!!!"])
async def test_emoji_or_punctuation_asks_for_words_and_records_nothing(harness: Harness, text: str) -> None:
    replies = await ask(harness, USERS.resident, text)
    assert "请用文字说说您的问题" in (replies[-1].text or "")
    assert await count(harness, LawQuestion) == 0


async def test_very_long_question_is_answered_and_stored_cut(harness: Harness) -> None:
    question = "楼上天天半夜蹦迪咋办" + "真的受不了了" * 700
    assert len(question) > 4000
    replies = await ask(harness, USERS.resident, question)
    assert replies and all(len(m.text or "") <= 4096 for m in replies)
    async with harness.services.uow() as uow:
        stored = await uow.session.scalar(select(LawQuestion.question))
    assert stored is not None and len(stored) <= 500


async def test_phone_numbers_never_reach_the_database(harness: Harness) -> None:
    await ask(harness, USERS.resident, "房东不退押金 他电话13912345678 怎么办")
    async with harness.services.uow() as uow:
        stored = await uow.session.scalar(select(LawQuestion.question))
    assert stored is not None and "13912345678" not in stored and "房东" in stored


async def test_english_question_is_honest_not_a_guess(harness: Harness) -> None:
    replies = await ask(harness, USERS.resident, "hello, how are you today")
    assert "暂时答不上来" in (replies[-1].text or "")


async def test_free_text_help_and_chit_chat_at_top_level(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "你好")
    assert "/law" in (replies[-1].text or "")  # the /help text lists the commands
    replies = await harness.send(USERS.resident, "今天天气不错")  # small talk is "help" too: what I can do
    assert "/law" in (replies[-1].text or "") and "依据" not in (replies[-1].text or "")
    assert replies[-1].reply_markup is not None and "keyboard" in replies[-1].reply_markup


# --- article look-ups --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["第1254条", "民法典第一千二百五十四条", "第一二五四条"])
async def test_article_lookup_shows_summary_and_citing_entries(harness: Harness, text: str) -> None:
    replies = await harness.send(USERS.resident, text)
    card = replies[-1]
    summary = law_service.corpus().summaries[1254].summary_zh
    assert "民法典第1254条" in (card.text or "") and summary in (card.text or "")
    citing = law_matcher().entries_citing(1254)
    assert citing and len([b for b in card.button_texts if "查看原文" not in b]) == min(5, len(citing))
    assert not any("查看原文" in b for b in card.button_texts)
    _, replies = await harness.press(USERS.resident, card, card.button_texts[0])
    assert "依据：民法典" in (replies[-1].text or "") and "第1254条" in (replies[-1].text or "")


@pytest.mark.parametrize("text", ["第1300条", "第0条", "民法典第一万条"])
async def test_out_of_range_article_gets_a_clear_message(harness: Harness, text: str) -> None:
    replies = await harness.send(USERS.resident, text)
    assert "第1条到第1260条" in (replies[-1].text or "")


async def test_official_text_after_import(harness: Harness) -> None:
    if not CIVIL_CODE.is_file():
        pytest.skip(f"the reference Civil Code file {CIVIL_CODE} is not on this machine")
    rows, problems = law_service.parse_text_lines(CIVIL_CODE.read_text(encoding="utf-8").splitlines())
    assert not problems
    report = await law_service.import_texts(harness.services.uow(), rows, harness.clock.now())
    assert report.added == 1260
    official = next(r.text for r in rows if r.article == 1254)
    replies = await harness.send(USERS.resident, "第1254条")
    card = replies[-1]
    assert "📜 查看原文 第1254条" in card.button_texts
    _, replies = await harness.press(USERS.resident, card, "查看原文")
    assert official in (replies[-1].text or "")
    assert all(len(m.text or "") <= 4096 for m in replies)
    # Answers citing an article with imported text offer the original too.
    replies = await harness.send(USERS.resident, "狗把我家孩子咬了谁负责")
    assert any(b.startswith("📜 查看原文") for b in replies[-1].button_texts)


async def test_a_long_official_text_is_split_for_telegram(harness: Harness) -> None:
    long_text = "".join(f"（测试第{i}段）这是测试用的长条文。\n" for i in range(400))  # our own filler
    assert len(long_text) > 4096
    rows = [law_service.TextRow(5, long_text, None)]
    await law_service.import_texts(harness.services.uow(), rows, harness.clock.now())
    replies = await harness.send(USERS.resident, "第五条")
    assert "民法典第5条" in (replies[-1].text or "")
    _, replies = await harness.press(USERS.resident, replies[-1], "查看原文")
    assert len(replies) >= 2 and all(len(m.text or "") <= 4096 for m in replies)
    joined = "".join(m.text or "" for m in replies)
    assert "（测试第0段）" in joined and "（测试第399段）" in joined


async def test_original_text_button_before_import_says_it_is_missing(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "第1254条")
    message_id = replies[-1].message_id
    update_json = forged_callback(harness.world, USERS.resident, USERS.resident, message_id, "lw:t:1254")
    await harness.process(update_json)
    answer = harness.world.callback_answer(update_json["callback_query"]["id"])
    assert answer is not None and "还没有导入" in (answer.get("text") or "")


# --- feedback ----------------------------------------------------------------------------------------------


async def test_thumbs_down_is_recorded_once_and_pressing_again_changes_nothing(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "狗把我家孩子咬了谁负责")
    card = replies[-1]
    answer, _ = await harness.press(USERS.resident, card, "👎 没用")
    assert answer is not None and "改得更好" in (answer.get("text") or "")
    answer, _ = await harness.press(USERS.resident, card, "👎 没用")
    assert answer is not None and "已经评价过" in (answer.get("text") or "")
    answer, _ = await harness.press(USERS.resident, card, "👍 有用")
    assert answer is not None and "已经评价过" in (answer.get("text") or "")
    assert await count(harness, LawFeedback) == 1
    assert await count(harness, LawFeedback, LawFeedback.helpful.is_(False)) == 1
    # Another resident's vote on the same answer counts separately.
    replies = await harness.send(USERS.neighbour, "狗把我家孩子咬了谁负责")
    answer, _ = await harness.press(USERS.neighbour, replies[-1], "👍 有用")
    assert answer is not None and "谢谢您的反馈" in (answer.get("text") or "")
    assert await count(harness, LawFeedback) == 2


async def test_forged_feedback_button_is_refused(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "狗把我家孩子咬了谁负责")
    update_json = forged_callback(
        harness.world, USERS.resident, USERS.resident, replies[-1].message_id, "lw:v:1:zzzzzzzz:0"
    )
    await harness.process(update_json)
    answer = harness.world.callback_answer(update_json["callback_query"]["id"])
    assert answer is not None and "重新问一次" in (answer.get("text") or "")
    assert await count(harness, LawFeedback) == 0


# --- admins ------------------------------------------------------------------------------------------------


async def test_law_gaps_only_for_admins_and_legal_volunteers(harness: Harness) -> None:
    question = pick(NO_MATCH, "none")
    await ask(harness, USERS.resident, question)
    await ask(harness, USERS.neighbour, question + "？？")
    replies = await harness.send(USERS.resident, "狗把我家孩子咬了谁负责")
    await harness.press(USERS.resident, replies[-1], "👎 没用")

    replies = await harness.send(USERS.resident, "/law_gaps")
    assert "没有权限" in (replies[-1].text or "")
    for staff in (USERS.admin, USERS.legal):
        replies = await harness.send(staff, "/law_gaps")
        text = replies[-1].text or ""
        assert question in text and "×2" in text
        assert "👎" in text and "狗把我家孩子咬了谁负责" in text
    async with harness.services.uow() as uow:
        person = await uow.session.scalar(select(Person).where(Person.telegram_id == USERS.admin))
        assert person is not None
    commands = [c["command"] for c in harness.world.commands_for(USERS.resident)]
    assert "law" in commands and "law_gaps" not in commands


async def test_law_gaps_pages_stay_within_telegram_limits(harness: Harness) -> None:
    question = pick(NO_MATCH, "none")
    async with harness.services.uow() as uow:  # 40 different unanswered questions, long ones
        for i in range(40):
            text = f"{question} 第{i}个 " + "说来话长" * 40
            uow.session.add(
                LawQuestion(
                    person_id=None,
                    question=text,
                    gap_key=law_service.gap_key(text),
                    decision="none",
                    score=0.0,
                    created_at=harness.clock.now(),
                )
            )
        await uow.commit()
    replies = await harness.send(USERS.admin, "/law_gaps")
    first = replies[-1]
    assert len(first.text or "") <= 4096
    if "下一页" in " ".join(first.button_texts):
        _, _ = await harness.press(USERS.admin, first, "下一页")
        edited = harness.world.message(first.chat_id, first.message_id)
        assert "第 2/" in (edited.text or "") and len(edited.text or "") <= 4096


# --- groups ------------------------------------------------------------------------------------------------


async def test_group_law_command_answers_and_other_talk_is_left_alone(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "/law 狗把我家孩子咬了谁负责", chat_id=USERS.group)
    assert "依据：民法典" in (replies[-1].text or "")
    replies = await harness.send(USERS.resident, "狗把我家孩子咬了谁负责", chat_id=USERS.group)
    assert replies == []
    replies = await harness.send(USERS.resident, "@RedButlerBot 狗把我家孩子咬了谁负责", chat_id=USERS.group)
    assert "依据：民法典" in (replies[-1].text or "")
