"""Queries for Civil Code answers: questions asked, feedback, imported article texts. Never commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Person, StaffRole
from bot.db.models.law import LawArticleText, LawFeedback, LawQuestion
from bot.roles import Role

_QUESTIONS = LawQuestion.__table__
assert isinstance(_QUESTIONS, Table)
# Built once, and Core: a question is recorded on every ask, and the ORM's flush of a new entity cost more
# than the insert itself.
_ADD_QUESTION = insert(_QUESTIONS).returning(_QUESTIONS.c.id)
_TEXTS = LawArticleText.__table__
assert isinstance(_TEXTS, Table)
# Asked with every answer (which cited articles have a text to show): built once, an expanding IN.
_ARTICLES_WITH_TEXT = select(_TEXTS.c.article).where(
    _TEXTS.c.article.in_(bindparam("articles", expanding=True))
)


@dataclass(frozen=True)
class GapRow:
    question: str
    count: int
    last_asked: datetime
    passed: int


@dataclass(frozen=True)
class DislikeRow:
    faq_id: str
    count: int
    last_at: datetime
    sample_question: str | None
    reasons: tuple[tuple[str, int], ...] = ()  # (reason, count) for the 👎 that said why, most frequent first


class LawRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # questions
    async def add_question(
        self,
        *,
        person_id: int | None,
        question: str,
        gap_key: str,
        decision: str,
        faq_id: str | None,
        score: float,
        article: int | None,
        created_at: datetime,
    ) -> int:
        """The new question's id."""
        row = {
            "person_id": person_id,
            "question": question,
            "gap_key": gap_key,
            "decision": decision,
            "faq_id": faq_id,
            "score": score,
            "article": article,
            "passed_at": None,
            "created_at": created_at,
        }
        return int((await self.session.execute(_ADD_QUESTION, row)).scalar_one())

    async def question(self, question_id: int) -> LawQuestion | None:
        return await self.session.get(LawQuestion, question_id)

    async def mark_passed(self, question_id: int, now: datetime) -> bool:
        """True for the first hand-over only (a conditional UPDATE: double presses pass once)."""
        result = await self.session.execute(
            update(LawQuestion)
            .where(LawQuestion.id == question_id, LawQuestion.passed_at.is_(None))
            .values(passed_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def gaps(self, limit: int) -> list[GapRow]:
        """Unanswered questions (no match, or "none of these" pressed; not article look-ups), grouped by their
        normalised text, newest first."""
        last = func.max(LawQuestion.created_at)
        rows = await self.session.execute(
            select(
                func.max(LawQuestion.question),
                func.count(LawQuestion.id),
                last,
                func.count(LawQuestion.passed_at),
            )
            .where(
                (LawQuestion.decision == "none") | LawQuestion.passed_at.is_not(None),
                LawQuestion.article.is_(None),
            )
            .group_by(LawQuestion.gap_key)
            .order_by(last.desc(), func.max(LawQuestion.id).desc())
            .limit(limit)
        )
        return [GapRow(q, int(n), at, int(p)) for q, n, at, p in rows.all()]

    # feedback
    async def feedback(self, person_id: int, faq_id: str) -> LawFeedback | None:
        return await self.session.scalar(
            select(LawFeedback).where(LawFeedback.person_id == person_id, LawFeedback.faq_id == faq_id)
        )

    async def dislikes(self, limit: int) -> list[DislikeRow]:
        last = func.max(LawFeedback.created_at)
        rows = await self.session.execute(
            select(LawFeedback.faq_id, func.count(LawFeedback.id), last, func.max(LawQuestion.question))
            .outerjoin(LawQuestion, LawQuestion.id == LawFeedback.question_id)
            .where(LawFeedback.helpful.is_(False))
            .group_by(LawFeedback.faq_id)
            .order_by(last.desc())
            .limit(limit)
        )
        found = rows.all()
        why: dict[str, list[tuple[str, int]]] = {}
        if found:
            counted = await self.session.execute(
                select(LawFeedback.faq_id, LawFeedback.reason, func.count(LawFeedback.id))
                .where(
                    LawFeedback.helpful.is_(False),
                    LawFeedback.reason.is_not(None),
                    LawFeedback.faq_id.in_([f for f, *_ in found]),
                )
                .group_by(LawFeedback.faq_id, LawFeedback.reason)
            )
            for faq_id, reason, n in counted.all():
                why.setdefault(faq_id, []).append((str(reason), int(n)))
        return [
            DislikeRow(f, int(n), at, q, tuple(sorted(why.get(f, []), key=lambda r: (-r[1], r[0]))))
            for f, n, at, q in found
        ]

    async def add_feedback(
        self,
        *,
        person_id: int,
        faq_id: str,
        question_id: int | None,
        helpful: bool,
        reason: str | None,
        now: datetime,
    ) -> bool:
        """False when this person's vote on the entry was inserted meanwhile (two presses at once): the
        savepoint keeps the rest of the transaction."""
        try:
            async with self.session.begin_nested():
                self.session.add(
                    LawFeedback(
                        person_id=person_id,
                        faq_id=faq_id,
                        question_id=question_id,
                        helpful=helpful,
                        reason=reason,
                        created_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def set_reason(self, feedback_id: int, reason: str) -> bool:
        """Record why, once: a second tap (or another phone) changes nothing."""
        result = await self.session.execute(
            update(LawFeedback)
            .where(
                LawFeedback.id == feedback_id, LawFeedback.reason.is_(None), LawFeedback.helpful.is_(False)
            )
            .values(reason=reason)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # article texts
    async def article_text(self, article: int) -> LawArticleText | None:
        return await self.session.get(LawArticleText, article)

    async def articles_with_text(self, articles: Iterable[int]) -> set[int]:
        wanted = list(set(articles))
        if not wanted:
            return set()
        return set((await self.session.execute(_ARTICLES_WITH_TEXT, {"articles": wanted})).scalars())

    def add_article_text(self, article: int, text: str, title: str | None, now: datetime) -> None:
        self.session.add(LawArticleText(article=article, text=text, title=title, imported_at=now))

    async def all_article_texts(self) -> dict[int, LawArticleText]:
        return {row.article: row for row in await self.session.scalars(select(LawArticleText))}

    # people
    async def legal_volunteers(self, compound_ids: Iterable[int] | None) -> list[Person]:
        """Reachable legal volunteers of these compounds (None: of every compound), each once."""
        query = (
            select(Person)
            .join(StaffRole, StaffRole.person_id == Person.id)
            .where(
                StaffRole.role == Role.LEGAL_VOLUNTEER.value,
                StaffRole.active.is_(True),
                Person.telegram_id.is_not(None),
                Person.reachable.is_(True),
            )
            .distinct()
            .order_by(Person.id)
        )
        if compound_ids is not None:
            ids = list(compound_ids)
            query = query.where(StaffRole.compound_id.in_(ids) | StaffRole.compound_id.is_(None))
        return list(await self.session.scalars(query))
