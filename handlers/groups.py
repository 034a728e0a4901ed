"""Compound group chats: linking by an admin, greeting newcomers with a button to register privately."""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Button
from bot.capability import Capability, Wiring
from bot.commands import CommandSpec, roles
from bot.context import BotContext
from bot.roles import Role
from bot.services import groups
from bot.services.announcements import retry_pins
from bot.services.errors import UserFacingError
from bot.services.groups import GroupPurpose
from bot.services.invites import deep_link
from handlers.render import answer, choice_keyboard, edit_or_reply, reply, stale_button

log = logging.getLogger(__name__)
PREFIX = "lg"
# "lg:<purpose>:<compound id>": link this group to the picked compound for that purpose.
LINK_BUTTONS = {purpose: Button(PREFIX, purpose, int) for purpose in GroupPurpose}


async def link_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    user = update.effective_user
    assert chat is not None and user is not None
    if chat.type == "private":
        await reply(update, context, "groups.link_in_group")
        return
    purpose = groups.parse_purpose(context.args[0] if context.args else None)
    status = await groups.group_status(context.services.uow(), chat.id)
    if status is not None and status.compound_id is not None:
        await reply(update, context, "groups.already_linked", compound=status.compound_name or "")
        return
    choices = await groups.linkable_compounds(context.services.uow(), user.id)
    if not choices:
        raise UserFacingError("common.not_allowed")
    if len(choices) == 1:
        view = await groups.link_group(
            context.services.uow(),
            chat.id,
            chat.title or "",
            user.id,
            choices[0].id,
            context.services.clock.now(),
            purpose=purpose,
        )
        await reply(update, context, f"groups.linked_{view.purpose}", compound=view.compound_name or "")
        return
    await reply(
        update,
        context,
        "groups.pick_compound",
        markup=choice_keyboard(choices, f"{PREFIX}:{LINK_BUTTONS[GroupPurpose(purpose)].verb}", per_row=1),
    )


async def link_picked(update: Update, context: BotContext) -> None:
    query = update.callback_query
    chat = update.effective_chat
    user = update.effective_user
    assert query is not None and chat is not None and user is not None
    picked = next(
        ((purpose, pressed) for purpose, b in LINK_BUTTONS.items() if (pressed := b.parse(query.data))), None
    )
    if picked is None:
        await stale_button(update, context)
        return
    purpose, compound_id = picked[0], int(picked[1][0])
    view = await groups.link_group(
        context.services.uow(),
        chat.id,
        chat.title or "",
        user.id,
        compound_id,
        context.services.clock.now(),
        purpose=purpose,
    )
    await answer(update)
    await edit_or_reply(
        update, context, context.t(f"groups.linked_{view.purpose}", compound=view.compound_name or "")
    )


async def unlink_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    user = update.effective_user
    assert chat is not None and user is not None
    if chat.type == "private":
        await reply(update, context, "groups.link_in_group")
        return
    await groups.unlink_group(context.services.uow(), chat.id, user.id)
    await reply(update, context, "groups.unlinked")


def _joined(update: ChatMemberUpdated) -> bool:
    was = update.old_chat_member.status
    now = update.new_chat_member.status
    return was in (ChatMember.LEFT, ChatMember.BANNED) and now in (
        ChatMember.MEMBER,
        ChatMember.ADMINISTRATOR,
    )


def _left(update: ChatMemberUpdated) -> bool:
    return update.new_chat_member.status in (ChatMember.LEFT, ChatMember.BANNED)


async def bot_membership(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type == "private":
        return
    if _left(change):
        await groups.forget_group(context.services.uow(), change.chat.id)
        return
    if _joined(change):
        await context.bot.send_message(change.chat.id, context.t("groups.hello"))
    # Made an admin who may pin: the announcement pins Telegram refused before go out now.
    if getattr(change.new_chat_member, "can_pin_messages", False):
        await retry_pins(context.services.uow(), change.chat.id, context.services.clock.now())


async def new_members(update: Update, context: BotContext) -> None:
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    status = await groups.group_status(context.services.uow(), chat.id)
    if status is None or status.compound_id is None or status.purpose != GroupPurpose.RESIDENTS:
        return
    joined = [m for m in message.new_chat_members or [] if not m.is_bot]
    to_greet = await groups.newcomers_to_greet(
        context.services.uow(), status.compound_id, [m.id for m in joined]
    )
    newcomers = [m for m in joined if m.id in to_greet]
    if not newcomers:
        return
    link = deep_link(context.services.bot_username, f"reg_{status.compound_id}")
    names = "、".join(m.first_name for m in newcomers)[:200]
    await groups.greet_newcomers(
        context.services.uow(),
        context.services.translator,
        chat.id,
        names,
        status.compound_name or "",
        link,
        context.services.clock.now(),
        dedupe_key=f"greet:{chat.id}:{message.message_id}",
    )


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    groups_only = filters.ChatType.GROUPS
    return [
        CommandHandler("linkgroup", link_command),
        CommandHandler("unlinkgroup", unlink_command, filters=groups_only),
        CallbackQueryHandler(link_picked, pattern=rf"^{PREFIX}:"),
        ChatMemberHandler(bot_membership, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(groups_only & filters.StatusUpdate.NEW_CHAT_MEMBERS, new_members),
    ]


CAPABILITY = Capability(
    name="groups",
    handlers=handlers,
    commands=(CommandSpec("linkgroup", "cmd.linkgroup", roles(Role.ADMIN), 700),),
)
