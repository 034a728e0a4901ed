from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, JsonType


class PtbStore(Base):
    """PTB's user_data / chat_data / bot_data / callback_data, one JSON document per key."""

    __tablename__ = "ptb_store"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # user | chat | bot | callback
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    data: Mapped[Any] = mapped_column(JsonType)


class PtbConversation(Base):
    __tablename__ = "ptb_conversations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[Any] = mapped_column(JsonType)
