"""Patrol volunteers: /patrol (sign up, cancel, waiting list), "我来" offers, check-in by location or
checkpoint QR (/start cp_<code>), the end-of-shift report, /calendar; coordinators: /roster."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import ClassVar
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.capability import Capability, MenuEntry, Wiring
from bot.commands import CommandSpec, roles
from bot.context import BotContext, Draft, Services
from bot.notices.patrols import (
    ALL_QUIET,
    FOUND,
    LEAVE,
    PREFIX,
    REPORT_CANCEL,
    SIGN_UP,
    TAKE_PLACE,
    TO_HAZARD,
)
from bot.roles import Role
from bot.scheduling import DueSource
from bot.services import patrols
from bot.services.patrols import ShiftView
from bot.services.timing import fmt_span
from handlers.common import current_person, ensure_current_person
from handlers.flows import draft_id, flow, pressed, stopper
from handlers.render import answer, buttons, edit_or_reply, reply, send_text, stale_button

VOLUNTEERS = roles(Role.PATROL, Role.COORDINATOR, Role.ADMIN)
REPORT_KEY = "patrol_report"


@dataclass
class ReportDraft(Draft):
    """The end-of-shift report being written: for which shift."""

    KEY: ClassVar[str] = REPORT_KEY
    shift_id: int | None = None


REPORT_LIMIT = 1000


class ReportStep(IntEnum):
    TEXT = 1


def _short(view: ShiftView) -> str:
    local = view.starts_at.astimezone(ZoneInfo(view.tz))
    return f"{local.month}/{local.day} {local:%H:%M}"


def _line(context: BotContext, view: ShiftView) -> str:
    mark = {"booked": context.t("patrols.mark_booked"), "waiting": context.t("patrols.mark_waiting")}.get(
        view.mine or "", ""
    )
    return context.t(
        "patrols.line",
        when=fmt_span(
            context.services.translator, context.language, view.starts_at, view.ends_at, ZoneInfo(view.tz)
        ),
        route=view.route,
        booked=view.booked,
        capacity=view.capacity,
        waiting=view.waiting,
        mark=mark,
    )


def _list_markup(context: BotContext, shifts: list[ShiftView]) -> InlineKeyboardMarkup:
    rows = []
    for view in shifts:
        if view.mine in ("booked", "waiting"):
            key, action = (
                ("patrols.btn_cancel" if view.mine == "booked" else "patrols.btn_leave_queue"),
                LEAVE,
            )
        elif view.free > 0:
            key, action = "patrols.btn_signup", SIGN_UP
        else:
            key, action = "patrols.btn_wait", SIGN_UP
        rows.append([(context.t(key, when=_short(view)), action.data(view.id))])
    return buttons(rows)


async def _list_text(update: Update, context: BotContext) -> tuple[str, InlineKeyboardMarkup | None]:
    user = update.effective_user
    assert user is not None
    shifts = await patrols.upcoming(context.services.uow(), user.id, context.services.clock.now())
    if not shifts:
        return context.t("patrols.none"), None
    lines = "\n".join(_line(context, v) for v in shifts)
    return context.t("patrols.list", lines=lines), _list_markup(context, shifts)


async def patrol_command(update: Update, context: BotContext) -> None:
    await ensure_current_person(update, context)
    text, markup = await _list_text(update, context)
    await send_text(update, context, text, markup)


async def signup_pressed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    press = await pressed(update, context, SIGN_UP, LEAVE)
    if press is None:
        return
    kind, shift_id = press
    now = context.services.clock.now()
    t = context.services.translator
    if kind is SIGN_UP:
        result = await patrols.sign_up(context.services.uow(), t, update.effective_user.id, shift_id, now)
        key = "patrols.signed_up" if result.status == "booked" else "patrols.queued"
    else:
        result = await patrols.cancel(context.services.uow(), t, update.effective_user.id, shift_id, now)
        key = "patrols.cancelled_late" if result.late else "patrols.cancelled"
    await answer(update)
    when = fmt_span(
        t, context.language, result.shift.starts_at, result.shift.ends_at, ZoneInfo(result.shift.tz)
    )
    text, markup = await _list_text(update, context)
    await edit_or_reply(update, context, text, markup)
    # Promise only the reminders that will really come (none for a shift starting in a few minutes).
    promise = context.t("patrols.remind_" + ("_".join(result.reminders) or "none"))
    await reply(
        update, context, key, when=when, route=result.shift.route, position=result.position, reminders=promise
    )


async def take_pressed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    press = await pressed(update, context, TAKE_PLACE)
    if press is None:
        return
    _, offer_id = press
    t = context.services.translator
    result = await patrols.take_offer(
        context.services.uow(), t, update.effective_user.id, offer_id, context.services.clock.now()
    )
    await answer(update)
    when = fmt_span(
        t, context.language, result.shift.starts_at, result.shift.ends_at, ZoneInfo(result.shift.tz)
    )
    await edit_or_reply(update, context, context.t("patrols.took_place", when=when, route=result.shift.route))


async def location_sent(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None and message.location is not None and update.effective_user is not None
    view = await patrols.check_in_location(
        context.services.uow(),
        update.effective_user.id,
        message.location.latitude,
        message.location.longitude,
        context.services.clock.now(),
    )
    key = "patrols.checked_in" if view.first else "patrols.checked_in_again"
    await reply(update, context, key, route=view.shift.route, checkpoint=view.checkpoint or "")


async def checkin_hint(update: Update, context: BotContext) -> None:
    """The 📍 签到 label arrived as text (a client that cannot share a location): say the other way."""
    await reply(update, context, "patrols.checkin_hint")


async def checkpoint_link(update: Update, context: BotContext, code: str) -> None:
    user = update.effective_user
    assert user is not None
    view = await patrols.scan_checkpoint(context.services.uow(), user.id, code, context.services.clock.now())
    key = "patrols.scanned_first" if view.first else "patrols.scanned"
    await reply(
        update,
        context,
        key,
        route=view.shift.route,
        checkpoint=view.checkpoint or "",
        done=view.scanned,
        total=view.total,
    )


async def all_quiet(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    press = await pressed(update, context, ALL_QUIET)
    if press is None:
        return
    _, shift_id = press
    stored = await patrols.report(
        context.services.uow(),
        context.services.translator,
        update.effective_user.id,
        shift_id,
        None,
        context.services.clock.now(),
    )
    await answer(update)
    await edit_or_reply(
        update, context, context.t("patrols.thanks_quiet" if stored else "patrols.report_done")
    )


async def report_start(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    found = FOUND.parse(query.data)
    if found is None or context.user_data is None:
        await stale_button(update, context)
        return ConversationHandler.END
    shift_id = int(found[0])
    await answer(update)
    context.store(ReportDraft(shift_id=shift_id))
    await reply(
        update,
        context,
        "patrols.ask_found",
        markup=buttons([[(context.t("common.btn_cancel"), REPORT_CANCEL.data())]]),
    )
    return ReportStep.TEXT


async def report_text(update: Update, context: BotContext) -> ReportStep | int:
    message = update.effective_message
    assert message is not None and message.text is not None and update.effective_user is not None
    shift_id = draft_id(context, ReportDraft, "shift_id")
    if shift_id is None:
        return ConversationHandler.END
    if len(message.text) > REPORT_LIMIT:
        await reply(update, context, "patrols.report_too_long", limit=REPORT_LIMIT)
        return ReportStep.TEXT
    if not any(ch.isalnum() for ch in message.text):  # "👍" tells the butlers nothing about a hazard
        await reply(update, context, "patrols.ask_found")
        return ReportStep.TEXT
    stored = await patrols.report(
        context.services.uow(),
        context.services.translator,
        update.effective_user.id,
        shift_id,
        message.text,
        context.services.clock.now(),
    )
    if context.user_data is not None:
        context.user_data.pop(REPORT_KEY, None)
    if not stored:
        await reply(update, context, "patrols.report_done")
        return ConversationHandler.END
    await reply(
        update,
        context,
        "patrols.thanks_found",
        markup=buttons([[(context.t("patrols.btn_to_hazard"), TO_HAZARD.data(shift_id))]]),
    )
    return ConversationHandler.END


async def to_hazard(update: Update, context: BotContext) -> None:
    """One tap: what the volunteer found becomes a 安全隐患 repair ticket."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    press = await pressed(update, context, TO_HAZARD)
    if press is None:
        return
    _, shift_id = press
    number, created = await patrols.report_to_hazard(
        context.services.uow(),
        context.services.translator,
        update.effective_user.id,
        shift_id,
        context.services.clock.now(),
    )
    key = "patrols.hazard_created" if created else "patrols.hazard_exists"
    await answer(update)
    await edit_or_reply(update, context, context.t(key, number=number))


report_cancel = stopper("patrols.report_cancelled", REPORT_KEY)


async def report_not_text(update: Update, context: BotContext) -> ReportStep:
    await reply(update, context, "patrols.ask_found")
    return ReportStep.TEXT


async def roster_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    shifts = await patrols.roster(context.services.uow(), user.id, context.services.clock.now())
    if not shifts:
        await reply(update, context, "patrols.roster_empty")
        return
    blocks = []
    for view in shifts:
        when = fmt_span(
            context.services.translator, context.language, view.starts_at, view.ends_at, ZoneInfo(view.tz)
        )
        blocks.append(
            context.t(
                "patrols.roster_item",
                when=when,
                route=view.route,
                booked=view.booked,
                capacity=view.capacity,
                names="、".join(view.names) or "—",
                waiting="、".join(view.waiting_names) or "—",
                leader=view.leader or "—",
                short=context.t("patrols.short") if view.booked < view.capacity else "",
            )
        )
    await reply(update, context, "patrols.roster", items="\n\n".join(blocks))


async def calendar_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    now = context.services.clock.now()
    shifts = await patrols.my_shifts(context.services.uow(), user.id, now)
    if not shifts:
        await reply(update, context, "patrols.calendar_empty")
        return
    ics = patrols.calendar_ics(shifts, context.t("patrols.calendar_title"), now)
    await context.bot.send_document(
        chat.id,
        document=ics.encode("utf-8"),
        filename="patrol-shifts.ics",
        caption=context.t("patrols.calendar_caption", count=len(shifts)),
    )


async def menu_patrol(update: Update, context: BotContext) -> None:
    person = await current_person(update, context)
    if person is None:
        await reply(update, context, "common.not_registered")
        return
    await patrol_command(update, context)


async def _process_due(services: Services, now: datetime) -> int:
    made = await patrols.generate_shifts(services.uow(), now)
    return made + await patrols.process_due(services.uow(), services.translator, now)


async def _next_due(services: Services, now: datetime) -> datetime | None:
    return await patrols.next_due(services.uow())


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    report = flow(
        "patrol_report",
        entry_points=[CallbackQueryHandler(report_start, pattern=FOUND.pattern)],
        states={
            ReportStep.TEXT: [MessageHandler(private & filters.TEXT & ~filters.COMMAND, report_text)],
        },
        stop=report_cancel,
        stop_button=REPORT_CANCEL,
        fallbacks=[
            MessageHandler(private & ~filters.COMMAND, report_not_text),
        ],
    )
    return [
        report,
        CommandHandler("patrol", patrol_command, filters=private),
        CommandHandler("roster", roster_command, filters=private),
        CommandHandler("calendar", calendar_command, filters=private),
        CallbackQueryHandler(signup_pressed, pattern=rf"^{PREFIX}:(up|cx):"),
        CallbackQueryHandler(take_pressed, pattern=TAKE_PLACE.pattern),
        CallbackQueryHandler(all_quiet, pattern=ALL_QUIET.pattern),
        CallbackQueryHandler(to_hazard, pattern=TO_HAZARD.pattern),
        CallbackQueryHandler(report_cancel, pattern=REPORT_CANCEL.pattern),
        MessageHandler(private & filters.LOCATION, location_sent),
    ]


async def _chosen(update: Update, context: BotContext, text: str) -> None:
    await patrol_command(update, context)


CAPABILITY = Capability(
    name="patrols",
    handlers=handlers,
    commands=(
        CommandSpec("patrol", "cmd.patrol", VOLUNTEERS, 301),
        CommandSpec("calendar", "cmd.calendar", VOLUNTEERS, 310),
        CommandSpec("roster", "cmd.roster", roles(Role.COORDINATOR, Role.ADMIN, Role.SUPERVISOR), 320),
    ),
    menu=(
        # One tap shares the location and checks in (the location handler); outside a shift it says when.
        MenuEntry("menu.checkin", checkin_hint, roles(Role.PATROL), 20, request_location=True),
        MenuEntry("menu.patrols", menu_patrol, VOLUNTEERS, 301),
    ),
    deep_links={"cp": checkpoint_link},
    choices={"patrol": _chosen},
    due_sources=(DueSource("patrols", _process_due, _next_due),),
)
