"""The audit that recounts an owners' vote from its ballots, and the evidence workbook (ballots, notices,
the published result) the committee keeps."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.db.models.votes import Ballot
from bot.db.uow import UnitOfWork
from bot.i18n import Translator
from bot.services.common import zone
from bot.services.errors import Problem
from bot.services.vote_count import (
    Tally,
    square_metres,
)
from bot.services.votes import (
    CHANNELS,
    WORD_OF_OPTION,
    Census,
    VoteResult,
    get_vote,
    home_label,
    result_json,
    tally_of,
    vote_census,
)

# --- audit and evidence -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditReport:
    tally: Tally
    ballots: int
    homes_voted: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_ballots(census: Census) -> list[Problem]:
    vote = census.vote
    known = {r.household_id: r for r in census.rows}
    problems: list[Problem] = []
    seqs: dict[int, list[int]] = {}
    for ballot in census.ballots:
        seqs.setdefault(ballot.household_id, []).append(ballot.seq)
        label = (
            home_label(known[ballot.household_id])
            if ballot.household_id in known
            else str(ballot.household_id)
        )
        if ballot.household_id not in known:
            problems.append(Problem("votes.audit_foreign_home", "ballot for a home outside", id=ballot.id))
        if not vote.opens_at <= ballot.cast_at < vote.closes_at:
            problems.append(
                Problem(
                    "votes.audit_outside_time", "ballot outside the voting time", id=ballot.id, home=label
                )
            )
        if ballot.channel == "online" and ballot.cast_by not in census.owners_of.get(ballot.household_id, []):
            problems.append(
                Problem("votes.audit_not_owner", "online ballot by a non-owner", id=ballot.id, home=label)
            )
        if ballot.channel not in CHANNELS or ballot.option not in WORD_OF_OPTION:
            problems.append(Problem("votes.audit_bad_row", "unknown option or channel", id=ballot.id))
    for household_id, numbers in seqs.items():
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            label = home_label(known[household_id]) if household_id in known else str(household_id)
            problems.append(Problem("votes.audit_gap", "ballot sequence broken", home=label))
    return problems


async def audit(uow: UnitOfWork, vote_id: int) -> AuditReport:
    """Recount from the ballot rows alone and check each row; a published result must equal the recount."""
    async with uow:
        vote = await get_vote(uow, vote_id)
        census = await vote_census(uow, vote)
        tally = tally_of(census)
        problems = _check_ballots(census)
        if vote.published_result is not None:
            recount = result_json(
                VoteResult(vote.id, vote.title, vote.compound_id, True, tally, vote.opens_at, vote.closes_at)
            )
            if recount != vote.published_result:
                problems.append(Problem("votes.audit_published_differs", "published result differs"))
        homes_voted = len({b.household_id for b in census.ballots})
        return AuditReport(tally, len(census.ballots), homes_voted, problems)


def _local(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


async def export_evidence(
    uow: UnitOfWork, vote_id: int, now: datetime, t: Translator, language: str | None
) -> bytes:
    """The evidence workbook: 汇总 (the figures), 各户 (each home's current ballot), 全部选票 (every ballot
    row, superseded ones too), 通知 (each notice, reminder and result sent)."""
    from openpyxl import Workbook

    def x(name: str, **values: object) -> str:
        return t(language, "votes.x_" + name, **values)

    async with uow:
        repo = uow.votes
        vote = await get_vote(uow, vote_id)
        census = await vote_census(uow, vote)
        tally = tally_of(census)
        compound = await uow.community.compound(vote.compound_id)
        tz = zone(compound)
        person_ids = {p for owners in census.owners_of.values() for p in owners}
        person_ids |= {b.cast_by for b in census.ballots if b.cast_by is not None}
        notices = await repo.notices(vote.id)
        person_ids |= {n.person_id for n in notices if n.person_id is not None}
        people = await repo.people(person_ids)

    def owner_names(household_id: int) -> str:
        if household_id in census.developer_homes:
            return x("developer_unsold")
        return x("names_separator").join(
            people[p].display_name for p in census.owners_of.get(household_id, []) if p in people
        )

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = x("sheet_summary")
    figures = result_json(
        VoteResult(
            vote.id, vote.title, vote.compound_id, now >= vote.closes_at, tally, vote.opens_at, vote.closes_at
        )
    )
    summary.append([x("vote"), vote.title])
    summary.append([x("matter"), x("matter_special") if vote.matter == "special" else x("matter_ordinary")])
    summary.append([x("opens"), _local(vote.opens_at, tz)])
    summary.append([x("closes"), _local(vote.closes_at, tz)])
    summary.append([x("closed"), x("yes") if figures["closed"] else x("no")])
    summary.append(["", x("area"), x("owners")])
    summary.append([x("eligible"), square_metres(tally.eligible.area), tally.eligible.owners])
    summary.append([x("participated"), square_metres(tally.participated.area), tally.participated.owners])
    for option, f in tally.options.items():
        summary.append([WORD_OF_OPTION[option], square_metres(f.area), f.owners])
    summary.append([x("quorum"), x("yes") if tally.quorum_met else x("no")])
    summary.append([x("passed", threshold=tally.threshold), x("yes") if tally.passed else x("no")])
    for document in vote.documents or []:
        summary.append([x("document"), document.get("name", ""), document.get("sha256", "")])
    summary.append([x("exported_at"), _local(now, tz)])

    current: dict[int, Ballot] = {}
    for ballot in census.ballots:
        current[ballot.household_id] = ballot  # ballots come ordered by seq within each home
    homes_sheet = book.create_sheet(x("sheet_homes"))
    homes_sheet.append(
        [
            x("building"),
            x("unit"),
            x("room"),
            x("area"),
            x("owner"),
            x("option"),
            x("channel"),
            x("proxy"),
            x("time"),
            x("entered_by"),
            x("scrutineer"),
        ]
    )
    channel_words = {"online": x("online"), "paper": x("paper"), "proxy": x("proxy_channel")}
    for row in census.rows:
        b = current.get(row.household_id)
        homes_sheet.append(
            [
                row.building,
                row.unit,
                row.room,
                row.area,
                owner_names(row.household_id),
                WORD_OF_OPTION[b.option] if b else x("not_voted"),
                channel_words.get(b.channel, b.channel) if b else "",
                (b.proxy_name or "") if b else "",
                _local(b.cast_at, tz) if b else "",
                (b.entered_by or "") if b else "",
                (b.confirmed_by or "") if b else "",
            ]
        )
    labels = {r.household_id: r for r in census.rows}
    all_sheet = book.create_sheet(x("sheet_ballots"))
    all_sheet.append(
        [
            x("id"),
            x("building"),
            x("unit"),
            x("room"),
            x("seq"),
            x("option"),
            x("channel"),
            x("voter"),
            x("proxy"),
            x("time"),
            x("entered_by"),
            x("scrutineer"),
            x("valid"),
        ]
    )
    for b in census.ballots:
        place = labels.get(b.household_id)
        voter = people[b.cast_by].display_name if b.cast_by in people else ""
        all_sheet.append(
            [
                b.id,
                place.building if place else "",
                place.unit if place else "",
                place.room if place else "",
                b.seq,
                WORD_OF_OPTION.get(b.option, b.option),
                channel_words.get(b.channel, b.channel),
                voter,
                b.proxy_name or "",
                _local(b.cast_at, tz),
                b.entered_by or "",
                b.confirmed_by or "",
                x("current") if current.get(b.household_id) is b else x("superseded"),
            ]
        )
    notice_sheet = book.create_sheet(x("sheet_notices"))
    notice_sheet.append([x("kind"), x("to"), x("time")])
    kinds = {"notice": x("kind_notice"), "reminder": x("kind_reminder"), "result": x("kind_result")}
    for n in notices:
        target = (
            x("group", chat=n.chat_id)
            if n.chat_id is not None
            else (people[n.person_id].display_name if n.person_id in people else "")
        )
        notice_sheet.append([kinds.get(n.kind, n.kind), target, _local(n.sent_at, tz)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
