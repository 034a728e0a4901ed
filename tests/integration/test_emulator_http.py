"""The emulator over real HTTP: PTB's HTTPXRequest, long polling, uploads, webhooks and the web chat API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, FormData, web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.emulator import TelegramWorld, make_png
from bot.emulator.server import EmulatorServer, start_emulator

TOKEN = "123456:TEST-token"
RESIDENT, BUTLER = 2001, 2002
GROUP = -100777


@pytest.fixture
async def server() -> AsyncIterator[EmulatorServer]:
    world = TelegramWorld()
    world.add_user(RESIDENT, "王阿姨")
    world.add_group(GROUP, "幸福里业主群", members=[RESIDENT])
    presets = [{"user_id": BUTLER, "name": "李师傅", "description": "物业管家"}]
    srv = await start_emulator(world, "127.0.0.1", 0, presets=presets, token=TOKEN)
    try:
        yield srv
    finally:
        await srv.stop()


def http_bot(srv: EmulatorServer, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=srv.base_url, base_file_url=srv.base_file_url)


async def test_get_me_send_edit_and_errors_over_http(server: EmulatorServer) -> None:
    world = server.world
    async with http_bot(server) as bot:
        assert bot.username == "RedButlerBot"
        msg = await bot.send_message(
            RESIDENT,
            "报修已受理",
            entities=[MessageEntity(MessageEntity.BOLD, 0, 5)],
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("催办", callback_data="urge:7")]]),
        )
        assert msg.text == "报修已受理" and world.last_bot_message(RESIDENT).button_texts == ["催办"]
        await bot.edit_message_reply_markup(RESIDENT, msg.message_id, reply_markup=None)
        assert world.message(RESIDENT, msg.message_id).buttons == []
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(RESIDENT, "长" * 5000)
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(
                RESIDENT,
                "x",
                reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="d" * 65)]]),
            )
        world.block_bot(RESIDENT)
        with pytest.raises(Forbidden):
            await bot.send_message(RESIDENT, "hi")
        world.inject_fault(method="sendMessage", kind="429", retry_after=2)
        with pytest.raises(RetryAfter):
            await bot.send_message(GROUP, "hi")
        world.inject_fault(method="sendMessage", kind="drop")
        with pytest.raises(NetworkError):
            await bot.send_message(GROUP, "hi")
        assert [m.text for m in world.bot_messages(GROUP)] == []


async def test_wrong_token_is_refused(server: EmulatorServer) -> None:
    async with ClientSession() as session:
        async with session.post(f"{server.base_url}999:WRONG/getMe") as r:
            assert r.status == 401
            assert (await r.json())["description"] == "Unauthorized"
        async with session.post(f"{server.base_url}{TOKEN}/sendHologram") as r:
            assert r.status == 404


async def test_long_poll_receives_what_a_user_sends_later(server: EmulatorServer) -> None:
    async with http_bot(server) as bot:
        task = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        assert not task.done()  # the request is held open
        server.world.user_sends_text(RESIDENT, "电梯坏了", chat_id=GROUP)
        updates = await asyncio.wait_for(task, 5)
        assert [u.message.text for u in updates if u.message] == ["电梯坏了"]
        assert updates[0].message is not None and updates[0].message.chat.id == GROUP
        assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()


async def test_photo_upload_and_download_over_http(server: EmulatorServer) -> None:
    png = make_png(30, 20)
    async with http_bot(server) as bot:
        sent = await bot.send_photo(RESIDENT, png, caption="处理结果")
        assert server.world.last_bot_message(RESIDENT).kind == "photo"
        file = await bot.get_file(sent.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == png
        server.world.user_sends_photo(RESIDENT, data=make_png(5, 5))
        updates = await bot.get_updates(timeout=1)
        incoming = updates[-1].message
        assert incoming is not None and incoming.photo[-1].width == 5
        got = await (await bot.get_file(incoming.photo[-1].file_id)).download_as_bytearray()
        assert bytes(got) == make_png(5, 5)


async def test_webhook_delivery_with_secret_and_retry(server: EmulatorServer) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    failures = {"left": 1}

    async def hook(request: web.Request) -> web.Response:
        if failures["left"] > 0:
            failures["left"] -= 1
            return web.Response(status=500)
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with http_bot(server) as bot:
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret-1")
            server.world.user_sends_text(RESIDENT, "你好")
            for _ in range(100):
                if received and not server.world.pending_updates():
                    break
                await asyncio.sleep(0.05)
            assert len(received) == 1
            secret, update = received[0]
            assert secret == "s3cret-1" and update["message"]["text"] == "你好"
            assert server.world.pending_updates() == []
            with pytest.raises(Exception, match="webhook is active"):
                await bot.get_updates()
            info = await bot.get_webhook_info()
            assert info.url.endswith("/hook") and info.pending_update_count == 0
            await bot.delete_webhook()
    finally:
        await runner.cleanup()


async def ui_post(session: ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with session.post(url, json=body) as r:
        return json.loads(await r.text())


async def test_web_chat_api_sends_presses_and_streams_events(server: EmulatorServer) -> None:
    world = server.world
    async with ClientSession() as session:
        async with session.get(server.url + "/ui/") as r:
            assert r.status == 200 and "机器人" in await r.text()
        async with session.get(server.url + "/ui/api/state") as r:
            state = await r.json()
        assert state["presets"] == [{"user_id": BUTLER, "name": "李师傅", "description": "物业管家"}]
        assert state["bot"]["connected"] is False
        events = await session.get(server.url + "/ui/events")
        first = await asyncio.wait_for(events.content.readline(), 5)
        assert first.startswith(b"retry:")

        result = await ui_post(
            session,
            server.url + "/ui/api/deeplink",
            {"user_id": BUTLER, "link": "https://t.me/RedButlerBot?start=staff_K9"},
        )
        assert result["ok"] and world.chat_history(BUTLER)[-1].text == "/start staff_K9"
        wrong = await ui_post(
            session,
            server.url + "/ui/api/deeplink",
            {"user_id": BUTLER, "link": "https://t.me/OtherBot?start=x"},
        )
        assert not wrong["ok"] and "OtherBot" in wrong["error"]

        sent = await world.call(
            "sendMessage",
            {
                "chat_id": BUTLER,
                "text": "新任务",
                "reply_markup": {"inline_keyboard": [[{"text": "接单", "callback_data": "t:1"}]]},
            },
        )
        pressed = await ui_post(
            session,
            server.url + "/ui/api/press",
            {"user_id": BUTLER, "chat_id": BUTLER, "message_id": sent["message_id"], "data": "t:1"},
        )
        assert pressed["ok"] and pressed["update"]["callback_query"]["data"] == "t:1"
        empty = await ui_post(session, server.url + "/ui/api/send", {"user_id": BUTLER, "text": "  "})
        assert not empty["ok"]

        form = FormData()
        form.add_field("user_id", str(RESIDENT))
        form.add_field("chat_id", str(GROUP))
        form.add_field("file", make_png(8, 8), filename="leak.png", content_type="image/png")
        async with session.post(server.url + "/ui/api/photo", data=form) as r:
            assert (await r.json())["ok"]
        assert world.chat_history(GROUP)[-1].photo is not None

        seen: list[dict[str, Any]] = []
        while not any(e.get("type") == "message" and e["message"]["text"] == "新任务" for e in seen):
            line = await asyncio.wait_for(events.content.readline(), 5)
            if line.startswith(b"data: "):
                seen.append(json.loads(line[6:]))
        events.close()

        async with session.get(server.url + f"/ui/api/messages?user_id={BUTLER}&chat_id={BUTLER}") as r:
            view = await r.json()
        assert [m["text"] for m in view["messages"]] == ["/start staff_K9", "新任务"]
