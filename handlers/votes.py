"""Owners' decisions in the chat: the private ballot with big buttons (one row per home owned), the receipt,
proposals and the list of problems with one-tap support, ownership claims and their confirmation, the list
of homes not yet voted for building leaders (privately only), and the due work (notice, reminders, result,
倾听日). All wiring (commands, menu entry, deep link, due sources) is at the bottom of this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import ClassVar
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Button
from bot.capability import Capability, MenuEntry, Wiring
from bot.commands import REGISTERED, RESIDENTS, Audience, CommandSpec, roles
from bot.context import BotContext, Draft, Services
from bot.notices.votes import (
    CHOOSE,
    CLAIM_HOME,
    CLAIM_NO,
    CLAIM_OK,
    CLAIM_PREFIX,
    OPEN_BALLOT,
    PAPER_NO,
    PAPER_OK,
    PREFIX,
    PROPOSAL_PREFIX,
    PROPOSE,
    START_FROM_PROPOSAL,
    SUPPORT,
    TO_MEETING,
    TO_VOTE,
)
from bot.roles import Role
from bot.scheduling import DueSource
from bot.services import proposals, votes, votes_paper, votes_schedule
from bot.services.errors import UserFacingError
from bot.services.votes import VOTE_LINK, Ballotable
from handlers.common import ensure_current_person
from handlers.flows import flow, pressed, revise, stopper
from handlers.render import answer, buttons, edit_or_reply, reply, send_text, stale_button

OPTION_CODES = {"y": "yes", "n": "no", "a": "abstain"}
CODE_OF_OPTION = {v: k for k, v in OPTION_CODES.items()}


class ProposalStep(IntEnum):
    TEXT = 1


class NewVoteStep(IntEnum):
    TITLE = 1
    MATTER = 2
    OPENS = 3
    CLOSES = 4
    CONFIRM = 5


VOTE_DRAFT = "vote_draft"
STOP = Button(PREFIX, "stop")
PICK_MATTER = Button(PREFIX, "m", str)
PUBLISH = Button(PREFIX, "pub")


@dataclass
class NewVoteDraft(Draft):
    """What /newvote has gathered so far; opens/closes as typed ("2026-12-20 09:00"), read in `tz`."""

    KEY: ClassVar[str] = VOTE_DRAFT
    compound: str | None = None
    person_id: int | None = None
    tz: str | None = None
    title: str | None = None
    proposal_id: int | None = None
    matter: str | None = None
    opens: str | None = None
    closes: str | None = None


TIME_FORMAT = "%Y-%m-%d %H:%M"


def _user_id(update: Update) -> int:
    user = update.effective_user
    assert user is not None
    return user.id


async def _known_user_id(update: Update, context: BotContext) -> int:
    """The presser's id, once they are known to the bot (a first contact is registered as a person)."""
    await ensure_current_person(update, context)
    return _user_id(update)


def _option_word(context: BotContext, option: str | None) -> str:
    return context.t(f"votes.option_{option}") if option else context.t("votes.option_none")


def _ballot_text(context: BotContext, ballot: Ballotable) -> str:
    closes = ballot.closes_at.astimezone(ZoneInfo(ballot.tz)).strftime("%Y-%m-%d %H:%M")
    matter = context.t("votes.matter_special" if ballot.matter == "special" else "votes.matter_ordinary")
    lines = [
        context.t("votes.home_line", home=h.home, choice=_option_word(context, h.option))
        for h in ballot.homes
    ]
    return context.t("votes.ballot", title=ballot.title, matter=matter, closes=closes, homes="\n".join(lines))


def _ballot_markup(context: BotContext, ballot: Ballotable) -> InlineKeyboardMarkup:
    rows = []
    several = len(ballot.homes) > 1
    for home in ballot.homes:
        row = []
        for option in ("yes", "no", "abstain"):
            label = context.t(f"votes.btn_{option}")
            if home.option == option:
                label = "☑️ " + label
            if several:
                label = f"{home.home} {label}"
            row.append((label, CHOOSE.data(ballot.vote_id, home.household_id, CODE_OF_OPTION[option])))
        rows.append(row)
    return buttons(rows)


async def _show_ballot(update: Update, context: BotContext, vote_id: int) -> None:
    user_id = _user_id(update)
    ballot = await votes.my_ballot(context.services.uow(), user_id, vote_id, context.services.clock.now())
    await edit_or_reply(update, context, _ballot_text(context, ballot), _ballot_markup(context, ballot))


async def vote_open_pressed(update: Update, context: BotContext) -> None:
    press = await pressed(update, context, OPEN_BALLOT)
    if press is None:
        return
    _, vote_id = press
    await answer(update)
    user_id = _user_id(update)
    ballot = await votes.my_ballot(context.services.uow(), user_id, vote_id, context.services.clock.now())
    await send_text(update, context, _ballot_text(context, ballot), _ballot_markup(context, ballot))


async def vote_link(update: Update, context: BotContext, rest: str) -> None:
    if not rest.isdigit():
        await reply(update, context, "common.stale_button")
        return
    await ensure_current_person(update, context)
    await _show_ballot(update, context, int(rest))


async def choice_pressed(update: Update, context: BotContext) -> None:
    """A big button: the home's ballot; the same press again (or from a second phone) changes nothing."""
    query = update.callback_query
    user_id = _user_id(update)
    assert query is not None
    values = CHOOSE.parse(query.data)
    option = OPTION_CODES.get(str(values[2])) if values is not None else None
    if values is None or option is None:
        await stale_button(update, context)
        return
    vote_id, household_id = int(values[0]), int(values[1])
    now = context.services.clock.now()
    receipt = await votes.cast_online(context.services.uow(), user_id, vote_id, household_id, option, now)
    await answer(update, context.t("votes.pressed", choice=_option_word(context, option)))
    ballot = await votes.my_ballot(context.services.uow(), user_id, vote_id, now)
    await edit_or_reply(update, context, _ballot_text(context, ballot), _ballot_markup(context, ballot))
    if receipt.changed:
        when = receipt.cast_at.astimezone(ZoneInfo(ballot.tz)).strftime("%Y-%m-%d %H:%M")
        await reply(
            update,
            context,
            "votes.receipt",
            title=receipt.title,
            home=receipt.home,
            choice=_option_word(context, receipt.option),
            when=when,
            number=f"{receipt.vote_id}-{receipt.household_id}-{receipt.seq}",
        )


async def vote_command(update: Update, context: BotContext) -> None:
    user_id = await _known_user_id(update, context)
    found = await votes.open_votes(context.services.uow(), user_id, context.services.clock.now())
    if not found:
        await reply(update, context, "votes.none_open")
        return
    rows = [
        [(context.t("votes.btn_vote_named", title=v.title[:20]), OPEN_BALLOT.data(v.vote_id))] for v in found
    ]
    await reply(update, context, "votes.open_list", markup=buttons(rows))


async def unvoted_command(update: Update, context: BotContext) -> None:
    user_id = await _known_user_id(update, context)
    found = await votes.unvoted_homes(context.services.uow(), user_id, context.services.clock.now())
    if not found:
        await reply(update, context, "votes.none_open")
        return
    now = context.services.clock.now()
    for item in found:
        await reply(
            update,
            context,
            "votes.unvoted",
            title=item.title,
            waiting=len(item.homes),
            total=item.total,
            homes=context.t("votes.list_separator").join(item.homes) or context.t("votes.unvoted_none"),
        )
        # The live turnout against the 2/3 quorum, for the whole compound.
        outcome = await votes.result(context.services.uow(), item.vote_id, now)
        lines = votes.result_lines(context.services.translator, context.language, outcome)
        await send_text(update, context, "\n".join(lines))


async def paper_command(update: Update, context: BotContext) -> None:
    """/paper VOTE 楼栋 单元 房号 同意|反对|弃权 [委托人]: counted once a second person confirms it."""
    user_id = await _known_user_id(update, context)
    args = context.args or []
    if len(args) < 5 or not args[0].isdigit():
        await reply(update, context, "votes.paper_how")
        return
    proxy = " ".join(args[5:]).strip() or None
    view = await votes_paper.enter_paper(
        context.services.uow(),
        context.services.translator,
        user_id,
        int(args[0]),
        (args[1], args[2], args[3]),
        args[4],
        proxy,
        context.services.clock.now(),
    )
    await reply(
        update, context, "votes.paper_entered", home=view.home, choice=_option_word(context, view.option)
    )


async def paper_decided(update: Update, context: BotContext) -> None:
    press = await pressed(update, context, PAPER_OK, PAPER_NO)
    if press is None:
        return
    decision, entry_id = press
    user_id = _user_id(update)
    approve = decision is PAPER_OK
    view = await votes_paper.decide_paper(
        context.services.uow(),
        context.services.translator,
        user_id,
        entry_id,
        approve,
        context.services.clock.now(),
    )
    await answer(update)
    await edit_or_reply(
        update,
        context,
        context.t(
            f"votes.paper_done_{view.status}", home=view.home, choice=_option_word(context, view.option)
        ),
    )


# --- an admin creates a vote in the chat --------------------------------------------------------------------


def _cancel_markup(context: BotContext) -> InlineKeyboardMarkup:
    return buttons([[(context.t("common.btn_cancel"), STOP.data())]])


async def new_vote(update: Update, context: BotContext) -> NewVoteStep | int:
    user_id = await _known_user_id(update, context)
    context.drop(VOTE_DRAFT)
    name, person_id, tz = await votes.committee_compound(context.services.uow(), user_id)
    revise(context, NewVoteDraft, compound=name, person_id=person_id, tz=tz)
    await reply(update, context, "votes.ask_title", markup=_cancel_markup(context), compound=name)
    return NewVoteStep.TITLE


async def new_vote_from_proposal(update: Update, context: BotContext) -> NewVoteStep | int:
    """🗳 现在发起表决 under an item put to a vote: the flow starts with the item's text as the title."""
    press = await pressed(update, context, START_FROM_PROPOSAL)
    if press is None:
        return ConversationHandler.END
    _, proposal_id = press
    await answer(update)
    user_id = await _known_user_id(update, context)
    text = await proposals.agenda_item(context.services.uow(), user_id, proposal_id)
    context.drop(VOTE_DRAFT)
    name, person_id, tz = await votes.committee_compound(context.services.uow(), user_id)
    revise(
        context,
        NewVoteDraft,
        compound=name,
        person_id=person_id,
        tz=tz,
        title=text[: votes.TITLE_LIMIT],
        proposal_id=proposal_id,
    )
    await reply(update, context, "votes.title_from_proposal", title=text[: votes.TITLE_LIMIT])
    return await _ask_matter(update, context)


async def vote_title_entered(update: Update, context: BotContext) -> NewVoteStep:
    text = (update.effective_message.text or "").strip() if update.effective_message else ""
    if not text or len(text) > votes.TITLE_LIMIT:
        await reply(update, context, "votes.bad_title", limit=votes.TITLE_LIMIT)
        return NewVoteStep.TITLE
    revise(context, NewVoteDraft, title=text)
    return await _ask_matter(update, context)


async def _ask_matter(update: Update, context: BotContext) -> NewVoteStep:
    rows = [
        [(context.t("votes.btn_matter_ordinary"), PICK_MATTER.data("ordinary"))],
        [(context.t("votes.btn_matter_special"), PICK_MATTER.data("special"))],
        [(context.t("common.btn_cancel"), STOP.data())],
    ]
    await reply(update, context, "votes.ask_matter", markup=buttons(rows))
    return NewVoteStep.MATTER


async def vote_matter_picked(update: Update, context: BotContext) -> NewVoteStep:
    query = update.callback_query
    assert query is not None
    values = PICK_MATTER.parse(query.data)
    matter = str(values[0]) if values is not None else ""
    if matter not in ("ordinary", "special"):
        await stale_button(update, context)
        return NewVoteStep.MATTER
    await answer(update)
    draft = revise(context, NewVoteDraft, matter=matter)
    earliest = context.services.clock.now() + timedelta(days=votes.DEFAULT_NOTICE_DAYS, hours=1)
    example = earliest.astimezone(ZoneInfo(str(draft.tz))).strftime("%Y-%m-%d 09:00")
    await reply(update, context, "votes.ask_opens", markup=_cancel_markup(context), example=example)
    return NewVoteStep.OPENS


async def vote_time_entered(update: Update, context: BotContext) -> NewVoteStep:
    text = (update.effective_message.text or "").strip() if update.effective_message else ""
    draft = context.load(NewVoteDraft)
    step = NewVoteStep.CLOSES if draft.opens is not None else NewVoteStep.OPENS
    if votes.parse_local(text, ZoneInfo(str(draft.tz))) is None:
        await reply(update, context, "votes.bad_time", example="2026-12-20 09:00")
        return step
    if step == NewVoteStep.OPENS:
        revise(context, NewVoteDraft, opens=text)
        await reply(update, context, "votes.ask_closes", markup=_cancel_markup(context))
        return NewVoteStep.CLOSES
    draft = revise(context, NewVoteDraft, closes=text)
    matter = context.t("votes.matter_special" if draft.matter == "special" else "votes.matter_ordinary")
    rows = [
        [
            (context.t("votes.btn_publish"), PUBLISH.data()),
            (context.t("common.btn_cancel"), STOP.data()),
        ]
    ]
    await reply(
        update,
        context,
        "votes.confirm_new",
        markup=buttons(rows),
        title=draft.title,
        matter=matter,
        opens=draft.opens,
        closes=text,
    )
    return NewVoteStep.CONFIRM


async def vote_publish(update: Update, context: BotContext) -> NewVoteStep | int:
    await answer(update)
    draft = context.load(NewVoteDraft)
    if None in (draft.compound, draft.title, draft.matter, draft.opens, draft.closes):
        await stale_button(update, context)
        return ConversationHandler.END
    try:
        vote_id = await votes.create_vote(
            context.services.uow(),
            compound=str(draft.compound),
            title=str(draft.title),
            matter=str(draft.matter),
            opens=str(draft.opens),
            closes=str(draft.closes),
            notice_days=votes.DEFAULT_NOTICE_DAYS,
            now=context.services.clock.now(),
            created_by=draft.person_id,
            proposal_id=draft.proposal_id,
        )
    except UserFacingError as refusal:
        revise(context, NewVoteDraft, opens=None, closes=None)
        await send_text(update, context, context.t(refusal.key, **refusal.values))
        await reply(update, context, "votes.ask_opens_again", markup=_cancel_markup(context))
        return NewVoteStep.OPENS
    context.drop(VOTE_DRAFT)
    await reply(update, context, "votes.created", id=vote_id)
    return ConversationHandler.END


new_vote_stop = stopper("votes.stopped", VOTE_DRAFT)


# --- proposals ----------------------------------------------------------------------------------------------


async def proposals_command(update: Update, context: BotContext) -> None:
    user_id = await _known_user_id(update, context)
    listing = await proposals.ranked(context.services.uow(), user_id)
    rows = []
    lines = []
    for number, line in enumerate(listing.lines, start=1):
        lines.append(context.t("proposals.line", number=number, text=line.text[:80], supports=line.supports))
        row = [(context.t("proposals.btn_support", number=number), SUPPORT.data(line.proposal_id))]
        if listing.committee:
            row.append(
                (
                    context.t("proposals.btn_meeting", number=number),
                    TO_MEETING.data(line.proposal_id),
                )
            )
            row.append((context.t("proposals.btn_vote", number=number), TO_VOTE.data(line.proposal_id)))
        rows.append(row)
    rows.append([(context.t("proposals.btn_new"), PROPOSE.data())])
    key = "proposals.list" if lines else "proposals.list_empty"
    await reply(update, context, key, markup=buttons(rows), lines="\n".join(lines))


async def menu_decisions(update: Update, context: BotContext) -> None:
    user_id = _user_id(update)
    found = await votes.open_votes(context.services.uow(), user_id, context.services.clock.now())
    if found:
        await vote_command(update, context)
    await proposals_command(update, context)


async def support_pressed(update: Update, context: BotContext) -> None:
    press = await pressed(update, context, SUPPORT)
    if press is None:
        return
    _, proposal_id = press
    user_id = _user_id(update)
    result = await proposals.support(
        context.services.uow(), user_id, proposal_id, context.services.clock.now()
    )
    key = "proposals.supported" if result.added else "proposals.already_supported"
    await answer(update, context.t(key, supports=result.supports), alert=not result.added)


async def agenda_pressed(update: Update, context: BotContext) -> None:
    press = await pressed(update, context, TO_MEETING, TO_VOTE)
    if press is None:
        return
    where, proposal_id = press
    user_id = _user_id(update)
    agenda = "meeting" if where is TO_MEETING else "vote"
    now = context.services.clock.now()
    text = await proposals.put_on_agenda(context.services.uow(), user_id, proposal_id, agenda, now)
    await answer(update)
    start_vote = buttons(
        [[(context.t("votes.btn_start_from_proposal"), START_FROM_PROPOSAL.data(proposal_id))]]
    )
    await reply(
        update,
        context,
        f"proposals.put_on_{agenda}",
        markup=start_vote if agenda == "vote" else None,
        text=text[:80],
    )


async def propose_start(update: Update, context: BotContext) -> ProposalStep | int:
    await answer(update)
    await ensure_current_person(update, context)
    if context.args:
        await _save_proposal(update, context, " ".join(context.args))
        return ConversationHandler.END
    await reply(update, context, "proposals.ask_text")
    return ProposalStep.TEXT


async def _save_proposal(update: Update, context: BotContext, text: str) -> None:
    user_id = _user_id(update)
    await proposals.raise_proposal(context.services.uow(), user_id, text, context.services.clock.now())
    await reply(update, context, "proposals.raised")


async def proposal_entered(update: Update, context: BotContext) -> ProposalStep | int:
    message = update.effective_message
    assert message is not None
    text = message.text or ""
    if not 4 <= len(text.strip()) <= proposals.TEXT_LIMIT:
        await reply(update, context, "proposals.bad_text", limit=proposals.TEXT_LIMIT)
        return ProposalStep.TEXT
    await _save_proposal(update, context, text)
    return ConversationHandler.END


propose_stop = stopper("proposals.stopped")


# --- ownership claims ---------------------------------------------------------------------------------------


async def claim_command(update: Update, context: BotContext) -> None:
    user_id = await _known_user_id(update, context)
    homes = await proposals.claimable_homes(context.services.uow(), user_id)
    if not homes:
        await reply(update, context, "proposals.claim_no_home")
        return
    lines = [context.t(f"proposals.claim_state_{h.state or 'none'}", home=h.label) for h in homes]
    rows = [
        [(context.t("proposals.btn_claim", home=h.label), CLAIM_HOME.data(h.household_id))]
        for h in homes
        if h.state is None
    ]
    await reply(
        update,
        context,
        "proposals.claim_intro",
        markup=buttons(rows) if rows else None,
        lines="\n".join(lines),
    )


async def claim_pressed(update: Update, context: BotContext) -> None:
    press = await pressed(update, context, CLAIM_HOME)
    if press is None:
        return
    _, household_id = press
    user_id = _user_id(update)
    outcome = await proposals.claim(
        context.services.uow(),
        context.services.translator,
        user_id,
        household_id,
        context.services.clock.now(),
    )
    await answer(update)
    await reply(update, context, f"proposals.claim_{outcome}")


async def decide_pressed(update: Update, context: BotContext) -> None:
    press = await pressed(update, context, CLAIM_OK, CLAIM_NO)
    if press is None:
        return
    decision, ownership_id = press
    user_id = _user_id(update)
    approve = decision is CLAIM_OK
    outcome, home = await proposals.decide_claim(
        context.services.uow(),
        context.services.translator,
        user_id,
        ownership_id,
        approve,
        context.services.clock.now(),
    )
    await answer(update)
    await edit_or_reply(update, context, context.t(f"proposals.decided_{outcome}", home=home))


# --- due work -----------------------------------------------------------------------------------------------


async def _process_due(services: Services, now: datetime) -> int:
    return await votes_schedule.process_due(services.uow(), services.translator, now, services.bot_username)


async def _next_due(services: Services, now: datetime) -> datetime | None:
    return await votes_schedule.next_due(services.uow())


async def _process_listening(services: Services, now: datetime) -> int:
    return await proposals.post_listening_day(services.uow(), services.translator, now)


async def _next_listening(services: Services, now: datetime) -> datetime | None:
    return await proposals.next_listening(services.uow(), now)


LEADERS = roles(Role.BUILDING_LEADER, Role.ADMIN)


def handlers(wiring: Wiring) -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    text = private & filters.TEXT & ~filters.COMMAND
    conversation = flow(
        "proposals_new",
        entry_points=[
            CommandHandler("propose", propose_start, filters=private),
            CallbackQueryHandler(propose_start, pattern=PROPOSE.pattern),
        ],
        states={ProposalStep.TEXT: [MessageHandler(text, proposal_entered)]},
        stop=propose_stop,
    )
    new_vote_flow = flow(
        "votes_new",
        entry_points=[
            CommandHandler("newvote", new_vote, filters=private),
            CallbackQueryHandler(new_vote_from_proposal, pattern=START_FROM_PROPOSAL.pattern),
        ],
        states={
            NewVoteStep.TITLE: [MessageHandler(text, vote_title_entered)],
            NewVoteStep.MATTER: [CallbackQueryHandler(vote_matter_picked, pattern=PICK_MATTER.pattern)],
            NewVoteStep.OPENS: [MessageHandler(text, vote_time_entered)],
            NewVoteStep.CLOSES: [MessageHandler(text, vote_time_entered)],
            NewVoteStep.CONFIRM: [CallbackQueryHandler(vote_publish, pattern=PUBLISH.pattern)],
        },
        stop=new_vote_stop,
        stop_button=STOP,
    )
    return [
        conversation,
        new_vote_flow,
        CommandHandler("vote", vote_command, filters=private),
        CommandHandler("proposals", proposals_command, filters=private),
        CommandHandler("claim", claim_command, filters=private),
        CommandHandler("unvoted", unvoted_command, filters=private),
        CommandHandler("paper", paper_command, filters=private),
        CallbackQueryHandler(paper_decided, pattern=r"^vp:(ok|no):"),
        CallbackQueryHandler(stale_button, pattern=rf"^{PREFIX}:(m|pub|stop)"),
        CallbackQueryHandler(vote_open_pressed, pattern=OPEN_BALLOT.pattern),
        CallbackQueryHandler(choice_pressed, pattern=CHOOSE.pattern),
        CallbackQueryHandler(support_pressed, pattern=SUPPORT.pattern),
        CallbackQueryHandler(agenda_pressed, pattern=rf"^{PROPOSAL_PREFIX}:(m|v):"),
        CallbackQueryHandler(claim_pressed, pattern=CLAIM_HOME.pattern),
        CallbackQueryHandler(decide_pressed, pattern=rf"^{CLAIM_PREFIX}:(ok|no):"),
    ]


CAPABILITY = Capability(
    name="votes",
    handlers=handlers,
    commands=(
        CommandSpec("vote", "cmd.vote", Audience(RESIDENTS), 400),
        CommandSpec("proposals", "cmd.proposals", Audience(REGISTERED), 410),
        CommandSpec("propose", "cmd.propose", Audience(RESIDENTS), 420),
        CommandSpec("claim", "cmd.claim", Audience(RESIDENTS), 430),
        CommandSpec("unvoted", "cmd.unvoted", LEADERS, 440),
        CommandSpec("paper", "cmd.paper", roles(Role.BUILDING_LEADER, Role.ADMIN, Role.SUPERVISOR), 450),
    ),
    menu=(MenuEntry("menu.decisions", menu_decisions, Audience(RESIDENTS), 400),),
    deep_links={VOTE_LINK: vote_link},
    due_sources=(
        DueSource("votes", _process_due, _next_due),
        DueSource("listening_day", _process_listening, _next_listening),
    ),
)
