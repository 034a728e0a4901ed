"""Civil Code answers (民法典问答) in Telegram, and the top-level free-text replies (help, not understood).

Private chat: /law or the "⚖️ 法律问答" button asks for a question; free text the router calls "law" is
answered directly. Groups: "/law 问题", or a message that mentions the bot or replies to it, when it is a
legal question. Free text reaches us through our text hook (see CAPABILITY), i.e. only when no
conversation took it: we never answer text that belongs to somebody's conversation.
"""

from __future__ import annotations

import asyncio
from enum import IntEnum

from telegram import InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.capability import Capability, MenuEntry, TextHookSpec, Wiring
from bot.commands import Audience, CommandSpec, roles
from bot.context import BotContext
from bot.i18n import SUPPORTED_LANGUAGES, default_translator
from bot.notices.law import (
    ARTICLE_TEXT,
    ASK_VOLUNTEER,
    CANCEL,
    GAPS_PAGE,
    NOT_ASKED,
    PASS,
    PREFIX,
    REASON,
    SHOW,
    VOLUNTEER_REPLY,
    VOTE,
)
from bot.roles import Role
from bot.services import law
from bot.services import routing as routing_service
from bot.services.law import ArticleLine, ArticleView, FaqView, GapsView, LawReply
from handlers.common import (
    AddressedToBot,
    current_person,
    ensure_current_person,
    ensured_person,
    is_private,
    remember_ensured_person,
    show_menu,
)
from handlers.menu import entry_for_label
from handlers.render import (
    TEXT_LIMIT,
    answer,
    buttons,
    display_name,
    edit_or_reply,
    reply,
    send_text,
    stale_button,
)
from handlers.routing import intent_of

LABEL_LIMIT = 40  # suggestion button labels
GAP_PAGE_LIMIT = TEXT_LIMIT - 200  # room for the page footer
REPLY_KEY = "law_reply"


class LawStep(IntEnum):
    ASK = 1
    VOLUNTEER_REPLY = 2


# --- rendering ------------------------------------------------------------------------------------


def _articles(context: BotContext, numbers: tuple[int, ...]) -> str:
    return context.t("law.article_sep").join(context.t("law.article_ref", number=n) for n in numbers)


def _text_buttons(context: BotContext, numbers: tuple[int, ...]) -> list[list[tuple[str, str]]]:
    return [[(context.t("law.btn_text", number=n), ARTICLE_TEXT.data(n))] for n in numbers[:3]]


def _basis_lines(context: BotContext, lines: tuple[ArticleLine, ...]) -> list[str]:
    out = []
    for line in lines:
        summary = line.summary(context.language)
        if summary:
            out.append(context.t("law.basis_line", article=context.t("law.article_ref", number=line.number),
                                 summary=summary))
    return out


def render_answer(
    context: BotContext, faq: FaqView, question_id: int | None
) -> tuple[str, InlineKeyboardMarkup]:
    """You asked → the answer → the articles and what each says → the caveat → the note; then 👍/👎,
    "不是我问的", "问法律志愿者" and the official texts."""
    language = context.language
    parts = []
    asked = faq.asked(language)
    if asked:
        parts.append(context.t("law.you_asked", question=asked))
    parts.append(faq.answer(language))
    basis = [context.t("law.basis", articles=_articles(context, faq.articles))]
    basis += _basis_lines(context, faq.basis)
    parts.append("\n".join(basis))
    caveat = faq.caveat(language)
    if caveat:
        parts.append(context.t("law.caveat", caveat=caveat))
    text = "\n\n".join(parts) + "\n" + context.t("law.disclaimer")
    qid = question_id or 0
    second = [(context.t("law.btn_not_asked"), NOT_ASKED.data(qid, faq.key))]
    if qid:
        second.append((context.t("law.btn_ask_volunteer"), ASK_VOLUNTEER.data(qid)))
    rows = [
        [
            (context.t("law.btn_helpful"), VOTE.data(qid, faq.key, "1")),
            (context.t("law.btn_not_helpful"), VOTE.data(qid, faq.key, "0")),
        ],
        second,
        *_text_buttons(context, faq.with_text),
    ]
    return text, buttons(rows)


def _related_block(context: BotContext, related: tuple[ArticleLine, ...]) -> str:
    lines = _basis_lines(context, related)
    if not lines:
        return ""
    return "\n\n" + "\n".join([context.t("law.related_header"), *lines])


Rows = list[list[tuple[str, str]]]


def _suggestion_rows(context: BotContext, views: tuple[FaqView, ...], qid: int) -> Rows:
    """One button per entry, labelled with the question it answers in the reader's language."""
    return [[(_label(f.asked(context.language) or f.question), SHOW.data(qid, f.key))] for f in views]


def _label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


def render_article(context: BotContext, article: ArticleView, question_id: int | None) -> tuple[str, object]:
    if not article.valid:
        return context.t("law.article_out_of_range", number=article.number, max=law.MAX_ARTICLE), None
    lines = [context.t("law.article_header", number=article.number)]
    if article.title:
        lines.append(article.title)
    lines.append("")
    lines.append(article.summary(context.language) or context.t("law.article_no_summary"))
    rows: list[list[tuple[str, str]]] = []
    if article.faqs:
        lines += ["", context.t("law.article_faqs")]
        rows += _suggestion_rows(context, article.faqs, question_id or 0)
    if article.has_text:
        rows += _text_buttons(context, (article.number,))
    return "\n".join(lines), buttons(rows) if rows else None


async def send_reply(update: Update, context: BotContext, result: LawReply) -> None:
    if result.kind == "empty":
        await reply(update, context, "law.need_text")
        return
    if result.kind == "article" and result.article is not None:
        text, markup = render_article(context, result.article, result.question_id)
        await send_text(update, context, text, markup)  # type: ignore[arg-type]
        return
    if result.kind == "answer" and result.faq is not None:
        text, markup = render_answer(context, result.faq, result.question_id)
        await send_text(update, context, text, markup)
        return
    qid = result.question_id or 0
    related = _related_block(context, result.related)
    if result.kind == "suggest" and result.suggestions:
        rows = _suggestion_rows(context, result.suggestions, qid)
        rows.append([(context.t("law.btn_none_of_these"), PASS.data(qid))])
        await send_text(update, context, context.t("law.did_you_mean") + related, buttons(rows))
        return
    if result.kind == "alternatives":
        if not result.suggestions and not qid:
            await reply(update, context, "law.no_alternatives")
            return
        rows = _suggestion_rows(context, result.suggestions, qid)
        if qid:
            rows.append([(context.t("law.btn_none_of_these"), PASS.data(qid))])
        key = "law.alternatives" if result.suggestions else "law.alternatives_none"
        await reply(update, context, key, markup=buttons(rows))
        return
    markup = buttons([[(context.t("law.btn_pass"), PASS.data(qid))]]) if qid else None
    if result.kind == "pointer" and result.pointer:
        text = context.t(f"law.pointer_{result.pointer_office or 'legal_aid'}", number=result.pointer)
        await send_text(update, context, text, markup)  # type: ignore[arg-type]
        return
    if related:
        await send_text(update, context, context.t("law.no_match_related") + related, markup)  # type: ignore[arg-type]
        return
    await reply(update, context, "law.no_match", markup=markup)


async def answer_question(update: Update, context: BotContext, text: str) -> None:
    user = update.effective_user
    assert user is not None
    person = ensured_person(update, context) if is_private(update) else None
    if person is None and is_private(update):
        # Not looked up yet in this update: made sure of in the question's own transaction.
        person, result = await law.ask_as_person(
            context.services.uow(),
            telegram_id=user.id,
            display_name=display_name(update),
            question=text,
            now=context.services.clock.now(),
        )
        remember_ensured_person(update, context, person)
    else:
        result = await law.ask(
            context.services.uow(),
            telegram_id=user.id,
            display_name=display_name(update),
            question=text,
            now=context.services.clock.now(),
            person_id=person.id if person is not None else None,
        )
    await send_reply(update, context, result)


def _command_argument(message: Message) -> str:
    """What follows "/law" (or "/law@Bot"), on the same line or the next ones."""
    parts = (message.text or "").split(None, 1)
    return parts[1].strip() if len(parts) > 1 else ""


def _cancel_markup(context: BotContext) -> InlineKeyboardMarkup:
    return buttons([[(context.t("common.btn_cancel"), CANCEL.data())]])


# --- asking ---------------------------------------------------------------------------------------


async def law_command(update: Update, context: BotContext) -> LawStep | int:
    message = update.effective_message
    assert message is not None
    question = _command_argument(message)
    if question:
        await answer_question(update, context, question)
        return ConversationHandler.END
    await ensure_current_person(update, context)
    await reply(update, context, "law.ask", markup=_cancel_markup(context))
    return LawStep.ASK


async def law_menu(update: Update, context: BotContext) -> LawStep:
    await ensure_current_person(update, context)
    await reply(update, context, "law.ask", markup=_cancel_markup(context))
    return LawStep.ASK


async def question_entered(update: Update, context: BotContext) -> LawStep | int:
    message = update.effective_message
    assert message is not None and message.text is not None
    entry = entry_for_label(context, message.text)
    if entry is not None:
        # Another big button while we wait: the resident changed their mind.
        if entry.label_key == "menu.law":
            return await law_menu(update, context)
        await entry.callback(update, context)
        return ConversationHandler.END
    await answer_question(update, context, message.text)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    if context.user_data is not None:
        context.user_data.pop(REPLY_KEY, None)
    if update.callback_query is not None:
        await answer(update)
        await edit_or_reply(update, context, context.t("common.cancelled"))
    else:
        await show_menu(update, context, await current_person(update, context), "common.cancelled")
    return ConversationHandler.END


async def text_please(update: Update, context: BotContext) -> None:
    await reply(update, context, "law.text_please")


async def free_text(update: Update, context: BotContext) -> bool:
    """A text hook: private text nobody else took. law → answer; thanks → "you're welcome"; help (other small
    talk too) → /help."""
    message = update.effective_message
    if message is None or message.text is None or not is_private(update):
        return False
    intent = intent_of(message)
    if intent == "help" and routing_service.law_matcher().match(message.text).pointer is not None:
        # Not a Civil Code question, but one we know where to send (122, 12333, ...): say so.
        await answer_question(update, context, message.text)
        return True
    if intent == "law":
        await answer_question(update, context, message.text)
        return True
    if intent == "help":
        talk = routing_service.small_talk(message.text)
        if talk is not None and talk.kind == "thanks":
            # Thanked, the bot says "you're welcome" like a person, not its whole menu again.
            context.answer_in_language_of(message.text)
            await reply(update, context, "help.thanks")
            return True
        from handlers.start import help_command

        await help_command(update, context)
        return True
    return False  # an intent whose capability is missing: start's fallback says it did not understand


# --- buttons --------------------------------------------------------------------------------------


async def on_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    data = query.data
    services = context.services
    now = services.clock.now()
    if (shown := SHOW.parse(data)) is not None:
        qid, key = shown
        result = await law.show_faq(services.uow(), str(key), int(qid) or None)
        await answer(update)
        await send_reply(update, context, result)
    elif (voted := VOTE.parse(data)) is not None and voted[2] in ("0", "1"):
        qid, key, helpful = voted
        vote = await law.vote(
            services.uow(),
            telegram_id=user.id,
            display_name=display_name(update),
            key=str(key),
            question_id=int(qid) or None,
            helpful=helpful == "1",
            now=now,
        )
        if not vote.recorded:
            answer_key = "law.already_voted"
        else:
            answer_key = "law.thanks_helpful" if vote.helpful else "law.thanks_not_helpful"
        await answer(update, context.t(answer_key))
        if vote.recorded and not vote.helpful:
            await reply(update, context, "law.why", markup=_reason_markup(context, str(key)))
    elif (why := REASON.parse(data)) is not None:
        key, code = str(why[0]), str(why[1])
        recorded = await law.dislike_reason(
            services.uow(),
            telegram_id=user.id,
            display_name=display_name(update),
            key=key,
            reason_code=code,
            now=now,
        )
        await answer(update, context.t("law.reason_thanks" if recorded else "law.reason_already"))
        if recorded:
            label = context.t(f"law.reason_{law.REASONS[code]}")
            await edit_or_reply(update, context, context.t("law.reason_noted", reason=label))
    elif (other := NOT_ASKED.parse(data)) is not None:
        qid, key = other
        result = await law.not_what_i_asked(
            services.uow(),
            telegram_id=user.id,
            display_name=display_name(update),
            key=str(key),
            question_id=int(qid) or None,
            now=now,
        )
        await answer(update)
        await send_reply(update, context, result)
    elif (handed := PASS.parse(data) or ASK_VOLUNTEER.parse(data)) is not None and handed[0]:
        passed = await law.pass_to_volunteer(
            services.uow(),
            services.translator,
            telegram_id=user.id,
            display_name=display_name(update),
            question_id=int(handed[0]),
            now=now,
        )
        key = "law.already_passed" if passed.already else "law.passed"
        await answer(update, context.t(key, count=passed.volunteers))
        if PASS.parse(data):  # the no-match / suggestion card is done with; an answer card stays as it is
            await edit_or_reply(update, context, context.t(key, count=passed.volunteers))
        elif not passed.already:
            await reply(update, context, key, count=passed.volunteers)
    elif (article := ARTICLE_TEXT.parse(data)) is not None:
        view = await law.article_text(services.uow(), int(article[0]))
        await answer(update)
        title = f"\n{view.title}" if view.title else ""
        text = context.t("law.official_text", number=view.number, title=title, text=view.text)
        await send_text(update, context, text)
    elif (page := GAPS_PAGE.parse(data)) is not None:
        gaps = await law.list_gaps(services.uow(), telegram_id=user.id)
        await answer(update)
        text, markup = gaps_page(context, gaps, int(page[0]))
        await edit_or_reply(update, context, text, markup)
    else:
        await stale_button(update, context)


def _reason_markup(context: BotContext, key: str) -> InlineKeyboardMarkup:
    row = [
        (context.t(f"law.reason_{why}"), REASON.data(key, code)) for code, why in law.REASONS.items()
    ]
    return buttons([row])


# --- legal volunteers reply -----------------------------------------------------------------------


async def volunteer_reply_start(update: Update, context: BotContext) -> LawStep | int:
    user = update.effective_user
    assert user is not None
    pressed = VOLUNTEER_REPLY.parse(update.callback_query.data if update.callback_query else None)
    if pressed is None:
        await stale_button(update, context)
        return ConversationHandler.END
    question_id = int(pressed[0])
    view = await law.question_for_volunteer(
        context.services.uow(), telegram_id=user.id, question_id=question_id
    )
    await answer(update)
    assert context.user_data is not None
    context.user_data[REPLY_KEY] = view.id
    await reply(
        update,
        context,
        "law.volunteer_prompt",
        markup=buttons([[(context.t("common.btn_cancel"), CANCEL.data())]]),
        name=view.asker_name,
        question=view.question,
    )
    return LawStep.VOLUNTEER_REPLY


async def volunteer_reply_entered(update: Update, context: BotContext) -> LawStep | int:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.text is not None and user is not None
    question_id = (context.user_data or {}).get(REPLY_KEY)
    if not isinstance(question_id, int):
        await reply(update, context, "common.stale_button")
        return ConversationHandler.END
    view = await law.volunteer_reply(
        context.services.uow(),
        context.services.translator,
        telegram_id=user.id,
        question_id=question_id,
        text=message.text,
        now=context.services.clock.now(),
    )
    if context.user_data is not None:
        context.user_data.pop(REPLY_KEY, None)
    await reply(update, context, "law.volunteer_sent", name=view.asker_name)
    return ConversationHandler.END


# --- admins: /law_gaps ----------------------------------------------------------------------------


def _gap_lines(context: BotContext, view: GapsView) -> list[str]:
    lines: list[str] = []
    if view.gaps:
        lines.append(context.t("law.gaps_header", count=len(view.gaps)))
        for gap in view.gaps:
            lines.append(
                context.t(
                    "law.gaps_line",
                    question=_clip(gap.question, 200),
                    count=gap.count,
                    date=gap.last_asked.astimezone(context.services.settings.tz).strftime("%m-%d"),
                    passed=context.t("law.gaps_passed") if gap.passed else "",
                )
            )
    else:
        lines.append(context.t("law.gaps_none"))
    lines.append("")
    if view.dislikes:
        lines.append(context.t("law.dislikes_header"))
        for d in view.dislikes:
            sample = f"“{_clip(d.sample_question, 100)}”" if d.sample_question else ""
            reasons = context.t("law.reason_sep").join(
                context.t("law.reason_count", reason=context.t(f"law.reason_{r}"), count=n)
                for r, n in d.reasons
            )
            lines.append(
                context.t(
                    "law.dislikes_line",
                    topic=view.topics.get(d.faq_id, ""),
                    faq_id=d.faq_id,
                    count=d.count,
                    sample=sample,
                    reasons=context.t("law.reasons_wrap", reasons=reasons) if reasons else "",
                )
            )
    else:
        lines.append(context.t("law.dislikes_none"))
    return lines


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def paginate(lines: list[str], limit: int = GAP_PAGE_LIMIT) -> list[str]:
    pages: list[str] = []
    current = ""
    for line in lines:
        line = line[:limit]
        if current and len(current) + len(line) + 1 > limit:
            pages.append(current.rstrip("\n"))
            current = ""
        current += line + "\n"
    if current.strip():
        pages.append(current.rstrip("\n"))
    return pages or [""]


def gaps_page(context: BotContext, view: GapsView, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    pages = paginate(_gap_lines(context, view))
    page = max(0, min(page, len(pages) - 1))
    if len(pages) == 1:
        return pages[0], None
    text = pages[page] + "\n\n" + context.t("law.gaps_page", page=page + 1, pages=len(pages))
    nav: list[tuple[str, str]] = []
    if page > 0:
        nav.append((context.t("law.btn_prev"), GAPS_PAGE.data(page - 1)))
    if page < len(pages) - 1:
        nav.append((context.t("law.btn_next"), GAPS_PAGE.data(page + 1)))
    return text, buttons([nav])


async def gaps_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    view = await law.list_gaps(context.services.uow(), telegram_id=user.id)
    text, markup = gaps_page(context, view, 0)
    await send_text(update, context, text, markup)


# --- groups ---------------------------------------------------------------------------------------


def _without_mention(message: Message) -> str:
    text = message.text or ""
    for entity in reversed(message.entities):
        if entity.type == MessageEntity.MENTION:
            text = text[: entity.offset] + " " + text[entity.offset + entity.length :]
    return text.strip()


async def group_law_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    question = _command_argument(message)
    if not question:
        await reply(update, context, "law.group_usage")
        return
    await answer_question(update, context, question)


async def group_addressed(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    await answer_question(update, context, _without_mention(message))


class _LegalQuestion(filters.MessageFilter):
    """Only legal questions: the bot never joins other talk in a group."""

    def filter(self, message: Message) -> bool:
        return bool(message.text) and not (message.text or "").startswith("/") and intent_of(message) == "law"


# --- wiring ---------------------------------------------------------------------------------------


def _menu_labels() -> list[str]:
    t = default_translator()
    return [t(language, "menu.law") for language in SUPPORTED_LANGUAGES]


# The build is half a second of CPU holding the GIL most of the time: started this much after start, what was
# already waiting (a /start, a button) is answered first instead of sharing the interpreter with it.
WARM_UP_AFTER = 0.5


async def _warm_up(application: object, services: object) -> None:
    """Load the corpus and build the matcher soon after start, so the first resident does not wait for it; in
    the background, so a /start or a button is answered meanwhile (a question waits for it, see routing)."""
    asyncio.get_running_loop().call_later(WARM_UP_AFTER, routing_service.warm_up_in_background)


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    conversation: ConversationHandler[BotContext] = ConversationHandler(
        name="law",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CommandHandler("law", law_command, filters=private),
            MessageHandler(private & filters.Text(_menu_labels()), law_menu),
            CallbackQueryHandler(volunteer_reply_start, pattern=VOLUNTEER_REPLY.pattern),
        ],
        states={
            LawStep.ASK: [MessageHandler(private & filters.TEXT & ~filters.COMMAND, question_entered)],
            LawStep.VOLUNTEER_REPLY: [
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, volunteer_reply_entered)
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=CANCEL.pattern),
            MessageHandler(private & ~filters.COMMAND & ~filters.TEXT, text_please),
        ],
    )
    return [
        conversation,
        CommandHandler("law_gaps", gaps_command, filters=private),
        CommandHandler("law", group_law_command, filters=groups),
        MessageHandler(groups & filters.TEXT & AddressedToBot() & _LegalQuestion(), group_addressed),
        CallbackQueryHandler(cancel, pattern=CANCEL.pattern),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    ]


CAPABILITY = Capability(
    name="law",
    handlers=handlers,
    commands=(
        CommandSpec("law", "cmd.law", Audience(), 300),
        CommandSpec("law_gaps", "cmd.law_gaps", roles(Role.ADMIN, Role.LEGAL_VOLUNTEER), 760),
    ),
    menu=(MenuEntry("menu.law", law_menu, Audience(), 300),),
    text_hooks=(TextHookSpec(free_text, 90),),
    choices={"law": answer_question},
    on_start=(_warm_up,),
)
