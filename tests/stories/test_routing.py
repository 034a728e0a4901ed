"""Free text goes to the right flow; when the router is torn between two, the resident picks with a button."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.db.models.law import LawQuestion
from bot.services.routing import route_text
from handlers import routing as routing_handlers
from tests.factories import USERS
from tests.harness import Harness, forged_callback
from tests.repairs_helpers import setup_compound, tickets

# The model is retrained as the data grows; the tests take whichever of these it finds torn between the two.
REPAIR_OR_LAW = ["楼上漏水到我家了", "楼上漏水", "电梯坏了物业不管", "楼道堆东西", "装修", "楼上漏水了找谁",
                 "楼道被邻居占了", "电梯老是坏物业也不管", "楼上渗水到我家天花板"]


@pytest.fixture(autouse=True)
def _fresh_routing_cache() -> None:
    routing_handlers._cache.clear()  # cached by (chat id, message id); every test's emulator restarts ids


def torn(candidates: list[str], pair: set[str]) -> str:
    for text in candidates:
        result = route_text(text)
        if {result.intent, result.alternative} == pair:
            return text
    pytest.fail(f"none of {candidates} is a close call between {pair} any more; update the list")


async def questions(harness: Harness, text: str) -> int:
    async with harness.services.uow() as uow:
        return int(await uow.session.scalar(
            select(func.count()).select_from(LawQuestion).where(LawQuestion.question == text)) or 0)


async def test_a_close_call_is_asked_and_repair_starts_the_report_with_the_message(harness: Harness) -> None:
    await setup_compound(harness)
    text = torn(REPAIR_OR_LAW, {"repair", "law"})
    replies = await harness.send(USERS.resident, text)
    question = replies[-1]
    asked = question.text or ""
    assert "您是想" in asked and "报修" in asked and "问法律" in asked
    assert await questions(harness, text) == 0  # not answered before the resident chose

    answer, replies = await harness.press(USERS.resident, question, "🔧 报修")
    assert answer is not None and not answer.get("show_alert")
    assert "好的" in (harness.world.message(USERS.resident, question.message_id).text or "")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🚰 水电")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🏠")
    # The message is the description: the report goes straight on to photos, not "describe the problem".
    await harness.press(USERS.resident, harness.last(USERS.resident), "跳过")
    await harness.press(USERS.resident, harness.last(USERS.resident), "一般")
    await harness.press(USERS.resident, harness.last(USERS.resident), "提交报修")
    [row] = await tickets(harness)
    assert row.description == text


async def test_law_button_answers_the_original_question_once(harness: Harness) -> None:
    text = torn(REPAIR_OR_LAW, {"repair", "law"})
    question = (await harness.send(USERS.resident, text))[-1]
    _, replies = await harness.press(USERS.resident, question, "⚖️ 问法律")
    assert replies, "the legal question is answered"
    assert await questions(harness, text) == 1

    # The same button again (a double tap, a second phone): told kindly, nothing asked twice, no report.
    update = forged_callback(harness.world, USERS.resident, USERS.resident, question.message_id,
                             f"rt:law:{question.message_id}")
    before = len(harness.world.bot_messages(USERS.resident))
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "已经回答过" in (answer.get("text") or "")
    assert len(harness.world.bot_messages(USERS.resident)) == before
    update = forged_callback(harness.world, USERS.resident, USERS.resident, question.message_id,
                             f"rt:repair:{question.message_id}")
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "已经回答过" in (answer.get("text") or "")
    assert await questions(harness, text) == 1
    assert await tickets(harness) == []


async def test_an_older_question_is_stale_once_a_newer_one_was_asked(harness: Harness) -> None:
    await setup_compound(harness)
    text = torn(REPAIR_OR_LAW, {"repair", "law"})
    first = (await harness.send(USERS.resident, text))[-1]
    second = (await harness.send(USERS.resident, text))[-1]
    assert first.message_id != second.message_id
    answer, replies = await harness.press(USERS.resident, first, "🔧 报修")
    assert answer is not None and "已经回答过" in (answer.get("text") or "") and replies == []
    answer, _ = await harness.press(USERS.resident, second, "🔧 报修")
    assert answer is not None and not answer.get("show_alert"), answer
    assert "我来帮您报修" in (harness.last(USERS.resident).text or "")  # the report has started


async def test_english_speakers_are_asked_in_english(harness: Harness) -> None:
    await harness.send(USERS.resident, "/language")
    await harness.press(USERS.resident, harness.last(USERS.resident), "English")
    text = torn(REPAIR_OR_LAW, {"repair", "law"})
    question = (await harness.send(USERS.resident, text))[-1]
    assert "Would you like to" in (question.text or "")
    answer, _ = await harness.press(USERS.resident, question, "⚖️ Legal question")
    assert answer is not None and not answer.get("show_alert")
    assert await questions(harness, text) == 1


async def test_unregistered_person_choosing_repair_is_told_to_link_a_home(harness: Harness) -> None:
    text = torn(REPAIR_OR_LAW, {"repair", "law"})
    question = (await harness.send(USERS.newcomer, text))[-1]
    _, replies = await harness.press(USERS.newcomer, question, "🔧 报修")
    texts = [m.text or "" for m in replies]
    assert any("绑定" in t or "登记" in t for t in texts), texts
    assert await tickets(harness) == []


@pytest.mark.parametrize(("text", "needle"), [("我家水管漏了", "报修"), ("我的兑换券怎么用", "分")])
async def test_a_clear_message_is_not_asked_about(harness: Harness, text: str, needle: str) -> None:
    await setup_compound(harness)
    replies = await harness.send(USERS.resident, text)
    assert replies and all("您是想" not in (m.text or "") for m in replies)


async def test_patrol_and_event_questions_get_their_lists(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "这周巡逻排哪天")
    assert "巡逻志愿者" in (replies[-1].text or "")  # the patrol flow's answer to a non-volunteer
    replies = await harness.send(USERS.resident, "最近小区有什么活动")
    assert "社区活动" in (replies[-1].text or "")


@pytest.mark.parametrize("text", ["", "😀😀", "？？？", "12", "asdf qwer", "x" * 4000])
async def test_bad_input_gets_a_sensible_reply(harness: Harness, text: str) -> None:
    replies = await harness.send(USERS.resident, text or " ")
    assert replies, "every message gets an answer"
    assert all("Traceback" not in (m.text or "") for m in replies)


@pytest.mark.parametrize(
    ("who", "text", "expected"),
    [
        (USERS.resident, "谢谢", "不客气"),
        (USERS.resident, "太感谢了 🙏", "不客气"),
        (USERS.outsider, "thanks a lot", "You're welcome"),  # never chose a language: answered in English
    ],
)
async def test_thanks_in_private_gets_a_welcome_not_the_menu(
    harness: Harness, who: int, text: str, expected: str
) -> None:
    replies = await harness.send(who, text)
    assert len(replies) == 1
    assert (replies[0].text or "").startswith(expected)
    assert "我能帮您做这些" not in (replies[0].text or "")


async def test_a_greeting_in_private_still_shows_what_the_bot_can_do(harness: Harness) -> None:
    await harness.send(USERS.resident, "你好")
    assert harness.texts(USERS.resident)[-1].startswith("我能帮您做这些")
