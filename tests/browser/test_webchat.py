"""The web chat in a real browser: a newcomer opens the invite link, presses buttons and talks to the bot, and
the page survives double clicks, very long messages and a bot that goes away for a while.

Run: .venv/bin/pytest tests/browser -m browser
REDBUTLER_UPDATE_SCREENSHOT=1 also refreshes docs/screenshots/webchat.png (the README's picture).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bot.demo import DEMO_PEOPLE
from tests.browser.conftest import LiveDemo

pytestmark = pytest.mark.browser

expect: Any
try:
    from playwright.async_api import expect
except ImportError:  # the fixtures skip with the reason
    expect = None

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "webchat.png"
WAIT_MS = 15_000  # generous for slow CI machines; every wait ends as soon as the page shows the text


MEASURE_LAST_MINE = """box => {
  const mine = [...box.querySelectorAll(".msg.mine")].pop().getBoundingClientRect();
  const chat = box.getBoundingClientRect();
  return {left: mine.left, right: mine.right, height: mine.height, chatLeft: chat.left, chatRight: chat.right,
          overflow: box.scrollWidth - box.clientWidth};
}"""


def _person_id(name: str) -> int:
    return next(p.telegram_id for p in DEMO_PEOPLE if p.name == name)


async def _open_as(page: Any, demo: LiveDemo, name: str) -> None:
    await page.goto(demo.server.chat_url)
    option = page.locator("#person-select option", has_text=name)
    await expect(option).to_have_count(1, timeout=WAIT_MS)
    await page.locator("#person-select").select_option(await option.get_attribute("value"))
    await expect(page.locator("#chat-title")).to_have_text("红管家", timeout=WAIT_MS)


async def _say(page: Any, text: str) -> None:
    await page.locator("#text-input").fill(text)
    await page.locator("#text-input").press("Enter")
    await expect(page.locator("#text-input")).to_have_value("", timeout=WAIT_MS)


def _bot_says(page: Any, text: str) -> Any:
    return page.locator("#messages .msg.theirs .bubble", has_text=text)


async def test_newcomer_registers_with_invite_link_and_talks_to_the_bot(
    live_demo: LiveDemo, page: Any, tmp_path: Path
) -> None:
    await _open_as(page, live_demo, "李大爷")
    # a private chat nobody has written in yet: Telegram's big Start button
    await expect(page.locator("#start-btn")).to_be_visible()

    # "scan the QR code": open the invite deep link
    await page.locator("#link-input").fill(live_demo.invite_link)
    await page.locator("#link-form button[type=submit]").click()
    await expect(page.locator("#messages .msg.mine").last).to_contain_text(
        f"/start inv_{live_demo.invite_code}", timeout=WAIT_MS
    )
    bound = _bot_says(page, "绑定成功")
    await expect(bound).to_be_visible(timeout=WAIT_MS)
    await expect(bound).to_contain_text("3栋1单元102")
    await expect(page.locator("#start-btn")).to_have_count(0)
    assert _person_id("李大爷") == int(await page.locator("#person-select").input_value())

    # the big reply-keyboard button, then an inline button (pressed twice by a shaky hand)
    await page.locator("#reply-keyboard button", has_text="语言").click()
    chooser = page.locator("#messages .msg.theirs", has_text="请选择语言")
    await expect(chooser.locator(".inline-kb button")).to_have_count(2, timeout=WAIT_MS)
    presses: list[str] = []
    page.on("request", lambda r: presses.append(r.url) if r.url.endswith("/ui/api/press") else None)
    await chooser.locator(".inline-kb button", has_text="中文").dblclick()
    await expect(_bot_says(page, "我们用中文聊")).to_have_count(1, timeout=WAIT_MS)
    assert len(presses) == 1  # the page sent the press once
    await expect(chooser.locator(".inline-kb button")).to_have_count(0, timeout=WAIT_MS)  # buttons gone

    # talk to the bot; updates are handled in order, so a duplicate answer would show before this one
    await _say(page, "/me")
    me = _bot_says(page, "李大爷").last
    await expect(me).to_contain_text("3栋1单元102", timeout=WAIT_MS)
    await expect(_bot_says(page, "我们用中文聊")).to_have_count(1)
    await expect(page.locator("#banner-offline")).to_be_hidden()

    # the reply to /me is in view (the chat keeps the newest message at the bottom)
    await expect(me).to_be_in_viewport()
    target = SCREENSHOT if os.environ.get("REDBUTLER_UPDATE_SCREENSHOT") == "1" else tmp_path / "webchat.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000


async def test_page_survives_long_messages_and_a_bot_that_is_down(live_demo: LiveDemo, page: Any) -> None:
    await _open_as(page, live_demo, "黄先生")
    messages = page.locator("#messages")

    # a very long message without spaces wraps inside its bubble: nothing sticks out sideways
    long_text = "楼上装修太吵了" + "咚" * 700 + "x" * 400
    await _say(page, long_text)
    await expect(page.locator("#messages .msg.mine").last).to_contain_text("x" * 50, timeout=WAIT_MS)
    # measured in one go inside the page: the list is redrawn whenever a message arrives
    layout = await messages.evaluate(MEASURE_LAST_MINE)
    assert layout["left"] >= layout["chatLeft"] and layout["right"] <= layout["chatRight"] + 1, layout
    assert layout["height"] > 200, layout  # wrapped onto many lines
    assert layout["overflow"] <= 0, layout

    # over Telegram's 4096 characters: sent as two messages, as Telegram's apps do
    before = await page.locator("#messages .msg.mine").count()
    await _say(page, "长" * 5000)
    await expect(page.locator("#messages .msg.mine")).to_have_count(before + 2, timeout=WAIT_MS)
    sent = [m.text or "" for m in live_demo.world.chat_history(_person_id("黄先生")) if not m.from_bot]
    assert [len(t) for t in sent[-2:]] == [4096, 904]
    await expect(page.locator("#toast")).to_be_hidden()

    # the bot answers while it runs
    await _say(page, "/help")
    await expect(_bot_says(page, "我能帮您做这些")).to_have_count(1, timeout=WAIT_MS)

    # the bot stops: the page says so; a message sent meanwhile is answered once it is back
    await live_demo.stop_polling()
    await expect(page.locator("#banner-offline")).to_be_visible(timeout=30_000)
    await expect(page.locator("#banner-offline")).to_contain_text("机器人未连接")
    # The long messages above read as small talk and are answered with the same help text (paced at one
    # message a second in a chat): count once the bot is down and everything sent before has arrived.
    answered = await _bot_says(page, "我能帮您做这些").count()
    await _say(page, "/help")
    await expect(page.locator("#messages .msg.mine").last).to_contain_text("/help")
    assert await _bot_says(page, "我能帮您做这些").count() == answered
    await live_demo.start_polling()
    await expect(_bot_says(page, "我能帮您做这些")).to_have_count(answered + 1, timeout=WAIT_MS)
    await expect(page.locator("#banner-offline")).to_be_hidden(timeout=WAIT_MS)
