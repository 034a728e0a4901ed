"""Queries for owners' decisions; never commits, never updates or deletes a ballot or a notice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from bot.db.models import Building, Household, Person, Unit
from bot.db.models.votes import (
    Ballot,
    HomeOwnership,
    OwnerVote,
    PaperEntry,
    Proposal,
    ProposalSupport,
    VoteNotice,
)
from bot.db.repositories.base import SessionRepository


@dataclass(frozen=True)
class HomeRow:
    household_id: int
    building_id: int
    building: str
    unit: str
    room: str
    area: Decimal | None


class VoteRepository(SessionRepository):
    async def vote(self, vote_id: int) -> OwnerVote | None:
        return await self.session.get(OwnerVote, vote_id)

    async def paper_entry(self, entry_id: int) -> PaperEntry | None:
        return await self.session.get(PaperEntry, entry_id)

    async def homes(self, compound_id: int, only: Iterable[int] | None = None) -> list[HomeRow]:
        """The compound's homes (or only those of `only`), in building, unit, room order."""
        query = (
            select(Household.id, Building.id, Building.name, Unit.name, Household.room, Household.floor_area)
            .join(Unit, Household.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .where(Building.compound_id == compound_id)
            .order_by(Building.id, Unit.id, Household.id)
        )
        if only is not None:
            query = query.where(Household.id.in_(list(only)))
        rows = await self.session.execute(query)
        return [HomeRow(*row) for row in rows.all()]

    async def home(self, compound_id: int, household_id: int) -> HomeRow | None:
        found = await self.homes(compound_id, [household_id])
        return found[0] if found else None

    async def ownerships(self, household_ids: list[int]) -> list[HomeOwnership]:
        if not household_ids:
            return []
        result = await self.session.scalars(
            select(HomeOwnership)
            .where(HomeOwnership.household_id.in_(household_ids))
            .order_by(HomeOwnership.id)
        )
        return list(result)

    async def owned_homes(self, person_id: int) -> list[int]:
        result = await self.session.scalars(
            select(HomeOwnership.household_id)
            .where(
                HomeOwnership.person_id == person_id,
                HomeOwnership.kind == "owner",
                HomeOwnership.status == "confirmed",
            )
            .order_by(HomeOwnership.household_id)
        )
        return list(result)

    async def ownership(self, ownership_id: int) -> HomeOwnership | None:
        return await self.session.get(HomeOwnership, ownership_id)

    async def ownership_of(self, household_id: int, person_id: int, kind: str) -> HomeOwnership | None:
        return await self.session.scalar(
            select(HomeOwnership).where(
                HomeOwnership.household_id == household_id,
                HomeOwnership.person_id == person_id,
                HomeOwnership.kind == kind,
            )
        )

    async def ballots(self, vote_id: int) -> list[Ballot]:
        result = await self.session.scalars(
            select(Ballot).where(Ballot.vote_id == vote_id).order_by(Ballot.household_id, Ballot.seq)
        )
        return list(result)

    async def current_ballot(self, vote_id: int, household_id: int) -> Ballot | None:
        return await self.session.scalar(
            select(Ballot)
            .where(Ballot.vote_id == vote_id, Ballot.household_id == household_id)
            .order_by(Ballot.seq.desc())
            .limit(1)
        )

    async def notices(self, vote_id: int) -> list[VoteNotice]:
        result = await self.session.scalars(
            select(VoteNotice).where(VoteNotice.vote_id == vote_id).order_by(VoteNotice.id)
        )
        return list(result)

    async def unfinished(self) -> list[OwnerVote]:
        result = await self.session.scalars(
            select(OwnerVote).where(OwnerVote.result_posted.is_(False)).order_by(OwnerVote.id)
        )
        return list(result)

    async def compounds_of_homes(self, household_ids: list[int]) -> set[int]:
        if not household_ids:
            return set()
        result = await self.session.scalars(
            select(Building.compound_id)
            .join(Unit, Unit.building_id == Building.id)
            .join(Household, Household.unit_id == Unit.id)
            .where(Household.id.in_(household_ids))
        )
        return set(result)

    async def people(self, person_ids: set[int]) -> dict[int, Person]:
        if not person_ids:
            return {}
        result = await self.session.scalars(select(Person).where(Person.id.in_(person_ids)))
        return {p.id: p for p in result}

    async def proposal(self, proposal_id: int) -> Proposal | None:
        return await self.session.get(Proposal, proposal_id)

    async def proposals_ranked(self, compound_id: int, limit: int) -> list[tuple[Proposal, int]]:
        supports = (
            select(ProposalSupport.proposal_id, func.count().label("n"))
            .group_by(ProposalSupport.proposal_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(Proposal, func.coalesce(supports.c.n, 0))
            .outerjoin(supports, supports.c.proposal_id == Proposal.id)
            .where(Proposal.compound_id == compound_id, Proposal.status == "open")
            .order_by(func.coalesce(supports.c.n, 0).desc(), Proposal.id)
            .limit(limit)
        )
        return [(p, int(n)) for p, n in rows.all()]

    async def support_count(self, proposal_id: int) -> int:
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(ProposalSupport)
                .where(ProposalSupport.proposal_id == proposal_id)
            )
            or 0
        )

    async def supported(self, proposal_id: int, person_id: int) -> bool:
        found = await self.session.scalar(
            select(ProposalSupport.id).where(
                ProposalSupport.proposal_id == proposal_id, ProposalSupport.person_id == person_id
            )
        )
        return found is not None
