"""Supervisor figures against a hand-computed fixture: seven tickets around November 2026 in Shanghai.

November (local) runs from 2026-10-31 16:00 UTC to 2026-11-30 16:00 UTC. By hand:
  T1 Nov 1 01:00 local · 1栋 水电 · accepted in time (30 min) · closed in time (120 min) · 5⭐
  T2 Nov 5 · 3栋 电梯 · accepted late (90 min) · resolved late (300 min) · reopened once
  T3 Nov 10 · 3栋 电梯 · accepted in time (10 min) · still being worked, past its limit (overdue)
  T4 Nov 20 · 3栋 水电 · open, still inside its accept limit (not counted for 响应率)
  T5 Nov 30 23:59 local · 1栋 水电 · QR poster · accepted in time (20 min) · closed in time (60 min) · 3⭐
  T6 Dec 1 00:00 local: December, not November
  T7 Oct 15 · October: accepted in time, closed, 2⭐
So November: 5 reported; 响应率 3/4 = 75%; 办结率 3/5 = 60%; 按期办结率 2/3; 满意率 1/2 = 50%;
回访率 3/3; 重开率 1/5 = 20%; median to accept (10, 20, 30, 90) = 25 min; to resolve (60, 120, 300) = 120 min.
October: 1 reported, 响应率 100%, 办结率 100%, 满意率 0%.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.db.models.repairs import RepairTicket
from bot.db.uow import UnitOfWorkFactory
from bot.services import stats
from bot.services.errors import UserFacingError
from tests.factories import COMPOUND, OTHER_COMPOUND, USERS

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
TZ = "Asia/Shanghai"


async def _fixture(uow_factory: UnitOfWorkFactory) -> tuple[int, int]:
    async with uow_factory() as uow:
        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        resident = await uow.community.person_by_telegram(USERS.resident)
        butler = await uow.community.person_by_telegram(USERS.butler)
        assert resident is not None and butler is not None
        b1 = await uow.community.building_by_name(compound.id, "1栋")
        b3 = await uow.community.building_by_name(compound.id, "3栋")
        assert b1 is not None and b3 is not None

        def ticket(
            created: datetime,
            kind: str,
            building: int,
            status: str,
            *,
            accept: int | None = None,
            accept_ok: bool | None = None,
            resolve: int | None = None,
            resolve_ok: bool | None = None,
            rating: int | None = None,
            reopen: int = 0,
            due: datetime | None = None,
            channel: str = "chat",
        ) -> RepairTicket:
            return RepairTicket(
                compound_id=compound.id,
                reporter_id=resident.id,
                building_id=building,
                place_label="3栋2单元501",
                public_label="3栋" if building == b3.id else "1栋",
                kind=kind,
                urgency="normal",
                status=status,
                queue="butler",
                channel=channel,
                assignee_id=butler.id,
                stage_due_at=due,
                accepted_at=created + timedelta(minutes=accept) if accept is not None else None,
                accepted_on_time=accept_ok,
                resolved_at=created + timedelta(minutes=resolve) if resolve is not None else None,
                resolved_on_time=resolve_ok,
                rating=rating,
                reopen_count=reopen,
                last_person_action_at=created,
                created_at=created,
            )

        pe, el = "plumbing_electric", "elevator"
        uow.session.add_all(
            [
                ticket(datetime(2026, 10, 31, 17, tzinfo=UTC), pe, b1.id, "closed", accept=30, accept_ok=True,
                       resolve=120, resolve_ok=True, rating=5),
                ticket(datetime(2026, 11, 5, 2, tzinfo=UTC), el, b3.id, "resolved", accept=90,
                       accept_ok=False, resolve=300, resolve_ok=False, reopen=1),
                ticket(datetime(2026, 11, 10, 2, tzinfo=UTC), el, b3.id, "accepted", accept=10,
                       accept_ok=True, due=datetime(2026, 11, 11, 2, tzinfo=UTC)),
                ticket(datetime(2026, 11, 20, 2, tzinfo=UTC), pe, b3.id, "open",
                       due=datetime(2027, 1, 1, tzinfo=UTC)),
                ticket(datetime(2026, 11, 30, 15, 59, tzinfo=UTC), pe, b1.id, "closed", accept=20,
                       accept_ok=True, resolve=60, resolve_ok=True, rating=3, channel="qr"),
                ticket(datetime(2026, 11, 30, 16, 0, tzinfo=UTC), pe, b1.id, "open",
                       due=datetime(2027, 1, 1, tzinfo=UTC)),
                ticket(datetime(2026, 10, 15, 2, tzinfo=UTC), pe, b1.id, "closed", accept=5, accept_ok=True,
                       resolve=50, resolve_ok=True, rating=2),
            ]
        )  # fmt: skip
        await uow.commit()
        return compound.id, butler.id


async def test_november_matches_the_hand_count(uow_factory: UnitOfWorkFactory) -> None:
    cid, butler_id = await _fixture(uow_factory)
    # The butler has left since: their work stays in the history under their name.
    async with uow_factory() as uow:
        for role in await uow.community.roles_of(butler_id):
            role.active = False
        await uow.commit()
    figures = await stats.month_figures(uow_factory(), [(cid, COMPOUND)], "2026-11", NOW, TZ)
    total = figures.total
    assert total.intake == 5
    assert (total.response, total.resolution, total.satisfaction) == (0.75, 0.6, 0.5)
    assert total.on_time == pytest.approx(2 / 3)
    assert (total.visit, total.reopen) == (1.0, 0.2)
    assert figures.accept_median == pytest.approx(25, abs=0.01)
    assert figures.resolve_median == pytest.approx(120, abs=0.01)
    assert figures.previous.intake == 1 and figures.previous.three() == (1.0, 1.0, 0.0)
    assert [stats.arrow(a, b) for a, b in zip(total.three(), figures.previous.three(), strict=True)] == [
        "↓",
        "↓",
        "↑",
    ]
    assert dict(figures.by_channel)["qr"] == 1 and dict(figures.by_channel)["chat"] == 4
    assert sorted(figures.heat) == [
        ("1栋", "plumbing_electric", 2),
        ("3栋", "elevator", 2),
        ("3栋", "plumbing_electric", 1),
    ]
    assert figures.repeats == ((COMPOUND, "1栋", "plumbing_electric", 2), (COMPOUND, "3栋", "elevator", 2))
    [butler] = figures.by_butler
    assert butler.label == "王师傅" and butler.rates.intake == 5
    # The honour board counts work by when it was resolved: T5 crossed into December (00:59 local).
    [honour] = figures.honour
    assert (honour.name, honour.resolved, honour.on_time, honour.average) == ("王师傅", 2, 1, 5.0)
    assert [t.kind for t in figures.overdue] == ["elevator"] and figures.overdue_count == 1
    assert [t.reopen_count for t in figures.reopened] == [1]
    assert sum(b.intake for b in figures.buckets) == 5
    assert sum(b.resolved for b in figures.buckets) == 2
    # A building on its own.
    one = await stats.month_figures(uow_factory(), [(cid, COMPOUND)], "2026-11", NOW, TZ, building="1栋")
    assert one.total.intake == 2 and one.total.satisfaction == 0.5


async def test_month_end_follows_the_compound_time_zone(uow_factory: UnitOfWorkFactory) -> None:
    cid, _ = await _fixture(uow_factory)
    async with uow_factory() as uow:
        compound = await uow.community.compound(cid)
        assert compound is not None
        compound.timezone = "UTC"
        await uow.commit()
    # In UTC, T1 (Oct 31 17:00) is October and T6 (Nov 30 16:00) is November.
    figures = await stats.month_figures(uow_factory(), [(cid, COMPOUND)], "2026-11", NOW, TZ)
    assert figures.total.intake == 5 and figures.previous.intake == 2


async def test_empty_future_and_bad_months(uow_factory: UnitOfWorkFactory) -> None:
    cid, _ = await _fixture(uow_factory)
    empty = await stats.month_figures(uow_factory(), [(cid, COMPOUND)], "2026-08", NOW, TZ)
    assert empty.empty and empty.total.intake == 0
    assert empty.total.three() == (None, None, None) and empty.accept_median is None
    with pytest.raises(UserFacingError) as future:
        await stats.month_figures(uow_factory(), [(cid, COMPOUND)], "2027-01", NOW, TZ)
    assert future.value.key == "stats.future_month"
    with pytest.raises(UserFacingError) as bad:
        await stats.month_figures(uow_factory(), [(cid, COMPOUND)], "2026-13", NOW, TZ)
    assert bad.value.key == "stats.bad_month"


async def test_a_supervisor_sees_only_the_compounds_they_oversee(uow_factory: UnitOfWorkFactory) -> None:
    seen = await stats.oversight(uow_factory(), USERS.supervisor)
    assert [name for _id, name in seen.compounds] == [COMPOUND]
    with pytest.raises(UserFacingError) as refused:
        stats.pick(seen, OTHER_COMPOUND)
    assert refused.value.key == "stats.not_overseen"
    with pytest.raises(UserFacingError) as resident:
        await stats.oversight(uow_factory(), USERS.resident)
    assert resident.value.key == "common.not_allowed"
