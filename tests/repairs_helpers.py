"""Helpers for the repairs stories: link the groups, add a second butler, walk a report, read tickets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.db.models import Person, ResponsibilityArea, StaffRole
from bot.db.models.repairs import RepairEvent, RepairTicket
from bot.emulator.core import Message
from bot.services import groups
from bot.services.repairs import ensure_places
from tests.factories import COMPOUND, USERS
from tests.harness import Harness

SPOTS = ["东门", "地下车库B1", "3栋电梯"]
SECOND_BUTLER = 2101


async def compound_id(harness: Harness) -> int:
    async with harness.services.uow() as uow:
        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        return compound.id


async def setup_compound(harness: Harness, *, duty_phone: str | None = "0571-88886666") -> int:
    """Link the staff and residents groups, load the public spots, set the duty phone."""
    cid = await compound_id(harness)
    now = harness.clock.now()
    await groups.link_group(
        harness.services.uow(), USERS.staff_group, "幸福里工作群", USERS.admin, cid, now, purpose="staff"
    )
    await groups.link_group(
        harness.services.uow(), USERS.group, "幸福里业主群", USERS.admin, cid, now, purpose="residents"
    )
    await ensure_places(harness.services.uow(), cid, SPOTS, now)
    async with harness.services.uow() as uow:
        compound = await uow.community.compound(cid)
        assert compound is not None
        compound.duty_phone = duty_phone
        await uow.commit()
    return cid


async def add_butler(
    harness: Harness,
    telegram_id: int = SECOND_BUTLER,
    name: str = "李师傅",
    buildings: tuple[str, ...] = ("1栋", "2栋", "3栋"),
    kinds: tuple[str, ...] = ("plumbing_electric", "elevator"),
) -> int:
    harness.world.add_user(telegram_id, name)
    harness.world.add_member(USERS.staff_group, telegram_id)
    cid = await compound_id(harness)
    async with harness.services.uow() as uow:
        person = await uow.community.add_person(
            telegram_id=telegram_id, name=name, language="zh_CN", now=harness.clock.now()
        )
        role = StaffRole(person_id=person.id, role="butler", compound_id=cid, created_at=harness.clock.now())
        uow.session.add(role)
        await uow.session.flush()
        for building in buildings:
            b = await uow.community.building_by_name(cid, building)
            assert b is not None
            uow.session.add(
                ResponsibilityArea(staff_role_id=role.id, building_id=b.id, work_kinds=list(kinds))
            )
        await uow.commit()
        return person.id


async def deactivate_role(harness: Harness, telegram_id: int, role: str) -> None:
    async with harness.services.uow() as uow:
        person = await uow.community.person_by_telegram(telegram_id)
        assert person is not None
        for staff_role in await uow.community.roles_of(person.id):
            if staff_role.role == role:
                staff_role.active = False
        await uow.commit()


async def report(
    harness: Harness,
    user: int,
    *,
    kind: str = "🚰 水电",
    place: str | None = None,
    spot: str | None = None,
    text: str = "厨房水管接头漏水",
    photos: int = 0,
    urgency: str = "一般",
) -> list[Message]:
    """Walk the whole guided report and submit it; returns the bot's last replies."""
    replies = await harness.send(user, "/report")
    await harness.press(user, harness.last(user), kind)
    if spot is not None:
        await harness.press(user, harness.last(user), "公共区域")
        await harness.press(user, harness.last(user), spot)
    else:
        await harness.press(user, harness.last(user), place or "🏠")
    last = harness.last(user)
    if "已经有人报过了" in (last.text or ""):
        await harness.press(user, last, "我要新报")
    await harness.send(user, text)
    for _ in range(photos):
        await harness.send_photo(user)
    await harness.press(user, harness.last(user), "照片发好了" if photos else "跳过")
    await harness.press(user, harness.last(user), urgency)
    confirm = harness.last(user)
    _, replies = await harness.press(user, confirm, "提交报修")
    return [harness.world.message(user, confirm.message_id), *replies]


async def tickets(harness: Harness) -> list[RepairTicket]:
    async with harness.services.uow() as uow:
        return list(await uow.session.scalars(select(RepairTicket).order_by(RepairTicket.id)))


async def ticket(harness: Harness, ticket_id: int) -> RepairTicket:
    async with harness.services.uow() as uow:
        row = await uow.session.get(RepairTicket, ticket_id)
        assert row is not None
        return row


async def timeline(harness: Harness, ticket_id: int) -> list[str]:
    async with harness.services.uow() as uow:
        return list(
            await uow.session.scalars(
                select(RepairEvent.action).where(RepairEvent.ticket_id == ticket_id).order_by(RepairEvent.id)
            )
        )


async def person_id(harness: Harness, telegram_id: int) -> int:
    async with harness.services.uow() as uow:
        found = await uow.session.scalar(select(Person.id).where(Person.telegram_id == telegram_id))
        assert found is not None
        return int(found)


async def drain(harness: Harness) -> int:
    """Send everything queued, including what sending queues in turn (the harness lifts flood limits)."""
    sent = 0
    for _ in range(5):
        stats = await harness.drain_outbox()
        sent += stats.sent
        if not stats.sent:
            break
    return sent


def find(messages: list[Message], needle: str) -> Message:
    for message in reversed(messages):
        if needle in (message.text or ""):
            return message
    raise AssertionError(f"no message with {needle!r} in {[m.text for m in messages]}")


def all_texts(harness: Harness, chat_id: int) -> list[str]:
    return [m.text or "" for m in harness.world.chat_history(chat_id) if m.from_bot]


def group_card(harness: Harness, number: str) -> Message:
    return find(harness.world.bot_messages(USERS.staff_group), number)


def as_dict(message: Message) -> dict[str, Any]:
    return {"text": message.text, "buttons": message.button_texts}
