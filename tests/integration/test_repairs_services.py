"""Repairs services and command line against the database: places, settings, posters, ticket rules."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.config import Settings
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import default_translator
from bot.services import repairs
from bot.services.errors import UserFacingError
from bot.services.repairs import ReportDraft
from bot.services.repairs_schedule import process_timers
from tests.factories import COMPOUND, OTHER_COMPOUND, USERS

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


async def _compound(uow_factory: UnitOfWorkFactory, name: str = COMPOUND) -> int:
    return await repairs.compound_id_by_name(uow_factory(), name)


async def test_places_are_created_once_and_spots_find_their_building(uow_factory: UnitOfWorkFactory) -> None:
    cid = await _compound(uow_factory)
    first = await repairs.ensure_places(uow_factory(), cid, ["东门", " 3栋电梯 ", "", "东门"], NOW)
    again = await repairs.ensure_places(uow_factory(), cid, ["东门"], NOW)
    assert [p.name for p in first] == ["东门", "3栋电梯", "东门"]
    assert first[0].code == again[0].code and len(first[0].code) == 8
    assert first[0].building_id is None and first[1].building_id is not None
    every = await repairs.ensure_building_places(uow_factory(), cid, NOW)
    assert sum(p.kind == "building" for p in every) == 3 and sum(p.kind == "unit" for p in every) == 6
    assert len({p.code for p in every}) == len(every)
    found = await repairs.place_by_code(uow_factory(), first[1].code.lower())
    assert found is not None and found.name == "3栋电梯"
    assert await repairs.place_by_code(uow_factory(), "../../etc") is None


async def test_policy_is_validated_and_kept(uow_factory: UnitOfWorkFactory) -> None:
    cid = await _compound(uow_factory)
    with pytest.raises(UserFacingError) as error:
        await repairs.set_policy(uow_factory(), cid, daily_limit=0)
    assert error.value.key == "repairs.policy_bad_value"
    with pytest.raises(UserFacingError):
        await repairs.set_policy(uow_factory(), cid, limits={"lift:urgent": (10, 20)})
    with pytest.raises(UserFacingError):
        await repairs.set_policy(uow_factory(), cid, limits={"elevator:urgent": (30, 20)})
    view = await repairs.set_policy(uow_factory(), cid, urge_hours=2, limits={"elevator:urgent": (15, 120)})
    view = await repairs.set_policy(uow_factory(), cid, honour_board=True)
    assert view.urge_hours == 2 and view.daily_limit == repairs.DEFAULT_DAILY_LIMIT and view.honour_board
    assert view.limits == {"elevator:urgent": [15, 120]}


async def test_a_spot_of_another_compound_cannot_be_reported(uow_factory: UnitOfWorkFactory) -> None:
    other = await _compound(uow_factory, OTHER_COMPOUND)
    [spot] = await repairs.ensure_places(uow_factory(), other, ["南门"], NOW)
    with pytest.raises(UserFacingError) as error:
        await repairs.start_report(uow_factory(), USERS.resident, NOW, place_id=spot.id)
    assert error.value.key == "repairs.place_other_compound"
    with pytest.raises(UserFacingError):
        draft = ReportDraft(kind="elevator", urgency="normal", description="x", household_id=999999)
        await repairs.submit_report(uow_factory(), default_translator(), USERS.resident, draft, NOW)


async def test_autoclose_waits_for_the_last_action_by_a_person(uow_factory: UnitOfWorkFactory) -> None:
    t = default_translator()
    start = await repairs.start_report(uow_factory(), USERS.resident, NOW)
    draft = ReportDraft(
        kind="plumbing_electric", urgency="normal", description="漏水", household_id=start.homes[0].id
    )
    result = await repairs.submit_report(uow_factory(), t, USERS.resident, draft, NOW)
    tid = result.ticket.id
    await repairs.accept(uow_factory(), t, USERS.butler, tid, NOW)
    done_at = NOW + timedelta(days=5)  # late: the resolve clock had 3 days
    view = await repairs.complete(uow_factory(), t, USERS.butler, tid, None, done_at)
    assert view.status == "resolved"
    assert await process_timers(uow_factory, t, done_at + timedelta(days=2)) >= 0
    assert (
        await repairs.ticket_detail(uow_factory(), USERS.resident, tid, done_at)
    ).ticket.status == "resolved"
    await process_timers(uow_factory, t, done_at + timedelta(days=3, minutes=1))
    detail = await repairs.ticket_detail(uow_factory(), USERS.resident, tid, done_at)
    assert detail.ticket.status == "closed"
    assert [line.action for line in detail.timeline][-1] == "auto_closed"
    with pytest.raises(UserFacingError) as error:
        await repairs.reopen(uow_factory(), t, USERS.resident, tid, done_at + timedelta(days=4))
    assert error.value.key == "repairs.reopen_closed"
    with pytest.raises(UserFacingError) as error:
        await repairs.rate(uow_factory(), t, USERS.resident, tid, 5, done_at + timedelta(days=4))
    assert error.value.key == "repairs.stale"


def test_cli_imports_places_and_prints_posters(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli_commands import repairs as cli

    spots = tmp_path / "spots.txt"
    spots.write_text("东门\n地下车库B1\n3栋电梯\n", encoding="utf-8")
    assert cli.cmd_places_import(argparse.Namespace(file=spots, compound=COMPOUND), settings) == 0
    assert "地下车库B1" in capsys.readouterr().out
    out = tmp_path / "posters.pdf"
    args = argparse.Namespace(compound=COMPOUND, out=out, kinds="building,unit,spot")
    assert cli.cmd_posters(args, settings) == 0
    pages = PdfReader(out).pages
    assert len(pages) == 3 + 6 + 3
    texts = [page.extract_text() for page in pages]
    assert any("地下车库B1" in text and "?start=rp_" in text for text in texts)
    assert any("3栋2单元" in text for text in texts)
    assert cli.cmd_places_list(argparse.Namespace(compound=COMPOUND), settings) == 0
    listing = capsys.readouterr().out
    assert listing.count("https://t.me/RedButlerBot?start=rp_") == 12
    assert cli.cmd_posters(argparse.Namespace(compound="没有的小区", out=out, kinds="spot"), settings) == 1
    policy = argparse.Namespace(
        compound=COMPOUND,
        daily_limit=3,
        urge_hours=None,
        auto_close_days=None,
        honour_board="on",
        limit=["*:emergency=5,60"],
    )
    assert cli.cmd_policy(policy, settings) == 0
    policy_out = capsys.readouterr().out
    assert "每人每天最多报修 3 次" in policy_out and "光荣榜：开" in policy_out
    assert "*:emergency：5 分钟内接单，60 分钟内完成" in policy_out
