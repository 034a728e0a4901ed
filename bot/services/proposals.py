"""Proposals and the list of problems (问题清单), ownership claims, the 倾听日 reminder.

Residents raise a proposal or a problem; others in the compound support it once each; the committee (admins
and the community's party organisation) see the list ranked by support and put an item on the agenda of a
tripartite meeting (社区、业委会、物业) or of an owners' vote. A resident claims to own their home; a building
leader of that building or an admin confirms, and only then may they vote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.db.errors import Conflict
from bot.db.models import Building, Person
from bot.db.models.votes import ClaimStatus, HomeOwnership, Proposal, ProposalStatus, ProposalSupport
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_chat, notify_person
from bot.i18n import Translator, default_translator
from bot.notices.votes import claim_check_buttons
from bot.roles import Role
from bot.services.common import zone
from bot.services.errors import UserFacingError
from bot.services.people import require_person

TEXT_LIMIT = 300
LIST_LIMIT = 10
COMMITTEE = (Role.ADMIN.value, Role.SUPERVISOR.value)
CONFIRMERS = (Role.ADMIN.value, Role.BUILDING_LEADER.value)
AGENDAS = (ProposalStatus.MEETING, ProposalStatus.VOTE)
LISTENING_TIME = time(9, 0)  # 倾听日: the 1st of each month, 09:00 local


async def _home_compound(uow: UnitOfWork, person: Person) -> int:
    residencies = await uow.community.residencies_of(person.id)
    if residencies:
        return residencies[0].household.unit.building.compound_id
    for role in await uow.community.roles_of(person.id):
        if role.compound_id is not None:
            return role.compound_id
    raise UserFacingError("proposals.no_home")


async def _is_committee(uow: UnitOfWork, person: Person, compound_id: int) -> bool:
    return any(
        r.role in COMMITTEE and (r.compound_id is None or r.compound_id == compound_id)
        for r in await uow.community.roles_of(person.id)
    )


async def raise_proposal(uow: UnitOfWork, telegram_id: int, text: str, now: datetime) -> int:
    text = " ".join(text.split())
    if len(text) < 4 or len(text) > TEXT_LIMIT:
        raise UserFacingError("proposals.bad_text", limit=TEXT_LIMIT)
    async with uow:
        person = await require_person(uow, telegram_id)
        compound_id = await _home_compound(uow, person)
        proposal = Proposal(compound_id=compound_id, author_id=person.id, text=text, created_at=now)
        uow.votes.add(proposal)
        await uow.votes.flush()
        proposal_id = proposal.id
        await uow.commit()
        return proposal_id


@dataclass(frozen=True)
class Support:
    proposal_id: int
    supports: int
    added: bool  # False when this person had already supported it


async def support(uow: UnitOfWork, telegram_id: int, proposal_id: int, now: datetime) -> Support:
    """One support per person, however often or from however many phones they press."""
    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        person_id = person.id
        proposal = await repo.proposal(proposal_id)
        if proposal is None or proposal.status != ProposalStatus.OPEN:
            raise UserFacingError("proposals.gone")
        if await _home_compound(uow, person) != proposal.compound_id:
            raise UserFacingError("proposals.other_compound")
        added = False
        if not await repo.supported(proposal_id, person_id):
            uow.votes.add(ProposalSupport(proposal_id=proposal_id, person_id=person_id, created_at=now))
            try:
                await uow.commit()
                added = True
            except Conflict:  # the same person pressed twice at once
                await uow.rollback()
        return Support(proposal_id, await repo.support_count(proposal_id), added)


@dataclass(frozen=True)
class ProposalLine:
    proposal_id: int
    text: str
    supports: int
    mine: bool


@dataclass(frozen=True)
class ProposalList:
    lines: list[ProposalLine]
    committee: bool


async def ranked(uow: UnitOfWork, telegram_id: int) -> ProposalList:
    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        compound_id = await _home_compound(uow, person)
        lines = [
            ProposalLine(p.id, p.text, n, p.author_id == person.id)
            for p, n in await repo.proposals_ranked(compound_id, LIST_LIMIT)
        ]
        return ProposalList(lines, await _is_committee(uow, person, compound_id))


async def put_on_agenda(
    uow: UnitOfWork, telegram_id: int, proposal_id: int, agenda: str, now: datetime
) -> str:
    """The committee moves an item to a tripartite meeting or an owners' vote; the author is told."""
    if agenda not in AGENDAS:
        raise UserFacingError("common.stale_button")
    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        proposal = await repo.proposal(proposal_id)
        if proposal is None or proposal.status != ProposalStatus.OPEN:
            raise UserFacingError("proposals.gone")
        if not await _is_committee(uow, person, proposal.compound_id):
            raise UserFacingError("common.not_allowed")
        proposal.status = agenda
        proposal.decided_by = person.id
        text = proposal.text
        if proposal.author_id is not None:
            author = await uow.community.person(proposal.author_id)
            if author is not None:
                await notify_person(
                    uow,
                    default_translator(),
                    author,
                    f"proposals.author_told_{agenda}",
                    now=now,
                    dedupe_key=f"proposal-agenda:{proposal.id}",
                    text=text[:80],
                )
        await uow.commit()
        return text


async def agenda_item(uow: UnitOfWork, telegram_id: int, proposal_id: int) -> str:
    """The text of an item the committee put to an owners' vote, to start that vote from it."""
    async with uow:
        person = await require_person(uow, telegram_id)
        proposal = await uow.votes.proposal(proposal_id)
        if proposal is None or proposal.status != ProposalStatus.VOTE or proposal.vote_id is not None:
            raise UserFacingError("proposals.gone")
        if not await _is_committee(uow, person, proposal.compound_id):
            raise UserFacingError("common.not_allowed")
        return proposal.text


# --- ownership claims ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimableHome:
    household_id: int
    label: str
    state: str | None  # None | pending | confirmed


async def _place(uow: UnitOfWork, household_id: int) -> tuple[str, Building]:
    """A home's label (3栋2单元501) and its building."""
    home = await uow.community.household(household_id)
    assert home is not None
    unit = await uow.community.unit(home.unit_id)
    assert unit is not None
    building = await uow.community.building(unit.building_id)
    assert building is not None
    return f"{building.name}{unit.name}{home.room}", building


async def claimable_homes(uow: UnitOfWork, telegram_id: int) -> list[ClaimableHome]:
    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        out = []
        for residency in await uow.community.residencies_of(person.id):
            home = residency.household
            held = await repo.ownership_of(home.id, person.id, "owner")
            label = f"{home.unit.building.name}{home.unit.name}{home.room}"
            out.append(
                ClaimableHome(
                    home.id, label, held.status if held and held.status != ClaimStatus.REJECTED else None
                )
            )
        return out


async def claim(uow: UnitOfWork, t: Translator, telegram_id: int, household_id: int, now: datetime) -> str:
    """A pending claim, sent to the building's leaders and the compound's admins to confirm."""
    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        residency = await uow.community.residency(person.id, household_id)
        if residency is None:
            raise UserFacingError("proposals.claim_not_your_home")
        label, building = await _place(uow, household_id)
        held = await repo.ownership_of(household_id, person.id, "owner")
        if held is not None and held.status in (ClaimStatus.PENDING, ClaimStatus.CONFIRMED):
            return held.status
        if held is None:
            held = HomeOwnership(
                household_id=household_id,
                person_id=person.id,
                kind="owner",
                status=ClaimStatus.PENDING,
                source="claim",
                created_at=now,
            )
            uow.votes.add(held)
        else:
            held.status = ClaimStatus.PENDING
        await uow.votes.flush()
        markup = claim_check_buttons(t, held.id)
        for role, staff in await uow.community.staff_with_role(building.compound_id, CONFIRMERS):
            covers = role.role == Role.ADMIN.value or any(
                a.building_id in (None, building.id) for a in role.areas
            )
            if covers and staff.id != person.id:
                await notify_person(
                    uow,
                    t,
                    staff,
                    "proposals.claim_to_confirm",
                    now=now,
                    reply_markup=markup,
                    dedupe_key=f"owner-claim:{held.id}:{staff.id}:{now.isoformat()}",
                    name=person.display_name,
                    home=label,
                )
        await uow.commit()
        return "submitted"


async def decide_claim(
    uow: UnitOfWork, t: Translator, telegram_id: int, ownership_id: int, approve: bool, now: datetime
) -> tuple[str, str]:
    """(outcome, home label); a second press, or a press by a second leader, changes nothing."""
    async with uow:
        repo = uow.votes
        person = await require_person(uow, telegram_id)
        held = await repo.ownership(ownership_id)
        if held is None or held.person_id is None:
            raise UserFacingError("common.stale_button")
        label, building = await _place(uow, held.household_id)
        allowed = False
        for role in await uow.community.roles_of(person.id):
            if role.compound_id not in (None, building.compound_id):
                continue
            if role.role == Role.ADMIN.value or (
                role.role == Role.BUILDING_LEADER.value
                and any(a.building_id in (None, building.id) for a in role.areas)
            ):
                allowed = True
        if not allowed:
            raise UserFacingError("common.not_allowed")
        if held.status != ClaimStatus.PENDING:
            return f"already_{held.status}", label
        held.status = ClaimStatus.CONFIRMED if approve else ClaimStatus.REJECTED
        held.confirmed_by = person.id
        held.confirmed_at = now
        owner = await uow.community.person(held.person_id)
        if owner is not None:
            await notify_person(
                uow,
                t,
                owner,
                f"proposals.claim_{held.status}",
                now=now,
                home=label,
                dedupe_key=f"owner-claim-done:{held.id}",
            )
        await uow.commit()
        return held.status, label


# --- 倾听日 (listening day) -------------------------------------------------------------------------


def next_listening_day(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    this_month = datetime.combine(local.date().replace(day=1), LISTENING_TIME, tzinfo=tz)
    if this_month > local:
        return this_month.astimezone(UTC)
    month = local.month % 12 + 1
    year = local.year + (1 if month == 1 else 0)
    return datetime(year, month, 1, LISTENING_TIME.hour, LISTENING_TIME.minute, tzinfo=tz).astimezone(UTC)


async def post_listening_day(uow: UnitOfWork, t: Translator, now: datetime) -> int:
    """On the 1st of each month (from 09:00 local, that day only), one reminder per residents' group that
    residents can raise things; the outbox's dedupe key makes it once a month however often this runs."""
    posted = 0
    async with uow:
        for compound in await uow.community.compounds():
            local = now.astimezone(zone(compound))
            if local.day != 1 or local.time() < LISTENING_TIME:
                continue
            for group in await uow.community.groups_of(compound.id):
                sent = await notify_chat(
                    uow,
                    t(None, "proposals.listening_day"),
                    chat_id=group.chat_id,
                    now=now,
                    dedupe_key=f"listening:{group.chat_id}:{local:%Y-%m}",
                )
                posted += sent is not None
        await uow.commit()
    return posted


async def next_listening(uow: UnitOfWork, now: datetime) -> datetime | None:
    async with uow:
        compounds = await uow.community.compounds()
        return min((next_listening_day(now, zone(c)) for c in compounds), default=None)
