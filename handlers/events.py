"""Community events: /newevent (a guided conversation for staff), the "报名" button in groups and private
chats, /events (RSVP, cancel; organisers manage theirs), /checkin CODE and the check-in deep link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import ClassVar
from zoneinfo import ZoneInfo

from telegram import InputFile, Update
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
from bot.commands import REGISTERED, Audience, CommandSpec, roles
from bot.context import BotContext, Draft, Services
from bot.notices.events import CANCEL_RSVP, PREFIX, RSVP, STOP
from bot.roles import Role
from bot.scheduling import DueSource
from bot.services import compounds, events
from bot.services.errors import UserFacingError
from bot.services.events import AUDIENCES, EVENT_TYPES, REPEATS, EventDraft, EventView
from bot.services.invites import deep_link
from bot.services.timing import fmt_span
from handlers.common import ensure_current_person
from handlers.flows import draft_id, flow, pressed, revise, stopper
from handlers.render import (
    answer,
    buttons,
    display_name,
    edit_or_reply,
    reply,
    send_text,
    stale_button,
)

ORGANISERS = roles(Role.COORDINATOR, Role.ADMIN, Role.SUPERVISOR)
DRAFT_KEY = "event_draft"
RSVP_LINK = "er"  # /start er_<event id>: a group 报名 finished in the private chat
MESSAGE_KEY = "event_message"


@dataclass
class MessageDraft(Draft):
    """An organiser's message to an event's attendees being written: for which event."""

    KEY: ClassVar[str] = MESSAGE_KEY
    event_id: int | None = None


BACK = Button(PREFIX, "back")
PICK_COMPOUND = Button(PREFIX, "c", int)
PICK_AUDIENCE = Button(PREFIX, "a", str)
PICK_TYPE = Button(PREFIX, "t", str)
PICK_REPEAT = Button(PREFIX, "r", str)
PUBLISH = Button(PREFIX, "publish")
MANAGE = Button(PREFIX, "adm", int)
SHOW_CODE = Button(PREFIX, "code", int)
MESSAGE_ATTENDEES = Button(PREFIX, "msg", int)
CANCEL_EVENT = Button(PREFIX, "kill", int)
CANCEL_EVENT_SURE = Button(PREFIX, "killok", int)
# What each choice button fills in the draft, and the values it may carry.
CHOICES = (
    (PICK_AUDIENCE, "audience", AUDIENCES),
    (PICK_TYPE, "event_type", EVENT_TYPES),
    (PICK_REPEAT, "repeat", REPEATS),
)
TEXT_LIMIT = 200


@dataclass
class NewEventDraft(Draft):
    """What /newevent has gathered so far; None = not asked yet (ISO times, JSON-safe)."""

    KEY: ClassVar[str] = DRAFT_KEY
    compound_id: int | None = None
    title: str | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    place: str | None = None
    capacity: int | None = None
    audience: str | None = None
    event_type: str | None = None
    repeat: str | None = None


class EventStep(IntEnum):
    COMPOUND = 1
    TITLE = 2
    WHEN = 3
    PLACE = 4
    CAPACITY = 5
    AUDIENCE = 6
    TYPE = 7
    REPEAT = 8
    CONFIRM = 9
    MESSAGE = 10


def _nav(context: BotContext) -> list[tuple[str, str]]:
    return [
        (context.t("common.btn_back"), BACK.data()),
        (context.t("common.btn_cancel"), STOP.data()),
    ]


def _cancel_only(context: BotContext) -> object:
    return buttons([[(context.t("common.btn_cancel"), STOP.data())]])


def _when(context: BotContext, view: EventView) -> str:
    return fmt_span(
        context.services.translator, context.language, view.starts_at, view.ends_at, ZoneInfo(view.tz)
    )


# ---------------------------------------------------------------------------------------------------------
# the guided conversation


async def new_event(update: Update, context: BotContext) -> EventStep | int:
    user = update.effective_user
    assert user is not None
    await ensure_current_person(update, context)
    context.drop(DRAFT_KEY, MESSAGE_KEY)
    compounds = await events.organiser_compounds(context.services.uow(), user.id)
    if not compounds:
        raise UserFacingError("common.not_allowed")
    if len(compounds) == 1:
        revise(context, NewEventDraft, compound_id=compounds[0][0])
        return await _ask_title(update, context)
    rows = [[(name, PICK_COMPOUND.data(cid))] for cid, name in compounds]
    rows.append([(context.t("common.btn_cancel"), STOP.data())])
    await reply(update, context, "events.pick_compound", markup=buttons(rows))
    return EventStep.COMPOUND


async def compound_picked(update: Update, context: BotContext) -> EventStep | int:
    query = update.callback_query
    assert query is not None
    press = await pressed(update, context, PICK_COMPOUND)
    if press is None:
        return EventStep.COMPOUND
    _, compound_id = press
    await answer(update)
    revise(context, NewEventDraft, compound_id=compound_id)
    return await _ask_title(update, context)


async def _ask_title(update: Update, context: BotContext) -> EventStep:
    await reply(update, context, "events.ask_title", markup=_cancel_only(context))  # type: ignore[arg-type]
    return EventStep.TITLE


async def title_entered(update: Update, context: BotContext) -> EventStep:
    text = (update.effective_message.text or "").strip() if update.effective_message else ""
    if not text or len(text) > events.TITLE_LIMIT:
        await reply(update, context, "events.bad_title", limit=events.TITLE_LIMIT)
        return EventStep.TITLE
    revise(context, NewEventDraft, title=text)
    await reply(update, context, "events.ask_when", markup=buttons([_nav(context)]))
    return EventStep.WHEN


async def when_entered(update: Update, context: BotContext) -> EventStep:
    text = (update.effective_message.text or "") if update.effective_message else ""
    tz = await _compound_zone(context)
    now = context.services.clock.now()
    parsed = events.parse_when(text[:TEXT_LIMIT], tz, now)
    if parsed is None:
        await reply(update, context, "events.bad_when")
        return EventStep.WHEN
    start, end = parsed
    if start <= now:
        await reply(update, context, "events.in_past")
        return EventStep.WHEN
    if end <= start:
        await reply(update, context, "events.end_before_start")
        return EventStep.WHEN
    revise(context, NewEventDraft, starts_at=start.isoformat(), ends_at=end.isoformat())
    await reply(update, context, "events.ask_place", markup=buttons([_nav(context)]))
    return EventStep.PLACE


async def place_entered(update: Update, context: BotContext) -> EventStep:
    text = (update.effective_message.text or "").strip() if update.effective_message else ""
    if not text or len(text) > events.PLACE_LIMIT:
        await reply(update, context, "events.bad_place", limit=events.PLACE_LIMIT)
        return EventStep.PLACE
    revise(context, NewEventDraft, place=text)
    await reply(update, context, "events.ask_capacity", markup=buttons([_nav(context)]))
    return EventStep.CAPACITY


async def capacity_entered(update: Update, context: BotContext) -> EventStep:
    text = (update.effective_message.text or "").strip() if update.effective_message else ""
    try:
        capacity = int(text)
    except ValueError:
        capacity = 0
    if not 1 <= capacity <= events.CAPACITY_LIMIT:
        await reply(update, context, "events.bad_capacity", limit=events.CAPACITY_LIMIT)
        return EventStep.CAPACITY
    revise(context, NewEventDraft, capacity=capacity)
    return await _ask_audience(update, context)


async def _ask_audience(update: Update, context: BotContext) -> EventStep:
    rows = [[(context.t(f"events.audience_{a}"), PICK_AUDIENCE.data(a))] for a in AUDIENCES]
    await reply(update, context, "events.ask_audience", markup=buttons([*rows, _nav(context)]))
    return EventStep.AUDIENCE


async def _ask_type(update: Update, context: BotContext) -> EventStep:
    names = [(context.t(f"events.type_{k}"), PICK_TYPE.data(k)) for k in EVENT_TYPES]
    rows = [names[i : i + 2] for i in range(0, len(names), 2)]
    await edit_or_reply(update, context, context.t("events.ask_type"), buttons([*rows, _nav(context)]))
    return EventStep.TYPE


async def _ask_repeat(update: Update, context: BotContext) -> EventStep:
    rows = [[(context.t(f"events.repeat_{r}"), PICK_REPEAT.data(r))] for r in REPEATS]
    await edit_or_reply(update, context, context.t("events.ask_repeat"), buttons([*rows, _nav(context)]))
    return EventStep.REPEAT


def _draft_obj(context: BotContext) -> EventDraft:
    d = context.load(NewEventDraft)
    return EventDraft(
        compound_id=int(d.compound_id or 0),
        title=str(d.title),
        place=str(d.place),
        starts_at=datetime.fromisoformat(str(d.starts_at)),
        ends_at=datetime.fromisoformat(str(d.ends_at)),
        capacity=int(d.capacity or 0),
        audience=str(d.audience),
        event_type=str(d.event_type),
        repeat=str(d.repeat),
    )


async def choice_picked(update: Update, context: BotContext) -> EventStep | int:
    query = update.callback_query
    assert query is not None
    draft = context.load(NewEventDraft)
    picked = next(
        (
            (button, field, values[0])
            for button, field, allowed in CHOICES
            if (values := button.parse(query.data)) is not None and values[0] in allowed
        ),
        None,
    )
    if picked is None or draft.capacity is None:
        await stale_button(update, context)
        return ConversationHandler.END if draft.capacity is None else EventStep.AUDIENCE
    await answer(update)
    button, field, value = picked
    revise(context, NewEventDraft, **{field: value})
    if button is PICK_AUDIENCE:
        return await _ask_type(update, context)
    if button is PICK_TYPE:
        return await _ask_repeat(update, context)
    event = _draft_obj(context)
    tz = await _compound_zone(context)
    summary = context.t(
        "events.confirm",
        title=event.title,
        when=fmt_span(context.services.translator, context.language, event.starts_at, event.ends_at, tz),
        place=event.place,
        capacity=event.capacity,
        audience=context.t(f"events.audience_{event.audience}"),
        type=context.t(f"events.type_{event.event_type}"),
        repeat=context.t(f"events.repeat_{event.repeat}"),
    )
    markup = buttons([[(context.t("events.btn_publish"), PUBLISH.data())], _nav(context)])
    await edit_or_reply(update, context, summary, markup)
    return EventStep.CONFIRM


async def publish(update: Update, context: BotContext) -> int:
    user = update.effective_user
    assert user is not None
    if context.load(NewEventDraft).repeat is None:
        await stale_button(update, context)
        return ConversationHandler.END
    view = await events.create_event(
        context.services.uow(),
        context.services.translator,
        user.id,
        _draft_obj(context),
        context.services.clock.now(),
    )
    await answer(update)
    context.drop(DRAFT_KEY, MESSAGE_KEY)
    await edit_or_reply(
        update, context, context.t("events.published", title=view.title, when=_when(context, view))
    )
    await _send_manage(update, context, view)
    return ConversationHandler.END


async def back(update: Update, context: BotContext) -> EventStep | int:
    await answer(update)
    draft = context.load(NewEventDraft)
    # Step back to the question before the one being answered.
    if draft.repeat is not None or draft.event_type is not None:
        revise(context, NewEventDraft, repeat=None, event_type=None)
        return await _ask_type(update, context)
    if draft.audience is not None or draft.capacity is not None:
        revise(context, NewEventDraft, audience=None, capacity=None)
        await reply(update, context, "events.ask_capacity", markup=buttons([_nav(context)]))
        return EventStep.CAPACITY
    if draft.place is not None or draft.starts_at is not None:
        revise(context, NewEventDraft, place=None, starts_at=None)
        await reply(update, context, "events.ask_when", markup=buttons([_nav(context)]))
        return EventStep.WHEN
    revise(context, NewEventDraft, title=None)
    return await _ask_title(update, context)


stop = stopper("events.stopped", DRAFT_KEY, MESSAGE_KEY)


async def use_buttons(update: Update, context: BotContext) -> None:
    await reply(update, context, "events.use_buttons")


# ---------------------------------------------------------------------------------------------------------
# organisers


def _manage_markup(context: BotContext, event_id: int) -> object:
    return buttons(
        [
            [(context.t("events.btn_code"), SHOW_CODE.data(event_id))],
            [(context.t("events.btn_message"), MESSAGE_ATTENDEES.data(event_id))],
            [(context.t("events.btn_cancel_event"), CANCEL_EVENT.data(event_id))],
        ]
    )


async def _send_manage(update: Update, context: BotContext, view: EventView) -> None:
    await reply(
        update,
        context,
        "events.manage",
        markup=_manage_markup(context, view.id),  # type: ignore[arg-type]
        title=view.title,
        when=_when(context, view),
        going=view.going,
        capacity=view.capacity,
        waiting=view.waiting,
    )


async def manage_pressed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    press = await pressed(update, context, MANAGE, SHOW_CODE, CANCEL_EVENT, CANCEL_EVENT_SURE)
    if press is None:
        return
    action, event_id = press
    uow, now, t = context.services.uow(), context.services.clock.now(), context.services.translator
    if action is MANAGE:
        view = await events.organiser_view(uow, update.effective_user.id, event_id)
        await answer(update)
        await _send_manage(update, context, view)
    elif action is SHOW_CODE:
        view = await events.organiser_view(uow, update.effective_user.id, event_id)
        await answer(update)
        link = deep_link(context.services.bot_username, f"ev_{view.checkin_code}")
        # The picture to show on a phone or print at the door (attendees scan it), then the code to type.
        from bot.services.repairs_posters import qr_png

        chat = update.effective_chat
        if chat is not None:
            await context.bot.send_photo(
                chat.id,
                InputFile(qr_png(link, view.checkin_code), filename=f"{view.checkin_code}.png"),
                caption=context.t("events.code_qr_caption", title=view.title, code=view.checkin_code),
            )
        await reply(update, context, "events.code", title=view.title, code=view.checkin_code, link=link)
    elif action is CANCEL_EVENT:
        view = await events.organiser_view(uow, update.effective_user.id, event_id)
        await answer(update)
        markup = buttons([[(context.t("events.btn_kill_yes"), CANCEL_EVENT_SURE.data(event_id))]])
        await reply(update, context, "events.kill_confirm", markup=markup, title=view.title)
    elif action is CANCEL_EVENT_SURE:
        told = await events.cancel_event(uow, t, update.effective_user.id, event_id, now)
        await answer(update)
        await edit_or_reply(update, context, context.t("events.killed", count=told))


async def message_start(update: Update, context: BotContext) -> EventStep | int:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    values = MESSAGE_ATTENDEES.parse(query.data)
    if values is None or context.user_data is None:
        await stale_button(update, context)
        return ConversationHandler.END
    event_id = int(values[0])
    view = await events.organiser_view(context.services.uow(), update.effective_user.id, event_id)
    await answer(update)
    context.store(MessageDraft(event_id=event_id))
    await reply(update, context, "events.ask_message", markup=_cancel_only(context), title=view.title)  # type: ignore[arg-type]
    return EventStep.MESSAGE


async def message_entered(update: Update, context: BotContext) -> EventStep | int:
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    event_id = draft_id(context, MessageDraft, "event_id")
    if event_id is None:
        return ConversationHandler.END
    if len(message.text or "") > 3000:
        await reply(update, context, "events.message_too_long")
        return EventStep.MESSAGE
    count = await events.message_attendees(
        context.services.uow(),
        context.services.translator,
        update.effective_user.id,
        event_id,
        message.text or "",
        context.services.clock.now(),
    )
    context.drop(DRAFT_KEY, MESSAGE_KEY)
    await reply(update, context, "events.message_sent", count=count)
    return ConversationHandler.END


# ---------------------------------------------------------------------------------------------------------
# residents


async def rsvp_pressed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    press = await pressed(update, context, RSVP, CANCEL_RSVP)
    if press is None:
        return
    kind, event_id = press
    uow, now = context.services.uow(), context.services.clock.now()
    chat = update.effective_chat
    in_group = chat is not None and chat.type != "private"
    if (
        kind is RSVP
        and in_group
        and not await events.reachable_privately(context.services.uow(), update.effective_user.id)
    ):
        # Reminders could never reach someone who never opened the private chat: the button opens it, and
        # the sign-up is finished there (/start er_<id>).
        link = deep_link(context.services.bot_username, f"{RSVP_LINK}_{event_id}")
        await query.answer(url=link)
        return
    if kind is RSVP:
        result = await events.rsvp(uow, update.effective_user.id, display_name(update), event_id, now)
        key = "events.rsvp_going" if result.status == "going" else "events.rsvp_waiting"
    else:
        result = await events.cancel_rsvp(
            uow, context.services.translator, update.effective_user.id, event_id, now
        )
        key = "events.rsvp_cancelled"
    text = context.t(
        key,
        title=result.event.title,
        when=_when(context, result.event),
        place=result.event.place,
        position=result.position,
    )
    if in_group:
        # In a group the answer goes to the presser only, as an alert.
        await answer(update, text[:200], alert=True)  # Telegram refuses longer answers
        return
    await answer(update)
    await send_text(update, context, text)


def _event_line(context: BotContext, view: EventView) -> str:
    mark = {"going": context.t("events.mark_going"), "waiting": context.t("events.mark_waiting")}.get(
        view.mine or "", ""
    )
    return context.t(
        "events.line",
        title=view.title,
        when=_when(context, view),
        place=view.place,
        going=view.going,
        capacity=view.capacity,
        mark=mark,
    )


async def events_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    person = await ensure_current_person(update, context)
    found = await events.upcoming(context.services.uow(), user.id, context.services.clock.now())
    if not found:
        await reply(update, context, "events.none")
        return
    staff = person.has_role(Role.COORDINATOR.value, Role.ADMIN.value, Role.SUPERVISOR.value)
    rows = []
    for view in found:
        label_when = view.starts_at.astimezone(ZoneInfo(view.tz)).strftime("%m/%d")
        if view.mine in ("going", "waiting"):
            rows.append(
                [
                    (
                        context.t("events.btn_cancel_rsvp", title=view.title[:12], when=label_when),
                        CANCEL_RSVP.data(view.id),
                    )
                ]
            )
        else:
            rows.append(
                [
                    (
                        context.t("events.btn_rsvp_named", title=view.title[:12], when=label_when),
                        RSVP.data(view.id),
                    )
                ]
            )
        if staff and (view.organiser_id == person.id or person.has_role(Role.ADMIN.value)):
            rows.append([(context.t("events.btn_manage", title=view.title[:12]), MANAGE.data(view.id))])
    lines = "\n".join(_event_line(context, v) for v in found)
    await reply(update, context, "events.list", markup=buttons(rows), lines=lines)


async def _check_in(update: Update, context: BotContext, code: str) -> None:
    user = update.effective_user
    assert user is not None
    view = await events.check_in(context.services.uow(), user.id, code, context.services.clock.now())
    await reply(update, context, "events.checked_in", title=view.title)


async def checkin_command(update: Update, context: BotContext) -> None:
    await ensure_current_person(update, context)
    code = context.args[0] if context.args else ""
    if not code:
        await reply(update, context, "events.checkin_how")
        return
    await _check_in(update, context, code)


async def checkin_link(update: Update, context: BotContext, code: str) -> None:
    await _check_in(update, context, code)


async def rsvp_link(update: Update, context: BotContext, rest: str) -> None:
    """The private end of a group 报名 by someone new: sign them up here, where reminders can reach them."""
    user = update.effective_user
    assert user is not None
    if not rest.isdigit():
        await reply(update, context, "start.bad_link")
        return
    now = context.services.clock.now()
    result = await events.rsvp(context.services.uow(), user.id, display_name(update), int(rest), now)
    key = "events.rsvp_going" if result.status == "going" else "events.rsvp_waiting"
    view = result.event
    await reply(
        update,
        context,
        key,
        title=view.title,
        when=_when(context, view),
        place=view.place,
        position=result.position,
    )


async def menu_events(update: Update, context: BotContext) -> None:
    await events_command(update, context)


async def _process_due(services: Services, now: datetime) -> int:
    return await events.process_due(services.uow(), services.translator, now)


async def _next_due(services: Services, now: datetime) -> datetime | None:
    return await events.next_due(services.uow())


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    text = private & filters.TEXT & ~filters.COMMAND
    conversation = flow(
        "events_new",
        entry_points=[
            CommandHandler("newevent", new_event, filters=private),
            CallbackQueryHandler(message_start, pattern=MESSAGE_ATTENDEES.pattern),
        ],
        states={
            EventStep.COMPOUND: [CallbackQueryHandler(compound_picked, pattern=PICK_COMPOUND.pattern)],
            EventStep.TITLE: [MessageHandler(text, title_entered)],
            EventStep.WHEN: [MessageHandler(text, when_entered)],
            EventStep.PLACE: [MessageHandler(text, place_entered)],
            EventStep.CAPACITY: [MessageHandler(text, capacity_entered)],
            EventStep.AUDIENCE: [CallbackQueryHandler(choice_picked, pattern=PICK_AUDIENCE.pattern)],
            EventStep.TYPE: [CallbackQueryHandler(choice_picked, pattern=PICK_TYPE.pattern)],
            EventStep.REPEAT: [CallbackQueryHandler(choice_picked, pattern=PICK_REPEAT.pattern)],
            EventStep.CONFIRM: [CallbackQueryHandler(publish, pattern=PUBLISH.pattern)],
            EventStep.MESSAGE: [MessageHandler(text, message_entered)],
        },
        stop=stop,
        stop_button=STOP,
        fallbacks=[
            CallbackQueryHandler(back, pattern=BACK.pattern),
            CallbackQueryHandler(stale_button, pattern=rf"^{PREFIX}:(c|a|t|r|publish)"),
            MessageHandler(private & ~filters.COMMAND, use_buttons),
        ],
    )
    return [
        conversation,
        CommandHandler("events", events_command, filters=private),
        CommandHandler("checkin", checkin_command, filters=private),
        CallbackQueryHandler(rsvp_pressed, pattern=rf"^{PREFIX}:(go|cx):"),
        CallbackQueryHandler(manage_pressed, pattern=rf"^{PREFIX}:(adm|code|kill|killok):"),
        CallbackQueryHandler(stale_button, pattern=rf"^{PREFIX}:(stop|back)$"),
    ]


async def _compound_zone(context: BotContext) -> ZoneInfo:
    compound_id = context.load(NewEventDraft).compound_id
    return await compounds.zone(
        context.services.uow(),
        int(compound_id) if compound_id is not None else None,
        context.services.settings.timezone,
    )


async def _chosen(update: Update, context: BotContext, text: str) -> None:
    await events_command(update, context)


CAPABILITY = Capability(
    name="events",
    handlers=handlers,
    commands=(
        CommandSpec("events", "cmd.events", Audience(REGISTERED), 330),
        CommandSpec("newevent", "cmd.newevent", ORGANISERS, 340),
        CommandSpec("checkin", "cmd.checkin", Audience(REGISTERED), 350),
    ),
    menu=(MenuEntry("menu.events", menu_events, Audience(REGISTERED), 330),),
    deep_links={"ev": checkin_link, RSVP_LINK: rsvp_link},
    choices={"event": _chosen},
    due_sources=(DueSource("events", _process_due, _next_due),),
)
