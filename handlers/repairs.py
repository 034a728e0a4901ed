"""Residents' side of repairs: the guided report (also from a QR poster or a group), and the capability's
wiring. A resident's tickets afterwards (list, timeline, 催办, rating, 没修好) live in
handlers/repairs_tickets.py, staff actions in handlers/repairs_staff.py."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Button
from bot.capability import Capability, MenuEntry, Wiring
from bot.commands import REGISTERED, RESIDENTS, Audience, CommandSpec
from bot.context import BotContext, Draft
from bot.i18n import SUPPORTED_LANGUAGES, default_translator
from bot.notices.repairs import NOT_FIXED, RATE, REPORT_CONVERSATION, URGE, VIEW
from bot.scheduling import DueSource
from bot.services import repairs, repairs_schedule
from bot.services.errors import UserFacingError
from bot.services.repairs import EMERGENCIES, KINDS, ReportDraft
from handlers.common import ensure_current_person, group_report, is_private, user_id
from handlers.render import answer, buttons, edit_or_reply, reply, stale_button
from handlers.repairs_contact import ask_phone_if_missing
from handlers.repairs_tickets import (
    COMMENT_SKIP,
    RateStep,
    comment_skipped,
    comment_wrong,
    commented,
    my_tickets,
    not_fixed,
    rated,
    ticket_command,
    urge,
    view_ticket,
)
from handlers.routing import REPORT_PATTERN, IntentFilter, take_pending
from handlers.start import register_buttons

PREFIX = "rr"  # report conversation buttons
PICK_KIND = Button(PREFIX, "k", str)
EMERGENCY = Button(PREFIX, "em")
EMERGENCY_WHAT = Button(PREFIX, "ew", str)
PICK_HOME = Button(PREFIX, "h", int)
SPOTS = Button(PREFIX, "spots")
PICK_SPOT = Button(PREFIX, "p", int)
FOLLOW_DUPLICATE = Button(PREFIX, "df", int)
REPORT_ANYWAY = Button(PREFIX, "dn")
PHOTOS_DONE = Button(PREFIX, "pd")
PICK_URGENCY = Button(PREFIX, "u", str)
SEND = Button(PREFIX, "send")
EDIT = Button(PREFIX, "edit")
EDIT_PART = Button(PREFIX, "ed", str)
CANCEL = Button(PREFIX, "cancel")
BACK = Button(PREFIX, "back")
DRAFT_KEY = "repair_draft"


@dataclass
class ReportConversation(Draft):
    """The report being filled in, step by step; `report()` is what the service is given on submit.

    Field names are the keys the dict draft had, so a report persisted before still reads back."""

    KEY: ClassVar[str] = DRAFT_KEY
    compound_id: int | None = None
    homes: list[list[Any]] = field(default_factory=list)  # [household id, label]
    has_spots: bool = False
    left: int = 0
    photos: list[str] = field(default_factory=list)
    history: list[int] = field(default_factory=list)  # the steps shown, for ◀ back
    # Submitting twice (a press after a crash, two phones) files one ticket: the service keys on this.
    request_key: str | None = None
    kind: str = ""
    urgency: str | None = None
    emergency: str | None = None  # which emergency, for the safety tip after sending
    description: str = ""
    from_text: bool = False
    household_id: int | None = None
    place_id: int | None = None
    place_label: str = ""
    fixed_place: bool = False  # from a QR poster: the place is not asked
    dup_ok: bool = False
    dup_id: int | None = None
    editing: bool = False
    editing_text: bool = False
    channel: str = "chat"  # chat | qr | group: how the report came in (supervisor figures)

    def report(self) -> ReportDraft:
        return ReportDraft(
            kind=self.kind,
            urgency=self.urgency or "normal",
            description=self.description,
            household_id=self.household_id,
            place_id=self.place_id,
            photos=tuple(self.photos),
            request_key=self.request_key,
            channel=self.channel,
        )


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
    row = [(context.t("common.btn_cancel"), CANCEL.data())]
    if back:
        row.insert(0, (context.t("common.btn_back"), BACK.data()))
    return row


def _draft(context: BotContext) -> ReportConversation:
    return context.load(ReportConversation)


def _push(context: BotContext, step: ReportStep) -> None:
    draft = _draft(context)
    if not draft.history or draft.history[-1] != int(step):
        draft.history.append(int(step))
        context.store(draft)


def _now(context: BotContext) -> Any:
    return context.services.clock.now()


# ---------------------------------------------------------------- showing each step


async def show_kind(update: Update, context: BotContext) -> ReportStep:
    rows = [[(context.t("repairs.btn.emergency"), EMERGENCY.data())]]
    kinds = [(context.t(f"repairs.kbtn.{k}"), PICK_KIND.data(k)) for k in KINDS]
    rows += [kinds[i : i + 3] for i in range(0, len(kinds), 3)]
    rows.append(_nav(context, back=False))
    _push(context, ReportStep.KIND)
    await edit_or_reply(update, context, context.t("repairs.ask_kind"), buttons(rows))
    return ReportStep.KIND


async def show_emergency(update: Update, context: BotContext) -> ReportStep:
    rows = [[(context.t(f"repairs.em.{key}"), EMERGENCY_WHAT.data(key))] for key in EMERGENCIES]
    rows.append(_nav(context))
    _push(context, ReportStep.EMERGENCY)
    await edit_or_reply(update, context, context.t("repairs.ask_emergency"), buttons(rows))
    return ReportStep.EMERGENCY


async def show_place(update: Update, context: BotContext) -> ReportStep:
    draft = _draft(context)
    rows = [[(f"🏠 {label}", PICK_HOME.data(int(hid)))] for hid, label in draft.homes]
    if draft.has_spots:
        rows.append([(context.t("repairs.btn.public_spot"), SPOTS.data())])
    rows.append(_nav(context))
    _push(context, ReportStep.PLACE)
    await edit_or_reply(update, context, context.t("repairs.ask_place"), buttons(rows))
    return ReportStep.PLACE


async def show_spots(update: Update, context: BotContext) -> ReportStep:
    start = await repairs.start_report(context.services.uow(), user_id(update), _now(context))
    spots = [(s.label, PICK_SPOT.data(s.id)) for s in start.spots]
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
    count = len(_draft(context).photos)
    rows = [
        [(context.t("repairs.btn.photos_done" if count else "repairs.btn.skip"), PHOTOS_DONE.data())],
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
            (context.t("repairs.btn.normal"), PICK_URGENCY.data("normal")),
            (context.t("repairs.btn.urgent"), PICK_URGENCY.data("urgent")),
        ],
        _nav(context),
    ]
    await edit_or_reply(update, context, context.t("repairs.ask_urgency"), buttons(rows))
    return ReportStep.URGENCY


async def show_confirm(update: Update, context: BotContext) -> ReportStep:
    draft = _draft(context)
    draft.editing = False
    context.store(draft)
    _push(context, ReportStep.CONFIRM)
    text = context.t(
        "repairs.summary",
        kind=context.t(f"repairs.kind.{draft.kind}"),
        place=draft.place_label,
        description=draft.description,
        photos=len(draft.photos),
        urgency=context.t(f"repairs.urgency.{draft.urgency or 'normal'}"),
    )
    rows = [
        [(context.t("repairs.btn.submit"), SEND.data())],
        [(context.t("repairs.btn.edit"), EDIT.data())],
        _nav(context),
    ]
    await edit_or_reply(update, context, text, buttons(rows))
    return ReportStep.CONFIRM


async def show_edit_menu(update: Update, context: BotContext) -> ReportStep:
    rows = [
        [
            (context.t("repairs.btn.edit_kind"), EDIT_PART.data("kind")),
            (context.t("repairs.btn.edit_place"), EDIT_PART.data("place")),
        ],
        [
            (context.t("repairs.btn.edit_text"), EDIT_PART.data("text")),
            (context.t("repairs.btn.edit_photos"), EDIT_PART.data("photos")),
        ],
        [(context.t("repairs.btn.edit_urgency"), EDIT_PART.data("urgency"))],
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


async def resume_report(update: Update, context: BotContext, state: object) -> ReportStep:
    """继续填写 after a detour (a legal question, a stuck step): the current step again, draft as it was."""
    step = ReportStep(state) if isinstance(state, int) and state in set(ReportStep) else ReportStep.KIND
    if step == ReportStep.DUPLICATE:
        step = ReportStep.PLACE
    return await SHOW[step](update, context)


# ---------------------------------------------------------------- entry points


async def _begin(
    update: Update,
    context: BotContext,
    *,
    place_code: str | None = None,
    text: str = "",
    channel: str = "chat",
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
            context.services.uow(), user_id(update), _now(context), place_id=place_id
        )
    except UserFacingError as error:
        await reply(update, context, error.key, **error.values)  # type: ignore[arg-type]
        return ConversationHandler.END
    draft = ReportConversation(
        compound_id=start.compound_id,
        homes=[[c.id, c.label] for c in start.homes],
        has_spots=bool(start.spots),
        left=start.left_today,
        request_key=secrets.token_hex(8),
        channel=channel,
    )
    if text:
        draft.description = text[: repairs.DESCRIPTION_LIMIT]
        draft.from_text = True
    context.store(draft)
    if place_id is not None:
        place_name = next((s.label for s in start.spots if s.id == place_id), None)
        draft.place_id = place_id
        draft.fixed_place = True
        draft.place_label = place_name or (await _place_name(context, place_code))
        context.store(draft)
        await reply(update, context, "repairs.place_from_qr", place=draft.place_label)
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
    """Asked "a repair or a legal question?", the resident chose repair (or pressed 🔧 under a photo): the
    report starts from their text (the photo's caption)."""
    text = await take_pending(update, context)
    if text is None:
        return ConversationHandler.END
    return await _begin(update, context, text=text.strip())


async def start_from_link(update: Update, context: BotContext) -> ReportStep | int:
    payload = context.args[0] if context.args else "rp"
    code = payload.partition("_")[2]
    # A bare link is the group's "continue in private" button; one with a code is a QR poster.
    return await _begin(update, context, place_code=code or None, channel="qr" if code else "group")


# ---------------------------------------------------------------- steps


def _after(context: BotContext, step: ReportStep) -> ReportStep:
    """Where the guided path goes after a step (straight back to the summary when editing)."""
    draft = _draft(context)
    if draft.editing and step != ReportStep.KIND:
        return ReportStep.CONFIRM
    if step in (ReportStep.KIND,):
        return ReportStep.DESCRIBE if draft.fixed_place else ReportStep.PLACE
    if step in (ReportStep.PLACE, ReportStep.SPOT):
        return ReportStep.PHOTOS if draft.description else ReportStep.DESCRIBE
    if step == ReportStep.DESCRIBE:
        return ReportStep.PHOTOS
    if step == ReportStep.PHOTOS:
        return ReportStep.URGENCY
    return ReportStep.CONFIRM


async def _go(update: Update, context: BotContext, step: ReportStep) -> ReportStep | int:
    draft = _draft(context)
    if step == ReportStep.DESCRIBE and draft.description and not draft.editing_text:
        step = ReportStep.PHOTOS
    return await SHOW[step](update, context)


async def kind_picked(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    parsed = PICK_KIND.parse(query.data)
    kind = str(parsed[0]) if parsed is not None else ""
    if kind not in KINDS:
        await stale_button(update, context)
        return ReportStep.KIND
    await answer(update)
    draft = _draft(context)
    draft.kind = kind
    draft.urgency = draft.urgency if draft.urgency != "emergency" else "normal"
    draft.emergency = None
    context.store(draft)
    if draft.editing:
        return await _after_place(update, context) if draft.place_label else await show_place(update, context)
    if draft.fixed_place:
        return await _after_place(update, context)
    return await show_place(update, context)


async def emergency_chosen(update: Update, context: BotContext) -> ReportStep:
    await answer(update)
    return await show_emergency(update, context)


async def emergency_what(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    parsed = EMERGENCY_WHAT.parse(query.data)
    what = str(parsed[0]) if parsed is not None else ""
    if what not in EMERGENCIES:
        await stale_button(update, context)
        return ReportStep.EMERGENCY
    await answer(update)
    draft = _draft(context)
    draft.kind = EMERGENCIES[what]
    draft.urgency = "emergency"
    draft.emergency = what
    draft.description = context.t(f"repairs.em.{what}")
    context.store(draft)
    if draft.fixed_place:
        return await _submit(update, context)
    return await show_place(update, context)


async def home_picked(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    parsed = PICK_HOME.parse(query.data)
    household_id = int(parsed[0]) if parsed is not None else None
    draft = _draft(context)
    homes = {int(h): str(label) for h, label in draft.homes}
    if household_id is None or household_id not in homes:
        await stale_button(update, context)
        return ReportStep.PLACE
    await answer(update)
    draft.household_id, draft.place_id, draft.place_label = household_id, None, homes[household_id]
    context.store(draft)
    return await _after_place(update, context)


async def spots_chosen(update: Update, context: BotContext) -> ReportStep:
    await answer(update)
    return await show_spots(update, context)


async def spot_picked(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    parsed = PICK_SPOT.parse(query.data)
    place_id = int(parsed[0]) if parsed is not None else None
    start = await repairs.start_report(context.services.uow(), user_id(update), _now(context))
    names = {s.id: s.label for s in start.spots}
    if place_id is None or place_id not in names:
        await stale_button(update, context)
        return ReportStep.SPOT
    await answer(update)
    draft = _draft(context)
    draft.place_id, draft.household_id, draft.place_label = place_id, None, names[place_id]
    context.store(draft)
    return await _after_place(update, context)


async def _after_place(update: Update, context: BotContext) -> ReportStep | int:
    draft = _draft(context)
    if draft.urgency == "emergency":
        return await _submit(update, context)
    if not draft.dup_ok:
        duplicate = await repairs.find_duplicate(context.services.uow(), user_id(update), draft.report())
        if duplicate is not None:
            draft.dup_id = duplicate.id
            context.store(draft)
            text = context.t(
                "repairs.duplicate_mine" if duplicate.mine else "repairs.duplicate",
                number=duplicate.number,
                kind=context.t(f"repairs.kind.{duplicate.kind}"),
                place=duplicate.public_label,
                status=context.t(f"repairs.status.{duplicate.status}"),
            )
            rows = [
                [(context.t("repairs.btn.follow"), FOLLOW_DUPLICATE.data(duplicate.id))],
                [(context.t("repairs.btn.report_anyway"), REPORT_ANYWAY.data())],
                _nav(context),
            ][1 if duplicate.mine else 0 :]  # nobody follows their own ticket
            _push(context, ReportStep.DUPLICATE)
            await edit_or_reply(update, context, text, buttons(rows))
            return ReportStep.DUPLICATE
    return await _go(update, context, _after(context, ReportStep.PLACE))


async def duplicate_follow(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    parsed = FOLLOW_DUPLICATE.parse(query.data)
    ticket_id = int(parsed[0]) if parsed is not None else None
    if ticket_id is None or ticket_id != _draft(context).dup_id:
        await stale_button(update, context)
        return ReportStep.DUPLICATE
    view = await repairs.follow(context.services.uow(), user_id(update), ticket_id, _now(context))
    await answer(update)
    context.drop(DRAFT_KEY)
    await edit_or_reply(update, context, context.t("repairs.following", number=view.number))
    return ConversationHandler.END


async def duplicate_new(update: Update, context: BotContext) -> ReportStep | int:
    await answer(update)
    draft = _draft(context)
    draft.dup_ok = True
    context.store(draft)
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
    draft = _draft(context)
    draft.description = text
    draft.editing_text = False
    context.store(draft)
    return await _go(update, context, _after(context, ReportStep.DESCRIBE))


async def photo_added(update: Update, context: BotContext) -> ReportStep:
    message = update.effective_message
    assert message is not None
    draft = _draft(context)
    photos = draft.photos
    if len(photos) >= repairs.PHOTO_LIMIT:
        await reply(update, context, "repairs.photos_full", limit=repairs.PHOTO_LIMIT)
        return ReportStep.PHOTOS
    photos.append(message.photo[-1].file_id)
    if message.caption and not draft.description:
        draft.description = message.caption[: repairs.DESCRIPTION_LIMIT]
    context.store(draft)
    rows = [[(context.t("repairs.btn.photos_done"), PHOTOS_DONE.data())], _nav(context)]
    await reply(update, context, "repairs.photo_received", markup=buttons(rows), count=len(photos))
    return ReportStep.PHOTOS


async def photos_done(update: Update, context: BotContext) -> ReportStep | int:
    await answer(update)
    return await _go(update, context, _after(context, ReportStep.PHOTOS))


async def urgency_picked(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    parsed = PICK_URGENCY.parse(query.data)
    urgency = str(parsed[0]) if parsed is not None else ""
    if urgency not in ("normal", "urgent"):
        await stale_button(update, context)
        return ReportStep.URGENCY
    await answer(update)
    draft = _draft(context)
    draft.urgency = urgency
    context.store(draft)
    return await show_confirm(update, context)


async def edit_chosen(update: Update, context: BotContext) -> ReportStep:
    await answer(update)
    return await show_edit_menu(update, context)


async def edit_part(update: Update, context: BotContext) -> ReportStep | int:
    query = update.callback_query
    assert query is not None
    parsed = EDIT_PART.parse(query.data)
    part = str(parsed[0]) if parsed is not None else ""
    await answer(update)
    draft = _draft(context)
    draft.editing = True
    if part == "place":
        draft.fixed_place = False
    elif part == "text":
        draft.editing_text = True
    elif part == "photos":
        draft.photos = []
    context.store(draft)
    if part == "kind":
        return await show_kind(update, context)
    if part == "place":
        return await show_place(update, context)
    if part == "text":
        return await show_describe(update, context)
    if part == "photos":
        return await show_photos(update, context)
    return await show_urgency(update, context)


async def submit(update: Update, context: BotContext) -> ReportStep | int:
    await answer(update)
    return await _submit(update, context)


async def _submit(update: Update, context: BotContext) -> ReportStep | int:
    draft = _draft(context)
    try:
        result = await repairs.submit_report(
            context.services.uow(),
            context.services.translator,
            user_id(update),
            draft.report(),
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
        text += "\n\n" + context.t(f"repairs.em_tip.{draft.emergency or 'water'}")
    else:
        text = context.t(f"repairs.sent_{ticket.queue}", number=ticket.number, name=who)
    context.drop(DRAFT_KEY)
    await edit_or_reply(update, context, text)
    await ask_phone_if_missing(update, context)
    return ConversationHandler.END


# ---------------------------------------------------------------- navigation and bad input


async def back(update: Update, context: BotContext) -> ReportStep | int:
    await answer(update)
    draft = _draft(context)
    history = draft.history
    if history:
        history.pop()
    while history:
        previous = ReportStep(history.pop())
        if previous == ReportStep.DUPLICATE:
            continue
        context.store(draft)
        return await SHOW[previous](update, context)
    context.store(draft)
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
    history = _draft(context).history
    return ReportStep(history[-1]) if history else None


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
        name=REPORT_CONVERSATION,
        persistent=True,
        entry_points=[
            *restart,
            MessageHandler(text & IntentFilter(wiring, "repair"), start_from_text),
            cb(start_from_choice, pattern=REPORT_PATTERN),
        ],
        states={
            ReportStep.KIND: [
                cb(kind_picked, pattern=PICK_KIND.pattern),
                cb(emergency_chosen, pattern=EMERGENCY.pattern),
            ],
            ReportStep.EMERGENCY: [cb(emergency_what, pattern=EMERGENCY_WHAT.pattern)],
            ReportStep.PLACE: [
                cb(home_picked, pattern=PICK_HOME.pattern),
                cb(spots_chosen, pattern=SPOTS.pattern),
            ],
            ReportStep.SPOT: [cb(spot_picked, pattern=PICK_SPOT.pattern)],
            ReportStep.DUPLICATE: [
                cb(duplicate_follow, pattern=FOLLOW_DUPLICATE.pattern),
                cb(duplicate_new, pattern=REPORT_ANYWAY.pattern),
            ],
            ReportStep.DESCRIBE: [MessageHandler(text, described)],
            ReportStep.PHOTOS: [
                MessageHandler(pictures, photo_added),
                cb(photos_done, pattern=PHOTOS_DONE.pattern),
            ],
            ReportStep.URGENCY: [cb(urgency_picked, pattern=PICK_URGENCY.pattern)],
            ReportStep.CONFIRM: [
                cb(submit, pattern=SEND.pattern),
                cb(edit_chosen, pattern=EDIT.pattern),
                cb(edit_part, pattern=EDIT_PART.pattern),
            ],
        },
        fallbacks=[
            *restart,
            CommandHandler("cancel", cancel),
            cb(cancel, pattern=CANCEL.pattern),
            cb(back, pattern=BACK.pattern),
            cb(stale_button, pattern=rf"^{PREFIX}:"),
            MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, wrong_content),
        ],
    )
    rating: ConversationHandler[BotContext] = ConversationHandler(
        name="repairs_rating",
        persistent=True,
        allow_reentry=True,
        entry_points=[cb(rated, pattern=RATE.pattern)],
        states={
            RateStep.COMMENT: [
                MessageHandler(text, commented),
                cb(comment_skipped, pattern=COMMENT_SKIP.pattern),
            ],
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
        cb(view_ticket, pattern=VIEW.pattern),
        cb(urge, pattern=URGE.pattern),
        cb(not_fixed, pattern=NOT_FIXED.pattern),
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
    resumers={REPORT_CONVERSATION: resume_report},
    choices={"tickets": _chosen},
    due_sources=(DueSource("repairs", repairs_schedule.process_due, repairs_schedule.next_due),),
)
