"""Patrol routes, checkpoints, repeating shift templates, shifts, sign-ups, scans, offers and reminders."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, JsonType, UtcDateTime


class ShiftStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # ended: attendance recorded
    CANCELLED = "cancelled"


class SignupStatus(StrEnum):
    BOOKED = "booked"
    WAITING = "waiting"
    CANCELLED = "cancelled"


class SignupOutcome(StrEnum):
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class OfferStatus(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    CLOSED = "closed"


class ReminderOutcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"


class PatrolSettings(Base):
    """Per-compound patrol rules (times are local wall-clock times in the compound's time zone)."""

    __tablename__ = "patrol_settings"

    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), primary_key=True)
    evening_reminder: Mapped[str] = mapped_column(String(5), default="20:00")
    hour_before_minutes: Mapped[int] = mapped_column(Integer, default=60)
    quiet_start: Mapped[str] = mapped_column(String(5), default="22:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="07:00")
    weekly_max: Mapped[int] = mapped_column(Integer, default=3)
    cutoff_hours: Mapped[int] = mapped_column(Integer, default=12)
    understaffed_hours: Mapped[int] = mapped_column(Integer, default=24)

    @classmethod
    def defaults(cls, compound_id: int) -> PatrolSettings:
        """A compound's rules before a coordinator changed any (column defaults apply only on insert)."""
        return cls(
            compound_id=compound_id,
            evening_reminder="20:00",
            hour_before_minutes=60,
            quiet_start="22:00",
            quiet_end="07:00",
            weekly_max=3,
            cutoff_hours=12,
            understaffed_hours=24,
        )


class PatrolRoute(Base):
    __tablename__ = "patrol_routes"
    __table_args__ = (UniqueConstraint("compound_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    radius_m: Mapped[int] = mapped_column(Integer, default=300)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PatrolCheckpoint(Base):
    __tablename__ = "patrol_checkpoints"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("patrol_routes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ShiftTemplate(Base):
    """A repeating shift, e.g. daily 19:30 for 120 minutes; weekdays 0 = Monday."""

    __tablename__ = "patrol_shift_templates"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("patrol_routes.id", ondelete="CASCADE"))
    weekdays: Mapped[list[int]] = mapped_column(JsonType, default=list)
    start_time: Mapped[str] = mapped_column(String(5))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PatrolShift(Base):
    __tablename__ = "patrol_shifts"
    __table_args__ = (
        UniqueConstraint("template_id", "starts_at"),
        Index("ix_patrol_shifts_compound_start", "compound_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"))
    route_id: Mapped[int] = mapped_column(ForeignKey("patrol_routes.id", ondelete="CASCADE"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("patrol_shift_templates.id", ondelete="SET NULL")
    )
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | cancelled | closed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ShiftSignup(Base):
    __tablename__ = "patrol_signups"
    __table_args__ = (UniqueConstraint("shift_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("patrol_shifts.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    # booked | waiting | cancelled
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    checkin_method: Mapped[str | None] = mapped_column(String(12))  # location | qr
    # None until the shift is closed: completed | no_show
    outcome: Mapped[str | None] = mapped_column(String(12))
    report: Mapped[str | None] = mapped_column(Text)
    # The repair/hazard ticket made from this report (0 while it is being made), so one tap makes one ticket.
    hazard_ticket_id: Mapped[int | None] = mapped_column()


class CheckpointScan(Base):
    __tablename__ = "patrol_checkpoint_scans"
    __table_args__ = (UniqueConstraint("shift_id", "person_id", "checkpoint_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("patrol_shifts.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("patrol_checkpoints.id", ondelete="CASCADE"))
    scanned_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PlaceOffer(Base):
    """A freed place offered to all volunteers with a "我来" button; the first taker wins."""

    __tablename__ = "patrol_place_offers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("patrol_shifts.id", ondelete="CASCADE"), index=True)
    freed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | taken | closed
    taken_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PatrolReminder(Base):
    """Something due: a volunteer's reminder, the leader's roster, an understaffed alert, closing time."""

    __tablename__ = "patrol_reminders"
    __table_args__ = (
        UniqueConstraint("shift_id", "person_id", "kind"),
        Index("ix_patrol_reminders_due", "done", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("patrol_shifts.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # evening | hour | leader | understaffed | close
    kind: Mapped[str] = mapped_column(String(14))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(12))  # sent | skipped
