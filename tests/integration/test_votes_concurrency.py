"""Owners voting at once: 200 homes, two phones per home pressing different options at the same moment,
double presses, then everyone changing their vote; one current ballot per home, the audit clean."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from bot.db.models import Person
from bot.db.models.votes import Ballot, HomeOwnership
from bot.db.repositories.votes import VoteRepository
from bot.db.uow import UnitOfWorkFactory
from bot.services import votes, votes_evidence
from bot.services.errors import UserFacingError
from bot.services.roster import import_roster

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
COMPOUND = "同心苑"
HOMES = 200
OWNER_BASE = 7_000_000
PARTNER_BASE = 8_000_000


async def seed(uow_factory: UnitOfWorkFactory) -> list[int]:
    rows = [
        {
            "compound": COMPOUND,
            "building": f"{b}栋",
            "unit": "1单元",
            "room": f"{f}{r:02d}",
            "area": f"{80 + r}.5",
        }
        for b in range(1, 5)
        for f in range(1, 11)
        for r in range(1, 6)
    ]
    assert len(rows) == HOMES
    report = await import_roster(uow_factory(), [("住户", rows)], NOW)
    assert report.ok, report.problems
    async with uow_factory() as uow:
        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        homes = [r.household_id for r in await VoteRepository(uow.session).homes(compound.id)]
        for index, household_id in enumerate(homes):
            for base in (OWNER_BASE, PARTNER_BASE):  # each home has two co-owners with their own phones
                person = Person(telegram_id=base + index, display_name=f"业主{index}", created_at=NOW)
                uow.session.add(person)
                await uow.session.flush()
                uow.session.add(
                    HomeOwnership(
                        household_id=household_id, person_id=person.id, kind="owner", created_at=NOW
                    )
                )
        await uow.commit()
    return homes


async def gather_ok(tasks: list[object]) -> list[object]:
    results = await asyncio.gather(*tasks, return_exceptions=True)  # type: ignore[call-overload]
    crashed = [r for r in results if isinstance(r, BaseException) and not isinstance(r, UserFacingError)]
    assert not crashed, crashed[:3]
    refused = [r for r in results if isinstance(r, UserFacingError)]
    assert not refused, [r.key for r in refused[:3]]
    return list(results)


async def test_two_hundred_owners_voting_at_once_then_changing(uow_factory: UnitOfWorkFactory) -> None:
    homes = await seed(uow_factory)
    vote_id = await votes.create_vote(
        uow_factory(), compound=COMPOUND, title="续聘物业", matter="ordinary", opens="2026-12-01 09:00",
        closes="2026-12-20 18:00", notice_days=0, now=NOW,
    )  # fmt: skip
    during = NOW.replace(hour=2)

    # Wave 1: both phones of every home press at once (different options), and the owner presses twice.
    first = []
    for index, household_id in enumerate(homes):
        first.append(
            votes.cast_online(uow_factory(), OWNER_BASE + index, vote_id, household_id, "yes", during)
        )
        first.append(
            votes.cast_online(uow_factory(), PARTNER_BASE + index, vote_id, household_id, "no", during)
        )
        first.append(
            votes.cast_online(uow_factory(), OWNER_BASE + index, vote_id, household_id, "yes", during)
        )
    await gather_ok(first)
    async with uow_factory() as uow:
        per_home = Counter(
            (
                await uow.session.execute(select(Ballot.household_id).where(Ballot.vote_id == vote_id))
            ).scalars()
        )
    assert set(per_home) == set(homes)
    assert all(1 <= n <= 3 for n in per_home.values())  # a repeated press of the held option adds no row
    outcome = await votes.result(uow_factory(), vote_id, during)
    assert outcome.tally.participated.owners == HOMES

    # Wave 2: every owner changes to a known option, twice each, all at once.
    wanted = {h: ("no", "abstain", "yes")[i % 3] for i, h in enumerate(homes)}
    second = [
        votes.cast_online(uow_factory(), OWNER_BASE + i, vote_id, h, wanted[h], during.replace(minute=5))
        for _ in range(2)
        for i, h in enumerate(homes)
    ]
    await gather_ok(second)

    outcome = await votes.result(uow_factory(), vote_id, during.replace(minute=6))
    figures = votes.result_json(outcome)
    counted = Counter(wanted.values())
    assert figures["participated"]["owners"] == HOMES  # type: ignore[index]
    for option, word in (("yes", "同意"), ("no", "反对"), ("abstain", "弃权")):
        assert figures["options"][word]["owners"] == counted[option]  # type: ignore[index]
    areas = await _areas(uow_factory, homes)
    expected_yes = sum((areas[h] for h in homes if wanted[h] == "yes"), Decimal(0))
    assert Decimal(str(figures["options"]["同意"]["area"])) == expected_yes  # type: ignore[index]

    report = await votes_evidence.audit(uow_factory(), vote_id)
    assert report.ok, report.problems
    assert json.dumps(figures)  # the figures are plain JSON
    async with uow_factory() as uow:
        total = await uow.session.scalar(
            select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote_id)
        )
    assert total == report.ballots and report.homes_voted == HOMES


async def _areas(uow_factory: UnitOfWorkFactory, homes: list[int]) -> dict[int, Decimal]:
    async with uow_factory() as uow:
        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        return {
            r.household_id: r.area or Decimal(0) for r in await VoteRepository(uow.session).homes(compound.id)
        }
