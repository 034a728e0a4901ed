"""The webhook answers 200 only once the update is in the inbox; a retry of the same update is stored once."""

from __future__ import annotations

import copy
import socket

from aiohttp import ClientSession
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.db.models import InboxUpdate
from bot.runner import _start_webhook
from tests.factories import USERS
from tests.harness import Harness


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _stored(harness: Harness) -> int:
    async with harness.services.uow() as uow:
        return int(await uow.session.scalar(select(func.count(InboxUpdate.update_id))) or 0)


async def test_webhook_stores_before_answering_and_dedupes_retries(harness: Harness) -> None:
    port = _free_port()
    settings = harness.settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}/tg/hook",
            "webhook_listen": "127.0.0.1",
            "webhook_port": port,
            "webhook_secret": SecretStr("s3cret"),
        }
    )
    runner = await _start_webhook(settings, harness.app, harness.inbox)
    try:
        assert harness.world.webhook is not None and harness.world.webhook["url"].endswith("/tg/hook")
        update = harness.world.user_sends_text(USERS.resident, "/points")
        url = f"http://127.0.0.1:{port}/tg/hook"
        before = await _stored(harness)
        async with ClientSession() as session:
            async with session.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "no"}) as r:
                assert r.status == 403
            assert await _stored(harness) == before
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
            async with session.post(url, json=update, headers=headers) as r:
                assert r.status == 200
                assert await _stored(harness) == before + 1  # stored by the time Telegram hears 200
            async with session.post(url, json=copy.deepcopy(update), headers=headers) as r:
                assert r.status == 200
            async with session.post(url, data=b"not json", headers=headers) as r:
                assert r.status == 400
        assert await _stored(harness) == before + 1
        replies_before = len(harness.world.bot_messages(USERS.resident))
        await harness.inbox.process_pending()
        assert len(harness.world.bot_messages(USERS.resident)) == replies_before + 1
    finally:
        await runner.cleanup()
