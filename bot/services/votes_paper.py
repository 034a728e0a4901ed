"""Paper ballots for owners' votes: the scrutineers' sheet imported from the CLI, one ballot typed in the
chat and confirmed by a second person; owners and their homes from the property office's spreadsheet."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.db.errors import Conflict
from bot.db.models.votes import Ballot, ClaimStatus, HomeOwnership, PaperEntry
from bot.db.repositories.votes import HomeRow
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import Translator
from bot.notices.votes import paper_check_buttons
from bot.services.errors import Problem, UserFacingError
from bot.services.people import require_person
from bot.services.vote_count import (
    DEVELOPER,
)
from bot.services.votes import (
    BALLOT_HEADER,
    OPTION_WORDS,
    OWNER_KINDS,
    PROXY_COLUMN,
    get_vote,
    home_label,
    require_open,
)

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
        vote = await get_vote(uow, vote_id)
        require_open(vote, now)
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

    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        vote = await get_vote(uow, vote_id)
        roles = [
            r
            for r in await uow.community.roles_of(person.id)
            if r.role in SCRUTINEERS and r.compound_id in (None, vote.compound_id)
        ]
        if not roles:
            raise UserFacingError("common.not_allowed")
        require_open(vote, now)
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
        markup = paper_check_buttons(t, entry.id)
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

    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        entry = await repo.paper_entry(entry_id)
        if entry is None:
            raise UserFacingError("common.stale_button")
        vote = await get_vote(uow, entry.vote_id)
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
            require_open(vote, now)
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
