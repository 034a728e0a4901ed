"""The one place that wires the application.

bot/app.py is the composition root: it alone imports handlers/ (everything else in bot/ is imported by
handlers, never the reverse). It collects the capabilities of handlers/registry.py into one `Wiring` and
hands that to the handlers, the menu, the scheduler and the unit of work.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, TypeHandler
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.capability import Wiring
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.context import AppState, BotContext, Services
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.persistence import SqlPersistence
from bot.db.uow import UnitOfWorkFactory
from bot.delivery.http import AiohttpRequest
from bot.delivery.inbox import InboxApplication, InboxProcessor
from bot.delivery.limits import FloodLimits, FloodRateLimiter, RateLimiter
from bot.delivery.sender import OutboxSender
from bot.i18n import SUPPORTED_LANGUAGES, Translator, default_translator
from bot.reports import fonts
from bot.scheduling import Scheduler
from handlers.errors import on_error
from handlers.registry import CAPABILITIES, ordered_handlers
from handlers.render import refuse_unusable_press

log = logging.getLogger(__name__)

PERSIST_GROUP = 1000
GUARD_GROUP = -1000


class _EngineHolder:
    """Persistence needs the database during Application.initialize(), before post_init runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: AsyncEngine | None = None

    def __call__(self) -> AsyncEngine:
        if self.engine is None:
            self.engine = make_engine(self.settings.database_url)
        return self.engine

    async def dispose(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None


async def _persist_now(update: Update, context: BotContext) -> None:
    # PTB writes persistence on a timer; writing after every update means a crash loses no conversation step.
    # Under the inbox this is done once the whole update is handled, inside its transaction.
    if not SqlPersistence.collecting():
        await context.application.update_persistence()


async def _record_failure(update: object, context: BotContext) -> None:
    services = context.application.bot_data.services
    if services is not None and services.inbox is not None:
        await services.inbox.record_failure(update, context)


def collect_wiring() -> Wiring:
    return Wiring.collect(CAPABILITIES)


def _quiet_known_warnings() -> None:
    # Our conversations track a user across messages on purpose (per_message=False); PTB warns about that.
    warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
    # The sender and the inbox call the Bot API by method name on purpose (the outbox stores the name).
    warnings.filterwarnings("ignore", message="Please use 'Bot.", category=UserWarning)


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    clock: Clock | None = None,
    translator: Translator | None = None,
    background: bool | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    _quiet_known_warnings()
    engine_holder = _EngineHolder(settings)
    the_clock = clock or SystemClock()
    the_translator = translator or default_translator()
    fonts.prefer(settings.cjk_font)  # only a path: the font itself is read at the first chart
    # Tests drive the sender and the scheduler by hand; the bot runs both in the background.
    autostart = settings.outbox_autostart if background is None else background
    # One budget for every send: the outbox sender books its slots here, direct replies wait for theirs.
    limiter = RateLimiter(
        FloodLimits(
            settings.outbox_global_per_second,
            settings.outbox_group_per_minute,
            settings.outbox_chat_per_second,
        )
    )

    wiring = collect_wiring()

    async def post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        engine = engine_holder()
        services = Services(
            settings=settings,
            clock=the_clock,
            engine=engine,
            uow_factory=UnitOfWorkFactory(make_sessionmaker(engine), wiring.on_activity),
            translator=the_translator,
            bot_username=application.bot.username or settings.bot_username,
            wiring=wiring,
        )
        services.sender = OutboxSender(
            services.uow_factory,
            application.bot,
            the_clock,
            concurrency=settings.outbox_concurrency,
            limiter=limiter,
        )
        services.inbox = InboxProcessor(application, services.uow_factory, the_clock, the_translator)
        services.sender.on_unreachable = services.inbox.unreachable
        services.scheduler = Scheduler(services, application.job_queue if autostart else None)
        services.uow_factory.after_commit.wake_sender = services.sender.wake
        services.uow_factory.after_commit.rearm_scheduler = services.scheduler.rearm
        application.bot_data.services = services
        for hook in wiring.on_start:
            await hook(application, services)
        await _default_commands(application, services)
        if autostart:
            services.sender.start()
            await services.scheduler.start()

    async def post_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        services = application.bot_data.services
        if services is not None:
            if services.inbox is not None:
                await services.inbox.stop()
            if services.sender is not None:
                await services.sender.stop()
            for hook in wiring.on_stop:
                await hook(application, services)
        await engine_holder.dispose()

    builder = (
        ApplicationBuilder()
        .application_class(InboxApplication)
        .token(settings.token())
        .context_types(ContextTypes(context=BotContext, bot_data=AppState))
        .persistence(SqlPersistence(engine_holder))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .arbitrary_callback_data(False)
        .rate_limiter(FloodRateLimiter(limiter))
    )
    if settings.telegram_base_url:
        base = settings.telegram_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(base.replace("/bot", "/file/bot"))
    if settings.telegram_http == "aiohttp":
        # The sizes of PTB's own defaults: many sends side by side, one long poll.
        request = request or AiohttpRequest()
        get_updates_request = get_updates_request or AiohttpRequest(connection_pool_size=1)
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application = builder.build()

    application.add_handler(CallbackQueryHandler(refuse_unusable_press), group=GUARD_GROUP)
    application.add_handlers(ordered_handlers(wiring))
    application.add_handler(TypeHandler(Update, _persist_now), group=PERSIST_GROUP)
    application.add_error_handler(_record_failure)
    application.add_error_handler(on_error)
    return application


async def _default_commands(
    application: Application[Any, Any, Any, Any, Any, Any], services: Services
) -> None:
    """Everyone's menu before we know them; each person's own menu is set per chat when their role changes."""
    for language in SUPPORTED_LANGUAGES:
        commands = [
            BotCommand(c.command, services.translator(language, c.description_key)[:256])
            for c in services.wiring.commands_for(None)
        ]
        try:
            await application.bot.set_my_commands(
                commands, language_code=None if language == "zh_CN" else language[:2]
            )
        except Exception:
            log.warning("could not set the default command menu")
