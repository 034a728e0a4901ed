"""Binding a resident to their home: invite code, deep link, or a join request a leader approves."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import int_part
from bot.capability import Capability, MenuEntry, Wiring
from bot.commands import UNREGISTERED, Audience, CommandSpec
from bot.context import BotContext, Draft
from bot.notices.residents import (
    JOIN_APPROVE,
    JOIN_PREFIX,
    JOIN_REJECT,
    REGISTER_BACK,
    REGISTER_CANCEL,
    REGISTER_CODE,
    REGISTER_JOIN_IN,
    REGISTER_PICK,
    REGISTER_PREFIX,
    REGISTER_SEND,
)
from bot.roles import Role
from bot.services import residents
from bot.services.errors import UserFacingError
from bot.services.residents import InviteOutcome, JoinRequestStatus
from handlers.common import current_person, ensure_current_person, refresh_commands, show_menu
from handlers.menu import menu_for
from handlers.render import (
    answer,
    buttons,
    choice_keyboard,
    display_name,
    edit_or_reply,
    reply,
    send_text,
    stale_button,
)
from handlers.start import register_buttons

PREFIX = REGISTER_PREFIX
CODE_INPUT_LIMIT = 40
# Codes always hold a digit, so ordinary 8-letter words are not mistaken for one.
INVITE_TYPED_RE = r"(?i)^\s*(?=[a-z]*[2-9])[a-z2-9]{8}\s*$"
BARE_CODE_START_RE = r"^/start (?=[A-Za-z]*[2-9])[A-Za-z2-9]{8}$"


class RegisterStep(IntEnum):
    ENTER_CODE = 1
    PICK_COMPOUND = 2
    PICK_BUILDING = 3
    PICK_UNIT = 4
    PICK_ROOM = 5
    CONFIRM = 6


@dataclass
class RegisterDraft(Draft):
    """Where the registering person is: the place picked so far, or the building invite's code."""

    KEY = "register"
    compound_id: int | None = None
    building_id: int | None = None
    unit_id: int | None = None
    household_id: int | None = None
    code: str = ""


DRAFT_KEY = RegisterDraft.KEY


def _nav(context: BotContext) -> list[tuple[str, str]]:
    return [
        (context.t("common.btn_back"), REGISTER_BACK.data()),
        (context.t("common.btn_cancel"), REGISTER_CANCEL.data()),
    ]


def _cancel_button(context: BotContext) -> tuple[str, str]:
    return (context.t("common.btn_cancel"), REGISTER_CANCEL.data())


def _restart(context: BotContext) -> RegisterDraft:
    """A fresh draft that keeps only the compound (from a compound group's button)."""
    keep = context.load(RegisterDraft).compound_id
    context.drop(DRAFT_KEY)
    draft = RegisterDraft(compound_id=keep or None)
    if draft.compound_id:
        context.store(draft)
    return draft


async def ask_code(update: Update, context: BotContext) -> RegisterStep:
    await answer(update)
    # Came from a compound group's button: a code of another compound is refused.
    _restart(context)
    await reply(update, context, "residents.ask_code", markup=_cancel_only(context))  # type: ignore[arg-type]
    return RegisterStep.ENTER_CODE


def _cancel_only(context: BotContext) -> object:
    return buttons([[_cancel_button(context)]])


async def code_entered(update: Update, context: BotContext) -> RegisterStep | int:
    message = update.effective_message
    assert message is not None and message.text is not None
    if len(message.text) > CODE_INPUT_LIMIT:
        await reply(update, context, "residents.invite_invalid")
        return RegisterStep.ENTER_CODE
    try:
        outcome = await _redeem(update, context, message.text)
    except UserFacingError as error:
        await send_text(update, context, context.t(error.key, **error.values))
        return RegisterStep.ENTER_CODE
    return await _after_redeem(update, context, outcome)


async def _redeem(update: Update, context: BotContext, code: str) -> InviteOutcome:
    user = update.effective_user
    assert user is not None
    expected = context.load(RegisterDraft).compound_id
    return await residents.redeem_invite(
        context.services.uow(),
        user.id,
        display_name(update),
        code,
        context.services.clock.now(),
        expected_compound_id=int(expected) if expected else None,
    )


async def _after_redeem(update: Update, context: BotContext, outcome: InviteOutcome) -> RegisterStep | int:
    chat = update.effective_chat
    assert chat is not None
    if outcome.kind == "choose_room" and outcome.building_id is not None:
        draft = context.load(RegisterDraft)
        draft.code, draft.building_id = outcome.code, outcome.building_id
        context.store(draft)
        units = await residents.list_units(context.services.uow(), outcome.building_id)
        await reply(
            update,
            context,
            "residents.pick_unit",
            markup=choice_keyboard(units, _pick("u"), extra=[_cancel_button(context)]),
        )
        return RegisterStep.PICK_UNIT
    context.drop(DRAFT_KEY)
    await refresh_commands(context, chat.id, outcome.person)
    if outcome.kind == "bound_home" and outcome.home is not None:
        await show_menu(update, context, outcome.person, "residents.bound_home", home=outcome.home.label)
    else:
        role = context.t(f"role.{outcome.role}") if outcome.role else ""
        await show_menu(
            update,
            context,
            outcome.person,
            "residents.role_granted",
            role=role,
            compound=outcome.compound_name,
        )
    return ConversationHandler.END


async def deep_link_invite(update: Update, context: BotContext, code: str) -> RegisterStep | int:
    try:
        outcome = await _redeem(update, context, code)
    except UserFacingError as error:
        await send_text(update, context, context.t(error.key, **error.values), register_buttons(context))  # type: ignore[arg-type]
        return ConversationHandler.END
    return await _after_redeem(update, context, outcome)


async def start_with_invite(update: Update, context: BotContext) -> RegisterStep | int:
    await ensure_current_person(update, context)
    context.drop(DRAFT_KEY)
    payload = context.args[0] if context.args else ""
    code = payload.partition("_")[2] if payload.startswith("inv_") else payload
    return await deep_link_invite(update, context, code)


async def start_from_group(update: Update, context: BotContext) -> RegisterStep | int:
    """The group greeting's button: continue privately for the compound of that group."""
    person = await ensure_current_person(update, context)
    context.drop(DRAFT_KEY)
    payload = context.args[0] if context.args else ""
    compound_id = int_part(payload.split("_"), 1)
    if person.is_registered:
        await show_menu(update, context, person, "residents.already_registered")
        return ConversationHandler.END
    if compound_id is not None:
        context.store(RegisterDraft(compound_id=compound_id))
    await reply(update, context, "start.how_to_register", markup=register_buttons(context, compound_id))  # type: ignore[arg-type]
    return ConversationHandler.END


async def start_join(update: Update, context: BotContext) -> RegisterStep:
    await answer(update)
    query = update.callback_query
    pressed = REGISTER_JOIN_IN.parse(query.data) if query is not None else None
    compound_id = int(pressed[0]) if pressed else None
    keep = context.load(RegisterDraft).compound_id
    context.drop(DRAFT_KEY)
    compound_id = compound_id or (int(keep) if keep else None)
    if compound_id is not None:
        context.store(RegisterDraft(compound_id=compound_id))
        return await _show_buildings(update, context, compound_id)
    compounds = await residents.list_compounds(context.services.uow())
    if len(compounds) == 1:
        context.store(RegisterDraft(compound_id=compounds[0].id))
        return await _show_buildings(update, context, compounds[0].id)
    await edit_or_reply(
        update,
        context,
        context.t("residents.pick_compound"),
        choice_keyboard(
            compounds,
            _pick("c"),
            per_row=1,
            extra=[_cancel_button(context)],
        ),
    )
    return RegisterStep.PICK_COMPOUND


async def _show_buildings(update: Update, context: BotContext, compound_id: int) -> RegisterStep:
    choices = await residents.list_buildings(context.services.uow(), compound_id)
    if not choices:
        raise UserFacingError("residents.place_gone")
    await edit_or_reply(
        update,
        context,
        context.t("residents.pick_building"),
        choice_keyboard(choices, _pick("b"), extra=_nav(context)),
    )
    return RegisterStep.PICK_BUILDING


async def _show_units(update: Update, context: BotContext, building_id: int) -> RegisterStep:
    choices = await residents.list_units(context.services.uow(), building_id)
    if not choices:
        raise UserFacingError("residents.place_gone")
    await edit_or_reply(
        update,
        context,
        context.t("residents.pick_unit"),
        choice_keyboard(choices, _pick("u"), extra=_nav(context)),
    )
    return RegisterStep.PICK_UNIT


async def _show_rooms(update: Update, context: BotContext, unit_id: int) -> RegisterStep:
    choices = await residents.list_rooms(context.services.uow(), unit_id)
    if not choices:
        raise UserFacingError("residents.place_gone")
    # Telegram allows at most 100 buttons in one keyboard.
    await edit_or_reply(
        update,
        context,
        context.t("residents.pick_room"),
        choice_keyboard(choices[:96], _pick("h"), per_row=4, extra=_nav(context)),
    )
    return RegisterStep.PICK_ROOM


def _pick(level: str) -> str:
    """A place picker's prefix; choice_keyboard appends each choice's ":<id>"."""
    button = REGISTER_PICK[level]
    return f"{button.prefix}:{button.verb}"


async def picked(update: Update, context: BotContext) -> RegisterStep | int | None:
    query = update.callback_query
    assert query is not None
    level, value = "", None
    for name, button in REGISTER_PICK.items():
        pressed = button.parse(query.data)
        if pressed is not None:
            level, value = name, int(pressed[0])
    if value is None:
        await stale_button(update, context)
        return None  # stay where we are
    step = await _next_step(update, context, level, value)
    await answer(update)
    return step


async def _next_step(update: Update, context: BotContext, level: str, value: int) -> RegisterStep | int:
    draft = context.load(RegisterDraft)
    if level == "c":
        draft.compound_id = value
        context.store(draft)
        return await _show_buildings(update, context, value)
    if level == "b":
        draft.building_id = value
        context.store(draft)
        return await _show_units(update, context, value)
    if level == "u":
        draft.unit_id = value
        context.store(draft)
        return await _show_rooms(update, context, value)
    draft.household_id = value
    context.store(draft)
    if draft.code:
        return await _bind_with_code(update, context, value)
    label = await residents.household_label(context.services.uow(), value)
    await edit_or_reply(
        update,
        context,
        context.t("residents.confirm_join", home=label),
        choice_keyboard(
            [],
            PREFIX,
            extra=[(context.t("residents.btn_send_request"), REGISTER_SEND.data()), *_nav(context)],
        ),
    )
    return RegisterStep.CONFIRM


async def _bind_with_code(update: Update, context: BotContext, household_id: int) -> int:
    user = update.effective_user
    assert user is not None
    code = context.load(RegisterDraft).code
    outcome = await residents.bind_with_building_invite(
        context.services.uow(),
        user.id,
        display_name(update),
        code,
        household_id,
        context.services.clock.now(),
    )
    await edit_or_reply(
        update, context, context.t("residents.picked_home", home=outcome.home.label if outcome.home else "")
    )
    return await _after_redeem(update, context, outcome)  # type: ignore[return-value]


async def send_request(update: Update, context: BotContext) -> int:
    user = update.effective_user
    assert user is not None
    household_id = context.load(RegisterDraft).household_id
    if not household_id:
        await stale_button(update, context)
        return ConversationHandler.END
    request = await residents.request_join(
        context.services.uow(),
        context.services.translator,
        user.id,
        display_name(update),
        int(household_id),
        context.services.clock.now(),
        daily_limit=context.services.settings.join_requests_per_day,
    )
    context.drop(DRAFT_KEY)
    await answer(update)
    await edit_or_reply(update, context, context.t("residents.request_sent", home=request.home_label))
    return ConversationHandler.END


async def back(update: Update, context: BotContext) -> RegisterStep | int:
    await answer(update)
    draft = context.load(RegisterDraft)
    if draft.household_id is not None and not draft.code:
        unit_id, draft.household_id = draft.unit_id, None
        context.store(draft)
        return await _show_rooms(update, context, int(unit_id))  # type: ignore[arg-type]
    if draft.unit_id is not None:
        draft.unit_id = None
        context.store(draft)
        return await _show_units(update, context, int(draft.building_id))  # type: ignore[arg-type]
    if draft.building_id is not None and not draft.code:
        draft.building_id = None
        context.store(draft)
        return await _show_buildings(update, context, int(draft.compound_id))  # type: ignore[arg-type]
    return await start_join(update, context) if not draft.code else RegisterStep.PICK_UNIT


async def cancel(update: Update, context: BotContext) -> int:
    await answer(update)
    context.drop(DRAFT_KEY)
    if update.callback_query is not None:
        await edit_or_reply(update, context, context.t("common.cancelled"))
    else:
        person = await current_person(update, context)
        await show_menu(update, context, person, "common.cancelled")
    return ConversationHandler.END


async def press_buttons_please(update: Update, context: BotContext) -> None:
    await reply(update, context, "residents.use_buttons")


async def register_command(update: Update, context: BotContext) -> RegisterStep | int:
    person = await ensure_current_person(update, context)
    context.drop(DRAFT_KEY)
    if person.homes:
        await show_menu(update, context, person, "residents.already_registered")
        return ConversationHandler.END
    await reply(update, context, "start.how_to_register", markup=register_buttons(context))  # type: ignore[arg-type]
    return ConversationHandler.END


async def code_typed_anywhere(update: Update, context: BotContext) -> None:
    """A resident who types their invite code without pressing anything first."""
    message = update.effective_message
    assert message is not None and message.text is not None
    person = await ensure_current_person(update, context)
    if person.has_role(Role.MERCHANT.value) and not person.homes:
        # A merchant's 8-character code is a customer's voucher typed without 🎫 核销, never an invite.
        await reply(update, context, "points.verify_press_first")
        return
    try:
        outcome = await _redeem(update, context, message.text)
    except UserFacingError as error:
        await send_text(update, context, context.t(error.key, **error.values))
        return
    await _after_redeem(update, context, outcome)


# Approvals (building leader / admin), outside the conversation: any approver, any time.
async def decide(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    approved, rejected = JOIN_APPROVE.parse(query.data), JOIN_REJECT.parse(query.data)
    pressed = approved or rejected
    if pressed is None:
        await stale_button(update, context)
        return
    request_id = int(pressed[0])
    result = await residents.decide_join(
        context.services.uow(),
        context.services.translator,
        request_id,
        user.id,
        approved is not None,
        context.services.clock.now(),
        menu_for=lambda person, language: menu_for(
            context.services.wiring, context.services.translator, language, person
        ).to_dict(),
    )
    key = (
        "residents.decided_approved"
        if result.status == JoinRequestStatus.APPROVED
        else "residents.decided_rejected"
    )
    await answer(update, context.t(key, name=result.requester_name, home=result.home_label))
    await edit_or_reply(update, context, context.t(key, name=result.requester_name, home=result.home_label))


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    conversation: ConversationHandler[BotContext] = ConversationHandler(
        name="register",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CommandHandler("start", start_with_invite, filters=private & filters.Regex(r"^/start inv_")),
            # A bare code typed into a "scan/open link" box arrives as /start CODE.
            CommandHandler("start", start_with_invite, filters=private & filters.Regex(BARE_CODE_START_RE)),
            CommandHandler("start", start_from_group, filters=private & filters.Regex(r"^/start reg_")),
            CommandHandler("register", register_command, filters=private),
            CallbackQueryHandler(ask_code, pattern=REGISTER_CODE.pattern),
            CallbackQueryHandler(start_join, pattern=rf"^{PREFIX}:join"),
        ],
        states={
            RegisterStep.ENTER_CODE: [
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, code_entered)
            ],
            RegisterStep.PICK_COMPOUND: [CallbackQueryHandler(picked, pattern=REGISTER_PICK["c"].pattern)],
            RegisterStep.PICK_BUILDING: [CallbackQueryHandler(picked, pattern=REGISTER_PICK["b"].pattern)],
            RegisterStep.PICK_UNIT: [CallbackQueryHandler(picked, pattern=REGISTER_PICK["u"].pattern)],
            RegisterStep.PICK_ROOM: [CallbackQueryHandler(picked, pattern=REGISTER_PICK["h"].pattern)],
            RegisterStep.CONFIRM: [CallbackQueryHandler(send_request, pattern=REGISTER_SEND.pattern)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=REGISTER_CANCEL.pattern),
            CallbackQueryHandler(back, pattern=REGISTER_BACK.pattern),
            CallbackQueryHandler(stale_button, pattern=rf"^{PREFIX}:"),
            MessageHandler(private & ~filters.COMMAND, press_buttons_please),
        ],
    )
    return [
        conversation,
        CallbackQueryHandler(decide, pattern=rf"^{JOIN_PREFIX}:"),
        CallbackQueryHandler(stale_button, pattern=rf"^{PREFIX}:"),
        MessageHandler(private & filters.Regex(INVITE_TYPED_RE), code_typed_anywhere),
    ]


CAPABILITY = Capability(
    name="residents",
    handlers=handlers,
    commands=(CommandSpec("register", "cmd.register", Audience(UNREGISTERED), 50),),
    menu=(MenuEntry("menu.register", register_command, Audience(UNREGISTERED), 10),),
)
