"""Civil Code answers (民法典问答): ask, look up articles, 👍/👎, hand a question to a legal volunteer, gaps.

The matching itself is knowledge/ (LawMatcher, via bot.services.routing); this module records what was asked,
applies the rules (who may see the gaps, one vote per person per answer, a question is handed over once) and
returns plain views.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.db.models.law import GAP_KEY_LIMIT, QUESTION_LIMIT
from bot.db.repositories.law import DislikeRow, GapRow, LawRepository
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import Translator, written_in_english
from bot.notices.law import volunteer_markup
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.people import ensure_in, ensure_person, get_or_create, person_view
from bot.services.routing import corpus, law_matcher
from knowledge.articles import MAX_ARTICLE, MIN_ARTICLE, is_valid_article
from knowledge.corpus import FaqEntry
from knowledge.normalize import normalize_text

if TYPE_CHECKING:
    from bot.services.views import PersonView
    from knowledge.matcher import LawMatcher, MatchResult

GAP_ROLES = (Role.ADMIN.value, Role.LEGAL_VOLUNTEER.value)
MAX_SUGGESTIONS = 3
ALTERNATIVES = 2  # "不是我问的" shows this many other entries, then offers the legal volunteer
RELATED_ARTICLES = 3
# Why a 👎: the one-tap answers after it (callback code -> stored reason).
REASONS: dict[str, str] = {"a": "not_asked", "b": "wrong", "c": "unclear"}
ARTICLE_FAQS = 5  # FAQ entries listed under an article look-up
REPLY_LIMIT = 2000  # a volunteer's answer
# Phone, ID-card and bank numbers never reach the database: any run of 7+ digits is masked.
_LONG_NUMBER = re.compile(r"\d[\d -]{5,}\d")


# --- views -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleLine:
    """An article with a few words of what it says (our summary), for the basis of an answer or a pointer."""

    number: int
    summary_zh: str | None
    summary_en: str | None

    def summary(self, language: str) -> str | None:
        return self.summary_en if language == "en" and self.summary_en else self.summary_zh


@dataclass(frozen=True)
class FaqView:
    faq_id: str
    key: str  # short stable hash of the id, for callback data
    topic: str
    question: str  # the entry's first phrasing
    answer_zh: str
    answer_en: str
    articles: tuple[int, ...]
    with_text: tuple[int, ...] = ()  # cited articles whose official text is imported
    asked_zh: str = ""  # the question this entry answers: echoed first ("您问的是：…"), the button label
    asked_en: str = ""
    caveat_zh: str = ""
    caveat_en: str = ""
    basis: tuple[ArticleLine, ...] = ()

    def answer(self, language: str) -> str:
        return self.answer_en if language == "en" and self.answer_en else self.answer_zh

    def asked(self, language: str) -> str:
        return self.asked_en if language == "en" and self.asked_en else self.asked_zh

    def caveat(self, language: str) -> str:
        return self.caveat_en if language == "en" and self.caveat_en else self.caveat_zh


@dataclass(frozen=True)
class ArticleView:
    number: int
    valid: bool
    summary_zh: str | None = None
    summary_en: str | None = None
    title: str | None = None
    has_text: bool = False
    faqs: tuple[FaqView, ...] = ()

    def summary(self, language: str) -> str | None:
        return self.summary_en if language == "en" and self.summary_en else self.summary_zh


@dataclass(frozen=True)
class LawReply:
    kind: str  # answer | suggest | none | pointer | alternatives | article | empty
    question_id: int | None = None
    faq: FaqView | None = None
    suggestions: tuple[FaqView, ...] = ()
    article: ArticleView | None = None
    related: tuple[ArticleLine, ...] = ()  # "相关法条": a pointer, not an answer (suggest / none)
    pointer: str | None = None  # outside the Civil Code: the number to call
    pointer_office: str | None = None


@dataclass(frozen=True)
class VoteResult:
    recorded: bool  # False: this person had already voted on this answer; nothing changed
    helpful: bool  # the vote that stands


@dataclass(frozen=True)
class PassResult:
    volunteers: int
    already: bool = False


@dataclass(frozen=True)
class GapsView:
    gaps: list[GapRow] = field(default_factory=list)
    dislikes: list[DislikeRow] = field(default_factory=list)
    topics: dict[str, str] = field(default_factory=dict)  # faq id -> topic, for the 👎 list


@dataclass(frozen=True)
class ArticleTextView:
    number: int
    text: str
    title: str | None


@dataclass(frozen=True)
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- helpers -----------------------------------------------------------------------------------------------


def faq_key(faq_id: str) -> str:
    """8 hex characters: callback data stays short however long an FAQ id is, and survives restarts."""
    return hashlib.sha1(faq_id.encode()).hexdigest()[:8]


@lru_cache(maxsize=1)
def _entries_by_key() -> dict[str, FaqEntry]:
    return {faq_key(e.id): e for e in law_matcher().entries}


def entry_by_key(key: str) -> FaqEntry | None:
    return _entries_by_key().get(key)


def mask_numbers(text: str) -> str:
    return _LONG_NUMBER.sub("***", text)


def gap_key(text: str) -> str:
    return normalize_text(text).replace(" ", "")[:GAP_KEY_LIMIT]


def has_words(text: str) -> bool:
    """False for empty text, only emoji or only punctuation."""
    return any(ch.isalnum() for ch in normalize_text(text))


def article_lines(numbers: Iterable[int]) -> tuple[ArticleLine, ...]:
    summaries = corpus().summaries
    return tuple(
        ArticleLine(n, s.summary_zh if s else None, s.summary_en if s else None)
        for n in numbers
        for s in (summaries.get(n),)
    )


def _faq_view(entry: FaqEntry, with_text: set[int]) -> FaqView:
    return FaqView(
        faq_id=entry.id,
        key=faq_key(entry.id),
        topic=entry.topic,
        question=entry.questions[0] if entry.questions else entry.topic,
        answer_zh=entry.answer_zh.strip(),
        answer_en=entry.answer_en.strip(),
        articles=entry.articles,
        with_text=tuple(a for a in entry.articles if a in with_text),
        asked_zh=entry.asked("zh"),
        asked_en=entry.asked("en"),
        caveat_zh=entry.caveat_zh,
        caveat_en=entry.caveat_en,
        basis=article_lines(entry.articles),
    )


async def _article_view(repo: LawRepository, number: int, matcher: LawMatcher) -> ArticleView:
    if not is_valid_article(number):
        return ArticleView(number=number, valid=False)
    summary = corpus().summaries.get(number)
    text = await repo.article_text(number)
    citing = matcher.entries_citing(number)[:ARTICLE_FAQS]
    with_text = await repo.articles_with_text(a for e in citing for a in e.articles)
    return ArticleView(
        number=number,
        valid=True,
        summary_zh=summary.summary_zh if summary else None,
        summary_en=summary.summary_en if summary else None,
        title=text.title if text else None,
        has_text=text is not None,
        faqs=tuple(_faq_view(e, with_text) for e in citing),
    )


# --- asking ------------------------------------------------------------------------------------------------


def _matched(question: str, matcher: LawMatcher | None) -> tuple[str, LawMatcher, MatchResult] | None:
    """The question as recorded, the matcher and its result; None for text with no words (not recorded)."""
    text = (question or "").strip()[:QUESTION_LIMIT]
    if not has_words(text):
        return None
    m = matcher or law_matcher()
    return text, m, m.match(text)


async def ask(
    uow: UnitOfWork,
    *,
    telegram_id: int,
    display_name: str,
    question: str,
    now: datetime,
    matcher: LawMatcher | None = None,
    person_id: int | None = None,
) -> LawReply:
    """Answer a question (or an article look-up) and record it; empty/emoji-only text is not recorded.
    `person_id`: the asker, when the caller has already looked them up (and made sure they exist)."""
    matched = _matched(question, matcher)
    if matched is None:
        return LawReply("empty")
    text, m, result = matched
    async with uow:
        if person_id is None:
            person_id = (await get_or_create(uow, telegram_id, display_name, now)).id
        return await _record_and_answer(uow, m, result, text, person_id, now)


async def ask_as_person(
    uow: UnitOfWork,
    *,
    telegram_id: int,
    display_name: str,
    question: str,
    now: datetime,
    matcher: LawMatcher | None = None,
) -> tuple[PersonView, LawReply]:
    """ask, for someone this update has not looked up yet: made sure of as people.ensure_person does, in the
    same transaction as their question (one unit of work instead of two); their view comes back, so the
    answer is in their language."""
    matched = _matched(question, matcher)
    if matched is None:
        return await ensure_person(uow, telegram_id, display_name, now), LawReply("empty")
    text, m, result = matched
    async with uow:
        person, _wrote = await ensure_in(uow, telegram_id, display_name, now)  # committed with the question
        return person, await _record_and_answer(uow, m, result, text, person.id, now)


async def _record_and_answer(
    uow: UnitOfWork, m: LawMatcher, result: MatchResult, text: str, person_id: int, now: datetime
) -> LawReply:
    """Inside the open unit of work: record the question, commit, and the reply."""
    repo = uow.law
    top = result.top
    question_id = await repo.add_question(
        person_id=person_id,
        question=mask_numbers(text),
        gap_key=gap_key(mask_numbers(text)),
        decision=result.decision,
        faq_id=top.faq_id if top else None,
        score=result.score,
        article=result.article_ref,
        created_at=now,
    )
    if result.article_ref is not None:
        article = await _article_view(repo, result.article_ref, m)
        await uow.commit()
        return LawReply("article", question_id, article=article)
    entries = [e for c in result.candidates if (e := m.entry(c.faq_id)) is not None]
    with_text = await repo.articles_with_text(a for e in entries for a in e.articles)
    await uow.commit()
    views = [_faq_view(e, with_text) for e in entries]
    if result.pointer is not None:
        return LawReply("pointer", question_id, pointer=result.pointer, pointer_office=result.pointer_office)
    related = article_lines(result.related[:RELATED_ARTICLES])
    if result.decision == "answer" and views:
        return LawReply("answer", question_id, faq=views[0])
    if result.decision == "suggest" and views:
        return LawReply("suggest", question_id, suggestions=tuple(views[:MAX_SUGGESTIONS]), related=related)
    return LawReply("none", question_id, related=related)


async def not_what_i_asked(
    uow: UnitOfWork,
    *,
    telegram_id: int,
    display_name: str,
    key: str,
    question_id: int | None,
    now: datetime,
    matcher: LawMatcher | None = None,
) -> LawReply:
    """ "不是我问的" under an answer: the next entries for the same question (then the legal volunteer), and a
    👎 "答非所问" for the entry shown, recorded once. Pressing again shows the same alternatives."""
    entry = entry_by_key(key)
    if entry is None:
        raise UserFacingError("law.answer_gone")
    m = matcher or law_matcher()
    async with uow:
        repo = uow.law
        question = await repo.question(question_id) if question_id else None
        asked = question.question if question is not None else entry.asked("zh")
        person = await get_or_create(uow, telegram_id, display_name, now)
        own = question is not None and question.person_id == person.id
        await _record_vote(
            uow,
            repo,
            person.id,
            entry.id,
            question.id if own and question else None,
            helpful=False,
            reason="not_asked",
            now=now,
        )
        result = m.match(asked, limit=MAX_SUGGESTIONS + ALTERNATIVES)
        others = [
            e for c in result.candidates if c.faq_id != entry.id and (e := m.entry(c.faq_id)) is not None
        ][:ALTERNATIVES]
        with_text = await repo.articles_with_text(a for e in others for a in e.articles)
        await uow.commit()
    views = tuple(_faq_view(e, with_text) for e in others)
    return LawReply("alternatives", question_id if own else None, suggestions=views)


async def show_faq(uow: UnitOfWork, key: str, question_id: int | None = None) -> LawReply:
    """The answer behind a "您是不是想问" button or an entry listed under an article."""
    entry = entry_by_key(key)
    if entry is None:
        raise UserFacingError("law.answer_gone")
    async with uow:
        with_text = await uow.law.articles_with_text(entry.articles)
    return LawReply("answer", question_id, faq=_faq_view(entry, with_text))


async def article_text(uow: UnitOfWork, number: int) -> ArticleTextView:
    if not is_valid_article(number):
        raise UserFacingError("law.article_out_of_range", number=number, max=MAX_ARTICLE)
    async with uow:
        row = await uow.law.article_text(number)
        if row is None:
            raise UserFacingError("law.no_official_text", number=number)
        return ArticleTextView(row.article, row.text, row.title)


# --- feedback ----------------------------------------------------------------------------------------------


async def _record_vote(
    uow: UnitOfWork,
    repo: LawRepository,
    person_id: int,
    faq_id: str,
    question_id: int | None,
    *,
    helpful: bool,
    now: datetime,
    reason: str | None = None,
) -> VoteResult:
    """Insert the person's vote on an entry unless one stands already (also when two presses race)."""
    existing = await repo.feedback(person_id, faq_id)
    if existing is not None:
        return VoteResult(False, existing.helpful)
    added = await repo.add_feedback(
        person_id=person_id,
        faq_id=faq_id,
        question_id=question_id,
        helpful=helpful,
        reason=reason if not helpful else None,
        now=now,
    )
    if not added:  # the same person pressed twice at once: the other press won
        existing = await repo.feedback(person_id, faq_id)
        return VoteResult(False, existing.helpful if existing else helpful)
    return VoteResult(True, helpful)


async def vote(
    uow: UnitOfWork,
    *,
    telegram_id: int,
    display_name: str,
    key: str,
    question_id: int | None,
    helpful: bool,
    now: datetime,
) -> VoteResult:
    """One vote per person per FAQ answer. Pressing again (either button) changes nothing."""
    entry = entry_by_key(key)
    if entry is None:
        raise UserFacingError("law.answer_gone")
    async with uow:
        repo = uow.law
        person = await get_or_create(uow, telegram_id, display_name, now)
        # The question is kept with the vote only when it is this person's own (it says what they asked).
        own_question = None
        if question_id is not None:
            q = await repo.question(question_id)
            if q is not None and q.person_id == person.id:
                own_question = q.id
        result = await _record_vote(uow, repo, person.id, entry.id, own_question, helpful=helpful, now=now)
        await uow.commit()
        return result


async def dislike_reason(
    uow: UnitOfWork, *, telegram_id: int, display_name: str, key: str, reason_code: str, now: datetime
) -> bool:
    """The one tap after 👎: why the answer was no good. True when recorded; False when this person's 👎
    already has a reason (a second tap) or they had voted 👍."""
    entry = entry_by_key(key)
    reason = REASONS.get(reason_code)
    if entry is None or reason is None:
        raise UserFacingError("law.answer_gone")
    async with uow:
        repo = uow.law
        person = await get_or_create(uow, telegram_id, display_name, now)
        existing = await repo.feedback(person.id, entry.id)
        if existing is None:  # the reason came first (e.g. the 👎 was lost): it is a 👎 with a reason
            result = await _record_vote(
                uow, repo, person.id, entry.id, None, helpful=False, reason=reason, now=now
            )
            await uow.commit()
            return result.recorded
        done = await repo.set_reason(existing.id, reason)
        await uow.commit()
        return done


# --- legal volunteers --------------------------------------------------------------------------------------


async def pass_to_volunteer(
    uow: UnitOfWork,
    t: Translator,
    *,
    telegram_id: int,
    display_name: str,
    question_id: int,
    now: datetime,
) -> PassResult:
    """Send an unanswered question to the asker's compound's legal volunteers (everyone's, if the asker is not
    registered yet), once. Refused when nobody can take it."""
    async with uow:
        repo = uow.law
        person = await get_or_create(uow, telegram_id, display_name, now)
        question = await repo.question(question_id)
        if question is None or question.person_id != person.id:
            raise UserFacingError("law.not_your_question")
        view = await person_view(uow, person)
        compounds = view.compound_ids() or None
        volunteers = [v for v in await repo.legal_volunteers(compounds) if v.id != person.id]
        if question.passed_at is not None:
            return PassResult(len(volunteers), already=True)
        if not volunteers:
            raise UserFacingError("law.no_volunteer")
        if not await repo.mark_passed(question.id, now):
            return PassResult(len(volunteers), already=True)
        # The volunteer learns who asked and from which compound, never the room or a phone number.
        compound = view.homes[0].compound_name if view.homes else None
        for volunteer in volunteers:
            await notify_person(
                uow,
                t,
                volunteer,
                "law.volunteer_card",
                now=now,
                reply_markup=volunteer_markup(t, volunteer.language, question.id),
                dedupe_key=f"law:pass:{question.id}:{volunteer.id}",
                question=question.question,
                name=person.display_name or "-",
                compound=compound or t(volunteer.language, "law.asker_unregistered"),
            )
        await uow.commit()
        return PassResult(len(volunteers))


@dataclass(frozen=True)
class QuestionView:
    id: int
    question: str
    asker_name: str


async def question_for_volunteer(uow: UnitOfWork, *, telegram_id: int, question_id: int) -> QuestionView:
    """A legal volunteer opening a handed-over question to answer it."""
    async with uow:
        volunteer = await uow.community.person_by_telegram(telegram_id)
        if volunteer is None:
            raise UserFacingError("common.not_allowed")
        view = await person_view(uow, volunteer)
        if not view.has_role(Role.LEGAL_VOLUNTEER.value):
            raise UserFacingError("common.not_allowed")
        question = await uow.law.question(question_id)
        if question is None or question.passed_at is None:
            raise UserFacingError("law.question_gone")
        asker = await uow.community.person(question.person_id) if question.person_id else None
        return QuestionView(question.id, question.question, asker.display_name if asker else "")


async def volunteer_reply(
    uow: UnitOfWork,
    t: Translator,
    *,
    telegram_id: int,
    question_id: int,
    text: str,
    now: datetime,
) -> QuestionView:
    """Relay a legal volunteer's answer to the resident who asked (through the outbox)."""
    answer_text = text.strip()
    if not answer_text:
        raise UserFacingError("law.reply_empty")
    if len(answer_text) > REPLY_LIMIT:
        raise UserFacingError("common.too_long", limit=REPLY_LIMIT)
    async with uow:
        volunteer = await uow.community.person_by_telegram(telegram_id)
        if volunteer is None or not (await person_view(uow, volunteer)).has_role(Role.LEGAL_VOLUNTEER.value):
            raise UserFacingError("common.not_allowed")
        question = await uow.law.question(question_id)
        if question is None or question.passed_at is None or question.person_id is None:
            raise UserFacingError("law.question_gone")
        asker = await uow.community.person(question.person_id)
        if asker is None:
            raise UserFacingError("law.question_gone")
        await notify_person(
            uow,
            t,
            asker,
            "law.volunteer_answered",
            now=now,
            # Asked in English by someone who never chose a language: the reply is framed in English too.
            language="en" if written_in_english(question.question) else None,
            question=question.question,
            name=volunteer.display_name or "-",
            answer=answer_text,
        )
        view = QuestionView(question.id, question.question, asker.display_name)
        await uow.commit()
        return view


# --- admins ------------------------------------------------------------------------------------------------


async def list_gaps(uow: UnitOfWork, *, telegram_id: int, limit: int = 200) -> GapsView:
    """Unanswered questions and 👎 answers, for admins and legal volunteers to grow the corpus."""
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        if person is None or not (await person_view(uow, person)).has_role(*GAP_ROLES):
            raise UserFacingError("common.not_allowed")
        repo = uow.law
        gaps = await repo.gaps(limit)
        dislikes = await repo.dislikes(limit)
    matcher = law_matcher()
    topics = {d.faq_id: (e.topic if (e := matcher.entry(d.faq_id)) else d.faq_id) for d in dislikes}
    return GapsView(gaps, dislikes, topics)


# --- importing the official text ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TextRow:
    article: int
    text: str
    title: str | None


def parse_text_lines(lines: Iterable[str]) -> tuple[list[TextRow], list[str]]:
    """JSON lines ``{"article": 1254, "text": "..."}`` (``title_path`` kept as the title when present)."""
    rows: list[TextRow] = []
    problems: list[str] = []
    seen: dict[int, int] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"line {number}: not valid JSON")
            continue
        if not isinstance(data, dict):
            problems.append(f"line {number}: expected an object with article and text")
            continue
        article, text = data.get("article"), data.get("text")
        if isinstance(article, str) and article.strip().isdigit():
            article = int(article.strip())
        if not isinstance(article, int) or isinstance(article, bool):
            problems.append(f"line {number}: article must be a number")
            continue
        if not MIN_ARTICLE <= article <= MAX_ARTICLE:
            problems.append(f"line {number}: article {article} is outside {MIN_ARTICLE}..{MAX_ARTICLE}")
            continue
        if not isinstance(text, str) or not text.strip():
            problems.append(f"line {number}: article {article} has no text")
            continue
        if article in seen:
            problems.append(f"line {number}: article {article} already given on line {seen[article]}")
            continue
        seen[article] = number
        title = data.get("title_path") or data.get("title")
        rows.append(TextRow(article, text.strip(), title[:200] if isinstance(title, str) and title else None))
    return rows, problems


async def import_texts(uow: UnitOfWork, rows: list[TextRow], now: datetime) -> ImportReport:
    """Insert or update article texts; importing the same file again changes nothing."""
    added = updated = unchanged = 0
    async with uow:
        existing = await uow.law.all_article_texts()
        for row in rows:
            current = existing.get(row.article)
            if current is None:
                uow.law.add_article_text(row.article, row.text, row.title, now)
                added += 1
            elif current.text != row.text or current.title != row.title:
                current.text, current.title, current.imported_at = row.text, row.title, now
                updated += 1
            else:
                unchanged += 1
        await uow.commit()
    return ImportReport(added, updated, unchanged)
