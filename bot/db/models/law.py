"""Civil Code answers: questions residents asked, their 👍/👎, and the official text an operator imported."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, UtcDateTime

QUESTION_LIMIT = 500  # stored question text is cut to this many characters (phone-like numbers masked)
GAP_KEY_LIMIT = 200


class LawQuestion(Base):
    """One question asked (or one article looked up). Decision "none" without an article = a corpus gap."""

    __tablename__ = "law_questions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    question: Mapped[str] = mapped_column(String(QUESTION_LIMIT))
    # Normalised question (simplified, no punctuation): the same question asked twice counts as one gap.
    gap_key: Mapped[str] = mapped_column(String(GAP_KEY_LIMIT), index=True)
    decision: Mapped[str] = mapped_column(String(10))  # answer | suggest | none
    faq_id: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    article: Mapped[int | None] = mapped_column(Integer)  # a look-up ("第1254条"); may be out of range
    passed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # handed to the legal volunteers
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class LawFeedback(Base):
    """👍/👎 on an FAQ answer: one vote per person per FAQ entry; the first vote stands."""

    __tablename__ = "law_feedback"
    __table_args__ = (UniqueConstraint("person_id", "faq_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    faq_id: Mapped[str] = mapped_column(String(100), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("law_questions.id", ondelete="SET NULL"))
    helpful: Mapped[bool] = mapped_column(Boolean)
    # Why a 👎 (one tap after it): not_asked (答非所问) | wrong (说得不对) | unclear (看不懂); None: not said.
    reason: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LawArticleText(Base):
    """The official text of one article, imported by the operator (`redbutler law import-text`)."""

    __tablename__ = "law_article_texts"

    article: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime())
