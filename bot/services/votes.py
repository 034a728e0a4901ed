"""Owners' assembly votes (业主大会表决): creating a vote, online ballots, the running and final count and
what the people in the chat see. Paper ballots and the owners' spreadsheet: votes_paper.py; the audit and
evidence: votes_evidence.py; notices, reminders and the result: votes_schedule.py.

The rules of the count are in bot/services/vote_count.py. Integrity, here:
- one current ballot per home: a ballot is a new row with the home's next `seq`; the unique (vote, home, seq)
  turns two presses at once (two phones, two family members) into one next ballot and a retry that sees it;
- pressing the option the home already holds adds nothing;
- a paper or proxy ballot replaces the home's online ballot; once a home voted on paper, an online press is
  refused (the signed paper is the owner's written will; a change is another paper ballot);
- nothing is accepted before the vote opens or from its closing time on; no ballot is ever updated or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.db.errors import Conflict
from bot.db.models.votes import Ballot, BallotOption, ClaimStatus, OwnerVote
from bot.db.repositories.votes import HomeRow
from bot.db.uow import UnitOfWork
from bot.i18n import Translator
from bot.roles import Role
from bot.services.common import zone
from bot.services.errors import UserFacingError
from bot.services.people import require_person
from bot.services.vote_count import (
    DEVELOPER,
    MATTERS,
    CastBallot,
    Home,
    Tally,
    area_units,
    count,
    square_metres,
)

OPTION_WORDS: dict[str, str] = {
    "同意": BallotOption.YES,
    "反对": BallotOption.NO,
    "弃权": BallotOption.ABSTAIN,
}
WORD_OF_OPTION = {v: k for k, v in OPTION_WORDS.items()}
CHANNELS = ("online", "paper", "proxy")
DEFAULT_NOTICE_DAYS = 15
TITLE_LIMIT = 200
CAST_RETRIES = 8
BALLOT_HEADER = ("楼栋", "单元", "房号", "选项")
PROXY_COLUMN = "委托人"
VOTE_LINK = "vt"  # /start vt_<vote id>: the group notice's button opens the ballot in the private chat
OWNER_KINDS = {"业主": "owner", "租户": "tenant", "开发商": DEVELOPER, "owner": "owner", "tenant": "tenant"}


def parse_local(text: str, tz: ZoneInfo) -> datetime | None:
    """ "2026-12-20 09:00" in the compound's time zone, as UTC; None when it is not that shape."""
    try:
        local = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return local.replace(tzinfo=tz).astimezone(UTC)


def is_open(vote: OwnerVote, now: datetime) -> bool:
    return vote.opens_at <= now < vote.closes_at


async def create_vote(
    uow: UnitOfWork,
    *,
    compound: str,
    title: str,
    matter: str,
    opens: str,
    closes: str,
    notice_days: int,
    now: datetime,
    created_by: int | None = None,
    documents: list[dict[str, str]] | None = None,
    proposal_id: int | None = None,
) -> int:
    """The vote's id. Opening must leave the owners `notice_days` of notice (15 by default; 0 when the notice
    went out on paper)."""
    async with uow:
        found = await uow.community.compound_by_name(compound.strip())
        if found is None:
            raise UserFacingError("votes.no_compound", name=compound)
        title = title.strip()
        if not title or len(title) > TITLE_LIMIT:
            raise UserFacingError("votes.bad_title", limit=TITLE_LIMIT)
        if matter not in MATTERS:
            raise UserFacingError("votes.bad_matter")
        if notice_days < 0:
            raise UserFacingError("votes.bad_notice_days")
        tz = zone(found)
        opens_at, closes_at = parse_local(opens, tz), parse_local(closes, tz)
        if opens_at is None or closes_at is None:
            raise UserFacingError("votes.bad_time", example="2026-12-20 09:00")
        if closes_at <= opens_at:
            raise UserFacingError("votes.closes_before_opens")
        earliest = now + timedelta(days=notice_days)
        if opens_at < earliest:
            raise UserFacingError(
                "votes.notice_too_short",
                days=notice_days,
                earliest=earliest.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            )
        vote = OwnerVote(
            compound_id=found.id,
            title=title,
            matter=matter,
            opens_at=opens_at,
            closes_at=closes_at,
            notice_days=notice_days,
            documents=list(documents or []),
            created_by=created_by,
            created_at=now,
        )
        uow.votes.add(vote)
        await uow.votes.flush()
        vote_id = vote.id
        proposal = await uow.votes.proposal(proposal_id) if proposal_id else None
        if proposal is not None and proposal.compound_id == found.id:
            proposal.vote_id = vote_id  # the problem list shows which vote decided it
        uow.schedule_changed()
        await uow.commit()
        return vote_id


COMMITTEE_ROLES = ("admin", "supervisor")


async def committee_compound(uow: UnitOfWork, telegram_id: int) -> tuple[str, int, str]:
    """(compound name, person id, time zone) for an admin or the community's party organisation creating a
    vote in the chat: the first compound their role names (community-wide roles: the first compound)."""
    async with uow:
        person = await require_person(uow, telegram_id)
        roles = [r for r in await uow.community.roles_of(person.id) if r.role in COMMITTEE_ROLES]
        if not roles:
            raise UserFacingError("common.not_allowed")
        named = [r.compound_id for r in roles if r.compound_id is not None]
        compound = (
            await uow.community.compound(named[0])
            if named
            else next(iter(await uow.community.compounds()), None)
        )
        if compound is None:
            raise UserFacingError("common.not_allowed")
        return compound.name, person.id, str(zone(compound))


# --- the count ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Census:
    vote: OwnerVote
    rows: list[HomeRow]
    homes: list[Home]
    ballots: list[Ballot]
    owners_of: dict[int, list[int]]  # household id → confirmed owners' person ids
    developer_homes: set[int]


async def get_vote(uow: UnitOfWork, vote_id: int) -> OwnerVote:
    vote = await uow.votes.vote(vote_id)
    if vote is None:
        raise UserFacingError("votes.no_vote", id=vote_id)
    return vote


async def vote_census(uow: UnitOfWork, vote: OwnerVote) -> Census:
    repo = uow.votes
    rows = await repo.homes(vote.compound_id)
    owners_of: dict[int, list[int]] = {}
    developer: set[int] = set()
    for holding in await repo.ownerships([r.household_id for r in rows]):
        if holding.status != ClaimStatus.CONFIRMED:
            continue
        if holding.kind == DEVELOPER:
            developer.add(holding.household_id)
        elif holding.kind == "owner" and holding.person_id is not None:
            owners_of.setdefault(holding.household_id, []).append(holding.person_id)
    homes = [
        Home(
            r.household_id,
            area_units(r.area),
            frozenset({DEVELOPER})
            if r.household_id in developer
            else frozenset(f"p{p}" for p in owners_of.get(r.household_id, [])),
        )
        for r in rows
    ]
    return Census(vote, rows, homes, await repo.ballots(vote.id), owners_of, developer)


def tally_of(census: Census) -> Tally:
    return count(
        census.vote.matter,
        census.homes,
        (CastBallot(b.household_id, b.seq, b.option) for b in census.ballots),
    )


@dataclass(frozen=True)
class VoteResult:
    vote_id: int
    title: str
    compound_id: int
    closed: bool
    tally: Tally
    opens_at: datetime
    closes_at: datetime


async def result(uow: UnitOfWork, vote_id: int, now: datetime) -> VoteResult:
    async with uow:
        vote = await get_vote(uow, vote_id)
        census = await vote_census(uow, vote)
        return VoteResult(
            vote.id,
            vote.title,
            vote.compound_id,
            now >= vote.closes_at,
            tally_of(census),
            vote.opens_at,
            vote.closes_at,
        )


def _figures(area: int, owners: int) -> dict[str, object]:
    return {"area": float(square_metres(area)), "owners": owners}


def result_json(outcome: VoteResult) -> dict[str, object]:
    """The stable `vote result --json` shape scripts rely on (areas in m²)."""
    tally = outcome.tally
    return {
        "closed": outcome.closed,
        "eligible": _figures(tally.eligible.area, tally.eligible.owners),
        "participated": _figures(tally.participated.area, tally.participated.owners),
        "options": {WORD_OF_OPTION[o]: _figures(f.area, f.owners) for o, f in tally.options.items()},
        "quorum_met": tally.quorum_met,
        "passed": tally.passed,
        "threshold": tally.threshold,
    }


def _m2(units: int) -> str:
    return f"{square_metres(units):.2f}"


def _share(part: int, whole: int) -> str:
    return f"{(Decimal(part) * 100 / whole):.1f}%" if whole else "0%"


def result_lines(t: Translator, language: str | None, outcome: VoteResult) -> list[str]:
    """Every figure of the count, for people (CLI, groups, owners); no room numbers."""
    tally = outcome.tally
    e, p = tally.eligible, tally.participated
    lines = [
        t(
            language,
            "votes.result_title_closed" if outcome.closed else "votes.result_title_running",
            title=outcome.title,
        ),
        t(language, "votes.result_eligible", area=_m2(e.area), owners=e.owners),
        t(
            language,
            "votes.result_participated",
            area=_m2(p.area),
            owners=p.owners,
            area_share=_share(p.area, e.area),
            owners_share=_share(p.owners, e.owners),
        ),
    ]
    for option, figures in tally.options.items():
        lines.append(
            t(
                language,
                "votes.result_option",
                option=WORD_OF_OPTION[option],
                area=_m2(figures.area),
                owners=figures.owners,
                area_share=_share(figures.area, p.area),
                owners_share=_share(figures.owners, p.owners),
            )
        )
    lines.append(
        t(language, "votes.result_quorum_met" if tally.quorum_met else "votes.result_quorum_not_met")
    )
    threshold_key = (
        "votes.result_threshold_special" if tally.matter == "special" else "votes.result_threshold_ordinary"
    )
    lines.append(t(language, threshold_key))
    if outcome.closed:
        lines.append(t(language, "votes.result_passed" if tally.passed else "votes.result_failed"))
    else:
        lines.append(
            t(language, "votes.result_so_far_passed" if tally.passed else "votes.result_so_far_failed")
        )
    return lines


# --- online ballots -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    vote_id: int
    title: str
    household_id: int
    home: str
    option: str
    seq: int
    cast_at: datetime
    changed: bool  # False when the home already held this option (a second press)


def home_label(row: HomeRow) -> str:
    return f"{row.building}{row.unit}{row.room}"


def require_open(vote: OwnerVote, now: datetime) -> None:
    if now < vote.opens_at:
        raise UserFacingError("votes.not_open_yet")
    if now >= vote.closes_at:
        raise UserFacingError("votes.closed")


async def cast_online(
    uow: UnitOfWork, telegram_id: int, vote_id: int, household_id: int, option: str, now: datetime
) -> Receipt:
    if option not in WORD_OF_OPTION:
        raise UserFacingError("votes.bad_option")
    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        vote = await get_vote(uow, vote_id)
        require_open(vote, now)
        if household_id not in await repo.owned_homes(person.id):
            raise UserFacingError("votes.not_owner")
        row = await repo.home(vote.compound_id, household_id)
        if row is None:
            raise UserFacingError("votes.not_owner")
        # Plain values: a rollback after a lost race expires every loaded object.
        vote_key, title, person_id, label = vote.id, vote.title, person.id, home_label(row)
        for _attempt in range(CAST_RETRIES):
            current = await repo.current_ballot(vote_key, household_id)
            if current is not None and current.channel != "online":
                raise UserFacingError("votes.paper_counts")
            if current is not None and current.option == option:
                held = current
                return Receipt(vote_key, title, household_id, label, option, held.seq, held.cast_at, False)
            seq = (current.seq if current is not None else 0) + 1
            uow.votes.add(
                Ballot(
                    vote_id=vote_key,
                    household_id=household_id,
                    seq=seq,
                    option=option,
                    channel="online",
                    cast_by=person_id,
                    cast_at=now,
                )
            )
            try:
                await uow.commit()
            except Conflict:  # another press of the same home took this seq: look again
                await uow.rollback()
                continue
            return Receipt(vote_key, title, household_id, label, option, seq, now, changed=True)
        raise UserFacingError("votes.busy")


@dataclass(frozen=True)
class HomeChoice:
    household_id: int
    home: str
    option: str | None
    channel: str | None


@dataclass(frozen=True)
class Ballotable:
    vote_id: int
    title: str
    matter: str
    closes_at: datetime
    tz: str
    homes: list[HomeChoice]


async def my_ballot(uow: UnitOfWork, telegram_id: int, vote_id: int, now: datetime) -> Ballotable:
    """The homes this person may vote for in this vote, each with its current choice."""
    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        vote = await get_vote(uow, vote_id)
        require_open(vote, now)
        owned = set(await repo.owned_homes(person.id))
        rows = await repo.homes(vote.compound_id, owned)
        if not rows:
            raise UserFacingError("votes.not_owner")
        choices = []
        for row in rows:
            current = await repo.current_ballot(vote.id, row.household_id)
            choices.append(
                HomeChoice(
                    row.household_id,
                    home_label(row),
                    current.option if current else None,
                    current.channel if current else None,
                )
            )
        compound = await uow.community.compound(vote.compound_id)
        return Ballotable(vote.id, vote.title, vote.matter, vote.closes_at, str(zone(compound)), choices)


# --- what the people in the chat see ------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenVote:
    vote_id: int
    title: str
    closes_at: datetime
    tz: str


async def open_votes(uow: UnitOfWork, telegram_id: int, now: datetime) -> list[OpenVote]:
    """Votes open now in the compounds where this person owns a home."""
    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        compounds = await repo.compounds_of_homes(await repo.owned_homes(person.id))
        out = []
        for vote in await repo.unfinished():
            if vote.compound_id in compounds and is_open(vote, now):
                compound = await uow.community.compound(vote.compound_id)
                out.append(OpenVote(vote.id, vote.title, vote.closes_at, str(zone(compound))))
        return out


@dataclass(frozen=True)
class Unvoted:
    vote_id: int
    title: str
    homes: list[str]
    total: int


async def unvoted_homes(uow: UnitOfWork, telegram_id: int, now: datetime) -> list[Unvoted]:
    """For building leaders (their buildings) and admins (the whole compound): the homes of each open vote
    with no ballot yet, for knocking on doors. Room numbers: only ever sent to this person privately."""
    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        buildings: dict[int, set[int] | None] = {}  # compound → its buildings this person covers (None: all)
        for role in await uow.community.roles_of(person.id):
            if role.role == Role.ADMIN.value and role.compound_id is not None:
                buildings[role.compound_id] = None
            elif role.role == Role.BUILDING_LEADER.value and role.compound_id is not None:
                covered = {a.building_id for a in role.areas if a.building_id is not None}
                if buildings.get(role.compound_id, set()) is not None:
                    buildings[role.compound_id] = (buildings.get(role.compound_id) or set()) | covered
        if not buildings:
            raise UserFacingError("common.not_allowed")
        out = []
        for vote in await repo.unfinished():
            if vote.compound_id not in buildings or not is_open(vote, now):
                continue
            mine = buildings[vote.compound_id]
            voted = {b.household_id for b in await repo.ballots(vote.id)}
            rows = [r for r in await repo.homes(vote.compound_id) if mine is None or r.building_id in mine]
            waiting = [home_label(r) for r in rows if r.household_id not in voted]
            out.append(Unvoted(vote.id, vote.title, waiting, len(rows)))
        return out
