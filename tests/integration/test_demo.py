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


async def test_demo_merchant_owns_his_shop_and_the_resident_can_spend_points(tmp_path: Path) -> None:
    from bot.db.models.points import Partner, PartnerMember, PointsAccount
    from bot.demo import DEMO_CHECKPOINTS, demo_places
    from bot.services.points_reports import audit

    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await upgrade_async(url)
    engine = make_engine(url)
    uow_factory = UnitOfWorkFactory(make_sessionmaker(engine))
    try:
        await seed_demo(uow_factory, datetime(2026, 11, 22, 12, tzinfo=UTC), bot_username="RedButlerBot")
        async with uow_factory() as uow:
            shops = (
                await uow.session.scalars(
                    select(Partner.name)
                    .join(PartnerMember, PartnerMember.partner_id == Partner.id)
                    .join(Person, Person.id == PartnerMember.person_id)
                    .where(Person.display_name == "钱老板")
                )
            ).all()
            assert shops == ["巧手理发店"]
            balance = await uow.session.scalar(
                select(PointsAccount.balance)
                .join(Person, Person.id == PointsAccount.person_id)
                .where(Person.display_name == "张阿姨")
            )
            haircut = await uow.session.scalar(
                select(RewardService.cost).where(RewardService.name == "理发一次")
            )
            assert balance is not None and haircut is not None and balance >= haircut
        assert (await audit(uow_factory())).ok
    finally:
        await engine.dispose()
    # The web chat's location dialog proposes the patrol checkpoints.
    assert [p["name"] for p in demo_places()] == [name for name, _lat, _lon in DEMO_CHECKPOINTS]


async def test_the_web_chat_offers_the_demo_checkpoints_as_places() -> None:
    from bot.demo import demo_places
    from bot.emulator.core import TelegramWorld
    from bot.emulator.server import start_emulator

    server = await start_emulator(TelegramWorld(), "127.0.0.1", 0, places=demo_places())
    try:
        import aiohttp

        url = f"http://127.0.0.1:{server.port}/ui/api/state"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            state = await response.json()
        assert state["places"][0]["name"] == "东门岗亭" and state["places"][0]["latitude"] == 30.6598
    finally:
        await server.runner.cleanup()


def test_demo_says_how_to_pick_a_port_when_8081_is_taken(
    tmp_path: Path, monkeypatch: object, capsys: object
) -> None:
    import socket

    import pytest

    from bot.cli import main

    assert isinstance(monkeypatch, pytest.MonkeyPatch) and isinstance(capsys, pytest.CaptureFixture)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        monkeypatch.setenv("REDBUTLER_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}")
        # The demo sets up logging for a terminal; here it would take over pytest's log capture.
        monkeypatch.setattr("bot.cli_commands.local.configure_logging", lambda level: None)
        assert main(["demo", "--port", str(port)]) == 1
        err = capsys.readouterr().err
        assert f"端口 {port} 已被占用" in err and "--port" in err and "Traceback" not in err
    finally:
        blocker.close()
