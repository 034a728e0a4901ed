"""`redbutler demo` seeds a community every capability can be tried on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.db.engine import make_engine, make_sessionmaker
from bot.db.migrate import upgrade_async
from bot.db.models import InviteCode, Person, Residency, StaffRole
from bot.db.models.events import CommunityEvent
from bot.db.models.patrols import PatrolShift
from bot.db.models.points import RewardService
from bot.db.models.repairs import RepairPlace
from bot.db.uow import UnitOfWorkFactory
from bot.demo import DEMO_PEOPLE, is_empty, seed_demo


async def test_demo_seed_fills_every_capability(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await upgrade_async(url)
    engine = make_engine(url)
    uow_factory = UnitOfWorkFactory(make_sessionmaker(engine))
    try:
        assert await is_empty(uow_factory)
        info = await seed_demo(
            uow_factory, datetime(2026, 11, 22, 12, tzinfo=UTC), bot_username="RedButlerBot"
        )
        assert not await is_empty(uow_factory)
        async with uow_factory() as uow:
            count = uow.session.scalar

            assert await count(select(func.count(RepairPlace.id))) == 5
            assert (await count(select(func.count(PatrolShift.id))) or 0) >= 7
            assert (await count(select(func.count(CommunityEvent.id))) or 0) >= 2
            assert (await count(select(func.count(RewardService.id))) or 0) >= 3
            assert await count(select(func.count(Residency.id))) == 2
            staff = await count(select(func.count(func.distinct(StaffRole.person_id))))
            assert staff == sum(1 for p in DEMO_PEOPLE if p.phone)
            bound = await count(select(func.count(Person.id)).where(Person.telegram_id.is_not(None)))
            assert bound == sum(1 for p in DEMO_PEOPLE if p.phone) + 2
            invite = await uow.session.scalar(
                select(InviteCode).where(InviteCode.code == info.newcomer_invite)
            )
            assert invite is not None and invite.kind == "household" and invite.expires_at is None
    finally:
        await engine.dispose()
