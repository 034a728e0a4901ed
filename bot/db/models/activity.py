from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, JsonType, UtcDateTime


class ActivityRecord(Base):
    """Something a person did that may earn volunteer points: a completed patrol shift, an event attended.

    Written by the capability where it happened; turned into points by the points capability. source_key is
    unique, so recording the same activity twice is harmless.
    """

    __tablename__ = "activity_records"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(120), unique=True)  # e.g. "shift:42:person:7"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id", ondelete="SET NULL"))
    activity_type: Mapped[str] = mapped_column(String(40))  # e.g. "patrol_shift", "party_day", "clinic"
    hours: Mapped[float | None] = mapped_column()
    details: Mapped[dict[str, object]] = mapped_column(JsonType, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
