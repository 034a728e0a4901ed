"""Owners' assembly votes (业主大会表决): creating a vote, online and paper ballots, the running and final
count, the audit that recounts from the ballots, the evidence workbook, owners from a spreadsheet.

The rules of the count are in bot/services/vote_count.py. Integrity, here:
- one current ballot per home: a ballot is a new row with the home's next `seq`; the unique (vote, home, seq)
  turns two presses at once (two phones, two family members) into one next ballot and a retry that sees it;
- pressing the option the home already holds adds nothing;
- a paper or proxy ballot replaces the home's online ballot; once a home voted on paper, an online press is
  refused (the signed paper is the owner's written will; a change is another paper ballot);
- nothing is accepted before the vote opens or from its closing time on; no ballot is ever updated or deleted.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.db.errors import Conflict
from bot.db.models import Person
from bot.db.models.votes import Ballot, BallotOption, ClaimStatus, HomeOwnership, OwnerVote
from bot.db.repositories.votes import HomeRow
from bot.db.uow import UnitOfWork
from bot.i18n import Translator
from bot.services.common import zone
from bot.services.errors import Problem, UserFacingError
from bot.services.people import require_person
from bot.services.timing import outside_quiet_hours
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


async def _vote(uow: UnitOfWork, vote_id: int) -> OwnerVote:
    vote = await uow.votes.vote(vote_id)
    if vote is None:
        raise UserFacingError("votes.no_vote", id=vote_id)
    return vote


async def _census(uow: UnitOfWork, vote: OwnerVote) -> Census:
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


def _tally(census: Census) -> Tally:
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
        vote = await _vote(uow, vote_id)
        census = await _census(uow, vote)
        return VoteResult(
            vote.id,
            vote.title,
            vote.compound_id,
            now >= vote.closes_at,
            _tally(census),
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


def _require_open(vote: OwnerVote, now: datetime) -> None:
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
        vote = await _vote(uow, vote_id)
        _require_open(vote, now)
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
        vote = await _vote(uow, vote_id)
        _require_open(vote, now)
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


# --- paper ballots ------------------------------------------------------------------------------------------


@dataclass
class PaperReport:
    problems: list[Problem] = field(default_factory=list)
    recorded: int = 0
    replaced: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


async def _add_paper(
    uow: UnitOfWork,
    vote_id: int,
    household_id: int,
    option: str,
    proxy: str | None,
    entered_by: str | None,
    confirmed_by: str | None,
    now: datetime,
) -> bool:
    """Append a paper or proxy ballot as the home's next; True when it replaces an earlier ballot."""
    current = await uow.votes.current_ballot(vote_id, household_id)
    uow.votes.add(
        Ballot(
            vote_id=vote_id,
            household_id=household_id,
            seq=(current.seq if current else 0) + 1,
            option=option,
            channel="proxy" if proxy else "paper",
            proxy_name=proxy,
            entered_by=entered_by,
            confirmed_by=confirmed_by,
            cast_at=now,
        )
    )
    return current is not None


def check_ballot_header(header: list[str]) -> bool:
    cleaned = [h.strip() for h in header]
    return tuple(cleaned[:4]) == BALLOT_HEADER and all(h in ("", PROXY_COLUMN) for h in cleaned[4:])


async def import_paper(
    uow: UnitOfWork,
    vote_id: int,
    rows: list[dict[str, str]],
    now: datetime,
    *,
    entered_by: str | None = None,
    confirmed_by: str | None = None,
) -> PaperReport:
    """Paper and proxy (书面委托) ballots from the scrutineers' sheet: all rows or none. A row replaces the
    home's online ballot; two rows for one home in a sheet are a problem, not a silent choice."""
    report = PaperReport()
    async with uow:
        repo = uow.votes
        vote = await _vote(uow, vote_id)
        _require_open(vote, now)
        by_place = {(r.building, r.unit, r.room): r for r in await repo.homes(vote.compound_id)}
        wanted: list[tuple[HomeRow, str, str | None]] = []
        seen: dict[int, int] = {}
        for number, raw in enumerate(rows, start=2):
            building, unit, room = (str(raw.get(k) or "").strip() for k in BALLOT_HEADER[:3])
            word = str(raw.get("选项") or "").strip()
            proxy = str(raw.get(PROXY_COLUMN) or "").strip() or None
            row = by_place.get((building, unit, room))
            if row is None:
                report.problems.append(
                    Problem(
                        "votes.paper_no_home",
                        f"row {number}: no such home",
                        row=number,
                        home=f"{building}{unit}{room}",
                    )
                )
                continue
            if word not in OPTION_WORDS:
                report.problems.append(
                    Problem("votes.paper_bad_option", f"row {number}: bad option", row=number, value=word)
                )
                continue
            if row.household_id in seen:
                report.problems.append(
                    Problem(
                        "votes.paper_twice",
                        f"row {number}: home twice",
                        row=number,
                        home=home_label(row),
                        first=seen[row.household_id],
                    )
                )
                continue
            seen[row.household_id] = number
            wanted.append((row, OPTION_WORDS[word], proxy))
        if report.problems:
            return report
        for row, option, proxy in wanted:
            replaced = await _add_paper(
                uow, vote.id, row.household_id, option, proxy, entered_by, confirmed_by, now
            )
            report.replaced += replaced
            report.recorded += 1
        try:
            await uow.commit()
        except Conflict:  # an owner pressed at the same moment: nothing of the sheet is kept
            await uow.rollback()
            raise UserFacingError("votes.busy") from None
    return report


SCRUTINEERS = ("admin", "supervisor", "building_leader")


@dataclass(frozen=True)
class PaperEntryView:
    entry_id: int
    title: str
    home: str
    option: str
    proxy: str | None
    status: str


async def enter_paper(
    uow: UnitOfWork,
    t: Translator,
    telegram_id: int,
    vote_id: int,
    place: tuple[str, str, str],
    word: str,
    proxy: str | None,
    now: datetime,
) -> PaperEntryView:
    """A building leader types in a paper ballot; it counts once a second person (监票) confirms it."""
    from bot.db.models.votes import PaperEntry
    from bot.delivery.notify import notify_person

    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        vote = await _vote(uow, vote_id)
        roles = [
            r
            for r in await uow.community.roles_of(person.id)
            if r.role in SCRUTINEERS and r.compound_id in (None, vote.compound_id)
        ]
        if not roles:
            raise UserFacingError("common.not_allowed")
        _require_open(vote, now)
        option = OPTION_WORDS.get(word.strip())
        if option is None:
            raise UserFacingError("votes.bad_option")
        building, unit, room = (p.strip() for p in place)
        row = next(
            (
                r
                for r in await repo.homes(vote.compound_id)
                if (r.building, r.unit, r.room) == (building, unit, room)
            ),
            None,
        )
        if row is None:
            raise UserFacingError("votes.paper_unknown_home", home=f"{building}{unit}{room}")
        entry = PaperEntry(
            vote_id=vote.id,
            household_id=row.household_id,
            option=option,
            proxy_name=proxy,
            entered_by=person.id,
            created_at=now,
        )
        uow.votes.add(entry)
        await uow.votes.flush()
        label = home_label(row)
        markup = {
            "inline_keyboard": [
                [
                    {"text": t(None, "votes.btn_paper_ok"), "callback_data": f"vp:ok:{entry.id}"},
                    {"text": t(None, "votes.btn_paper_no"), "callback_data": f"vp:no:{entry.id}"},
                ]
            ]
        }
        for _role, staff in await uow.community.staff_with_role(vote.compound_id, SCRUTINEERS):
            if staff.id == person.id:
                continue
            await notify_person(
                uow,
                t,
                staff,
                "votes.paper_to_confirm",
                now=now,
                reply_markup=markup,
                dedupe_key=f"vote-paper:{entry.id}:{staff.id}",
                name=person.display_name,
                title=vote.title,
                home=label,
                choice=t(staff.language, f"votes.option_{option}"),
                proxy=proxy or "—",
            )
        view = PaperEntryView(entry.id, vote.title, label, option, proxy, ClaimStatus.PENDING)
        await uow.commit()
        return view


async def decide_paper(
    uow: UnitOfWork, t: Translator, telegram_id: int, entry_id: int, approve: bool, now: datetime
) -> PaperEntryView:
    """The scrutineer's check: a different person from the one who typed it; once only."""
    from bot.delivery.notify import notify_person

    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        entry = await repo.paper_entry(entry_id)
        if entry is None:
            raise UserFacingError("common.stale_button")
        vote = await _vote(uow, entry.vote_id)
        if not any(
            r.role in SCRUTINEERS and r.compound_id in (None, vote.compound_id)
            for r in await uow.community.roles_of(person.id)
        ):
            raise UserFacingError("common.not_allowed")
        if entry.entered_by == person.id:
            raise UserFacingError("votes.paper_same_person")
        row = await repo.home(vote.compound_id, entry.household_id)
        assert row is not None
        if entry.status != ClaimStatus.PENDING:
            return PaperEntryView(
                entry.id, vote.title, home_label(row), entry.option, entry.proxy_name, entry.status
            )
        if approve:
            _require_open(vote, now)
        enterer = await uow.community.person(entry.entered_by)
        entry.status = ClaimStatus.CONFIRMED if approve else ClaimStatus.REJECTED
        entry.decided_by = person.id
        entry.decided_at = now
        if approve:
            await _add_paper(
                uow,
                vote.id,
                entry.household_id,
                entry.option,
                entry.proxy_name,
                enterer.display_name if enterer else None,
                person.display_name,
                now,
            )
        if enterer is not None:
            await notify_person(
                uow,
                t,
                enterer,
                f"votes.paper_{entry.status}",
                now=now,
                home=home_label(row),
                dedupe_key=f"vote-paper-done:{entry.id}",
            )
        view = PaperEntryView(
            entry.id, vote.title, home_label(row), entry.option, entry.proxy_name, entry.status
        )
        try:
            await uow.commit()
        except Conflict:  # the owner pressed at this very moment: the scrutineer presses again
            await uow.rollback()
            raise UserFacingError("votes.busy") from None
        return view


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
        vote = await _vote(uow, vote_id)
        census = await _census(uow, vote)
        tally = _tally(census)
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
        vote = await _vote(uow, vote_id)
        census = await _census(uow, vote)
        tally = _tally(census)
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


# --- owners from the property office's spreadsheet ----------------------------------------------------------


OWNER_HEADERS = {
    "小区": "compound",
    "楼栋": "building",
    "单元": "unit",
    "房号": "room",
    "姓名": "name",
    "手机": "phone",
    "身份": "kind",
}


@dataclass
class OwnersReport:
    problems: list[Problem] = field(default_factory=list)
    created: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


async def import_owners(uow: UnitOfWork, rows: Iterable[dict[str, object]], now: datetime) -> OwnersReport:
    """Who holds each home: 小区 楼栋 单元 房号 姓名 手机 身份(业主/租户/开发商); all rows or none.

    A person is found by phone (made when new), so one person listed for several homes is one owner. Rows
    already recorded change nothing."""
    report = OwnersReport()
    async with uow:
        repo = uow.votes
        homes: dict[tuple[str, str, str, str], HomeRow] = {}
        for compound in await uow.community.compounds():
            for r in await repo.homes(compound.id):
                homes[(compound.name, r.building, r.unit, r.room)] = r
        wanted: list[tuple[int, str, str, str]] = []
        for number, raw in enumerate(rows, start=2):
            values = {
                OWNER_HEADERS.get(str(k).strip(), ""): str(v if v is not None else "").strip()
                for k, v in raw.items()
            }
            home = homes.get(
                (
                    values.get("compound", ""),
                    values.get("building", ""),
                    values.get("unit", ""),
                    values.get("room", ""),
                )
            )
            kind = OWNER_KINDS.get(values.get("kind", ""))
            if home is None:
                report.problems.append(
                    Problem("votes.owners_no_home", f"row {number}: no such home", row=number)
                )
                continue
            if kind is None:
                report.problems.append(
                    Problem(
                        "votes.owners_bad_kind",
                        f"row {number}: bad kind",
                        row=number,
                        value=values.get("kind", ""),
                    )
                )
                continue
            if kind != DEVELOPER and not values.get("phone"):
                report.problems.append(
                    Problem("votes.owners_no_phone", f"row {number}: no phone", row=number)
                )
                continue
            wanted.append((home.household_id, kind, values.get("name", ""), values.get("phone", "")))
        if report.problems:
            return report
        existing = {
            (o.household_id, o.person_id, o.kind)
            for o in await repo.ownerships([h.household_id for h in homes.values()])
        }
        for household_id, kind, name, phone in wanted:
            person_id: int | None = None
            if kind != DEVELOPER:
                person = await uow.community.person_by_phone(phone)
                if person is None:
                    person = await uow.community.add_person(
                        telegram_id=None, name=name, language=None, now=now
                    )
                    person.phone = phone
                    await uow.votes.flush()
                person_id = person.id
            if (household_id, person_id, kind) in existing:
                continue
            existing.add((household_id, person_id, kind))
            uow.votes.add(
                HomeOwnership(
                    household_id=household_id,
                    person_id=person_id,
                    kind=kind,
                    status=ClaimStatus.CONFIRMED,
                    source="import",
                    confirmed_at=now,
                    created_at=now,
                )
            )
            report.created += 1
        await uow.commit()
    return report


# --- notices, reminders and the published result (due work) ------------------------------------------------

REMINDERS_BEFORE_CLOSE = (timedelta(days=3), timedelta(days=1))  # at most two reminders
PREFIX = "vt"
VOTE_LINK = "vt"  # /start vt_<vote id>: the group notice's button opens the ballot in the private chat


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


def _vote_markup(t: Translator, language: str | None, vote_id: int) -> dict[str, object]:
    return {
        "inline_keyboard": [
            [{"text": t(language, "votes.btn_open"), "callback_data": f"{PREFIX}:open:{vote_id}"}]
        ]
    }


async def _record(
    uow: UnitOfWork,
    vote_id: int,
    kind: str,
    now: datetime,
    *,
    chat_id: int | None = None,
    person_id: int | None = None,
) -> None:
    from bot.db.models.votes import VoteNotice

    uow.votes.add(VoteNotice(vote_id=vote_id, kind=kind, chat_id=chat_id, person_id=person_id, sent_at=now))


async def _publish_notice(
    uow: UnitOfWork, t: Translator, vote: OwnerVote, census: Census, now: datetime, bot_username: str
) -> None:
    from bot.delivery.notify import notify_chat, notify_person
    from bot.services.invites import deep_link

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
            reply_markup=_vote_markup(t, person.language, vote.id),
            matter=t(person.language, matter_key),
            title=values["title"],
            opens=values["opens"],
            closes=values["closes"],
        )
        if sent is not None:
            await _record(uow, vote.id, "notice", now, person_id=person.id)


async def _remind(uow: UnitOfWork, t: Translator, vote: OwnerVote, census: Census, now: datetime) -> None:
    from bot.delivery.notify import notify_person

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
            reply_markup=_vote_markup(t, person.language, vote.id),
            dedupe_key=f"vote-remind:{vote.id}:{vote.reminders_sent}:p{person.id}",
            title=vote.title,
            closes=closes,
        )
        if sent is not None:
            await _record(uow, vote.id, "reminder", now, person_id=person.id)


async def _publish_result(
    uow: UnitOfWork, t: Translator, vote: OwnerVote, census: Census, now: datetime
) -> None:
    from bot.delivery.notify import notify_chat, notify_person

    outcome = VoteResult(
        vote.id, vote.title, vote.compound_id, True, _tally(census), vote.opens_at, vote.closes_at
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
            census = await _census(uow, vote)
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
    from bot.roles import Role

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
