"""Community events: RSVPs with a waiting list, reminders, attendance by check-in code."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, UtcDateTime


class EventStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class RsvpStatus(StrEnum):
    GOING = "going"
    WAITING = "waiting"
    CANCELLED = "cancelled"


class CommunityEvent(Base):
    __tablename__ = "community_events"
    __table_args__ = (Index("ix_community_events_compound_start", "compound_id", "starts_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"))
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(100))
    place: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    audience: Mapped[str] = mapped_column(String(12))  # groups | party | volunteers | everyone
    event_type: Mapped[str] = mapped_column(String(20))  # for points: party_day, clinic, ...
    repeat: Mapped[str] = mapped_column(String(12), default="none")  # none | monthly_1st | monthly | weekly
    series_id: Mapped[int | None] = mapped_column(ForeignKey("community_events.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | cancelled
    checkin_code: Mapped[str] = mapped_column(String(12), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    post_at: Mapped[datetime] = mapped_column(UtcDateTime())
    posted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class EventRsvp(Base):
    __tablename__ = "event_rsvps"
    __table_args__ = (UniqueConstraint("event_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("community_events.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12))  # going | waiting | cancelled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class EventReminder(Base):
    __tablename__ = "event_reminders"
    __table_args__ = (
        UniqueConstraint("event_id", "person_id", "kind"),
        Index("ix_event_reminders_due", "done", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("community_events.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # day | hour
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(12))
