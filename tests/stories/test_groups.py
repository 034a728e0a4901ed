"""The admin links the compound group; newcomers are greeted with a private registration button."""

from __future__ import annotations

import re

from tests.factories import USERS
from tests.harness import Harness


async def test_bot_added_admin_links_group_and_newcomers_get_private_button(harness: Harness) -> None:
    await harness.process(harness.world.bot_added_to_group(USERS.admin, USERS.group))
    assert "/linkgroup" in (harness.last(USERS.group).text or "")

    replies = await harness.send(USERS.resident, "/linkgroup", chat_id=USERS.group)
    assert "没有权限" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/linkgroup", chat_id=USERS.group)
    assert "已关联到幸福里小区" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/linkgroup", chat_id=USERS.group)
    assert "已经关联到幸福里小区" in (replies[-1].text or "")

    await harness.process(harness.world.user_joins_group(USERS.newcomer, USERS.group))
    await harness.drain_outbox()
    greeting = harness.last(USERS.group)
    assert "李大爷" in (greeting.text or "")
    url = greeting.buttons[0][0]["url"]
    assert re.fullmatch(r"https://t\.me/RedButlerBot\?start=reg_\d+", url)
    assert not re.search(r"\d{3}室|\d栋\d单元\d{3}|1[3-9]\d{9}", greeting.text or "")

    payload = url.split("start=")[1]
    replies = await harness.open_link(USERS.newcomer, payload)
    assert "🔑 我有邀请码" in replies[-1].button_texts


async def test_linkgroup_in_private_chat_explains_where_to_send_it(harness: Harness) -> None:
    replies = await harness.send(USERS.admin, "/linkgroup")
    assert "小区群里" in (replies[-1].text or "")


async def test_registered_resident_joining_the_group_is_not_asked_to_register(harness: Harness) -> None:
    await harness.send(USERS.admin, "/linkgroup", chat_id=USERS.group)
    before = len(harness.world.bot_messages(USERS.group))
    await harness.process(harness.world.user_leaves_group(USERS.resident, USERS.group))
    await harness.process(harness.world.user_joins_group(USERS.resident, USERS.group))
    await harness.drain_outbox()
    assert len(harness.world.bot_messages(USERS.group)) == before


async def test_a_mention_the_group_cannot_serve_gets_a_button_to_the_private_chat(harness: Harness) -> None:
    bot = harness.world.bot_username
    replies = await harness.send(USERS.resident, f"@{bot} 我家厨房水管漏水了", chat_id=USERS.group)
    [card] = replies
    assert card.buttons[0][0]["url"] == f"https://t.me/{bot}?start=rp"  # straight into a repair report
    replies = await harness.send(USERS.resident, f"@{bot} 我还有多少积分", chat_id=USERS.group)
    [card] = replies
    assert card.buttons[0][0]["url"] == f"https://t.me/{bot}" and "私聊" in (card.text or "")
    assert not re.search(r"\d{3}室|\d栋\d单元\d{3}|1[3-9]\d{9}|\d+\s*分", card.text or "")
    # Replies to the bot's own posts ("收到" under an announcement) are not answered; other talk neither.
    post = replies[-1]
    update = harness.world.user_sends_text(
        USERS.neighbour, "收到", chat_id=USERS.group, reply_to=post.message_id
    )
    before = len(harness.world.bot_messages(USERS.group))
    await harness.process(update)
    await harness.send(USERS.neighbour, "今天天气真好", chat_id=USERS.group)
    assert len(harness.world.bot_messages(USERS.group)) == before


async def test_an_english_mention_in_the_group_is_answered_in_english(harness: Harness) -> None:
    bot = harness.world.bot_username
    await harness.process(harness.world.user_joins_group(USERS.outsider, USERS.group))
    replies = await harness.send(USERS.outsider, f"@{bot} how many points do I have", chat_id=USERS.group)
    [card] = replies
    assert "privately" in (card.text or "") and not re.search(r"[\u4e00-\u9fff]", card.text or "")
    replies = await harness.send(USERS.outsider, f"@{bot} my kitchen pipe is leaking", chat_id=USERS.group)
    [card] = replies
    assert card.buttons[0][0]["url"].endswith("?start=rp")
    assert not re.search(r"[\u4e00-\u9fff]", card.text or ""), card.text


async def test_thanks_and_hello_to_the_bot_in_the_group_get_a_friendly_word_and_no_button(
    harness: Harness,
) -> None:
    bot = harness.world.bot_username
    said = {
        "谢谢！": "不客气",
        "辛苦了": "不客气",
        "👍": "不客气",
        "你好": "您好",
        "早上好": "您好",
        "你好，谢谢": "不客气",
        "好的收到": "好的",
        "thanks!": "You're welcome",
        "hi": "Hello",
        "ok": "OK",
    }
    for text, expected in said.items():
        [reply] = await harness.send(USERS.resident, f"@{bot} {text}", chat_id=USERS.group)
        assert expected in (reply.text or ""), (text, reply.text)
        assert not reply.buttons, (text, reply.buttons)
        assert "只回答" not in (reply.text or "")
    # Small talk in front of a request is the request: the button that request needs is still there.
    [card] = await harness.send(USERS.resident, f"@{bot} 你好，我还有多少积分", chat_id=USERS.group)
    assert card.buttons[0][0]["url"] == f"https://t.me/{bot}"
