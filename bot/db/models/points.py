"""Volunteer points (志愿积分): rules, accounts, the append-only ledger, partners, services and vouchers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, UtcDateTime


class EntryKind(StrEnum):
    """What moved a balance (PointsEntry.kind; the column stays a string)."""

    EARN = "earn"  # by a compound's rule, from a recorded activity
    AWARD = "award"  # by hand
    DEDUCT = "deduct"  # by hand
    HOLD = "hold"  # a voucher's cost held
    RELEASE = "release"  # a voucher's cost returned
    REVERSAL = "reversal"  # undoes another entry


class VoucherStatus(StrEnum):
    """Voucher.status: held until confirmed, then active until used, or closed returning its points."""

    HELD = "held"
    ACTIVE = "active"
    USED = "used"
    RELEASED = "released"  # the hold lapsed unconfirmed
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PointsRule(Base):
    """How many points one activity type earns in a compound (per hour when per_hour is set)."""

    __tablename__ = "points_rules"
    __table_args__ = (UniqueConstraint("compound_id", "activity_type"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    activity_type: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100), default="")
    points: Mapped[int] = mapped_column(Integer)
    per_hour: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PointsAccount(Base):
    """A person's balance in one compound: a cache of the ledger, changed only with a ledger entry."""

    __tablename__ = "points_accounts"
    __table_args__ = (UniqueConstraint("person_id", "compound_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # RESTRICT: the ledger never goes with a deleted person; a person is merged (services/identity.py).
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PointsEntry(Base):
    """One line of the ledger. Never updated or deleted; mistakes are corrected by a reversing entry.

    kind: earn (from an activity), award / deduct (by hand), hold (a voucher's cost), release (a voucher's
    cost returned), reversal (undoes another entry). earning marks what counts as "earned" in a month.
    """

    __tablename__ = "points_entries"
    __table_args__ = (
        Index("ix_points_entries_compound_created", "compound_id", "created_at"),
        # A person's balance page: the newest lines and this month's earnings of one account.
        Index("ix_points_entries_account_newest", "account_id", "id"),
        Index("ix_points_entries_account_created", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id", ondelete="RESTRICT"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    earning: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(200), default="")
    ref_type: Mapped[str | None] = mapped_column(String(30))  # activity | voucher | entry | manual
    ref_id: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("points_entries.id", ondelete="SET NULL"), unique=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Partner(Base):
    """A business that accepts points (a clinic, a barber, a children's class...)."""

    __tablename__ = "points_partners"
    __table_args__ = (UniqueConstraint("compound_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PartnerMember(Base):
    """A merchant account (Role.MERCHANT) allowed to verify this partner's vouchers."""

    __tablename__ = "points_partner_members"
    __table_args__ = (UniqueConstraint("partner_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("points_partners.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RewardService(Base):
    """What points buy. stock None: unlimited; per_person_limit None: no limit."""

    __tablename__ = "points_services"
    __table_args__ = (UniqueConstraint("partner_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("points_partners.id", ondelete="CASCADE"), index=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    cost: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int | None] = mapped_column(Integer)
    per_person_limit: Mapped[int | None] = mapped_column(Integer)
    validity_days: Mapped[int] = mapped_column(Integer, default=30)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Voucher(Base):
    """A redemption. held (points held, waiting for the resident's confirmation) → active → used;
    or released (not confirmed in time) / cancelled / expired, each returning the points once."""

    __tablename__ = "points_vouchers"
    __table_args__ = (Index("ix_points_vouchers_person_service", "person_id", "service_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    request_key: Mapped[str] = mapped_column(String(120), unique=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("points_services.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("points_partners.id", ondelete="CASCADE"), index=True)
    cost: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="held", index=True)
    hold_until: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    used_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
