"""The in-memory Telegram: Bot API shapes and errors, user actions, faults, flood limits, PTB on top."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MessageEntity,
    ReplyKeyboardMarkup,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.emulator import BotApiError, EmulatorRequest, TelegramWorld, make_png

RESIDENT, BUTLER, STRANGER = 1001, 1002, 1003
GROUP = -100500


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> TelegramWorld:
    w = TelegramWorld()
    w.add_user(RESIDENT, "王阿姨", username="wang_ayi")
    w.add_user(BUTLER, "李师傅")
    w.add_group(GROUP, "幸福里1期业主群", members=[RESIDENT, BUTLER], admins=[BUTLER])
    return w


def inline(*rows: list[tuple[str, str]]) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in rows]}


async def expect_error(world: TelegramWorld, method: str, params: dict[str, Any]) -> BotApiError:
    with pytest.raises(BotApiError) as info:
        await world.call(method, params)
    return info.value


# --- sending and its errors ------------------------------------------------------------------------------


async def test_send_message_returns_telegram_message_and_lands_in_history(world: TelegramWorld) -> None:
    result = await world.call(
        "sendMessage", {"chat_id": RESIDENT, "text": "您好", "reply_markup": inline([("好", "ok")])}
    )
    assert result["chat"] == {
        "id": RESIDENT,
        "type": "private",
        "first_name": "王阿姨",
        "username": "wang_ayi",
    }
    assert result["from"]["is_bot"] and result["from"]["username"] == "RedButlerBot"
    assert result["text"] == "您好" and result["reply_markup"] == inline([("好", "ok")])
    msg = world.last_bot_message(RESIDENT)
    assert (msg.message_id, msg.text, msg.button_texts) == (result["message_id"], "您好", ["好"])


@pytest.mark.parametrize(
    ("params", "code", "description"),
    [
        ({"chat_id": RESIDENT, "text": ""}, 400, "Bad Request: message text is empty"),
        ({"chat_id": RESIDENT, "text": "   "}, 400, "Bad Request: message text is empty"),
        ({"chat_id": RESIDENT, "text": "长" * 4097}, 400, "Bad Request: message is too long"),
        ({"chat_id": 424242, "text": "hi"}, 400, "Bad Request: chat not found"),
        (
            {"chat_id": RESIDENT, "text": "x", "reply_markup": inline([("a", "d" * 65)])},
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"chat_id": RESIDENT, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "光秃秃"}]]}},
            400,
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard",
        ),
        (
            {
                "chat_id": RESIDENT,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "url": "不是网址"}]]},
            },
            400,
            "Bad Request: inline keyboard button URL '不是网址' is invalid: Wrong HTTP URL",
        ),
        (
            {"chat_id": RESIDENT, "text": "x", "reply_markup": {"bogus": 1}},
            400,
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
        (
            {
                "chat_id": GROUP,
                "text": "x",
                "reply_markup": {"keyboard": [[{"text": "电话", "request_contact": True}]]},
            },
            400,
            "Bad Request: can't parse keyboard button: Phone number can be requested in private chats only",
        ),
    ],
)
async def test_send_message_rejects_what_telegram_rejects(
    world: TelegramWorld, params: dict[str, Any], code: int, description: str
) -> None:
    err = await expect_error(world, "sendMessage", params)
    assert (err.error_code, err.description) == (code, description)
    assert world.bot_messages(RESIDENT) == []


async def test_exactly_64_bytes_of_callback_data_and_4096_characters_are_fine(world: TelegramWorld) -> None:
    await world.call(
        "sendMessage", {"chat_id": RESIDENT, "text": "字" * 4096, "reply_markup": inline([("a", "é" * 32)])}
    )
    assert len(world.last_bot_message(RESIDENT).text or "") == 4096


async def test_entities_pass_through_and_parse_mode_is_refused(world: TelegramWorld) -> None:
    """The bot formats with entities; a parse_mode would mean code this emulator no longer checks."""
    bold = [{"type": "bold", "offset": 3, "length": 2}]
    result = await world.call("sendMessage", {"chat_id": RESIDENT, "text": "🏠 3栋", "entities": bold})
    assert result["entities"] == bold
    html = {"chat_id": RESIDENT, "text": "<b>x</b>", "parse_mode": "HTML"}
    err = await expect_error(world, "sendMessage", html)
    assert err.error_code == 400 and "parse_mode" in err.description


async def test_blocked_user_gives_403_and_unblocks_when_writing_again(world: TelegramWorld) -> None:
    world.block_bot(RESIDENT)
    err = await expect_error(world, "sendMessage", {"chat_id": RESIDENT, "text": "hi"})
    assert (err.error_code, err.description) == (403, "Forbidden: bot was blocked by the user")
    world.user_sends_text(RESIDENT, "我回来了")
    await world.call("sendMessage", {"chat_id": RESIDENT, "text": "欢迎回来"})


async def test_bot_cannot_write_first_to_someone_who_never_started_it(world: TelegramWorld) -> None:
    world.add_user(STRANGER, "路人", started=False)
    err = await expect_error(world, "sendMessage", {"chat_id": STRANGER, "text": "hi"})
    assert err.description == "Forbidden: bot can't initiate conversation with a user"
    world.user_opens_deep_link(STRANGER, "inv_ABC123")
    await world.call("sendMessage", {"chat_id": STRANGER, "text": "欢迎"})


async def test_unknown_method_is_404(world: TelegramWorld) -> None:
    err = await expect_error(world, "sendHologram", {"chat_id": RESIDENT})
    assert (err.error_code, err.description) == (404, "Not Found")


async def test_form_encoded_strings_are_understood(world: TelegramWorld) -> None:
    result = await world.call(
        "sendMessage",
        {
            "chat_id": str(RESIDENT),
            "text": "表单",
            "reply_markup": '{"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}',
        },
    )
    assert result["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b"


# --- editing, deleting, callbacks ------------------------------------------------------------------------


async def test_edit_text_and_markup_and_not_modified(world: TelegramWorld) -> None:
    sent = await world.call(
        "sendMessage", {"chat_id": RESIDENT, "text": "待接单", "reply_markup": inline([("接单", "t:1")])}
    )
    mid = sent["message_id"]
    same = {
        "chat_id": RESIDENT,
        "message_id": mid,
        "text": "待接单",
        "reply_markup": inline([("接单", "t:1")]),
    }
    err = await expect_error(world, "editMessageText", same)
    assert err.description == (
        "Bad Request: message is not modified: specified new message content and reply "
        "markup are exactly the same as a current content and reply markup of the message"
    )
    edited = await world.call("editMessageText", {"chat_id": RESIDENT, "message_id": mid, "text": "已接单"})
    assert edited["text"] == "已接单" and "reply_markup" not in edited and "edit_date" in edited
    msg = world.message(RESIDENT, mid)
    assert (msg.text, msg.buttons, msg.edited) == ("已接单", [], 1)
    await world.call(
        "editMessageReplyMarkup",
        {"chat_id": RESIDENT, "message_id": mid, "reply_markup": inline([("评价", "r:1")])},
    )
    err = await expect_error(
        world,
        "editMessageReplyMarkup",
        {"chat_id": RESIDENT, "message_id": mid, "reply_markup": inline([("评价", "r:1")])},
    )
    assert err.description.startswith("Bad Request: message is not modified")
    err = await expect_error(world, "editMessageText", {"chat_id": RESIDENT, "message_id": 999, "text": "x"})
    assert err.description == "Bad Request: message to edit not found"


async def test_user_messages_cannot_be_edited(world: TelegramWorld) -> None:
    update = world.user_sends_text(RESIDENT, "你好")
    mid = update["message"]["message_id"]
    err = await expect_error(world, "editMessageText", {"chat_id": RESIDENT, "message_id": mid, "text": "x"})
    assert err.description == "Bad Request: message can't be edited"


async def test_button_press_builds_callback_query_and_answer_is_recorded(world: TelegramWorld) -> None:
    sent = await world.call(
        "sendMessage",
        {"chat_id": RESIDENT, "text": "确认？", "reply_markup": inline([("是", "yes"), ("否", "no")])},
    )
    update = world.user_presses(RESIDENT, sent["message_id"], "yes")
    cq = update["callback_query"]
    assert (
        cq["data"] == "yes"
        and cq["from"]["id"] == RESIDENT
        and cq["message"]["message_id"] == sent["message_id"]
    )
    assert world.pending_updates()[-1] == update
    assert await world.call("answerCallbackQuery", {"callback_query_id": cq["id"], "text": "好的"}) is True
    assert world.callback_answer(cq["id"]) == {"text": "好的"}
    err = await expect_error(world, "answerCallbackQuery", {"callback_query_id": cq["id"]})
    assert (
        err.description == "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    with pytest.raises(ValueError, match="no button"):
        world.user_presses(RESIDENT, sent["message_id"], "maybe")


# --- user actions and updates ----------------------------------------------------------------------------


async def test_commands_get_bot_command_entities_including_bot_username(world: TelegramWorld) -> None:
    update = world.user_sends_text(RESIDENT, "/law@RedButlerBot 高空抛物", chat_id=GROUP)
    msg = update["message"]
    assert msg["chat"]["type"] == "supergroup" and msg["chat"]["title"] == "幸福里1期业主群"
    assert msg["entities"] == [{"type": "bot_command", "offset": 0, "length": 17}]
    deep = world.user_opens_deep_link(RESIDENT, "inv_3-2-501")
    assert deep["message"]["text"] == "/start inv_3-2-501"
    with pytest.raises(ValueError):
        world.user_opens_deep_link(RESIDENT, "坏的 payload")


async def test_photos_documents_contacts_locations(world: TelegramWorld) -> None:
    png = make_png(40, 30)
    photo = world.user_sends_photo(RESIDENT, caption="漏水", data=png)["message"]
    assert photo["caption"] == "漏水" and (photo["photo"][-1]["width"], photo["photo"][-1]["height"]) == (
        40,
        30,
    )
    file = await world.call("getFile", {"file_id": photo["photo"][-1]["file_id"]})
    assert world.file_bytes(file["file_path"]) is not None
    world.user_sends_photo(RESIDENT, data=png)
    last = world.chat_history(RESIDENT)[-1]
    got = await world.call("getFile", {"file_id": last.photo[-1]["file_id"]})  # type: ignore[index]
    assert world.file_bytes(got["file_path"]) == png
    doc = world.user_sends_document(
        RESIDENT, filename="合同.pdf", data=b"%PDF-1.4", mime_type="application/pdf"
    )
    assert doc["message"]["document"]["file_name"] == "合同.pdf"
    contact = world.user_sends_contact(RESIDENT, "+8613800000000")["message"]["contact"]
    assert contact == {"phone_number": "+8613800000000", "first_name": "王阿姨", "user_id": RESIDENT}
    loc = world.user_sends_location(RESIDENT, 31.23, 121.47)["message"]["location"]
    assert loc == {"latitude": 31.23, "longitude": 121.47}
    err = await expect_error(world, "getFile", {"file_id": "nonsense"})
    assert err.description == "Bad Request: invalid file_id"


async def test_joining_and_adding_bot_produce_updates(world: TelegramWorld) -> None:
    world.add_user(STRANGER, "新邻居")
    world.user_joins_group(STRANGER, GROUP)
    kinds = [next(k for k in u if k != "update_id") for u in world.pending_updates()]
    assert kinds[-2:] == ["chat_member", "message"]
    assert world.pending_updates()[-1]["message"]["new_chat_members"][0]["id"] == STRANGER
    world.add_group(-100600, "幸福里2期", members=[RESIDENT], bot_member=False)
    update = world.bot_added_to_group(RESIDENT, -100600)
    assert update["my_chat_member"]["new_chat_member"]["status"] == "member"
    assert world.pending_updates()[-1]["message"]["new_chat_members"][0]["is_bot"] is True


async def test_get_updates_long_polls_and_confirms_with_offset(world: TelegramWorld) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        world.user_sends_text(RESIDENT, "在吗")

    task = asyncio.create_task(later())
    updates = await world.call("getUpdates", {"timeout": 5})
    await task
    assert [u["message"]["text"] for u in updates] == ["在吗"]
    assert await world.call("getUpdates", {"offset": updates[-1]["update_id"] + 1, "timeout": 0}) == []
    assert world.pending_updates() == []
    assert world.bot_connected()


async def test_chat_member_updates_only_when_allowed(world: TelegramWorld) -> None:
    world.add_user(STRANGER, "新邻居")
    world.user_joins_group(STRANGER, GROUP)
    default = await world.call("getUpdates", {"timeout": 0})
    assert ["chat_member" in u for u in default] == [False]
    world.user_joins_group(BUTLER, GROUP)
    allowed = await world.call(
        "getUpdates",
        {"timeout": 0, "offset": default[-1]["update_id"] + 1, "allowed_updates": ["message", "chat_member"]},
    )
    assert ["chat_member" in u for u in allowed] == [True, False]


async def test_webhook_blocks_get_updates(world: TelegramWorld) -> None:
    await world.call("setWebhook", {"url": "https://example.org/hook", "secret_token": "s3cret"})
    err = await expect_error(world, "getUpdates", {})
    assert err.error_code == 409
    info = await world.call("getWebhookInfo", {})
    assert info["url"] == "https://example.org/hook"
    await world.call("deleteWebhook", {})
    assert await world.call("getUpdates", {}) == []


async def test_commands_follow_telegram_scope_resolution(world: TelegramWorld) -> None:
    await world.call("setMyCommands", {"commands": [{"command": "start", "description": "开始"}]})
    await world.call(
        "setMyCommands",
        {
            "commands": [{"command": "report", "description": "报修"}],
            "scope": {"type": "all_private_chats"},
            "language_code": "zh",
        },
    )
    await world.call(
        "setMyCommands",
        {
            "commands": [{"command": "tasks", "description": "我的任务"}],
            "scope": {"type": "chat_member", "chat_id": GROUP, "user_id": BUTLER},
        },
    )
    assert [c["command"] for c in world.commands_for(RESIDENT)] == ["report"]
    assert [c["command"] for c in world.commands_for(RESIDENT, GROUP)] == ["start"]
    assert [c["command"] for c in world.commands_for(BUTLER, GROUP)] == ["tasks"]
    assert ("all_private_chats", None, None, "zh") in world.commands
    got = await world.call("getMyCommands", {"scope": {"type": "all_private_chats"}, "language_code": "zh"})
    assert got == [{"command": "report", "description": "报修"}]
    err = await expect_error(
        world, "setMyCommands", {"commands": [{"command": "Bad-Cmd", "description": "x"}]}
    )
    assert err.description == "Bad Request: BOT_COMMAND_INVALID"


async def test_pinning_needs_the_bot_to_be_an_admin(world: TelegramWorld) -> None:
    err = await expect_error(world, "pinChatMessage", {"chat_id": GROUP, "message_id": 1})
    assert err.description == "Bad Request: not enough rights to manage pinned messages in the chat"


# --- faults and flood limits -----------------------------------------------------------------------------


async def test_injected_faults_fire_once_for_the_matching_call(world: TelegramWorld) -> None:
    world.inject_fault(method="sendMessage", chat_id=RESIDENT, kind="5xx")
    await world.call("sendMessage", {"chat_id": BUTLER, "text": "不受影响"})
    err = await expect_error(world, "sendMessage", {"chat_id": RESIDENT, "text": "x"})
    assert err.error_code == 500
    world.inject_fault(kind="429", retry_after=7)
    err = await expect_error(world, "sendMessage", {"chat_id": RESIDENT, "text": "x"})
    assert (err.error_code, err.retry_after, err.description) == (429, 7, "Too Many Requests: retry after 7")
    await world.call("sendMessage", {"chat_id": RESIDENT, "text": "恢复"})
    assert [m.text for m in world.bot_messages(RESIDENT)] == ["恢复"]


async def test_flood_limits_private_group_and_recovery() -> None:
    clock = FakeMonotonic()
    w = TelegramWorld(flood_limits=True, monotonic=clock)
    w.add_user(RESIDENT, "王阿姨")
    w.add_group(GROUP, "群", members=[RESIDENT])
    for _ in range(5):
        await w.call("sendMessage", {"chat_id": RESIDENT, "text": "x"})
    err = await expect_error(w, "sendMessage", {"chat_id": RESIDENT, "text": "x"})
    assert err.error_code == 429 and err.retry_after == 1
    assert err.description == "Too Many Requests: retry after 1"
    clock.now += 1.0
    await w.call("sendMessage", {"chat_id": RESIDENT, "text": "x"})
    for _ in range(20):
        clock.now += 0.5
        await w.call("sendMessage", {"chat_id": GROUP, "text": "g"})
    err = await expect_error(w, "sendMessage", {"chat_id": GROUP, "text": "g"})
    assert err.error_code == 429 and 40 <= (err.retry_after or 0) <= 60
    clock.now += 60
    await w.call("sendMessage", {"chat_id": GROUP, "text": "g"})


async def test_overall_limit_of_thirty_per_second() -> None:
    clock = FakeMonotonic()
    w = TelegramWorld(flood_limits=True, monotonic=clock)
    for uid in range(1, 32):
        w.add_user(uid, f"u{uid}")
    for uid in range(1, 31):
        await w.call("sendMessage", {"chat_id": uid, "text": "x"})
    err = await expect_error(w, "sendMessage", {"chat_id": 31, "text": "x"})
    assert err.error_code == 429


# --- PTB on top of the in-process transport --------------------------------------------------------------


def ptb_bot(world: TelegramWorld, **kw: Any) -> Bot:
    return Bot(
        "123456:TEST", request=EmulatorRequest(world, **kw), get_updates_request=EmulatorRequest(world)
    )


async def test_ptb_bot_sends_edits_uploads_and_downloads(world: TelegramWorld) -> None:
    async with ptb_bot(world) as bot:
        assert bot.username == "RedButlerBot"
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("接单", callback_data="t:1:accept")]])
        bold = [MessageEntity(MessageEntity.BOLD, 0, 3)]
        msg = await bot.send_message(GROUP, "新工单 3栋电梯", entities=bold, reply_markup=keyboard)
        assert msg.text == "新工单 3栋电梯" and msg.entities[0].type == "bold"
        edited = await bot.edit_message_text("已被李师傅接单", chat_id=GROUP, message_id=msg.message_id)
        assert isinstance(edited, object) and world.message(GROUP, msg.message_id).text == "已被李师傅接单"
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("已被李师傅接单", chat_id=GROUP, message_id=msg.message_id)
        png = make_png(64, 48)
        photo = await bot.send_photo(RESIDENT, png, caption="维修完成")
        assert photo.caption == "维修完成" and photo.photo[-1].width == 64
        file = await bot.get_file(photo.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == png
        doc = await bot.send_document(RESIDENT, b"name,room\n", filename="roster.csv")
        assert doc.document is not None and doc.document.file_name == "roster.csv"
        await bot.send_message(
            RESIDENT,
            "请分享电话",
            reply_markup=ReplyKeyboardMarkup(
                [[KeyboardButton("分享电话", request_contact=True)]], one_time_keyboard=True
            ),
        )
        assert world.reply_keyboard(RESIDENT) is not None
        world.user_sends_contact(RESIDENT, "13800000000")
        assert world.reply_keyboard(RESIDENT) is None


async def test_ptb_bot_gets_updates_and_answers_callbacks(world: TelegramWorld) -> None:
    async with ptb_bot(world) as bot:
        sent = await bot.send_message(
            RESIDENT,
            "满意吗？",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("⭐⭐⭐⭐⭐", callback_data="rate:5")]]),
        )
        world.user_presses(RESIDENT, sent.message_id, "rate:5")
        updates = await bot.get_updates(timeout=1)
        query = updates[-1].callback_query
        assert query is not None and query.data == "rate:5" and query.message.message_id == sent.message_id  # type: ignore[union-attr]
        await query.answer("谢谢评价")
        assert world.callback_answer(query.id) == {"text": "谢谢评价"}


async def test_ptb_sees_forbidden_retry_after_network_error_and_timeout(world: TelegramWorld) -> None:
    world.block_bot(RESIDENT)
    async with ptb_bot(world, read_timeout=0.2) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(RESIDENT, "hi")
        world.inject_fault(method="sendMessage", kind="429", retry_after=3)
        with pytest.raises(RetryAfter, match="Retry in 3"):
            await bot.send_message(BUTLER, "hi")
        world.inject_fault(method="sendMessage", kind="drop")
        with pytest.raises(NetworkError):
            await bot.send_message(BUTLER, "hi")
        world.inject_fault(method="sendMessage", kind="5xx")
        with pytest.raises(NetworkError):
            await bot.send_message(BUTLER, "hi")
        world.inject_fault(method="sendMessage", kind="delay", delay=1.0)
        with pytest.raises(TimedOut):
            await bot.send_message(BUTLER, "慢")
        # as with the real Telegram, a timed-out send may still have been delivered
        assert world.last_bot_message(BUTLER).text == "慢"
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(777, "hi")


async def test_privacy_mode_delivers_only_commands_mentions_and_replies_in_groups() -> None:
    w = TelegramWorld(privacy_mode=True)
    w.add_user(RESIDENT, "王阿姨")
    w.add_group(GROUP, "群", members=[RESIDENT])
    sent = await w.call("sendMessage", {"chat_id": GROUP, "text": "我是红管家"})
    w.user_sends_text(RESIDENT, "今天天气不错", chat_id=GROUP)
    w.user_sends_text(RESIDENT, "/law 高空抛物", chat_id=GROUP)
    w.user_sends_text(RESIDENT, "@RedButlerBot 物业费", chat_id=GROUP)
    w.user_sends_text(RESIDENT, "谢谢", chat_id=GROUP, reply_to=sent["message_id"])
    w.user_sends_text(RESIDENT, "私聊随便说")
    delivered = [u["message"]["text"] for u in w.pending_updates()]
    assert delivered == ["/law 高空抛物", "@RedButlerBot 物业费", "谢谢", "私聊随便说"]
    assert len(w.chat_history(GROUP)) == 5  # the group still saw everything


async def test_reply_keyboard_buttons_and_one_time_hiding(world: TelegramWorld) -> None:
    await world.call(
        "sendMessage",
        {
            "chat_id": RESIDENT,
            "text": "选一个",
            "reply_markup": {
                "keyboard": [["报修", "问法律"], [{"text": "发位置", "request_location": True}]],
                "one_time_keyboard": True,
            },
        },
    )
    update = world.user_replies_keyboard(RESIDENT, "报修")
    assert update["message"]["text"] == "报修"
    assert world.reply_keyboard(RESIDENT) is None
    await world.call(
        "sendMessage", {"chat_id": RESIDENT, "text": "再选", "reply_markup": {"keyboard": [["好"]]}}
    )
    await world.call(
        "sendMessage", {"chat_id": RESIDENT, "text": "收起", "reply_markup": {"remove_keyboard": True}}
    )
    assert world.reply_keyboard(RESIDENT) is None


async def test_pressing_a_button_by_its_text(world: TelegramWorld) -> None:
    await world.call(
        "sendMessage", {"chat_id": GROUP, "text": "新工单", "reply_markup": inline([("接单", "t:9:acc")])}
    )
    update = world.user_presses_button(BUTLER, world.last_bot_message(GROUP), "接单")
    assert update["callback_query"]["data"] == "t:9:acc" and update["callback_query"]["from"]["id"] == BUTLER
    with pytest.raises(ValueError, match="no button"):
        world.user_presses_button(BUTLER, world.last_bot_message(GROUP), "拒绝")
    with pytest.raises(ValueError, match="not a member"):
        world.add_user(STRANGER, "路人")
        world.user_presses_button(STRANGER, world.last_bot_message(GROUP), "接单")


async def test_take_updates_and_wait_for_bot_message(world: TelegramWorld) -> None:
    world.user_sends_text(RESIDENT, "一")
    world.user_sends_text(RESIDENT, "二")
    assert [u["message"]["text"] for u in world.take_updates()] == ["一", "二"]
    assert world.pending_updates() == []

    async def reply_later() -> None:
        await asyncio.sleep(0.05)
        await world.call("sendMessage", {"chat_id": RESIDENT, "text": "好的，已记录"})

    task = asyncio.create_task(reply_later())
    msg = await world.wait_for_bot_message(RESIDENT, text_contains="已记录")
    await task
    assert msg.text == "好的，已记录"
    with pytest.raises(AssertionError, match="no bot message"):
        await world.wait_for_bot_message(RESIDENT, after=msg.message_id, timeout=0.05)


async def test_forged_callback_data_reaches_the_bot_and_can_be_answered(world: TelegramWorld) -> None:
    sent = await world.call(
        "sendMessage", {"chat_id": RESIDENT, "text": "评分", "reply_markup": inline([("5", "r:5")])}
    )
    update = world.user_sends_callback(RESIDENT, sent["message_id"], "r:99:other-ticket")
    assert update["callback_query"]["data"] == "r:99:other-ticket"
    await world.call(
        "answerCallbackQuery", {"callback_query_id": update["callback_query"]["id"], "text": "无效"}
    )
    assert world.callback_answer(update["callback_query"]["id"]) == {"text": "无效"}


async def test_a_second_poller_terminates_the_first_with_409(world: TelegramWorld) -> None:
    first = asyncio.create_task(world.call("getUpdates", {"timeout": 5}))
    await asyncio.sleep(0.02)
    second = asyncio.create_task(world.call("getUpdates", {"timeout": 5}))
    with pytest.raises(BotApiError) as info:
        await asyncio.wait_for(first, 2)
    assert info.value.error_code == 409 and "only one bot instance" in info.value.description
    world.user_sends_text(RESIDENT, "到了")
    assert [u["message"]["text"] for u in await asyncio.wait_for(second, 2)] == ["到了"]


async def test_ptb_pins_and_sets_commands(world: TelegramWorld) -> None:
    from telegram import BotCommandScopeChat

    world.add_group(-100900, "管家工作群", members=[BUTLER], bot_admin=True)
    async with ptb_bot(world) as bot:
        note = await bot.send_message(-100900, "今晚巡逻 20:00")
        assert await bot.pin_chat_message(-100900, note.message_id)
        assert world.message(-100900, note.message_id).pinned
        contact = await bot.send_contact(RESIDENT, phone_number="0571-88886666", first_name="物业值班")
        assert contact.contact is not None and contact.contact.phone_number == "0571-88886666"
        await bot.set_my_commands(
            [("tasks", "我的任务")], scope=BotCommandScopeChat(BUTLER), language_code="zh"
        )
        assert [
            c.command
            for c in await bot.get_my_commands(scope=BotCommandScopeChat(BUTLER), language_code="zh")
        ] == ["tasks"]
        with pytest.raises(InvalidToken, match="Not Found"):  # how PTB reads a 404
            await bot.send_location(RESIDENT, 31.2, 121.5)  # not a method the bot uses
