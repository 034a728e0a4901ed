"""Volunteer points: /points, the catalogue and vouchers, merchants' /verify, staff awards and rules.

Everything is a stateless button or command: the state lives in the database (held vouchers, the ledger),
so a restart loses nothing. Importing this module also registers the activity listener (earning).
"""

from __future__ import annotations

import io
from datetime import datetime
from enum import IntEnum
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

from bot.callbacks import Button, int_part
from bot.capability import Capability, MenuEntry, Wiring
from bot.commands import REGISTERED, Audience, CommandSpec, roles
from bot.context import BotContext
from bot.roles import Role
from bot.scheduling import DueSource
from bot.services import points, points_awards, points_vouchers
from bot.services.errors import UserFacingError
from bot.services.invites import deep_link
from bot.services.points_reports import statement_xlsx
from bot.services.points_vouchers import VoucherStatus
from handlers.common import (
    current_person,
    ensured_person,
    remember_ensured_person,
    user_id,
)
from handlers.menu import LabelFilter
from handlers.render import answer, buttons, display_name, edit_or_reply, reply, send_text, stale_button
from handlers.routing import IntentFilter

PREFIX = "pt"
HOME_BUTTON = Button(PREFIX, "home")
CATEGORIES_BUTTON = Button(PREFIX, "cat")
CATEGORY_BUTTON = Button(PREFIX, "c", int)
SERVICE_BUTTON = Button(PREFIX, "s", int)
REDEEM_BUTTON = Button(PREFIX, "r", int)
CONFIRM_BUTTON = Button(PREFIX, "ok", int)
CANCEL_BUTTON = Button(PREFIX, "x", int)
MY_VOUCHERS_BUTTON = Button(PREFIX, "my")
VOUCHER_BUTTON = Button(PREFIX, "v", int)
STATEMENT_BUTTON = Button(PREFIX, "xlsx")
LEADERBOARD_BUTTON = Button(PREFIX, "top")
PUBLIC_NAME_BUTTON = Button(PREFIX, "pub", int)


async def _pressed(update: Update, context: BotContext, button: Button) -> int | None:
    """The id the pressed button carries; a stale or forged press is told so and gets None."""
    query = update.callback_query
    pressed = button.parse(query.data if query is not None else None)
    if pressed is None:
        await stale_button(update, context)
        return None
    return int(pressed[0])


LAST_ENTRIES = 5


def _when(moment: datetime | None, tz: str) -> str:
    return "" if moment is None else f"{moment.astimezone(ZoneInfo(tz)):%m-%d %H:%M}"


def _entry_line(context: BotContext, entry: points.EntryView, tz: str) -> str:
    return context.t(
        "points.entry_line",
        when=_when(entry.created_at, tz),
        kind=context.t(f"points.kind_{entry.kind}"),
        amount=f"{entry.amount:+d}",
        reason=entry.reason,
    )


def _home_buttons(context: BotContext) -> object:
    # The same four buttons for everyone who reads a language: built once (a markup is frozen, PTB).
    key = (context.services.translator, context.language)
    markup = _home_markups.get(key)
    if markup is None:
        if len(_home_markups) >= 16:
            _home_markups.clear()
        markup = _home_markups[key] = _build_home_buttons(context)
    return markup


_home_markups: dict[tuple[object, str], object] = {}


def _build_home_buttons(context: BotContext) -> object:
    return buttons(
        [
            [
                (context.t("points.btn_redeem"), CATEGORIES_BUTTON.data()),
                (context.t("points.btn_my"), MY_VOUCHERS_BUTTON.data()),
            ],
            [
                (context.t("points.btn_xlsx"), STATEMENT_BUTTON.data()),
                (context.t("points.btn_top"), LEADERBOARD_BUTTON.data()),
            ],
        ],
        kept=True,
    )


async def show_points(update: Update, context: BotContext) -> None:
    person = ensured_person(update, context)
    if person is not None:
        summary = await points.points_summary(
            context.services.uow(),
            person.id,
            points.points_compound(person),
            context.services.clock.now(),
            last=LAST_ENTRIES,
        )
    else:
        person, page = await points.points_page(
            context.services.uow(),
            user_id(update),
            display_name(update),
            context.services.clock.now(),
            last=LAST_ENTRIES,
        )
        remember_ensured_person(update, context, person)
        if page is None:
            raise UserFacingError("points.not_registered")
        summary = page
    lines = "\n".join(_entry_line(context, e, summary.timezone) for e in summary.entries)
    text = context.t(
        "points.summary",
        balance=summary.balance,
        earned=summary.earned_this_month,
        entries=lines or context.t("points.no_entries"),
    )
    if update.callback_query is not None:
        await answer(update)
        await edit_or_reply(update, context, text, _home_buttons(context))  # type: ignore[arg-type]
    else:
        await send_text(update, context, text, _home_buttons(context))  # type: ignore[arg-type]


async def send_statement(update: Update, context: BotContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    summary = await points.statement(context.services.uow(), user.id, context.services.clock.now())
    data = statement_xlsx(context.services.translator, context.language, summary)
    await answer(update)
    filename = f"points-{context.services.clock.now():%Y%m%d}.xlsx"
    await context.bot.send_document(
        chat.id,
        InputFile(io.BytesIO(data), filename=filename),
        caption=context.t("points.xlsx_caption", balance=summary.balance, count=len(summary.entries)),
    )


# Leaderboard ----------


async def show_leaderboard(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    board = await points.leaderboard(context.services.uow(), user.id, context.services.clock.now())
    lines = []
    for row in board.rows:
        if row.name:
            who = row.name
        elif row.building:
            who = context.t("points.anonymous_building", building=row.building)
        else:
            who = context.t("points.anonymous")
        mark = context.t("points.me_mark") if row.is_me else ""
        lines.append(context.t("points.leader_line", rank=row.rank, who=who, points=row.points, me=mark))
    text = context.t(
        "points.leaderboard",
        compound=board.compound_name,
        month=board.month,
        rows="\n".join(lines) or context.t("points.leaderboard_empty"),
    )
    toggle = (
        (context.t("points.btn_hide_name"), PUBLIC_NAME_BUTTON.data(0))
        if board.public_name
        else (context.t("points.btn_show_name"), PUBLIC_NAME_BUTTON.data(1))
    )
    await answer(update)
    await edit_or_reply(
        update, context, text, buttons([[toggle], [(context.t("points.btn_back"), HOME_BUTTON.data())]])
    )


async def toggle_public_name(update: Update, context: BotContext) -> None:
    user = update.effective_user
    query = update.callback_query
    assert user is not None and query is not None
    pressed = PUBLIC_NAME_BUTTON.parse(query.data)
    value = pressed[0] if pressed else None
    if value not in (0, 1):
        await stale_button(update, context)
        return
    opted = await points.set_public_name(context.services.uow(), user.id, bool(value))
    await answer(update, context.t("points.name_shown" if opted else "points.name_hidden"))
    await show_leaderboard(update, context)


async def publicname_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    switch = points.parse_switch(context.args[0] if context.args else "")
    if switch is None:
        await reply(update, context, "points.publicname_usage")
        return
    opted = await points.set_public_name(context.services.uow(), user.id, switch)
    await reply(update, context, "points.name_shown" if opted else "points.name_hidden")


# Catalogue and vouchers ----------


async def show_categories(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    names = await points_vouchers.categories(context.services.uow(), user.id)
    await answer(update)
    if not names:
        await edit_or_reply(update, context, context.t("points.catalogue_empty"))
        return
    rows = [[(name, CATEGORY_BUTTON.data(index))] for index, name in enumerate(names)]
    rows.append([(context.t("points.btn_back"), HOME_BUTTON.data())])
    await edit_or_reply(update, context, context.t("points.pick_category"), buttons(rows))


async def show_category(update: Update, context: BotContext) -> None:
    user = update.effective_user
    query = update.callback_query
    assert user is not None and query is not None
    pressed = CATEGORY_BUTTON.parse(query.data)
    index = int(pressed[0]) if pressed else None
    names = await points_vouchers.categories(context.services.uow(), user.id)
    if index is None or not 0 <= index < len(names):
        await stale_button(update, context)
        return
    items = await points_vouchers.services_in(context.services.uow(), user.id, names[index])
    rows = [
        [
            (
                context.t("points.service_button", name=s.name, partner=s.partner, cost=s.cost),
                SERVICE_BUTTON.data(s.id),
            )
        ]
        for s in items[:40]
    ]
    rows.append([(context.t("points.btn_back"), CATEGORIES_BUTTON.data())])
    await answer(update)
    await edit_or_reply(
        update, context, context.t("points.pick_service", category=names[index]), buttons(rows)
    )


async def show_service(update: Update, context: BotContext) -> None:
    user = update.effective_user
    query = update.callback_query
    assert user is not None and query is not None
    service_id = await _pressed(update, context, SERVICE_BUTTON)
    if service_id is None:
        return
    item = await points_vouchers.service_detail(context.services.uow(), user.id, service_id)
    stock = context.t("points.stock_unlimited") if item.stock is None else str(item.stock)
    limit = context.t("points.limit_none") if item.per_person_limit is None else str(item.per_person_limit)
    text = context.t(
        "points.service_detail",
        name=item.name,
        partner=item.partner,
        address=item.address or "—",
        category=item.category,
        cost=item.cost,
        stock=stock,
        limit=limit,
        days=item.validity_days,
    )
    await answer(update)
    await edit_or_reply(
        update,
        context,
        text,
        buttons(
            [
                [(context.t("points.btn_redeem_this", cost=item.cost), REDEEM_BUTTON.data(item.id))],
                [(context.t("points.btn_back"), CATEGORIES_BUTTON.data())],
            ]
        ),
    )


async def redeem(update: Update, context: BotContext) -> None:
    """Hold the points at once; the resident confirms (or cancels) on the next step."""
    user = update.effective_user
    query = update.callback_query
    assert user is not None and query is not None and query.message is not None
    service_id = await _pressed(update, context, REDEEM_BUTTON)
    if service_id is None:
        return
    # One pressed button = one request: pressing it twice (or Telegram redelivering it) holds once.
    request_key = f"{query.message.chat.id}:{query.message.message_id}:{service_id}"
    voucher = await points_vouchers.hold_redemption(
        context.services.uow(), user.id, service_id, request_key, context.services.clock.now()
    )
    await answer(update)
    if voucher.status != VoucherStatus.HELD:
        await _voucher_state(update, context, voucher)
        return
    text = context.t(
        "points.confirm_hold",
        service=voucher.service,
        partner=voucher.partner,
        cost=voucher.cost,
        balance=voucher.balance,
        minutes=points.HOLD_MINUTES,
    )
    await edit_or_reply(
        update,
        context,
        text,
        buttons(
            [
                [(context.t("points.btn_confirm"), CONFIRM_BUTTON.data(voucher.id))],
                [(context.t("points.btn_cancel_hold"), CANCEL_BUTTON.data(voucher.id))],
            ]
        ),
    )


async def _voucher_state(update: Update, context: BotContext, voucher: points.VoucherView) -> None:
    if voucher.status == VoucherStatus.ACTIVE:
        await send_voucher(update, context, voucher)
    else:
        await edit_or_reply(update, context, context.t(f"points.status_{voucher.status}", code=voucher.code))


def voucher_qr(link: str) -> bytes:
    import qrcode

    image = qrcode.make(link)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def send_voucher(update: Update, context: BotContext, voucher: points.VoucherView) -> None:
    chat = update.effective_chat
    assert chat is not None
    link = deep_link(context.services.bot_username, f"v_{voucher.code}")
    caption = context.t(
        "points.voucher_caption",
        service=voucher.service,
        partner=voucher.partner,
        code=voucher.code,
        cost=voucher.cost,
        expires=_when(voucher.expires_at, voucher.timezone),
        link=link,
        balance=voucher.balance,
    )
    await context.bot.send_photo(
        chat.id,
        InputFile(io.BytesIO(voucher_qr(link)), filename=f"{voucher.code}.png"),
        caption=caption[:1024],
        reply_markup=buttons([[(context.t("points.btn_cancel_voucher"), CANCEL_BUTTON.data(voucher.id))]]),
    )


async def confirm(update: Update, context: BotContext) -> None:
    user = update.effective_user
    query = update.callback_query
    assert user is not None and query is not None
    voucher_id = await _pressed(update, context, CONFIRM_BUTTON)
    if voucher_id is None:
        return
    voucher = await points_vouchers.confirm_redemption(
        context.services.uow(), user.id, voucher_id, context.services.clock.now()
    )
    await answer(update)
    await edit_or_reply(
        update, context, context.t("points.confirmed", service=voucher.service, code=voucher.code)
    )
    await send_voucher(update, context, voucher)


async def cancel(update: Update, context: BotContext) -> None:
    user = update.effective_user
    query = update.callback_query
    assert user is not None and query is not None
    voucher_id = await _pressed(update, context, CANCEL_BUTTON)
    if voucher_id is None:
        return
    voucher = await points_vouchers.cancel_voucher(
        context.services.uow(), user.id, voucher_id, context.services.clock.now()
    )
    await answer(update)
    text = context.t("points.cancelled", service=voucher.service, cost=voucher.cost, balance=voucher.balance)
    message = query.message
    if message is not None and getattr(message, "photo", None):
        # A voucher photo: its caption cannot be replaced by text, so answer below it.
        await context.bot.edit_message_reply_markup(message.chat.id, message.message_id, reply_markup=None)
        await send_text(update, context, text)
    else:
        await edit_or_reply(update, context, text)


async def my_vouchers(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    vouchers = await points_vouchers.my_vouchers(context.services.uow(), user.id)
    await answer(update)
    if not vouchers:
        await edit_or_reply(
            update,
            context,
            context.t("points.no_vouchers"),
            buttons([[(context.t("points.btn_back"), HOME_BUTTON.data())]]),
        )
        return
    rows = [
        [
            (
                context.t(
                    "points.voucher_button", service=v.service, expires=_when(v.expires_at, v.timezone)
                ),
                VOUCHER_BUTTON.data(v.id),
            )
        ]
        for v in vouchers[:20]
    ]
    rows.append([(context.t("points.btn_back"), HOME_BUTTON.data())])
    await edit_or_reply(update, context, context.t("points.my_vouchers", count=len(vouchers)), buttons(rows))


async def show_voucher(update: Update, context: BotContext) -> None:
    user = update.effective_user
    query = update.callback_query
    assert user is not None and query is not None
    voucher_id = await _pressed(update, context, VOUCHER_BUTTON)
    if voucher_id is None:
        return
    voucher = await points_vouchers.my_voucher(context.services.uow(), user.id, voucher_id)
    await answer(update)
    if voucher.status == VoucherStatus.ACTIVE:
        await send_voucher(update, context, voucher)
    else:
        await send_text(update, context, context.t(f"points.status_{voucher.status}", code=voucher.code))


# Merchants ----------


async def _verify(update: Update, context: BotContext, code: str) -> None:
    user = update.effective_user
    assert user is not None
    voucher = await points_vouchers.verify_voucher(
        context.services.uow(), context.services.translator, user.id, code, context.services.clock.now()
    )
    await reply(
        update,
        context,
        "points.verified",
        service=voucher.service,
        code=voucher.code,
        cost=voucher.cost,
        name=voucher.owner_name,
    )


async def verify_command(update: Update, context: BotContext) -> None:
    if not context.args:
        await reply(update, context, "points.verify_usage")
        return
    await _verify(update, context, "".join(context.args)[:40])


class VerifyStep(IntEnum):
    CODE = 1


async def verify_menu(update: Update, context: BotContext) -> VerifyStep:
    """🎫 核销: the merchant types (or pastes) the customer's code next; scanning the QR works as before."""
    await reply(update, context, "points.verify_ask")
    return VerifyStep.CODE


async def verify_typed(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None
    await _verify(update, context, (message.text or "")[:40])  # a wrong code is refused; they may retype
    return ConversationHandler.END


# What a merchant types as a code, typos included ("abcd 2345", "ZZZZ"); anything else (a question, an emoji)
# is not a wrong code: it goes to the flow's dead-end handling (answered, offered elsewhere, or asked again).
CODE_LIKE = filters.Regex(r"^\s*(?:[vV]_)?[A-Za-z0-9][A-Za-z0-9 \-]{2,20}\s*$")


async def verify_not_code(update: Update, context: BotContext) -> VerifyStep:
    await reply(update, context, "points.verify_ask")
    return VerifyStep.CODE


async def resume_verify(update: Update, context: BotContext, state: object) -> VerifyStep:
    return await verify_not_code(update, context)


async def verify_stop(update: Update, context: BotContext) -> int:
    await reply(update, context, "common.cancelled")
    return ConversationHandler.END


async def verify_link(update: Update, context: BotContext, rest: str) -> None:
    """The QR's link: a merchant verifies; the voucher's owner who opens it just sees their voucher."""
    user = update.effective_user
    assert user is not None
    own = await points_vouchers.my_voucher_by_code(context.services.uow(), user.id, rest[:40])
    if own is not None:
        await _voucher_state(update, context, own)
        return
    await _verify(update, context, rest[:40])


# Staff ----------


async def _award(update: Update, context: BotContext, deduct: bool) -> None:
    user = update.effective_user
    message = update.effective_message
    assert user is not None and message is not None
    args = context.args or []
    amount: int | None
    try:
        amount = int(args[1]) if len(args) >= 2 else None
    except ValueError:
        amount = None
    if amount is None:
        await reply(update, context, "points.award_usage", limit=points.MANUAL_LIMIT)
        return
    result = await points_awards.award_points(
        context.services.uow(),
        context.services.translator,
        user.id,
        args[0],
        amount,
        " ".join(args[2:]),
        f"{message.chat_id}:{message.message_id}",
        context.services.clock.now(),
        deduct=deduct,
    )
    key = "points.awarded" if result.amount > 0 else "points.deducted"
    await reply(
        update,
        context,
        key,
        name=result.person_name,
        points=abs(result.amount),
        balance=result.balance,
        reason=result.reason,
        entry=result.entry_id,
    )


async def award_command(update: Update, context: BotContext) -> None:
    await _award(update, context, False)


async def deduct_command(update: Update, context: BotContext) -> None:
    await _award(update, context, True)


async def reverse_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    args = context.args or []
    entry_id = int_part(args, 0)
    if entry_id is None:
        await reply(update, context, "points.reverse_usage")
        return
    result = await points_awards.reverse_entry(
        context.services.uow(),
        context.services.translator,
        user.id,
        entry_id,
        " ".join(args[1:]),
        context.services.clock.now(),
    )
    await reply(
        update,
        context,
        "points.reversed",
        entry=entry_id,
        name=result.person_name,
        points=f"{result.amount:+d}",
        balance=result.balance,
    )


async def rules_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    args = context.args or []
    if args:
        await _set_rule(update, context, args)
        return
    rules = await points.list_rules(context.services.uow(), user.id)
    lines = [
        context.t(
            "points.rule_line_hour" if r.per_hour else "points.rule_line",
            label=r.label,
            type=r.activity_type,
            points=r.points,
        )
        for r in rules
        if r.active
    ]
    await reply(update, context, "points.rules", rules="\n".join(lines) or context.t("points.no_rules"))


async def _set_rule(update: Update, context: BotContext, args: list[str]) -> None:
    user = update.effective_user
    assert user is not None
    value = int_part(args, 1)
    if value is None:
        await reply(update, context, "points.rule_usage")
        return
    per_hour = len(args) > 2 and points.is_per_hour_word(args[2])
    label = " ".join(args[3:] if per_hour else args[2:])
    rule = await points.set_rule(
        context.services.uow(), user.id, args[0], value, per_hour, label, context.services.clock.now()
    )
    key = "points.rule_saved" if rule.active else "points.rule_off"
    await reply(update, context, key, label=rule.label, type=rule.activity_type, points=rule.points)


async def text_about_points(update: Update, context: BotContext) -> None:
    person = await current_person(update, context)
    if person is None or not person.is_registered:
        await reply(update, context, "points.not_registered")
        return
    await show_points(update, context)


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    verify: ConversationHandler[BotContext] = ConversationHandler(
        name="points_verify",
        persistent=True,
        allow_reentry=True,
        entry_points=[MessageHandler(private & LabelFilter("menu.verify"), verify_menu)],
        states={VerifyStep.CODE: [MessageHandler(private & CODE_LIKE & ~filters.COMMAND, verify_typed)]},
        fallbacks=[
            CommandHandler("cancel", verify_stop),
            MessageHandler(private & filters.TEXT & ~filters.COMMAND, verify_not_code),
        ],
    )
    return [
        verify,
        CommandHandler("points", show_points, filters=private),
        CommandHandler("verify", verify_command, filters=private),
        CommandHandler("award", award_command, filters=private),
        CommandHandler("deduct", deduct_command, filters=private),
        CommandHandler("reverse", reverse_command, filters=private),
        CommandHandler("pointrules", rules_command, filters=private),
        CommandHandler("publicname", publicname_command, filters=private),
        CallbackQueryHandler(show_points, pattern=HOME_BUTTON.pattern),
        CallbackQueryHandler(show_categories, pattern=CATEGORIES_BUTTON.pattern),
        CallbackQueryHandler(show_category, pattern=CATEGORY_BUTTON.pattern),
        CallbackQueryHandler(show_service, pattern=SERVICE_BUTTON.pattern),
        CallbackQueryHandler(redeem, pattern=REDEEM_BUTTON.pattern),
        CallbackQueryHandler(confirm, pattern=CONFIRM_BUTTON.pattern),
        CallbackQueryHandler(cancel, pattern=CANCEL_BUTTON.pattern),
        CallbackQueryHandler(my_vouchers, pattern=MY_VOUCHERS_BUTTON.pattern),
        CallbackQueryHandler(show_voucher, pattern=VOUCHER_BUTTON.pattern),
        CallbackQueryHandler(send_statement, pattern=STATEMENT_BUTTON.pattern),
        CallbackQueryHandler(show_leaderboard, pattern=LEADERBOARD_BUTTON.pattern),
        CallbackQueryHandler(toggle_public_name, pattern=PUBLIC_NAME_BUTTON.pattern),
        MessageHandler(private & IntentFilter(wiring, "points"), text_about_points),
    ]


async def _chosen(update: Update, context: BotContext, text: str) -> None:
    await text_about_points(update, context)


CAPABILITY = Capability(
    name="points",
    handlers=handlers,
    commands=(
        CommandSpec("points", "points.cmd_points", Audience(REGISTERED), 302),
        CommandSpec("verify", "points.cmd_verify", roles(Role.MERCHANT), 311),
        CommandSpec("award", "points.cmd_award", roles(*points.STAFF_ROLES), 321),
        CommandSpec("deduct", "points.cmd_deduct", roles(*points.STAFF_ROLES), 331),
        CommandSpec("reverse", "points.cmd_reverse", roles(*points.REVERSE_ROLES), 341),
        CommandSpec("pointrules", "points.cmd_rules", roles(*points.RULE_ROLES), 351),
        CommandSpec("publicname", "points.cmd_publicname", Audience(REGISTERED), 361),
    ),
    menu=(
        MenuEntry("menu.verify", verify_menu, roles(Role.MERCHANT), 21),
        MenuEntry("points.menu", show_points, Audience(REGISTERED), 302),
    ),
    deep_links={"v": verify_link},
    resumers={"points_verify": resume_verify},
    choices={"points": _chosen},
    on_activity=(points.award_for_activity,),
    due_sources=(
        DueSource("points_vouchers", points_vouchers.process_due_vouchers, points_vouchers.next_voucher_due),
    ),
)
