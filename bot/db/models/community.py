"""Who is who: compounds and their homes, people, roles, invites, join requests and linked groups."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base, BigIntPK, JsonType, UtcDateTime


class InviteKind(StrEnum):
    """InviteCode.kind: what redeeming the code binds (the column stays a string)."""

    HOUSEHOLD = "household"  # a home
    BUILDING = "building"  # a home chosen in the building
    ROLE = "role"  # a staff role in the compound
    STAFF = "staff"  # a Telegram account to a roster person


class JoinRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Compound(Base):
    __tablename__ = "compounds"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    duty_phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    buildings: Mapped[list[Building]] = relationship(back_populates="compound", order_by="Building.id")


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("compound_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))

    compound: Mapped[Compound] = relationship(back_populates="buildings")
    units: Mapped[list[Unit]] = relationship(back_populates="building", order_by="Unit.id")


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("building_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))

    building: Mapped[Building] = relationship(back_populates="units")
    households: Mapped[list[Household]] = relationship(back_populates="unit", order_by="Household.id")


class Household(Base):
    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("unit_id", "room"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    room: Mapped[str] = mapped_column(String(20))
    floor_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))

    unit: Mapped[Unit] = relationship(back_populates="households")


class Person(Base):
    """Anyone the bot knows: a Telegram account, a roster entry, or both once bound."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    language: Mapped[str | None] = mapped_column(String(10))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    public_name_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Residency(Base):
    __tablename__ = "residencies"
    __table_args__ = (UniqueConstraint("person_id", "household_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(20), default="resident")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    household: Mapped[Household] = relationship()


class StaffRole(Base):
    """A role a person holds; compound_id None means every compound (community-level staff)."""

    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("person_id", "role", "compound_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    compound_id: Mapped[int | None] = mapped_column(
        ForeignKey("compounds.id", ondelete="CASCADE"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(10), default="roster")  # roster | invite
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    areas: Mapped[list[ResponsibilityArea]] = relationship(
        back_populates="staff_role", cascade="all, delete-orphan", order_by="ResponsibilityArea.id"
    )


class ResponsibilityArea(Base):
    """Which buildings (None = the whole compound) and kinds of work a staff role covers."""

    __tablename__ = "responsibility_areas"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    staff_role_id: Mapped[int] = mapped_column(ForeignKey("staff_roles.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    work_kinds: Mapped[list[str]] = mapped_column(JsonType, default=list)

    staff_role: Mapped[StaffRole] = relationship(back_populates="areas")


class InviteCode(Base):
    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # household | building | role | staff
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(String(30))
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InviteRedemption(Base):
    __tablename__ = "invite_redemptions"
    __table_args__ = (UniqueConstraint("invite_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invite_codes.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class JoinRequest(Base):
    __tablename__ = "join_requests"
    __table_args__ = (Index("ix_join_requests_person_created", "person_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | approved | rejected
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    household: Mapped[Household] = relationship()


class GroupChat(Base):
    __tablename__ = "group_chats"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    compound_id: Mapped[int | None] = mapped_column(
        ForeignKey("compounds.id", ondelete="SET NULL"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20), default="residents")  # residents | staff
    linked_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    linked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
