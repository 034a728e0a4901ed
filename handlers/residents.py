"""Binding a resident to their home: invite code, deep link, or a join request a leader approves."""

from __future__ import annotations

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

from bot.callbacks import int_part, pack, unpack
from bot.capability import Capability, MenuEntry, Wiring
from bot.commands import UNREGISTERED, Audience, CommandSpec
from bot.context import BotContext
from bot.roles import Role
from bot.services import residents
from bot.services.errors import UserFacingError
from bot.services.residents import InviteOutcome
from handlers.common import current_person, ensure_current_person, refresh_commands, show_menu
from handlers.menu import menu_for
from handlers.render import (
    answer,
    choice_keyboard,
    display_name,
    edit_or_reply,
    reply,
    send_text,
    stale_button,
)
from handlers.start import register_buttons

PREFIX = "rg"
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


DRAFT_KEY = "register"


def _nav(context: BotContext) -> list[tuple[str, str]]:
    return [
        (context.t("common.btn_back"), pack(PREFIX, "back")),
        (context.t("common.btn_cancel"), pack(PREFIX, "cancel")),
    ]


async def ask_code(update: Update, context: BotContext) -> RegisterStep:
    await answer(update)
    keep = context.draft(DRAFT_KEY).get("compound_id")
    context.drop(DRAFT_KEY)
    if keep:
        # Came from a compound group's button: a code of another compound is refused.
        context.draft(DRAFT_KEY)["compound_id"] = keep
    await reply(update, context, "residents.ask_code", markup=_cancel_only(context))  # type: ignore[arg-type]
    return RegisterStep.ENTER_CODE


def _cancel_only(context: BotContext) -> object:
    from handlers.render import buttons

    return buttons([[(context.t("common.btn_cancel"), pack(PREFIX, "cancel"))]])


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
    expected = context.draft(DRAFT_KEY).get("compound_id")
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
        draft = context.draft(DRAFT_KEY)
        draft.update(code=outcome.code, building_id=outcome.building_id)
        units = await residents.list_units(context.services.uow(), outcome.building_id)
        await reply(
            update,
            context,
            "residents.pick_unit",
            markup=choice_keyboard(
                units, pack(PREFIX, "u"), extra=[(context.t("common.btn_cancel"), pack(PREFIX, "cancel"))]
            ),
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
        context.draft(DRAFT_KEY)["compound_id"] = compound_id
    await reply(update, context, "start.how_to_register", markup=register_buttons(context, compound_id))  # type: ignore[arg-type]
    return ConversationHandler.END


async def start_join(update: Update, context: BotContext) -> RegisterStep:
    await answer(update)
    query = update.callback_query
    compound_id = int_part(unpack(query.data), 2) if query is not None else None
    keep = context.draft(DRAFT_KEY).get("compound_id")
    context.drop(DRAFT_KEY)
    compound_id = compound_id or (int(keep) if keep else None)
    if compound_id is not None:
        context.draft(DRAFT_KEY)["compound_id"] = compound_id
        return await _show_buildings(update, context, compound_id)
    compounds = await residents.list_compounds(context.services.uow())
    if len(compounds) == 1:
        context.draft(DRAFT_KEY)["compound_id"] = compounds[0].id
        return await _show_buildings(update, context, compounds[0].id)
    await edit_or_reply(
        update,
        context,
        context.t("residents.pick_compound"),
        choice_keyboard(
            compounds,
            pack(PREFIX, "c"),
            per_row=1,
            extra=[(context.t("common.btn_cancel"), pack(PREFIX, "cancel"))],
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
        choice_keyboard(choices, pack(PREFIX, "b"), extra=_nav(context)),
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
        choice_keyboard(choices, pack(PREFIX, "u"), extra=_nav(context)),
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
        choice_keyboard(choices[:96], pack(PREFIX, "h"), per_row=4, extra=_nav(context)),
    )
    return RegisterStep.PICK_ROOM


async def picked(update: Update, context: BotContext) -> RegisterStep | int | None:
    query = update.callback_query
    assert query is not None
    parts = unpack(query.data)
    level, value = (parts[1] if len(parts) > 1 else ""), int_part(parts, 2)
    if value is None:
        await stale_button(update, context)
        return None  # stay where we are
    step = await _next_step(update, context, level, value)
    await answer(update)
    return step


async def _next_step(update: Update, context: BotContext, level: str, value: int) -> RegisterStep | int:
    draft = context.draft(DRAFT_KEY)
    if level == "c":
        draft["compound_id"] = value
        return await _show_buildings(update, context, value)
    if level == "b":
        draft["building_id"] = value
        return await _show_units(update, context, value)
    if level == "u":
        draft["unit_id"] = value
        return await _show_rooms(update, context, value)
    draft["household_id"] = value
    if draft.get("code"):
        return await _bind_with_code(update, context, value)
    label = await residents.household_label(context.services.uow(), value)
    await edit_or_reply(
        update,
        context,
        context.t("residents.confirm_join", home=label),
        choice_keyboard(
            [],
            PREFIX,
            extra=[(context.t("residents.btn_send_request"), pack(PREFIX, "send")), *_nav(context)],
        ),
    )
    return RegisterStep.CONFIRM


async def _bind_with_code(update: Update, context: BotContext, household_id: int) -> int:
    user = update.effective_user
    assert user is not None
    code = str(context.draft(DRAFT_KEY).get("code", ""))
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
    household_id = context.draft(DRAFT_KEY).get("household_id")
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
    context.services.notify_outbox()
    context.drop(DRAFT_KEY)
    await answer(update)
    await edit_or_reply(update, context, context.t("residents.request_sent", home=request.home_label))
    return ConversationHandler.END


async def back(update: Update, context: BotContext) -> RegisterStep | int:
    await answer(update)
    draft = context.draft(DRAFT_KEY)
    if "household_id" in draft and not draft.get("code"):
        draft.pop("household_id")
        return await _show_rooms(update, context, int(draft["unit_id"]))
    if "unit_id" in draft:
        draft.pop("unit_id")
        return await _show_units(update, context, int(draft["building_id"]))
    if "building_id" in draft and not draft.get("code"):
        draft.pop("building_id")
        return await _show_buildings(update, context, int(draft["compound_id"]))
    return await start_join(update, context) if not draft.get("code") else RegisterStep.PICK_UNIT


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
    parts = unpack(query.data)
    request_id = int_part(parts, 2)
    if request_id is None or parts[1] not in ("ok", "no"):
        await stale_button(update, context)
        return
    result = await residents.decide_join(
        context.services.uow(),
        context.services.translator,
        request_id,
        user.id,
        parts[1] == "ok",
        context.services.clock.now(),
        menu_for=lambda person, language: menu_for(
            context.services.wiring, context.services.translator, language, person
        ).to_dict(),
    )
    context.services.notify_outbox()
    key = "residents.decided_approved" if result.status == "approved" else "residents.decided_rejected"
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
            CallbackQueryHandler(ask_code, pattern=rf"^{PREFIX}:code$"),
            CallbackQueryHandler(start_join, pattern=rf"^{PREFIX}:join"),
        ],
        states={
            RegisterStep.ENTER_CODE: [
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, code_entered)
            ],
            RegisterStep.PICK_COMPOUND: [CallbackQueryHandler(picked, pattern=rf"^{PREFIX}:c:")],
            RegisterStep.PICK_BUILDING: [CallbackQueryHandler(picked, pattern=rf"^{PREFIX}:b:")],
            RegisterStep.PICK_UNIT: [CallbackQueryHandler(picked, pattern=rf"^{PREFIX}:u:")],
            RegisterStep.PICK_ROOM: [CallbackQueryHandler(picked, pattern=rf"^{PREFIX}:h:")],
            RegisterStep.CONFIRM: [CallbackQueryHandler(send_request, pattern=rf"^{PREFIX}:send$")],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=rf"^{PREFIX}:cancel$"),
            CallbackQueryHandler(back, pattern=rf"^{PREFIX}:back$"),
            CallbackQueryHandler(stale_button, pattern=rf"^{PREFIX}:"),
            MessageHandler(private & ~filters.COMMAND, press_buttons_please),
        ],
    )
    return [
        conversation,
        CallbackQueryHandler(decide, pattern=r"^jr:"),
        CallbackQueryHandler(stale_button, pattern=rf"^{PREFIX}:"),
        MessageHandler(private & filters.Regex(INVITE_TYPED_RE), code_typed_anywhere),
    ]


CAPABILITY = Capability(
    name="residents",
    handlers=handlers,
    commands=(CommandSpec("register", "cmd.register", Audience(UNREGISTERED), 50),),
    menu=(MenuEntry("menu.register", register_command, Audience(UNREGISTERED), 10),),
)
