"""Running the bot: the instance lock first, then the Application, the inbox and the way updates arrive
(long polling, or a webhook that answers 200 only once the update is in the inbox)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from telegram.ext import Application

from bot.config import Settings
from bot.delivery.inbox import ALLOWED_UPDATES, InboxPoller, InboxProcessor
from bot.delivery.standby import AlreadyRunning, InstanceLock

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


async def serve(
    settings: Settings,
    make_application: Callable[[], AnyApplication],
    until: Callable[[], Coroutine[Any, Any, None]],
    *,
    on_ready: Callable[[AnyApplication], Any] | None = None,
    on_standby: Callable[[], Any] | None = None,
) -> int:
    """Run until `until()` returns (a signal) or the instance lock is lost. Returns the exit code."""
    lock = InstanceLock(settings.database_url)
    try:
        await lock.acquire(on_wait=on_standby)
    except AlreadyRunning as exc:
        log.error("%s", exc)
        print(exc)
        return 3
    application = make_application()
    stoppers: list[Callable[[], Awaitable[None]]] = []
    try:
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        processor = application.bot_data.services.inbox
        assert isinstance(processor, InboxProcessor)
        processor.start()
        stoppers.append(processor.stop)
        if settings.webhook_url:
            runner = await _start_webhook(settings, application, processor)
            stoppers.insert(0, runner.cleanup)
        else:
            poller = InboxPoller(application, processor)
            poller.start()
            stoppers.insert(0, poller.stop)
        if on_ready is not None:
            on_ready(application)
        lost = asyncio.create_task(lock.watch())
        stop = asyncio.create_task(until())
        done, _ = await asyncio.wait({lost, stop}, return_when=asyncio.FIRST_COMPLETED)
        for task in (lost, stop):
            task.cancel()
        return 4 if lost in done else 0
    finally:
        for stopper in stoppers:
            with contextlib.suppress(Exception):
                await stopper()
        with contextlib.suppress(Exception):
            if application.running:
                await application.stop()
            await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
        await lock.release()


async def _start_webhook(settings: Settings, application: AnyApplication, processor: InboxProcessor) -> Any:
    from aiohttp import web

    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    url = settings.webhook_url or ""
    path = urlsplit(url).path or "/"

    async def receive(request: web.Request) -> web.Response:
        if secret is not None and not hmac.compare_digest(
            request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), secret
        ):
            return web.Response(status=403)
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(body, dict):
            return web.Response(status=400)
        try:
            await processor.receive([body])
        except Exception:
            log.exception("could not store a webhook update; Telegram will send it again")
            return web.Response(status=500)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post(path, receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_listen, settings.webhook_port).start()
    await application.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    return runner


async def wait_for_signal() -> None:
    """Until SIGINT or SIGTERM: how `redbutler run` and the local demo wait to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
