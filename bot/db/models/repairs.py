"""Repairs and butler tasks: places with QR codes, tickets, their followers, timeline, timers and policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, JsonType, UtcDateTime


class RepairPlace(Base):
    """A building, a unit or a public spot (东门, 地下车库B1) with a short code for its QR poster."""

    __tablename__ = "repair_places"
    __table_args__ = (UniqueConstraint("compound_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10), default="spot")  # building | unit | spot
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RepairTicket(Base):
    __tablename__ = "repair_tickets"
    __table_args__ = (
        Index("ix_repair_tickets_compound_status", "compound_id", "status"),
        Index("ix_repair_tickets_reporter_created", "reporter_id", "created_at"),
        Index("ix_repair_tickets_assignee_status", "assignee_id", "status"),
        # Supervisor figures read a compound's tickets by month of reporting and of resolving.
        Index("ix_repair_tickets_compound_created", "compound_id", "created_at"),
        Index("ix_repair_tickets_compound_resolved", "compound_id", "resolved_at"),
        Index("ix_repair_tickets_reporter_newest", "reporter_id", "id"),  # /mytickets: newest first
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id", ondelete="SET NULL"))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("repair_places.id", ondelete="SET NULL"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="SET NULL"))
    place_label: Mapped[str] = mapped_column(String(120), default="")  # private: may hold the room
    public_label: Mapped[str] = mapped_column(String(120), default="")  # safe for groups: building or spot
    kind: Mapped[str] = mapped_column(String(30))
    urgency: Mapped[str] = mapped_column(String(12), default="normal")  # normal | urgent | emergency
    # How it came in: chat | qr | group | staff | patrol (intake by channel)
    channel: Mapped[str] = mapped_column(String(10), default="chat", server_default="chat")
    description: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list[str]] = mapped_column(JsonType, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | accepted | resolved | closed
    queue: Mapped[str] = mapped_column(String(12), default="butler")  # butler | mediation | duty
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    needs_help: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 0 butler, 1 manager, 2 supervisor
    stage_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # accept or resolve limit
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The first acceptance, within the accept limit or not (响应率); a reopen does not change it.
    accepted_on_time: Mapped[bool | None] = mapped_column(Boolean)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(12))  # rated | auto
    resolved_on_time: Mapped[bool | None] = mapped_column(Boolean)
    result_photo: Mapped[str | None] = mapped_column(String(200))
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    last_urge_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_person_action_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # An alert raised from a typed message: one ticket per message, however often "confirm" is pressed.
    alert_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The draft's key: a second press of 提交 after a crash finds this row instead of adding another.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class RepairFollower(Base):
    __tablename__ = "repair_followers"
    __table_args__ = (
        UniqueConstraint("ticket_id", "person_id"),
        Index("ix_repair_followers_person_ticket", "person_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("repair_tickets.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RepairEvent(Base):
    """One line of a ticket's timeline: who did what, when."""

    __tablename__ = "repair_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("repair_tickets.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class RepairTimer(Base):
    """A due time of a ticket (reminder, escalation, auto-close); `done` once handled or cancelled."""

    __tablename__ = "repair_timers"
    __table_args__ = (Index("ix_repair_timers_due", "done", "due_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("repair_tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # remind | escalate | autoclose
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RepairPolicy(Base):
    """Per-compound settings; missing rows and missing keys fall back to the defaults in the service."""

    __tablename__ = "repair_policies"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), unique=True)
    daily_limit: Mapped[int | None] = mapped_column(Integer)
    urge_hours: Mapped[int | None] = mapped_column(Integer)
    auto_close_days: Mapped[int | None] = mapped_column(Integer)
    honour_board: Mapped[bool] = mapped_column(Boolean, default=False)
    # Opt-in monthly 公示 in the residents' group: the compound's 三率 and the honour board, no resident data.
    public_figures: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # {"elevator:urgent": [accept_minutes, resolve_minutes], "*:emergency": [...]}
    limits: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class RepairRun(Base):
    """A periodic job done once per compound and period (weekly digest, monthly honour board)."""

    __tablename__ = "repair_runs"
    __table_args__ = (UniqueConstraint("kind", "compound_id", "period"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(20))
    done_at: Mapped[datetime] = mapped_column(UtcDateTime())
