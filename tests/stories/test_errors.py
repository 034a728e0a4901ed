"""Anything unexpected: a short friendly message with an error id; no trace reaches the user."""

from __future__ import annotations

import logging
import re

import pytest

from bot.services import people
from tests.factories import USERS
from tests.harness import Harness, forged_callback


async def test_unexpected_failure_gives_error_id_and_logs_the_trace(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded")

    monkeypatch.setattr(people, "whoami", broken)
    with caplog.at_level(logging.ERROR, logger="redbutler.errors"):
        replies = await harness.send(USERS.resident, "/me")
    text = replies[-1].text or ""
    match = re.search(r"编号告诉物业：([0-9a-f]{8})$", text)
    assert match is not None
    assert "RuntimeError" not in text and "Traceback" not in text and "database" not in text
    assert any(match.group(1) in record.getMessage() and record.exc_info for record in caplog.records)


async def test_english_user_gets_the_error_in_english(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    replies = await harness.send(4001, "/start")
    await harness.press(4001, replies[-1], "English")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(people, "whoami", broken)
    replies = await harness.send(4001, "/me")
    assert "Sorry, something went wrong" in (replies[-1].text or "")


async def test_a_5000_character_message_is_answered(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "啊" * 5000)
    assert replies and len(replies[-1].text or "") < 4096


ODD_CONTENT: dict[str, dict[str, object]] = {
    "sticker": {"sticker": {"file_id": "stk1", "file_unique_id": "stk1u", "type": "regular", "width": 512,
                            "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}},
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "v1u", "duration": 3, "mime_type": "audio/ogg"}},
    "video_note": {"video_note": {"file_id": "vn1", "file_unique_id": "vn1u", "length": 240, "duration": 2}},
    "dice": {"dice": {"emoji": "🎲", "value": 4}},
    "animation": {"animation": {"file_id": "a1", "file_unique_id": "a1u", "width": 320, "height": 240,
                                "duration": 2}},
    "audio": {"audio": {"file_id": "au1", "file_unique_id": "au1u", "duration": 180, "title": "广场舞"}},
    "venue": {"venue": {"location": {"latitude": 30.2, "longitude": 120.1}, "title": "幸福里",
                        "address": "幸福路1号"}},
}

# Where a person can be when the odd message arrives: idle, or in the middle of a flow.
STATES: dict[str, tuple[str, ...]] = {
    "idle": (),
    "reporting a repair": ("/report",),
    "asking a legal question": ("/law",),
    "checking points": ("/points",),
}


def _odd_message(harness: Harness, user: int, kind: str, chat_id: int | None = None) -> dict[str, object]:
    update = harness.world.user_sends_text(user, "placeholder", chat_id=chat_id)
    message = update["message"]
    for field in ("text", "entities"):
        message.pop(field, None)
    message.update(ODD_CONTENT[kind])
    return update


@pytest.mark.parametrize("state", list(STATES))
async def test_stickers_voice_and_other_odd_messages_in_any_state_get_a_reply_and_no_error(
    harness: Harness, state: str, caplog: pytest.LogCaptureFixture
) -> None:
    for user in (USERS.resident, USERS.outsider):
        for text in STATES[state]:
            await harness.send(user, text)
        for kind in ODD_CONTENT:
            before = len(harness.world.bot_messages(user))
            with caplog.at_level(logging.ERROR):
                await harness.process(_odd_message(harness, user, kind))
            replies = harness.world.bot_messages(user)[before:]
            assert replies, (state, user, kind)
            text = replies[-1].text or ""
            assert "Traceback" not in text and "编号告诉物业" not in text, (state, kind, text)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.records


async def test_odd_messages_in_the_compound_group_get_no_reply_and_no_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    before = len(harness.world.bot_messages(USERS.group))
    with caplog.at_level(logging.ERROR):
        for kind in ODD_CONTENT:
            await harness.process(_odd_message(harness, USERS.resident, kind, chat_id=USERS.group))
    assert harness.world.bot_messages(USERS.group)[before:] == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.records


@pytest.mark.parametrize("state", list(STATES))
async def test_a_voice_message_is_answered_with_please_type_and_the_flow_goes_on(
    harness: Harness, state: str
) -> None:
    for text in STATES[state]:
        await harness.send(USERS.resident, text)
    before = len(harness.world.bot_messages(USERS.resident))
    await harness.process(_odd_message(harness, USERS.resident, "voice"))
    [reply] = harness.world.bot_messages(USERS.resident)[before:]
    assert "语音" in (reply.text or "") and "打字" in (reply.text or ""), reply.text
    if state == "asking a legal question":  # the step still takes the typed question
        replies = await harness.send(USERS.resident, "楼上漏水把我家天花板泡了谁赔")
        card = replies[-1].text or ""
        assert "您问的是" in card or "您是想问" in card, card


async def test_a_photo_sent_out_of_the_blue_offers_a_repair_report(harness: Harness) -> None:
    before = len(harness.world.bot_messages(USERS.resident))
    await harness.process(harness.world.user_sends_photo(USERS.resident, caption="厨房水管漏水"))
    [offer] = harness.world.bot_messages(USERS.resident)[before:]
    assert "报修" in (offer.text or "") and offer.button_texts == ["🔧 报修"]
    data = offer.find_button("🔧 报修")["callback_data"]
    await harness.press(USERS.resident, offer, "🔧 报修")
    started = harness.world.message(USERS.resident, offer.message_id)
    assert "是哪方面的问题" in (started.text or ""), started.text  # the offer became the report's first step
    # The same button again (a second phone, an old copy): told it is done, no second report.
    update = forged_callback(harness.world, USERS.resident, USERS.resident, offer.message_id, data)
    before = len(harness.world.bot_messages(USERS.resident))
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and answer.get("text"), answer
    assert harness.world.bot_messages(USERS.resident)[before:] == []


async def test_an_album_gets_one_offer_and_someone_without_a_home_gets_none(harness: Harness) -> None:
    before = len(harness.world.bot_messages(USERS.resident))
    for _ in range(3):
        update = harness.world.user_sends_photo(USERS.resident)
        update["message"]["media_group_id"] = "album-1"
        await harness.process(update)
    sent = harness.world.bot_messages(USERS.resident)[before:]
    offers = [m for m in sent if "是要报修吗" in (m.text or "")]
    assert len(offers) == 1
    replies = await harness.send_photo(USERS.outsider)
    assert "是要报修吗" not in (replies[-1].text or "") and "用不上" in (replies[-1].text or "")


async def test_a_second_press_of_a_photo_offer_speaks_of_the_photo_not_a_question(harness: Harness) -> None:
    [offer] = await harness.send_photo(USERS.resident)
    data = offer.find_button("🔧 报修")["callback_data"]
    await harness.press(USERS.resident, offer, "🔧 报修")
    await harness.send(USERS.resident, "/cancel")
    update = forged_callback(harness.world, USERS.resident, USERS.resident, offer.message_id, data)
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "这张照片已经处理过了" in (answer.get("text") or ""), answer
    assert "问题" not in (answer.get("text") or "")


async def test_an_old_photo_offer_pressed_in_another_flow_asks_before_leaving_it(harness: Harness) -> None:
    user = USERS.resident
    [offer] = await harness.send_photo(user, caption="楼道灯坏了")
    data = offer.find_button("🔧 报修")["callback_data"]
    await harness.send(user, "/law")
    _, replies = await harness.press(user, offer, "🔧 报修")
    [ask] = replies
    assert "报修" in (ask.text or "") and "继续填写" in " ".join(ask.button_texts), ask.text
    assert "是哪方面的问题" not in " ".join(m.text or "" for m in harness.world.bot_messages(user))
    # Staying: the legal question is still the one being asked.
    await harness.press(user, ask, "✏️ 继续填写")
    replies = await harness.send(user, "楼上漏水把我家天花板泡了谁赔")
    assert any("您问的是" in (m.text or "") or "您是想问" in (m.text or "") for m in replies), replies
    # Going: the report starts (the offer becomes its first step), once.
    await harness.send(user, "/law")
    _, [ask] = await harness.press(user, offer, "🔧 报修")
    await harness.press(user, ask, next(b for b in ask.button_texts if b.startswith("👉")))
    started = harness.world.message(user, offer.message_id)
    assert "是哪方面的问题" in (started.text or ""), started.text
    await harness.send(user, "/cancel")
    update = forged_callback(harness.world, user, user, offer.message_id, data)  # the old offer again
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "这张照片已经处理过了" in (answer.get("text") or ""), answer


async def test_an_offer_pressed_inside_a_report_says_carry_on(harness: Harness) -> None:
    [offer] = await harness.send_photo(USERS.resident)
    await harness.send(USERS.resident, "/report")
    answer, replies = await harness.press(USERS.resident, offer, "🔧 报修")
    said = (answer or {}).get("text") or ""
    assert "您正在报修" in said and "拍照那一步" in said, answer
    assert replies == []


async def test_a_photo_inside_a_flow_is_not_offered_as_a_repair(harness: Harness) -> None:
    # A merchant checking a voucher code: the photo is not a repair report, and the code step stays.
    await harness.send(USERS.merchant, "🎫 核销")
    replies = await harness.send_photo(USERS.merchant)
    assert replies and "是要报修吗" not in (replies[-1].text or ""), replies[-1].text
    assert "用不上照片" in (replies[-1].text or "") and "✏️ 继续填写" in replies[-1].button_texts
    # /points shows a screen and opens no flow: a photo after it is a fresh start, offered as a repair.
    await harness.send(USERS.resident, "/points")
    replies = await harness.send_photo(USERS.resident)
    assert "是要报修吗" in (replies[-1].text or "")
