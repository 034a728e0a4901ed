"""Announcements (公告) to compound groups and/or registered residents, optionally pinned and scheduled."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, JsonType, UtcDateTime


class AnnouncementStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    CANCELLED = "cancelled"


class AnnouncementKind(StrEnum):
    NOTICE = "notice"
    ACCOUNTS = "accounts"  # 三公开 public accounts, with a table


class Announcement(Base):
    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_status_send", "status", "send_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12), default="notice")  # notice | accounts (三公开)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    table_rows: Mapped[list[Any]] = mapped_column(JsonType, default=list)  # accounts: [[item, income, spent]]
    to_groups: Mapped[bool] = mapped_column(Boolean, default=False)
    scope: Mapped[str] = mapped_column(String(10), default="none")  # none | compound | building | unit
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="SET NULL"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    pin: Mapped[bool] = mapped_column(Boolean, default=False)
    pins_done: Mapped[bool] = mapped_column(Boolean, default=True)
    send_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled | sent | cancelled
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The draft's key: a second press of 发布 after a crash finds this row instead of adding another.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)
