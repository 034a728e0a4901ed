"""The bot's HTTP client for the Bot API (bot/delivery/http.py) over a real socket: what the application
built by `build_application` sends arrives whole at the emulator (text, keyboard, a photo's bytes), updates
come back, and a slow or absent server is PTB's TimedOut / NetworkError, which outbox and poller handle."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot.app import build_application
from bot.config import Settings
from bot.delivery.http import AiohttpRequest
from bot.emulator.core import TelegramWorld
from bot.emulator.server import EmulatorServer, start_emulator
from bot.emulator.state import TINY_PNG

USER = 7001


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    world = TelegramWorld()
    world.add_user(USER, "王阿姨")
    server = await start_emulator(world, "127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.runner.cleanup()


def _settings(tmp_path: Path, base_url: str, http: str = "aiohttp") -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'http.sqlite3'}",
        telegram_base_url=base_url,
        telegram_http=http,  # type: ignore[arg-type]
    )


async def test_the_application_sends_and_receives_through_aiohttp(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    application = build_application(_settings(tmp_path, emulator.base_url), background=False)
    bot = application.bot
    assert isinstance(bot.request, AiohttpRequest)
    await bot.initialize()
    try:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("🔧 报修", callback_data="menu:repair")]])
        await bot.send_message(USER, "我能帮您做这些：\n报修、积分、法律问题", reply_markup=keyboard)
        shown = emulator.world.last_bot_message(USER)
        assert shown.text == "我能帮您做这些：\n报修、积分、法律问题"
        assert shown.find_button("🔧 报修")["callback_data"] == "menu:repair"

        picture = TINY_PNG + bytes(range(256)) * 40  # sizeable, and still read as a PNG
        await bot.send_photo(USER, picture, caption="漏水的地方")
        sent = emulator.world.last_bot_message(USER)
        assert sent.kind == "photo" and sent.text == "漏水的地方"
        stored = emulator.world.stored_file(sent.photo[-1]["file_id"]) if sent.photo else None
        assert stored is not None and stored.data == picture

        emulator.world.user_sends_text(USER, "你好")
        resident_photo = TINY_PNG + b"kitchen leak"
        emulator.world.user_sends_photo(USER, data=resident_photo)
        updates = await bot.get_updates(timeout=1)
        messages = [u.message for u in updates if u.message]
        assert [m.text for m in messages][:1] == ["你好"]
        photos = [m.photo for m in messages if m.photo]
        assert photos, "the resident's photo did not arrive"
        downloaded = await (await bot.get_file(photos[0][-1].file_id)).download_as_bytearray()
        assert bytes(downloaded) == resident_photo
    finally:
        await bot.shutdown()


async def test_httpx_stays_available_as_a_setting(emulator: EmulatorServer, tmp_path: Path) -> None:
    from telegram.request import HTTPXRequest

    application = build_application(_settings(tmp_path, emulator.base_url, "httpx"), background=False)
    assert isinstance(application.bot.request, HTTPXRequest)


@pytest.fixture
async def slow_server() -> AsyncIterator[str]:
    async def answer_late(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer_late)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/bot1:A/sendMessage"
    finally:
        await runner.cleanup()


async def test_a_server_too_slow_to_answer_is_a_timeout(slow_server: str) -> None:
    request = AiohttpRequest(read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(slow_server)
    finally:
        await request.shutdown()


async def test_no_server_at_all_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the request: nothing listens there
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot1:A/getMe")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await request.shutdown()


def test_the_proxy_comes_from_the_environment_as_with_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.8:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    request = AiohttpRequest()
    assert request._proxy("https://api.telegram.org/bot1:A/sendMessage") == "http://10.0.0.8:3128"
    assert request._proxy("http://127.0.0.1:8081/bot1:A/getMe") is None
