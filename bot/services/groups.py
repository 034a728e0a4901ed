"""Compound group chats: linking a group to its compound, greeting newcomers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_chat
from bot.i18n import Translator
from bot.notices.groups import newcomers_greeting
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.people import person_view
from bot.services.views import Choice


@dataclass(frozen=True)
class GroupView:
    chat_id: int
    title: str
    compound_id: int | None
    compound_name: str | None
    purpose: str


class GroupPurpose(StrEnum):
    """GroupChat.purpose (the column stays a string)."""

    RESIDENTS = "residents"
    STAFF = "staff"


STAFF_GROUP_WORDS = frozenset({"staff", "工作群", "员工群"})


def parse_purpose(argument: str | None) -> str:
    """`/linkgroup staff` (or 工作群) links the staff group; anything else the residents' group."""
    if argument is not None and argument.strip().lower() in STAFF_GROUP_WORDS:
        return GroupPurpose.STAFF
    return GroupPurpose.RESIDENTS


async def linkable_compounds(uow: UnitOfWork, telegram_id: int) -> list[Choice]:
    """Compounds this admin may link a group to; refuses anyone who is not an admin."""
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        if person is None:
            raise UserFacingError("common.not_allowed")
        view = await person_view(uow, person)
        admin_roles = [r for r in view.roles if r.role == Role.ADMIN]
        if not admin_roles:
            raise UserFacingError("common.not_allowed")
        compounds = await uow.community.compounds()
        if any(r.compound_id is None for r in admin_roles):
            return [Choice(c.id, c.name) for c in compounds]
        allowed = {r.compound_id for r in admin_roles}
        return [Choice(c.id, c.name) for c in compounds if c.id in allowed]


async def group_status(uow: UnitOfWork, chat_id: int) -> GroupView | None:
    async with uow:
        group = await uow.community.group(chat_id)
        if group is None:
            return None
        compound = await uow.community.compound(group.compound_id) if group.compound_id else None
        return GroupView(
            group.chat_id, group.title, group.compound_id, compound.name if compound else None, group.purpose
        )


async def link_group(
    uow: UnitOfWork,
    chat_id: int,
    title: str,
    admin_telegram_id: int,
    compound_id: int,
    now: datetime,
    *,
    purpose: str = GroupPurpose.RESIDENTS,
) -> GroupView:
    if purpose not in tuple(GroupPurpose):
        raise UserFacingError("groups.bad_purpose")
    allowed = {c.id for c in await linkable_compounds(uow, admin_telegram_id)}
    if compound_id not in allowed:
        raise UserFacingError("common.not_allowed")
    async with uow:
        admin = await uow.community.person_by_telegram(admin_telegram_id)
        compound = await uow.community.compound(compound_id)
        if compound is None or admin is None:
            raise UserFacingError("common.not_allowed")
        group = await uow.community.group(chat_id)
        if group is not None and group.compound_id is not None:
            linked = await uow.community.compound(group.compound_id)
            raise UserFacingError("groups.already_linked", compound=linked.name if linked else "")
        if group is None:
            group = await uow.community.add_group(chat_id, title[:255])
        group.title = title[:255]
        group.compound_id = compound_id
        group.purpose = purpose
        group.linked_by = admin.id
        group.linked_at = now
        await uow.commit()
        return GroupView(chat_id, group.title, compound_id, compound.name, purpose)


async def unlink_group(uow: UnitOfWork, chat_id: int, admin_telegram_id: int) -> None:
    status = await group_status(uow, chat_id)
    if status is None or status.compound_id is None:
        raise UserFacingError("groups.not_linked")
    allowed = {c.id for c in await linkable_compounds(uow, admin_telegram_id)}
    if status.compound_id not in allowed:
        raise UserFacingError("common.not_allowed")
    async with uow:
        group = await uow.community.group(chat_id)
        if group is not None:
            group.compound_id = None
        await uow.commit()


async def forget_group(uow: UnitOfWork, chat_id: int) -> None:
    """The bot was removed from the group: stop posting there."""
    async with uow:
        group = await uow.community.group(chat_id)
        if group is not None:
            group.compound_id = None
        await uow.commit()


async def newcomers_to_greet(uow: UnitOfWork, compound_id: int, telegram_ids: list[int]) -> list[int]:
    """Those who joined the group but have no home in its compound yet (registered people need no nudge)."""
    async with uow:
        greet = []
        for telegram_id in telegram_ids:
            person = await uow.community.person_by_telegram(telegram_id)
            if person is None:
                greet.append(telegram_id)
                continue
            homes = await uow.community.residencies_of(person.id)
            if not any(r.household.unit.building.compound_id == compound_id for r in homes):
                greet.append(telegram_id)
        return greet


async def greet_newcomers(
    uow: UnitOfWork,
    t: Translator,
    chat_id: int,
    names: str,
    compound_name: str,
    register_link: str,
    now: datetime,
    *,
    dedupe_key: str,
) -> bool:
    """Queue the greeting: many people can join at once, and the outbox keeps a group's 20 messages a
    minute. False when this greeting was queued before."""
    text, keyboard = newcomers_greeting(t, names, compound_name, register_link)
    async with uow:
        row = await notify_chat(
            uow, text, chat_id=chat_id, now=now, reply_markup=keyboard, dedupe_key=dedupe_key
        )
        await uow.commit()
        return row is not None
