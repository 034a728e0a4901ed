"""Invite codes and deep links handed out by building leaders and the property office."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db.models import InviteCode
from bot.db.models.community import InviteKind
from bot.db.uow import UnitOfWork
from bot.roles import parse_role
from bot.services.errors import UserFacingError

# No 0/O/1/I: codes are read aloud and typed by elderly residents.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
DEEP_LINK_LIMIT = 64


@dataclass(frozen=True)
class InviteView:
    code: str
    kind: str
    label: str
    link: str
    max_uses: int
    expires_at: datetime | None
    # What the code binds, for a file name or a printed card: ("3栋", "2单元", "501"), a person's name, or
    # empty for a role (the role is in `role`).
    parts: tuple[str, ...] = ()
    role: str | None = None


def deep_link(bot_username: str, payload: str) -> str:
    if len(payload) > DEEP_LINK_LIMIT:
        raise ValueError("deep-link payload over Telegram's 64 characters")
    return f"https://t.me/{bot_username}?start={payload}"


def new_code() -> str:
    """Always a letter and a digit, so a typed code is told apart from an ordinary word."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            return code


async def _unique_code(uow: UnitOfWork) -> str:
    while True:
        code = new_code()
        if await uow.community.invite_by_code(code) is None:
            return code


async def create_invites(
    uow: UnitOfWork,
    *,
    bot_username: str,
    compound_name: str,
    now: datetime,
    building: str | None = None,
    unit: str | None = None,
    room: str | None = None,
    role: str | None = None,
    phone: str | None = None,
    max_uses: int | None = None,
    valid_days: int | None = 30,
) -> list[InviteView]:
    """One code per household (building+unit+room, or every household of a building with --all-rooms style
    calls), one per building, one for a role, or one for a roster person (by phone)."""
    async with uow:
        compound = await uow.community.compound_by_name(compound_name)
        if compound is None:
            raise UserFacingError("invites.unknown_compound", name=compound_name)
        expires = now + timedelta(days=valid_days) if valid_days else None
        targets: list[InviteCode] = []
        labels: list[str] = []
        parts: list[tuple[str, ...]] = []
        if phone:
            person = await uow.community.person_by_phone(phone)
            if person is None:
                raise UserFacingError("invites.unknown_phone")
            targets.append(
                InviteCode(kind=InviteKind.STAFF, compound_id=compound.id, person_id=person.id, max_uses=1)
            )
            labels.append(person.display_name)
            parts.append((person.display_name,))
        elif role:
            parsed = parse_role(role)  # 巡逻志愿者 or patrol
            if parsed is None:
                raise UserFacingError("invites.unknown_role", value=role)
            targets.append(
                InviteCode(
                    kind=InviteKind.ROLE, compound_id=compound.id, role=parsed.value, max_uses=max_uses or 50
                )
            )
            labels.append(parsed.value)
            parts.append(())
        elif building:
            b = await uow.community.building_by_name(compound.id, building)
            if b is None:
                raise UserFacingError("invites.unknown_place", value=building)
            if unit is None:
                targets.append(
                    InviteCode(
                        kind=InviteKind.BUILDING,
                        compound_id=compound.id,
                        building_id=b.id,
                        max_uses=max_uses or 500,
                    )
                )
                labels.append(f"{compound.name} {b.name}")
                parts.append((b.name,))
            else:
                u = await uow.community.unit_by_name(b.id, unit)
                if u is None:
                    raise UserFacingError("invites.unknown_place", value=unit)
                households = await uow.community.households(u.id)
                if room is not None:
                    households = [h for h in households if h.room == room]
                    if not households:
                        raise UserFacingError("invites.unknown_place", value=room)
                for h in households:
                    targets.append(
                        InviteCode(
                            kind=InviteKind.HOUSEHOLD,
                            compound_id=compound.id,
                            building_id=b.id,
                            household_id=h.id,
                            max_uses=max_uses or 4,
                        )
                    )
                    labels.append(f"{compound.name} {b.name}{u.name}{h.room}")
                    parts.append((b.name, u.name, h.room))
        else:
            raise UserFacingError("invites.need_target")
        views = []
        for invite, label, what in zip(targets, labels, parts, strict=True):
            invite.code = await _unique_code(uow)
            invite.uses = 0
            invite.created_at = now
            invite.expires_at = expires
            await uow.community.add_invite(invite)
            views.append(
                InviteView(
                    invite.code,
                    invite.kind,
                    label,
                    deep_link(bot_username, f"inv_{invite.code}"),
                    invite.max_uses,
                    expires,
                    parts=what,
                    role=invite.role,
                )
            )
        await uow.commit()
        return views
