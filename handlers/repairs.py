"""Residents' side of repairs: the guided report (also from a QR poster or a group), /mytickets, following,
urging (催办), rating and reopening. Staff actions live in handlers/repairs_staff.py."""

from __future__ import annotations

import re
import secrets
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import bounded_int, int_part, pack, unpack
from bot.capability import Capability, MenuEntry, Wiring
from bot.commands import REGISTERED, RESIDENTS, Audience, CommandSpec
from bot.context import BotContext
from bot.delivery.markup import url_keyboard
from bot.i18n import SUPPORTED_LANGUAGES, default_translator
from bot.scheduling import DueSource
from bot.services import repairs, repairs_schedule
from bot.services.errors import UserFacingError
from bot.services.invites import deep_link
from bot.services.repairs import EMERGENCIES, KINDS, ReportDraft, TicketDetail, TicketView
from handlers.common import ensure_current_person, is_private
from handlers.dead_ends import answer_if_legal
from handlers.render import answer, buttons, edit_or_reply, pressed_int, reply, send_text, stale_button
from handlers.routing import IntentFilter, choice_pattern, take_pending
from handlers.start import register_buttons

RP = repairs.PREFIX  # ticket buttons (rp:...)
PREFIX = "rr"  # report conversation buttons
DRAFT_KEY = "repair_draft"
START_LINK_RE = r"^/start rp(_[A-Za-z0-9]{1,16})?$"


class ReportStep(IntEnum):
    KIND = 1
    EMERGENCY = 2
    PLACE = 3
    SPOT = 4
    DUPLICATE = 5
    DESCRIBE = 6
    PHOTOS = 7
    URGENCY = 8
    CONFIRM = 9


def _nav(context: BotContext, back: bool = True) -> list[tuple[str, str]]:
    row = [(context.t("common.btn_cancel"), pack(PREFIX, "cancel"))]
    if back:
        row.insert(0, (context.t("common.btn_back"), pack(PREFIX, "back")))
    return row


def _push(context: BotContext, step: ReportStep) -> None:
    history = context.draft(DRAFT_KEY).setdefault("history", [])
    if not history or history[-1] != int(step):
        history.append(int(step))


def _now(context: BotContext) -> Any:
    return context.services.clock.now()


# ---------------------------------------------------------------- showing each step


async def show_kind(update: Update, context: BotContext) -> ReportStep:
    rows = [[(context.t("repairs.btn.emergency"), pack(PREFIX, "em"))]]
    kinds = [(context.t(f"repairs.kbtn.{k}"), pack(PREFIX, "k", k)) for k in KINDS]
    rows += [kinds[i : i + 3] for i in range(0, len(kinds), 3)]
    rows.append(_nav(context, back=False))
    _push(context, ReportStep.KIND)
    await edit_or_reply(update, context, context.t("repairs.ask_kind"), buttons(rows))
    return ReportStep.KIND


async def show_emergency(update: Update, context: BotContext) -> ReportStep:
    rows = [[(context.t(f"repairs.em.{key}"), pack(PREFIX, "ew", key))] for key in EMERGENCIES]
    rows.append(_nav(context))
    _push(context, ReportStep.EMERGENCY)
    await edit_or_reply(update, context, context.t("repairs.ask_emergency"), buttons(rows))
    return ReportStep.EMERGENCY


async def show_place(update: Update, context: BotContext) -> ReportStep:
    draft = context.draft(DRAFT_KEY)
    rows = [[(f"🏠 {label}", pack(PREFIX, "h", hid))] for hid, label in draft.get("homes", [])]
    if draft.get("has_spots"):
        rows.append([(context.t("repairs.btn.public_spot"), pack(PREFIX, "spots"))])
    rows.append(_nav(context))
    _push(context, ReportStep.PLACE)
    await edit_or_reply(update, context, context.t("repairs.ask_place"), buttons(rows))
    return ReportStep.PLACE


async def show_spots(update: Update, context: BotContext) -> ReportStep:
    start = await repairs.start_report(context.services.uow(), _user_id(update), _now(context))
    spots = [(s.label, pack(PREFIX, "p", s.id)) for s in start.spots]
    rows = [spots[i : i + 2] for i in range(0, len(spots), 2)]
    rows.append(_nav(context))
    _push(context, ReportStep.SPOT)
    await edit_or_reply(update, context, context.t("repairs.ask_spot"), buttons(rows))
    return ReportStep.SPOT


async def show_describe(update: Update, context: BotContext) -> ReportStep:
    _push(context, ReportStep.DESCRIBE)
    await edit_or_reply(update, context, context.t("repairs.ask_describe"), buttons([_nav(context)]))
    return ReportStep.DESCRIBE


async def show_photos(update: Update, context: BotContext) -> ReportStep:
    _push(context, ReportStep.PHOTOS)
    count = len(context.draft(DRAFT_KEY).get("photos", []))
    rows = [
        [(context.t("repairs.btn.photos_done" if count else "repairs.btn.skip"), pack(PREFIX, "pd"))],
        _nav(context),
    ]
    await edit_or_reply(
        update, context, context.t("repairs.ask_photos", limit=repairs.PHOTO_LIMIT), buttons(rows)
    )
    return ReportStep.PHOTOS


async def show_urgency(update: Update, context: BotContext) -> ReportStep:
    _push(context, ReportStep.URGENCY)
    rows = [
        [
            (context.t("repairs.btn.normal"), pack(PREFIX, "u", "normal")),
            (context.t("repairs.btn.urgent"), pack(PREFIX, "u", "urgent")),
        ],
        _nav(context),
    ]
    await edit_or_reply(update, context, context.t("repairs.ask_urgency"), buttons(rows))
    return ReportStep.URGENCY


async def show_confirm(update: Update, context: BotContext) -> ReportStep:
    draft = context.draft(DRAFT_KEY)
    draft.pop("editing", None)
    _push(context, ReportStep.CONFIRM)
    text = context.t(
        "repairs.summary",
        kind=context.t(f"repairs.kind.{draft['kind']}"),
        place=draft.get("place_label", ""),
        description=draft.get("description", ""),
        photos=len(draft.get("photos", [])),
        urgency=context.t(f"repairs.urgency.{draft.get('urgency', 'normal')}"),
    )
    rows = [
        [(context.t("repairs.btn.submit"), pack(PREFIX, "send"))],
        [(context.t("repairs.btn.edit"), pack(PREFIX, "edit"))],
        _nav(context),
    ]
    await edit_or_reply(update, context, text, buttons(rows))
    return ReportStep.CONFIRM


async def show_edit_menu(update: Update, context: BotContext) -> ReportStep:
    rows = [
        [
            (context.t("repairs.btn.edit_kind"), pack(PREFIX, "ed", "kind")),
            (context.t("repairs.btn.edit_place"), pack(PREFIX, "ed", "place")),
        ],
        [
            (context.t("repairs.btn.edit_text"), pack(PREFIX, "ed", "text")),
            (context.t("repairs.btn.edit_photos"), pack(PREFIX, "ed", "photos")),
        ],
        [(context.t("repairs.btn.edit_urgency"), pack(PREFIX, "ed", "urgency"))],
        _nav(context),
    ]
    await edit_or_reply(update, context, context.t("repairs.ask_what_to_edit"), buttons(rows))
    return ReportStep.CONFIRM


SHOW = {
    ReportStep.KIND: show_kind,
    ReportStep.EMERGENCY: show_emergency,
    ReportStep.PLACE: show_place,
    ReportStep.SPOT: show_spots,
    ReportStep.DESCRIBE: show_describe,
    ReportStep.PHOTOS: show_photos,
    ReportStep.URGENCY: show_urgency,
    ReportStep.CONFIRM: show_confirm,
}


def _user_id(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


async def resume_report(update: Update, context: BotContext, state: object) -> ReportStep:
    """继续填写 after a detour (a legal question, a stuck step): the current step again, draft as it was."""
    step = ReportStep(state) if isinstance(state, int) and state in set(ReportStep) else ReportStep.KIND
    if step == ReportStep.DUPLICATE:
        step = ReportStep.PLACE
    return await SHOW[step](update, context)


# ---------------------------------------------------------------- entry points


async def _begin(
    update: Update, context: BotContext, *, place_code: str | None = None, text: str = ""
) -> ReportStep | int:
    person = await ensure_current_person(update, context)
    context.drop(DRAFT_KEY)
    if not person.is_registered:
        await reply(update, context, "common.not_registered", markup=register_buttons(context))  # type: ignore[arg-type]
        return ConversationHandler.END
    place_id = None
    if place_code is not None:
        place = await repairs.place_by_code(context.services.uow(), place_code)
        if place is None:
            await reply(update, context, "repairs.place_unknown")
            return ConversationHandler.END
        place_id = place.id
    try:
        start = await repairs.start_report(
            context.services.uow(), _user_id(update), _now(context), place_id=place_id
        )
    except UserFacingError as error:
        await reply(update, context, error.key, **error.values)  # type: ignore[arg-type]
        return ConversationHandler.END
    draft = context.draft(DRAFT_KEY)
    draft.update(
        compound_id=start.compound_id,
        homes=[[c.id, c.label] for c in start.homes],
        has_spots=bool(start.spots),
        left=start.left_today,
        photos=[],
        history=[],
        # Submitting twice (a press after a crash, two phones) files one ticket: the service keys on this.
        request_key=secrets.token_hex(8),
    )
    if text:
        draft["description"] = text[: repairs.DESCRIPTION_LIMIT]
        draft["from_text"] = True
    if place_id is not None:
        place_name = next((s.label for s in start.spots if s.id == place_id), None)
        draft.update(
            place_id=place_id,
            fixed_place=True,
            place_label=place_name or (await _place_name(context, place_code)),
        )
        await reply(update, context, "repairs.place_from_qr", place=draft["place_label"])
    elif not start.homes and not start.spots:
        context.drop(DRAFT_KEY)
        await reply(update, context, "repairs.no_place")
        return ConversationHandler.END
    if start.left_today <= 0:
        await reply(update, context, "repairs.daily_limit_soft")
    return await show_kind(update, context)


async def _place_name(context: BotContext, code: str | None) -> str:
    place = await repairs.place_by_code(context.services.uow(), code or "")
    return place.name if place else ""


async def start_command(update: Update, context: BotContext) -> ReportStep | int:
    if not is_private(update):
        await group_report(update, context)
        return ConversationHandler.END
    return await _begin(update, context)


async def start_from_text(update: Update, context: BotContext) -> ReportStep | int:
    message = update.effective_message
    assert message is not None
    return await _begin(update, context, text=(message.text or "").strip())


async def start_from_choice(update: Update, context: BotContext) -> ReportStep | int:
    """Asked "a repair or a legal question?", the resident chose repair: the report starts from their text."""
    text = await take_pending(update, context)
    if text is None:
        return ConversationHandler.END
    return await _begin(update, context, text=text.strip())


async def start_from_link(update: Update, context: BotContext) -> ReportStep | int:
    payload = context.args[0] if context.args else "rp"
    code = payload.partition("_")[2]
    return await _begin(update, context, place_code=code or None)


async def group_report(update: Update, context: BotContext) -> None:
    """In a group: never collect details there; a button continues in the private chat."""
    link = deep_link(context.services.bot_username or context.bot.username or "RedButlerBot", "rp")
    markup = url_keyboard([[(context.t("repairs.btn.report_private"), link)]])
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(
        chat.id, context.t("repairs.group_report"), reply_markup=dict_url_markup(markup)
    )


def dict_url_markup(markup: dict[str, Any]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["text"], url=b["url"]) for b in row] for row in markup["inline_keyboard"]]
    )


# ---------------------------------------------------------------- steps


def _after(context: BotContext, step: ReportStep) -> ReportStep:
    """Where the guided path goes after a step (straight back to the summary when editing)."""
    draft = context.draft(DRAFT_KEY)
    if draft.get("editing") and step != ReportStep.KIND:
        return ReportStep.CONFIRM
    if step in (ReportStep.KIND,):
        return ReportStep.DESCRIBE if draft.get("fixed_place") else ReportStep.PLACE
    if step in (ReportStep.PLACE, ReportStep.SPOT):
        return ReportStep.PHOTOS if draft.get("description") else ReportStep.DESCRIBE
    if step == ReportStep.DESCRIBE:
        return ReportStep.PHOTOS
    if step == ReportStep.PHOTOS:
        return ReportStep.URGENCY
    return ReportStep.CONFIRM


async def _go(update: Update, context: BotContext, step: ReportStep) -> ReportStep | int:
    if (
        step == ReportStep.DESCRIBE
        and context.draft(DRAFT_KEY).get("description")
        and not context.draft(DRAFT_KEY).get("editing_text")
    ):
        step = ReportStep.PHOTOS
    return await SHOW[step](update, context)


async def kind_picked(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    kind = unpack(query.data)[2] if len(unpack(query.data)) > 2 else ""
    if kind not in KINDS:
        await stale_button(update, context)
        return ReportStep.KIND
    await answer(update)
    draft = context.draft(DRAFT_KEY)
    draft.update(kind=kind, urgency=draft.get("urgency") if draft.get("urgency") != "emergency" else "normal")
    draft.pop("emergency", None)
    if draft.get("editing"):
        return (
            await _after_place(update, context)
            if draft.get("place_label")
            else await show_place(update, context)
        )
    if draft.get("fixed_place"):
        return await _after_place(update, context)
    return await show_place(update, context)


async def emergency_chosen(update: Update, context: BotContext) -> ReportStep:
    await answer(update)
    return await show_emergency(update, context)


async def emergency_what(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    what = unpack(query.data)[2] if len(unpack(query.data)) > 2 else ""
    if what not in EMERGENCIES:
        await stale_button(update, context)
        return ReportStep.EMERGENCY
    await answer(update)
    draft = context.draft(DRAFT_KEY)
    draft.update(
        kind=EMERGENCIES[what],
        urgency="emergency",
        emergency=what,
        description=context.t(f"repairs.em.{what}"),
    )
    if draft.get("fixed_place"):
        return await _submit(update, context)
    return await show_place(update, context)


async def home_picked(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    household_id = int_part(unpack(query.data), 2)
    homes = {int(h): label for h, label in context.draft(DRAFT_KEY).get("homes", [])}
    if household_id not in homes:
        await stale_button(update, context)
        return ReportStep.PLACE
    await answer(update)
    context.draft(DRAFT_KEY).update(household_id=household_id, place_id=None, place_label=homes[household_id])
    return await _after_place(update, context)


async def spots_chosen(update: Update, context: BotContext) -> ReportStep:
    await answer(update)
    return await show_spots(update, context)


async def spot_picked(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    place_id = int_part(unpack(query.data), 2)
    start = await repairs.start_report(context.services.uow(), _user_id(update), _now(context))
    names = {s.id: s.label for s in start.spots}
    if place_id not in names:
        await stale_button(update, context)
        return ReportStep.SPOT
    await answer(update)
    context.draft(DRAFT_KEY).update(place_id=place_id, household_id=None, place_label=names[place_id])
    return await _after_place(update, context)


def _report_draft(context: BotContext) -> ReportDraft:
    draft = context.draft(DRAFT_KEY)
    return ReportDraft(
        kind=str(draft.get("kind", "")),
        urgency=str(draft.get("urgency") or "normal"),
        description=str(draft.get("description", "")),
        household_id=draft.get("household_id"),
        place_id=draft.get("place_id"),
        photos=tuple(draft.get("photos", [])),
        request_key=draft.get("request_key"),
    )


async def _after_place(update: Update, context: BotContext) -> ReportStep | int:
    draft = context.draft(DRAFT_KEY)
    if draft.get("urgency") == "emergency":
        return await _submit(update, context)
    if not draft.get("dup_ok"):
        duplicate = await repairs.find_duplicate(
            context.services.uow(), _user_id(update), _report_draft(context)
        )
        if duplicate is not None:
            draft["dup_id"] = duplicate.id
            text = context.t(
                "repairs.duplicate_mine" if duplicate.mine else "repairs.duplicate",
                number=duplicate.number,
                kind=context.t(f"repairs.kind.{duplicate.kind}"),
                place=duplicate.public_label,
                status=context.t(f"repairs.status.{duplicate.status}"),
            )
            rows = [
                [(context.t("repairs.btn.follow"), pack(PREFIX, "df", duplicate.id))],
                [(context.t("repairs.btn.report_anyway"), pack(PREFIX, "dn"))],
                _nav(context),
            ][1 if duplicate.mine else 0 :]  # nobody follows their own ticket
            _push(context, ReportStep.DUPLICATE)
            await edit_or_reply(update, context, text, buttons(rows))
            return ReportStep.DUPLICATE
    return await _go(update, context, _after(context, ReportStep.PLACE))


async def duplicate_follow(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    ticket_id = int_part(unpack(query.data), 2)
    if ticket_id is None or ticket_id != context.draft(DRAFT_KEY).get("dup_id"):
        await stale_button(update, context)
        return ReportStep.DUPLICATE
    view = await repairs.follow(context.services.uow(), _user_id(update), ticket_id, _now(context))
    await answer(update)
    context.drop(DRAFT_KEY)
    await edit_or_reply(update, context, context.t("repairs.following", number=view.number))
    return ConversationHandler.END


async def duplicate_new(update: Update, context: BotContext) -> ReportStep | int:
    await answer(update)
    context.draft(DRAFT_KEY)["dup_ok"] = True
    return await _go(update, context, _after(context, ReportStep.PLACE))


async def described(update: Update, context: BotContext) -> ReportStep | int:
    message = update.effective_message
    assert message is not None and message.text is not None
    text = message.text.strip()
    if len(text) > repairs.DESCRIPTION_LIMIT:
        await reply(update, context, "common.too_long", limit=repairs.DESCRIPTION_LIMIT)
        return ReportStep.DESCRIBE
    if len(text) < 2 or not any(ch.isalnum() for ch in text):  # "😀😀" tells the butler nothing
        await reply(update, context, "repairs.describe_more")
        return ReportStep.DESCRIBE
    draft = context.draft(DRAFT_KEY)
    draft["description"] = text
    draft.pop("editing_text", None)
    return await _go(update, context, _after(context, ReportStep.DESCRIBE))


async def photo_added(update: Update, context: BotContext) -> ReportStep:
    message = update.effective_message
    assert message is not None
    photos = context.draft(DRAFT_KEY).setdefault("photos", [])
    if len(photos) >= repairs.PHOTO_LIMIT:
        await reply(update, context, "repairs.photos_full", limit=repairs.PHOTO_LIMIT)
        return ReportStep.PHOTOS
    photos.append(message.photo[-1].file_id)
    if message.caption and not context.draft(DRAFT_KEY).get("description"):
        context.draft(DRAFT_KEY)["description"] = message.caption[: repairs.DESCRIPTION_LIMIT]
    rows = [[(context.t("repairs.btn.photos_done"), pack(PREFIX, "pd"))], _nav(context)]
    await reply(update, context, "repairs.photo_received", markup=buttons(rows), count=len(photos))
    return ReportStep.PHOTOS


async def photos_done(update: Update, context: BotContext) -> ReportStep | int:
    await answer(update)
    return await _go(update, context, _after(context, ReportStep.PHOTOS))


async def urgency_picked(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    urgency = unpack(query.data)[2] if len(unpack(query.data)) > 2 else ""
    if urgency not in ("normal", "urgent"):
        await stale_button(update, context)
        return ReportStep.URGENCY
    await answer(update)
    context.draft(DRAFT_KEY)["urgency"] = urgency
    return await show_confirm(update, context)


async def edit_chosen(update: Update, context: BotContext) -> ReportStep:
    await answer(update)
    return await show_edit_menu(update, context)


async def edit_part(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    part = unpack(query.data)[2] if len(unpack(query.data)) > 2 else ""
    await answer(update)
    draft = context.draft(DRAFT_KEY)
    draft["editing"] = True
    if part == "kind":
        return await show_kind(update, context)
    if part == "place":
        if draft.get("fixed_place"):
            draft.pop("fixed_place", None)
        draft["dup_ok"] = draft.get("dup_ok", False)
        return await show_place(update, context)
    if part == "text":
        draft["editing_text"] = True
        return await show_describe(update, context)
    if part == "photos":
        draft["photos"] = []
        return await show_photos(update, context)
    return await show_urgency(update, context)


async def submit(update: Update, context: BotContext) -> ReportStep | int:
    await answer(update)
    return await _submit(update, context)


async def _submit(update: Update, context: BotContext) -> ReportStep | int:
    draft = context.draft(DRAFT_KEY)
    try:
        result = await repairs.submit_report(
            context.services.uow(),
            context.services.translator,
            _user_id(update),
            _report_draft(context),
            _now(context),
        )
    except UserFacingError as error:
        await edit_or_reply(update, context, context.t(error.key, **error.values))
        if error.key == "repairs.daily_limit":
            context.drop(DRAFT_KEY)
            return ConversationHandler.END
        return ReportStep.CONFIRM
    ticket = result.ticket
    who = ticket.assignee_name or context.t("repairs.duty_staff")
    phone = result.duty_phone or context.t("repairs.property_office")
    if ticket.urgency == "emergency":
        text = context.t("repairs.emergency_sent", number=ticket.number, name=who, phone=phone)
        text += "\n\n" + context.t(f"repairs.em_tip.{draft.get('emergency', 'water')}")
    else:
        text = context.t(f"repairs.sent_{ticket.queue}", number=ticket.number, name=who)
    context.drop(DRAFT_KEY)
    await edit_or_reply(update, context, text)
    from handlers.repairs_contact import ask_phone_if_missing

    await ask_phone_if_missing(update, context)
    return ConversationHandler.END


# ---------------------------------------------------------------- navigation and bad input


async def back(update: Update, context: BotContext) -> ReportStep | int:
    await answer(update)
    history: list[int] = context.draft(DRAFT_KEY).get("history", [])
    if history:
        history.pop()
    while history:
        previous = ReportStep(history.pop())
        if previous == ReportStep.DUPLICATE:
            continue
        return await SHOW[previous](update, context)
    return await show_kind(update, context)


async def cancel(update: Update, context: BotContext) -> int:
    await answer(update)
    context.drop(DRAFT_KEY)
    if update.callback_query is not None:
        await edit_or_reply(update, context, context.t("common.cancelled"))
    else:
        await reply(update, context, "common.cancelled")
    return ConversationHandler.END


HINTS = {
    ReportStep.DESCRIBE: "repairs.hint_text",
    ReportStep.PHOTOS: "repairs.hint_photo",
}


async def wrong_content(update: Update, context: BotContext) -> None:
    """Whatever the current step cannot use: say what it needs instead."""
    state = _current_state(context, update)
    await reply(update, context, HINTS.get(state, "repairs.hint_buttons"))  # type: ignore[arg-type]


def _current_state(context: BotContext, update: Update) -> ReportStep | None:
    history = context.draft(DRAFT_KEY).get("history", [])
    return ReportStep(history[-1]) if history else None


# ---------------------------------------------------------------- tickets: list, view, follow, urge


def ticket_line(context: BotContext, ticket: TicketView, *, private_place: bool) -> str:
    return context.t(
        "repairs.list_line",
        number=ticket.number,
        kind=context.t(f"repairs.kind.{ticket.kind}"),
        place=ticket.place_label if private_place else ticket.public_label,
        status=context.t(f"repairs.status.{ticket.status}"),
    )


async def my_tickets(update: Update, context: BotContext) -> None:
    tickets = await repairs.my_tickets(context.services.uow(), _user_id(update))
    if not tickets:
        await reply(update, context, "repairs.no_tickets")
        return
    me = await ensure_current_person(update, context)
    lines = [ticket_line(context, t, private_place=t.reporter_id == me.id) for t in tickets[:10]]
    rows = [
        [(f"{t.number} · {context.t(f'repairs.status.{t.status}')}", pack(RP, "view", t.id))]
        for t in tickets[:10]
    ]
    await reply(update, context, "repairs.my_tickets", markup=buttons(rows), lines="\n".join(lines))


def render_detail(context: BotContext, detail: TicketDetail) -> str:
    ticket = detail.ticket
    lines = []
    for line in detail.timeline:
        values = {k: v for k, v in line.detail.items() if isinstance(v, str | int | float)}
        if "level" in values:
            values["role"] = context.t(f"repairs.level_role.{values['level']}")
        if "urgency" in values:
            values["urgency"] = context.t(f"repairs.urgency.{values['urgency']}")
        if line.action == "reassigned" and not values.get("name"):
            values["name"] = context.t("repairs.duty_staff")
        actor = line.actor_name or context.t("repairs.a_resident")
        text = context.t(f"repairs.ev.{line.action}", **{"name": "", **values, "actor": actor})
        lines.append(f"{repairs.local_time(line.at, detail.timezone)} {text}")
    return context.t(
        "repairs.detail",
        number=ticket.number,
        kind=context.t(f"repairs.kind.{ticket.kind}"),
        place=ticket.place_label,
        status=context.t(f"repairs.status.{ticket.status}"),
        description=ticket.description or "—",
        name=ticket.assignee_name or context.t("repairs.duty_staff"),
        timeline="\n".join(lines),
    )


def detail_buttons(context: BotContext, detail: TicketDetail) -> InlineKeyboardMarkup | None:
    ticket = detail.ticket
    rows: list[list[tuple[str, str]]] = []
    if detail.viewer in ("reporter", "follower") and ticket.status in ("open", "accepted"):
        rows.append([(context.t("repairs.btn.urge"), pack(RP, "urg", ticket.id))])
    if detail.viewer == "reporter" and ticket.status == "resolved":
        rows.append([(f"{n}⭐", pack(RP, "rate", ticket.id, n)) for n in range(1, 6)])
        rows.append([(context.t("repairs.btn.not_fixed"), pack(RP, "bad", ticket.id))])
    if detail.viewer == "staff" and ticket.status in ("open", "accepted"):
        rows.append([(context.t("repairs.btn.card"), pack(RP, "card", ticket.id))])
    return buttons(rows) if rows else None


async def view_ticket(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    ticket_id = await pressed_int(update, context, 2)
    if ticket_id is None:
        return
    detail = await repairs.ticket_detail(context.services.uow(), _user_id(update), ticket_id, _now(context))
    await answer(update)
    await send_text(update, context, render_detail(context, detail), detail_buttons(context, detail))


async def ticket_command(update: Update, context: BotContext) -> None:
    raw = (context.args[0] if context.args else "").upper().removeprefix("BX")
    number = bounded_int(raw) if raw.isdigit() else None
    if number is None:
        await reply(update, context, "repairs.ticket_usage")
        return
    detail = await repairs.ticket_detail(context.services.uow(), _user_id(update), number, _now(context))
    await send_text(update, context, render_detail(context, detail), detail_buttons(context, detail))


async def urge(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    ticket_id = await pressed_int(update, context, 2)
    if ticket_id is None:
        return
    view = await repairs.urge(
        context.services.uow(), context.services.translator, _user_id(update), ticket_id, _now(context)
    )
    await answer(update, context.t("repairs.urged", number=view.number), alert=True)


async def not_fixed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    ticket_id = await pressed_int(update, context, 2)
    if ticket_id is None:
        return
    view = await repairs.reopen(
        context.services.uow(), context.services.translator, _user_id(update), ticket_id, _now(context)
    )
    await answer(update)
    who = view.assignee_name or context.t("repairs.duty_staff")
    await edit_or_reply(update, context, context.t("repairs.reopened", number=view.number, name=who))


# ---------------------------------------------------------------- rating with an optional comment


class RateStep(IntEnum):
    COMMENT = 1


async def rated(update: Update, context: BotContext) -> RateStep | int:
    query = update.callback_query
    assert query is not None
    parts = unpack(query.data)
    ticket_id, stars = int_part(parts, 2), int_part(parts, 3)
    if ticket_id is None or stars is None:
        await stale_button(update, context)
        return ConversationHandler.END
    view = await repairs.rate(
        context.services.uow(), context.services.translator, _user_id(update), ticket_id, stars, _now(context)
    )
    await answer(update)
    assert context.user_data is not None
    context.user_data["repair_comment"] = view.id
    rows = [[(context.t("repairs.btn.no_comment"), pack("rc", "skip"))]]
    await edit_or_reply(
        update,
        context,
        context.t("repairs.thanks_rating", number=view.number, stars="⭐" * stars),
        buttons(rows),
    )
    return RateStep.COMMENT


async def commented(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None and context.user_data is not None
    ticket_id = context.user_data.pop("repair_comment", None)
    if ticket_id is not None:
        await repairs.add_comment(
            context.services.uow(), _user_id(update), int(ticket_id), message.text or "", _now(context)
        )
    await reply(update, context, "repairs.comment_saved")
    await answer_if_legal(update, context)  # kept as the comment above, and answered too
    return ConversationHandler.END


async def comment_skipped(update: Update, context: BotContext) -> int:
    await answer(update)
    if context.user_data is not None:
        context.user_data.pop("repair_comment", None)
    await edit_or_reply(update, context, context.t("repairs.comment_skipped"))
    return ConversationHandler.END


async def comment_wrong(update: Update, context: BotContext) -> RateStep:
    await reply(update, context, "repairs.hint_comment")
    return RateStep.COMMENT


# ---------------------------------------------------------------- wiring


def _menu_label_regex() -> str:
    t = default_translator()
    labels = {t(lang, "menu.repairs") for lang in SUPPORTED_LANGUAGES}
    return "^(" + "|".join(re.escape(label) for label in labels) + ")$"


async def menu_report(update: Update, context: BotContext) -> object:
    return await start_command(update, context)


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    text = private & filters.TEXT & ~filters.COMMAND
    pictures = private & filters.PHOTO
    cb = CallbackQueryHandler
    restart: list[BaseHandler] = [  # type: ignore[type-arg]
        CommandHandler("start", start_from_link, filters=private & filters.Regex(START_LINK_RE)),
        CommandHandler("report", start_command),
        MessageHandler(private & filters.Regex(_menu_label_regex()), start_command),
    ]
    # No allow_reentry: free text in the middle of a report is the description, not a new report.
    report: ConversationHandler[BotContext] = ConversationHandler(
        name="repairs_report",
        persistent=True,
        entry_points=[
            *restart,
            MessageHandler(text & IntentFilter(wiring, "repair"), start_from_text),
            cb(start_from_choice, pattern=choice_pattern("repair")),
        ],
        states={
            ReportStep.KIND: [
                cb(kind_picked, pattern=rf"^{PREFIX}:k:"),
                cb(emergency_chosen, pattern=rf"^{PREFIX}:em$"),
            ],
            ReportStep.EMERGENCY: [cb(emergency_what, pattern=rf"^{PREFIX}:ew:")],
            ReportStep.PLACE: [
                cb(home_picked, pattern=rf"^{PREFIX}:h:"),
                cb(spots_chosen, pattern=rf"^{PREFIX}:spots$"),
            ],
            ReportStep.SPOT: [cb(spot_picked, pattern=rf"^{PREFIX}:p:")],
            ReportStep.DUPLICATE: [
                cb(duplicate_follow, pattern=rf"^{PREFIX}:df:"),
                cb(duplicate_new, pattern=rf"^{PREFIX}:dn$"),
            ],
            ReportStep.DESCRIBE: [MessageHandler(text, described)],
            ReportStep.PHOTOS: [
                MessageHandler(pictures, photo_added),
                cb(photos_done, pattern=rf"^{PREFIX}:pd$"),
            ],
            ReportStep.URGENCY: [cb(urgency_picked, pattern=rf"^{PREFIX}:u:")],
            ReportStep.CONFIRM: [
                cb(submit, pattern=rf"^{PREFIX}:send$"),
                cb(edit_chosen, pattern=rf"^{PREFIX}:edit$"),
                cb(edit_part, pattern=rf"^{PREFIX}:ed:"),
            ],
        },
        fallbacks=[
            *restart,
            CommandHandler("cancel", cancel),
            cb(cancel, pattern=rf"^{PREFIX}:cancel$"),
            cb(back, pattern=rf"^{PREFIX}:back$"),
            cb(stale_button, pattern=rf"^{PREFIX}:"),
            MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, wrong_content),
        ],
    )
    rating: ConversationHandler[BotContext] = ConversationHandler(
        name="repairs_rating",
        persistent=True,
        allow_reentry=True,
        entry_points=[cb(rated, pattern=rf"^{RP}:rate:")],
        states={
            RateStep.COMMENT: [MessageHandler(text, commented), cb(comment_skipped, pattern=r"^rc:skip$")],
        },
        fallbacks=[
            CommandHandler("cancel", comment_skipped),
            MessageHandler(private & ~filters.COMMAND & ~filters.TEXT, comment_wrong),
        ],
    )
    return [
        report,
        rating,
        CommandHandler("mytickets", my_tickets, filters=private),
        MessageHandler(text & IntentFilter(wiring, "tickets"), my_tickets),
        CommandHandler("ticket", ticket_command, filters=private),
        cb(view_ticket, pattern=rf"^{RP}:view:"),
        cb(urge, pattern=rf"^{RP}:urg:"),
        cb(not_fixed, pattern=rf"^{RP}:bad:"),
        cb(stale_button, pattern=rf"^({PREFIX}|rc):"),
    ]


async def _chosen(update: Update, context: BotContext, text: str) -> None:
    await my_tickets(update, context)


CAPABILITY = Capability(
    name="repairs",
    handlers=handlers,
    commands=(
        CommandSpec("report", "cmd.report", Audience(REGISTERED), 100),
        CommandSpec("mytickets", "cmd.mytickets", Audience(REGISTERED), 110),
    ),
    menu=(
        MenuEntry("menu.repairs", menu_report, Audience(RESIDENTS), 100),
        MenuEntry("menu.mytickets", my_tickets, Audience(REGISTERED), 110),
    ),
    resumers={"repairs_report": resume_report},
    choices={"tickets": _chosen},
    due_sources=(DueSource("repairs", repairs_schedule.process_due, repairs_schedule.next_due),),
)
