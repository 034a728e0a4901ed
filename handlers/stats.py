"""Supervisors' figures in Telegram: /stats answers with one picture and five lines; a button sends the PDF.

/stats [小区|全部] [本月|上月|2026-11] [楼栋] — the role is checked on the server for every request and every
button, and only compounds the person oversees are shown.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.callbacks import Button
from bot.capability import Capability, MenuEntry, Wiring
from bot.commands import CommandSpec, roles
from bot.context import BotContext
from bot.reports import charts, monthly_pdf
from bot.reports.text import figures_text, scope_label
from bot.roles import Role
from bot.services import stats
from bot.services.errors import UserFacingError
from handlers.render import answer, buttons

PREFIX = "st"
# compound id (0: every compound overseen), then months back (0: this month)
VIEW = Button(PREFIX, "v", int, int)
# compound id, then the month as 202611 (older buttons: months back)
PDF = Button(PREFIX, "pdf", int, int)
MAX_COMPOUND_BUTTONS = 6


def _text(context: BotContext) -> Callable[..., str]:
    language = context.language

    def text(key: str, **values: object) -> str:
        return context.services.translator(language, key, **values)

    return text


async def stats_command(update: Update, context: BotContext) -> None:
    month, back, rest = stats.read_words(list(context.args or []))
    await _send(update, context, rest, month, back)


async def stats_pressed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    pdf = PDF.parse(query.data)
    parsed = pdf or VIEW.parse(query.data)
    if parsed is None:
        await answer(update)
        return
    compound_id, back = int(parsed[0]), int(parsed[1])
    seen = await stats.oversight(context.services.uow(), _user(update))
    names = dict(seen.compounds)
    if compound_id and compound_id not in names:  # a forged button, or a compound no longer theirs
        raise UserFacingError("stats.not_overseen", compound=str(compound_id))
    await answer(update, context.t("stats.pdf_working") if pdf else None)
    words = [names[compound_id]] if compound_id else []
    if pdf:
        # The PDF button names its month (202611), so it prints the month whose picture it sits under.
        month = f"{back // 100:04d}-{back % 100:02d}" if back >= 100_000 else None
        await _send_pdf(update, context, words, month, 0 if month else back)
    else:
        await _send(update, context, words, None, back)


def _user(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


async def _send(update: Update, context: BotContext, words: list[str], month: str | None, back: int) -> None:
    services = context.services
    chat = update.effective_chat
    assert chat is not None
    seen = await stats.oversight(services.uow(), _user(update))
    compounds, building = await stats.choose(services.uow(), seen, words)
    figures = await stats.month_figures(
        services.uow(),
        compounds,
        month,
        services.clock.now(),
        services.settings.timezone,
        back=back,
        building=building,
        full=False,
    )
    text = _text(context)
    heading = context.t("stats.heading", scope=scope_label(services.translator, context.language, figures),
                        month=figures.scope.period)  # fmt: skip
    # Drawing takes a few hundred milliseconds of CPU: off the event loop, so other chats are not kept waiting
    picture = await asyncio.to_thread(charts.dashboard, figures, text, heading=heading)
    chosen = compounds[0][0] if len(compounds) == 1 else 0
    rows = [
        [
            (context.t("stats.btn.this_month"), VIEW.data(chosen, 0)),
            (context.t("stats.btn.last_month"), VIEW.data(chosen, 1)),
        ],
        [(context.t("stats.btn.pdf"), PDF.data(chosen, int(figures.scope.period.replace("-", ""))))],
    ]
    if len(seen.compounds) > 1:
        others = [(context.t("stats.btn.all"), VIEW.data(0, back))] if chosen else []
        others += [
            (context.t("stats.btn.compound", compound=name), VIEW.data(cid, back))
            for cid, name in seen.compounds[:MAX_COMPOUND_BUTTONS]
            if cid != chosen
        ]
        rows += [others[i : i + 2] for i in range(0, len(others), 2)]
    await context.bot.send_photo(
        chat.id,
        InputFile(io.BytesIO(picture), filename=f"stats-{figures.scope.period}.png"),
        caption=figures_text(services.translator, context.language, figures),
        reply_markup=buttons(rows),
    )


async def _send_pdf(
    update: Update, context: BotContext, words: list[str], month: str | None, back: int
) -> None:
    services = context.services
    chat = update.effective_chat
    assert chat is not None
    seen = await stats.oversight(services.uow(), _user(update))
    compounds, _building = await stats.choose(services.uow(), seen, words)
    figures = await stats.month_figures(
        services.uow(),
        compounds,
        month,
        services.clock.now(),
        services.settings.timezone,
        back=back,
        compare=seen.compounds,
    )
    data = await asyncio.to_thread(monthly_pdf.render, figures, _text(context))
    scope = scope_label(services.translator, context.language, figures)
    await context.bot.send_document(
        chat.id,
        InputFile(io.BytesIO(data), filename=f"report-{figures.scope.period}.pdf"),
        caption=context.t("stats.pdf_caption", scope=scope, month=figures.scope.period),
    )


async def stats_menu(update: Update, context: BotContext) -> None:
    await _send(update, context, [], None, 0)


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("stats", stats_command, filters=private),
        CallbackQueryHandler(stats_pressed, pattern=rf"^{PREFIX}:"),
    ]


OVERSEERS = roles(Role.SUPERVISOR, Role.PROPERTY_MANAGER, Role.ADMIN)

CAPABILITY = Capability(
    name="stats",
    handlers=handlers,
    commands=(CommandSpec("stats", "cmd.stats", OVERSEERS, 220),),
    menu=(MenuEntry("menu.stats", stats_menu, roles(Role.SUPERVISOR), 31),),
)
