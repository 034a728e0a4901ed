"""/announce: staff write an announcement (公告) or the 三公开 public accounts, choose who gets it (compound
groups, every registered resident of the compound, a building or a unit), pin it, send now or later."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import ClassVar
from zoneinfo import ZoneInfo

from telegram import MessageEntity, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Button
from bot.capability import Capability, Wiring
from bot.commands import CommandSpec, roles
from bot.context import BotContext, Draft, Services
from bot.roles import Role
from bot.scheduling import DueSource
from bot.services import announcements, compounds, events, residents
from bot.services.announcements import AnnouncementDraft
from bot.services.common import fmt_when
from bot.services.errors import UserFacingError
from handlers.common import ensure_current_person
from handlers.flows import flow, pressed, revise, stem, stopper
from handlers.render import (
    answer,
    buttons,
    choice_keyboard,
    edit_or_reply,
    reply,
    send_text,
    stale_button,
)

PREFIX = "an"
DRAFT_KEY = "announce_draft"
STOP = Button(PREFIX, "stop")
PICK_COMPOUND = Button(PREFIX, "c", int)
PICK_KIND = Button(PREFIX, "k", str)
PICK_AUDIENCE = Button(PREFIX, "a", str)
PICK_BUILDING = Button(PREFIX, "b", int)
PICK_UNIT = Button(PREFIX, "u", int)
PICK_PIN = Button(PREFIX, "p", int)  # 1 pin, 0 do not
SEND_NOW = Button(PREFIX, "now")
SEND = Button(PREFIX, "send")
STAFF = roles(Role.COORDINATOR, Role.ADMIN, Role.SUPERVISOR)


AUDIENCE_CHOICES = {
    "g": (True, "none"),
    "c": (False, "compound"),
    "gc": (True, "compound"),
    "b": (False, "building"),
    "u": (False, "unit"),
}


@dataclass
class AnnounceDraft(Draft):
    """What /announce has gathered so far; None = not asked yet (ISO time, JSON-safe)."""

    KEY: ClassVar[str] = DRAFT_KEY
    request_key: str | None = None
    compound_id: int | None = None
    kind: str | None = None
    title: str | None = None
    body: str | None = None
    rows: list[list[str]] | None = None
    to_groups: bool | None = None
    scope: str | None = None
    building_id: int | None = None
    unit_id: int | None = None
    pin: bool | None = None
    send_at: str | None = None


class AnnounceStep(IntEnum):
    COMPOUND = 1
    KIND = 2
    TITLE = 3
    BODY = 4
    AUDIENCE = 5
    BUILDING = 6
    UNIT = 7
    PIN = 8
    WHEN = 9
    CONFIRM = 10


def _cancel_row(context: BotContext) -> list[tuple[str, str]]:
    return [(context.t("common.btn_cancel"), STOP.data())]


async def start(update: Update, context: BotContext) -> AnnounceStep | int:
    user = update.effective_user
    assert user is not None
    await ensure_current_person(update, context)
    context.drop(DRAFT_KEY)
    # Publishing twice (a press after a crash, two phones) sends one announcement: the service keys on this.
    revise(context, AnnounceDraft, request_key=secrets.token_hex(8))
    compounds = await events.organiser_compounds(context.services.uow(), user.id)
    if not compounds:
        raise UserFacingError("common.not_allowed")
    if len(compounds) == 1:
        revise(context, AnnounceDraft, compound_id=compounds[0][0])
        return await _ask_kind(update, context)
    rows = [[(name, PICK_COMPOUND.data(cid))] for cid, name in compounds]
    await reply(update, context, "announcements.pick_compound", markup=buttons([*rows, _cancel_row(context)]))
    return AnnounceStep.COMPOUND


async def compound_picked(update: Update, context: BotContext) -> AnnounceStep:
    query = update.callback_query
    assert query is not None
    press = await pressed(update, context, PICK_COMPOUND)
    if press is None:
        return AnnounceStep.COMPOUND
    _, compound_id = press
    await answer(update)
    revise(context, AnnounceDraft, compound_id=compound_id)
    return await _ask_kind(update, context)


async def _ask_kind(update: Update, context: BotContext) -> AnnounceStep:
    markup = buttons(
        [
            [(context.t("announcements.kind_notice"), PICK_KIND.data("notice"))],
            [(context.t("announcements.kind_accounts"), PICK_KIND.data("accounts"))],
            _cancel_row(context),
        ]
    )
    await reply(update, context, "announcements.ask_kind", markup=markup)
    return AnnounceStep.KIND


async def kind_picked(update: Update, context: BotContext) -> AnnounceStep:
    query = update.callback_query
    assert query is not None
    values = PICK_KIND.parse(query.data)
    kind = str(values[0]) if values is not None else ""
    if kind not in announcements.KINDS:
        await stale_button(update, context)
        return AnnounceStep.KIND
    await answer(update)
    revise(context, AnnounceDraft, kind=kind)
    ask = "announcements.ask_title_accounts" if kind == "accounts" else "announcements.ask_title"
    await edit_or_reply(update, context, context.t(ask), buttons([_cancel_row(context)]))
    return AnnounceStep.TITLE


async def title_entered(update: Update, context: BotContext) -> AnnounceStep:
    text = (update.effective_message.text or "").strip() if update.effective_message else ""
    if not text or len(text) > announcements.TITLE_LIMIT:
        await reply(update, context, "announcements.bad_title", limit=announcements.TITLE_LIMIT)
        return AnnounceStep.TITLE
    draft = revise(context, AnnounceDraft, title=text)
    key = "announcements.ask_rows" if draft.kind == "accounts" else "announcements.ask_body"
    await reply(update, context, key, markup=buttons([_cancel_row(context)]))
    return AnnounceStep.BODY


async def body_entered(update: Update, context: BotContext) -> AnnounceStep:
    text = (update.effective_message.text or "").strip() if update.effective_message else ""
    if context.load(AnnounceDraft).kind == "accounts":
        try:
            revise(context, AnnounceDraft, rows=[list(row) for row in announcements.parse_accounts(text)])
        except UserFacingError as error:
            await send_text(update, context, context.t(error.key, **error.values))
            return AnnounceStep.BODY
    else:
        if not text:
            await reply(update, context, "announcements.empty")
            return AnnounceStep.BODY
        if len(text) > announcements.BODY_LIMIT:
            await reply(update, context, "announcements.too_long", limit=announcements.BODY_LIMIT)
            return AnnounceStep.BODY
        revise(context, AnnounceDraft, body=text)
    rows = [[(context.t(f"announcements.audience_{k}"), PICK_AUDIENCE.data(k))] for k in AUDIENCE_CHOICES]
    await reply(update, context, "announcements.ask_audience", markup=buttons([*rows, _cancel_row(context)]))
    return AnnounceStep.AUDIENCE


async def audience_picked(update: Update, context: BotContext) -> AnnounceStep:
    query = update.callback_query
    assert query is not None
    values = PICK_AUDIENCE.parse(query.data)
    choice = str(values[0]) if values is not None else ""
    draft = context.load(AnnounceDraft)
    if choice not in AUDIENCE_CHOICES or draft.compound_id is None:
        await stale_button(update, context)
        return AnnounceStep.AUDIENCE
    await answer(update)
    to_groups, scope = AUDIENCE_CHOICES[choice]
    revise(context, AnnounceDraft, to_groups=to_groups, scope=scope)
    if scope in ("building", "unit"):
        choices = await residents.list_buildings(context.services.uow(), draft.compound_id)
        markup = choice_keyboard(choices, stem(PICK_BUILDING), extra=_cancel_row(context))
        await edit_or_reply(update, context, context.t("announcements.pick_building"), markup)
        return AnnounceStep.BUILDING
    return await _after_audience(update, context)


async def building_picked(update: Update, context: BotContext) -> AnnounceStep:
    query = update.callback_query
    assert query is not None
    press = await pressed(update, context, PICK_BUILDING)
    if press is None:
        return AnnounceStep.BUILDING
    _, building_id = press
    await answer(update)
    draft = revise(context, AnnounceDraft, building_id=building_id)
    if draft.scope == "unit":
        choices = await residents.list_units(context.services.uow(), building_id)
        markup = choice_keyboard(choices, stem(PICK_UNIT), extra=_cancel_row(context))
        await edit_or_reply(update, context, context.t("announcements.pick_unit"), markup)
        return AnnounceStep.UNIT
    return await _after_audience(update, context)


async def unit_picked(update: Update, context: BotContext) -> AnnounceStep:
    query = update.callback_query
    assert query is not None
    press = await pressed(update, context, PICK_UNIT)
    if press is None:
        return AnnounceStep.UNIT
    _, unit_id = press
    await answer(update)
    revise(context, AnnounceDraft, unit_id=unit_id)
    return await _after_audience(update, context)


async def _after_audience(update: Update, context: BotContext) -> AnnounceStep:
    if context.load(AnnounceDraft).to_groups:
        markup = buttons(
            [
                [
                    (context.t("announcements.btn_pin"), PICK_PIN.data(1)),
                    (context.t("announcements.btn_no_pin"), PICK_PIN.data(0)),
                ],
                _cancel_row(context),
            ]
        )
        await edit_or_reply(update, context, context.t("announcements.ask_pin"), markup)
        return AnnounceStep.PIN
    revise(context, AnnounceDraft, pin=False)
    return await _ask_when(update, context)


async def pin_picked(update: Update, context: BotContext) -> AnnounceStep:
    query = update.callback_query
    assert query is not None
    values = PICK_PIN.parse(query.data)
    value = values[0] if values is not None else None
    if value not in (0, 1):
        await stale_button(update, context)
        return AnnounceStep.PIN
    await answer(update)
    revise(context, AnnounceDraft, pin=bool(value))
    return await _ask_when(update, context)


async def _ask_when(update: Update, context: BotContext) -> AnnounceStep:
    markup = buttons([[(context.t("announcements.btn_now"), SEND_NOW.data())], _cancel_row(context)])
    await edit_or_reply(update, context, context.t("announcements.ask_when"), markup)
    return AnnounceStep.WHEN


def _draft_obj(context: BotContext) -> AnnouncementDraft:
    d = context.load(AnnounceDraft)
    return AnnouncementDraft(
        compound_id=int(d.compound_id or 0),
        title=str(d.title),
        body=str(d.body or ""),
        kind=str(d.kind or "notice"),
        table_rows=tuple(tuple(r) for r in d.rows or []),
        to_groups=bool(d.to_groups),
        scope=str(d.scope or "none"),
        building_id=int(d.building_id) if d.building_id else None,
        unit_id=int(d.unit_id) if d.unit_id else None,
        pin=bool(d.pin),
        send_at=datetime.fromisoformat(str(d.send_at)) if d.send_at else None,
        request_key=str(d.request_key) if d.request_key else None,
    )


async def _confirm(update: Update, context: BotContext) -> AnnounceStep:
    draft = _draft_obj(context)
    text = announcements.render(context.services.translator, context.language, draft)
    tz = await _compound_zone(context)
    when = (
        fmt_when(context.services.translator, context.language, draft.send_at, tz)
        if draft.send_at
        else context.t("announcements.now")
    )
    choice = next(k for k, v in AUDIENCE_CHOICES.items() if v == (draft.to_groups, draft.scope))
    summary = context.t(
        "announcements.confirm",
        preview=text,
        audience=context.t(f"announcements.audience_{choice}"),
        pin=context.t("announcements.yes" if draft.pin else "announcements.no"),
        when=when,
    )
    markup = buttons([[(context.t("announcements.btn_send"), SEND.data())], _cancel_row(context)])
    # The preview shows the accounts table in the same monospace as the post.
    found = announcements.table_entities(context.services.translator, context.language, draft, summary)
    entities = [MessageEntity(str(e["type"]), int(str(e["offset"])), int(str(e["length"]))) for e in found]
    await edit_or_reply(update, context, summary, markup, entities=entities or None)
    return AnnounceStep.CONFIRM


async def send_now(update: Update, context: BotContext) -> AnnounceStep:
    await answer(update)
    revise(context, AnnounceDraft, send_at=None)
    return await _confirm(update, context)


async def when_entered(update: Update, context: BotContext) -> AnnounceStep:
    text = (update.effective_message.text or "") if update.effective_message else ""
    tz = await _compound_zone(context)
    now = context.services.clock.now()
    parsed = events.parse_when(text[:100], tz, now)
    if parsed is None:
        await reply(update, context, "announcements.bad_when")
        return AnnounceStep.WHEN
    if parsed[0] <= now:
        await reply(update, context, "announcements.in_past")
        return AnnounceStep.WHEN
    revise(context, AnnounceDraft, send_at=parsed[0].isoformat())
    return await _confirm(update, context)


async def send(update: Update, context: BotContext) -> int:
    user = update.effective_user
    assert user is not None
    if context.load(AnnounceDraft).title is None:
        await stale_button(update, context)
        return ConversationHandler.END
    view = await announcements.create(
        context.services.uow(),
        context.services.translator,
        user.id,
        _draft_obj(context),
        context.services.clock.now(),
    )
    await answer(update)
    context.drop(DRAFT_KEY)
    if view.status == "sent":
        text = context.t("announcements.sent", title=view.title, people=view.recipients, groups=view.groups)
    else:
        when = fmt_when(context.services.translator, context.language, view.send_at, ZoneInfo(view.tz))
        text = context.t("announcements.scheduled", title=view.title, when=when)
    await edit_or_reply(update, context, text)
    return ConversationHandler.END


stop = stopper("announcements.stopped", DRAFT_KEY)


async def use_buttons(update: Update, context: BotContext) -> None:
    await reply(update, context, "announcements.use_buttons")


async def _process_due(services: Services, now: datetime) -> int:
    return await announcements.process_due(services.uow(), services.translator, now)


async def _next_due(services: Services, now: datetime) -> datetime | None:
    return await announcements.next_due(services.uow(), now)


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    text = private & filters.TEXT & ~filters.COMMAND
    conversation = flow(
        "announce",
        entry_points=[CommandHandler("announce", start, filters=private)],
        states={
            AnnounceStep.COMPOUND: [CallbackQueryHandler(compound_picked, pattern=PICK_COMPOUND.pattern)],
            AnnounceStep.KIND: [CallbackQueryHandler(kind_picked, pattern=PICK_KIND.pattern)],
            AnnounceStep.TITLE: [MessageHandler(text, title_entered)],
            AnnounceStep.BODY: [MessageHandler(text, body_entered)],
            AnnounceStep.AUDIENCE: [CallbackQueryHandler(audience_picked, pattern=PICK_AUDIENCE.pattern)],
            AnnounceStep.BUILDING: [CallbackQueryHandler(building_picked, pattern=PICK_BUILDING.pattern)],
            AnnounceStep.UNIT: [CallbackQueryHandler(unit_picked, pattern=PICK_UNIT.pattern)],
            AnnounceStep.PIN: [CallbackQueryHandler(pin_picked, pattern=PICK_PIN.pattern)],
            AnnounceStep.WHEN: [
                CallbackQueryHandler(send_now, pattern=SEND_NOW.pattern),
                MessageHandler(text, when_entered),
            ],
            AnnounceStep.CONFIRM: [CallbackQueryHandler(send, pattern=SEND.pattern)],
        },
        stop=stop,
        stop_button=STOP,
        fallbacks=[
            CallbackQueryHandler(stale_button, pattern=rf"^{PREFIX}:"),
            MessageHandler(private & ~filters.COMMAND, use_buttons),
        ],
    )
    return [conversation, CallbackQueryHandler(stale_button, pattern=rf"^{PREFIX}:")]


async def _compound_zone(context: BotContext) -> ZoneInfo:
    compound_id = context.load(AnnounceDraft).compound_id
    return await compounds.zone(
        context.services.uow(),
        int(compound_id) if compound_id is not None else None,
        context.services.settings.timezone,
    )


CAPABILITY = Capability(
    name="announcements",
    handlers=handlers,
    commands=(CommandSpec("announce", "cmd.announce", STAFF, 360),),
    due_sources=(DueSource("announcements", _process_due, _next_due),),
)
