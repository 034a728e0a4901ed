"""Due work of owners' votes: the notice when a vote is created, reminders before it closes (outside quiet
hours, in the daytime), and the result posted once it closes."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.db.models import Person
from bot.db.models.votes import OwnerVote, VoteNotice
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_chat, notify_person
from bot.i18n import Translator
from bot.notices.votes import open_ballot_buttons
from bot.services.common import zone
from bot.services.invites import deep_link
from bot.services.timing import outside_quiet_hours
from bot.services.votes import (
    VOTE_LINK,
    Census,
    VoteResult,
    result_json,
    result_lines,
    tally_of,
    vote_census,
)

# --- notices, reminders and the published result (due work) ------------------------------------------------

REMINDERS_BEFORE_CLOSE = (timedelta(days=3), timedelta(days=1))  # at most two reminders


def _reminder_times(vote: OwnerVote) -> list[datetime]:
    return [max(vote.opens_at, vote.closes_at - before) for before in REMINDERS_BEFORE_CLOSE]


def _next_step(vote: OwnerVote) -> datetime | None:
    if vote.result_posted:
        return None
    if not vote.notice_posted:
        return vote.created_at
    times = _reminder_times(vote)
    if vote.reminders_sent < len(times):
        return min(times[vote.reminders_sent], vote.closes_at)
    return vote.closes_at


async def next_due(uow: UnitOfWork) -> datetime | None:
    async with uow:
        times = [t for v in await uow.votes.unfinished() if (t := _next_step(v)) is not None]
    return min(times, default=None)


async def _owners(uow: UnitOfWork, census: Census) -> dict[int, Person]:
    ids = {p for owners in census.owners_of.values() for p in owners}
    return await uow.votes.people(ids)


QUIET_HOURS = (time(22, 0), time(7, 0))


async def _daytime(uow: UnitOfWork, vote: OwnerVote, now: datetime) -> datetime:
    """A message to an owner that would arrive at night waits for the morning (unless the vote closes)."""
    compound = await uow.community.compound(vote.compound_id)
    return outside_quiet_hours(
        now, max(vote.closes_at, now + timedelta(hours=12)), zone(compound), *QUIET_HOURS
    )


async def _record(
    uow: UnitOfWork,
    vote_id: int,
    kind: str,
    now: datetime,
    *,
    chat_id: int | None = None,
    person_id: int | None = None,
) -> None:

    uow.votes.add(VoteNotice(vote_id=vote_id, kind=kind, chat_id=chat_id, person_id=person_id, sent_at=now))


async def _publish_notice(
    uow: UnitOfWork, t: Translator, vote: OwnerVote, census: Census, now: datetime, bot_username: str
) -> None:

    compound = await uow.community.compound(vote.compound_id)
    tz = zone(compound)
    values = {
        "title": vote.title,
        "opens": vote.opens_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "closes": vote.closes_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
    }
    matter_key = "votes.matter_special" if vote.matter == "special" else "votes.matter_ordinary"
    for group in await uow.community.groups_of(vote.compound_id):
        language = None
        text = t(language, "votes.notice_group", matter=t(language, matter_key), **values)
        link = deep_link(bot_username, f"{VOTE_LINK}_{vote.id}") if bot_username else None
        markup = (
            {"inline_keyboard": [[{"text": t(language, "votes.btn_open"), "url": link}]]} if link else None
        )
        await notify_chat(
            uow,
            text,
            chat_id=group.chat_id,
            now=now,
            reply_markup=markup,
            dedupe_key=f"vote-notice:{vote.id}:{group.chat_id}",
        )
        await _record(uow, vote.id, "notice", now, chat_id=group.chat_id)
    daytime = await _daytime(uow, vote, now)
    for person in (await _owners(uow, census)).values():
        sent = await notify_person(
            uow,
            t,
            person,
            "votes.notice_owner",
            not_before=daytime,
            now=now,
            dedupe_key=f"vote-notice:{vote.id}:p{person.id}",
            reply_markup=open_ballot_buttons(t, person.language, vote.id),
            matter=t(person.language, matter_key),
            title=values["title"],
            opens=values["opens"],
            closes=values["closes"],
        )
        if sent is not None:
            await _record(uow, vote.id, "notice", now, person_id=person.id)


async def _remind(uow: UnitOfWork, t: Translator, vote: OwnerVote, census: Census, now: datetime) -> None:

    voted = {b.household_id for b in census.ballots}
    waiting = {p for h, owners in census.owners_of.items() if h not in voted for p in owners}
    people = await uow.votes.people(waiting)
    compound = await uow.community.compound(vote.compound_id)
    closes = vote.closes_at.astimezone(zone(compound)).strftime("%Y-%m-%d %H:%M")
    daytime = await _daytime(uow, vote, now)
    for person in people.values():
        sent = await notify_person(
            uow,
            t,
            person,
            "votes.reminder",
            not_before=daytime,
            now=now,
            reply_markup=open_ballot_buttons(t, person.language, vote.id),
            dedupe_key=f"vote-remind:{vote.id}:{vote.reminders_sent}:p{person.id}",
            title=vote.title,
            closes=closes,
        )
        if sent is not None:
            await _record(uow, vote.id, "reminder", now, person_id=person.id)


async def _publish_result(
    uow: UnitOfWork, t: Translator, vote: OwnerVote, census: Census, now: datetime
) -> None:

    outcome = VoteResult(
        vote.id, vote.title, vote.compound_id, True, tally_of(census), vote.opens_at, vote.closes_at
    )
    vote.published_result = result_json(outcome)
    for group in await uow.community.groups_of(vote.compound_id):
        text = "\n".join(result_lines(t, None, outcome))
        await notify_chat(
            uow, text, chat_id=group.chat_id, now=now, dedupe_key=f"vote-result:{vote.id}:{group.chat_id}"
        )
        await _record(uow, vote.id, "result", now, chat_id=group.chat_id)
    daytime = await _daytime(uow, vote, now)
    for person in (await _owners(uow, census)).values():
        body = "\n".join(result_lines(t, person.language, outcome))
        sent = await notify_person(
            uow,
            t,
            person,
            "votes.result_message",
            not_before=daytime,
            now=now,
            body=body,
            dedupe_key=f"vote-result:{vote.id}:p{person.id}",
        )
        if sent is not None:
            await _record(uow, vote.id, "result", now, person_id=person.id)


async def process_due(uow: UnitOfWork, t: Translator, now: datetime, bot_username: str = "") -> int:
    """Notice at creation, at most two reminders to owners of homes not yet voted, the result at closing;
    each step once (flags on the vote, committed with the messages it queued)."""
    handled = 0
    async with uow:
        for vote in await uow.votes.unfinished():
            step = _next_step(vote)
            if step is None or step > now:
                continue
            census = await vote_census(uow, vote)
            if not vote.notice_posted:
                await _publish_notice(uow, t, vote, census, now, bot_username)
                vote.notice_posted = True
            due = sum(1 for when in _reminder_times(vote) if when <= now)
            if vote.reminders_sent < due and vote.opens_at <= now < vote.closes_at:
                await _remind(uow, t, vote, census, now)
                vote.reminders_sent = due
            if now >= vote.closes_at:
                vote.reminders_sent = len(REMINDERS_BEFORE_CLOSE)
                await _publish_result(uow, t, vote, census, now)
                vote.result_posted = True
            handled += 1
        await uow.commit()
    return handled
