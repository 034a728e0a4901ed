"""Patrol, event and announcement services against the database (SQLite or PostgreSQL)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.config import Settings
from bot.db.models import StaffRole
from bot.db.models.events import CommunityEvent
from bot.db.models.patrols import PatrolReminder, PatrolShift, ShiftSignup
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import default_translator
from bot.services import events, patrols
from tests.conftest import START
from tests.factories import COMPOUND, USERS

TZ = ZoneInfo("Asia/Shanghai")


async def _compound(uow_factory: UnitOfWorkFactory) -> int:
    async with uow_factory() as uow:
        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        return compound.id


async def _route(uow_factory: UnitOfWorkFactory) -> patrols.RouteView:
    return await patrols.create_route(
        uow_factory(),
        compound_id=await _compound(uow_factory),
        name="西区",
        checkpoints=[("西门", 31.2, 121.4)],
        now=START,
    )


async def test_weekend_template_generates_shifts_once_with_their_due_rows(
    uow_factory: UnitOfWorkFactory,
) -> None:
    route = await _route(uow_factory)
    await patrols.create_template(
        uow_factory(),
        route_id=route.id,
        weekdays=[5, 6],
        start_time="19:30",
        duration_minutes=120,
        capacity=4,
        now=START,
    )
    made = await patrols.generate_shifts(uow_factory(), START, timedelta(weeks=2))
    again = await patrols.generate_shifts(uow_factory(), START, timedelta(weeks=2))
    async with uow_factory() as uow:
        shifts = list(await uow.session.scalars(select(PatrolShift).order_by(PatrolShift.starts_at)))
        kinds = sorted(r.kind for r in await uow.session.scalars(select(PatrolReminder)))
    assert made == 4 and again == 0
    assert [s.starts_at.astimezone(TZ).strftime("%a %H:%M") for s in shifts] == ["Sat 19:30", "Sun 19:30"] * 2
    assert kinds == ["close"] * 4 + ["understaffed"] * 4


async def test_two_volunteers_race_for_the_last_place(uow_factory: UnitOfWorkFactory) -> None:
    route = await _route(uow_factory)
    cid = await _compound(uow_factory)
    async with uow_factory() as uow:
        neighbour = await uow.community.person_by_telegram(USERS.neighbour)
        assert neighbour is not None
        uow.session.add(StaffRole(person_id=neighbour.id, role="patrol", compound_id=cid, created_at=START))
        await uow.commit()
    start = START + timedelta(days=1)
    shift = await patrols.create_shift(
        uow_factory(),
        actor_telegram_id=USERS.coordinator,
        route_id=route.id,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        capacity=1,
        now=START,
    )
    t = default_translator()
    results = await asyncio.gather(
        patrols.sign_up(uow_factory(), t, USERS.patrol, shift.id, START),
        patrols.sign_up(uow_factory(), t, USERS.neighbour, shift.id, START),
    )
    assert sorted(r.status for r in results) == ["booked", "waiting"]
    async with uow_factory() as uow:
        booked = await uow.session.scalar(
            select(func.count(ShiftSignup.id)).where(
                ShiftSignup.shift_id == shift.id, ShiftSignup.status == "booked"
            )
        )
    assert booked == 1


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["小区", "标题", "开始", "结束", "地点", "人数", "对象", "类型", "重复"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


async def test_import_events_is_all_or_nothing(uow_factory: UnitOfWorkFactory, tmp_path: Path) -> None:
    from bot.cli_commands.events import read_rows

    t = default_translator()
    bad = _workbook(
        tmp_path / "bad.xlsx",
        [
            [
                COMPOUND,
                "主题党日",
                "2026-12-01 09:00",
                "2026-12-01 11:00",
                "党群服务中心",
                40,
                "党员",
                "主题党日",
                "每月1号",
            ],
            [COMPOUND, "义诊", "2026-13-45 09:00", "2026-12-02 11:00", "活动室", 20, "所有人", "义诊", ""],
            [COMPOUND, "义剪", "2026-12-03 11:00", "2026-12-03 09:00", "活动室", 20, "所有人", "义剪", ""],
            [COMPOUND, "讲座", "2026-10-01 09:00", "2026-10-01 10:00", "活动室", 0, "业主群", "讲座", ""],
        ],
    )
    report = await events.import_events(uow_factory(), t, read_rows(bad), START)
    assert not report.ok and [n for n, _ in report.problems] == [3, 4, 5]
    assert "bad date" in report.problems[0][1] and "end" in report.problems[1][1].lower()
    async with uow_factory() as uow:
        assert await uow.session.scalar(select(func.count(CommunityEvent.id))) == 0
    good = _workbook(
        tmp_path / "good.xlsx",
        [
            [
                COMPOUND,
                "主题党日",
                datetime(2026, 12, 1, 9, 0),
                datetime(2026, 12, 1, 11, 0),
                "党群服务中心",
                40,
                "党员",
                "主题党日",
                "每月1号",
            ],
        ],
    )
    report = await events.import_events(uow_factory(), t, read_rows(good), START)
    assert report.ok and report.created == 1
    async with uow_factory() as uow:
        made = list(await uow.session.scalars(select(CommunityEvent).order_by(CommunityEvent.starts_at)))
    assert len(made) == 3 and made[0].starts_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert made[0].event_type == "party_day" and made[0].audience == "party" and made[0].posted


async def test_export_shifts_writes_a_workbook(
    uow_factory: UnitOfWorkFactory, database_url: str, tmp_path: Path
) -> None:
    from bot.cli_commands.patrols import cmd_export_shifts

    route = await _route(uow_factory)
    start = datetime.now(UTC) + timedelta(days=1)
    shift = await patrols.create_shift(
        uow_factory(),
        actor_telegram_id=USERS.coordinator,
        route_id=route.id,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        capacity=2,
        now=datetime.now(UTC),
    )
    await patrols.sign_up(uow_factory(), default_translator(), USERS.patrol, shift.id, datetime.now(UTC))
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    out = tmp_path / "shifts.xlsx"
    args = argparse.Namespace(out=out, days_back=1, days_ahead=3)
    assert await asyncio.to_thread(cmd_export_shifts, args, settings) == 0
    book = load_workbook(out)
    shifts = list(book.worksheets[0].iter_rows(values_only=True))
    assert shifts[1][1] == "西区" and shifts[1][5] == "孙队长" and shifts[1][6] == "已报名"
    codes = list(book.worksheets[1].iter_rows(values_only=True))
    assert codes[1][0] == "西区" and "start=cp_" in str(codes[1][2])


async def test_compound_rules_change_the_weekly_maximum(uow_factory: UnitOfWorkFactory) -> None:
    from bot.services.errors import UserFacingError

    route = await _route(uow_factory)
    rules = await patrols.update_rules(
        uow_factory(), await _compound(uow_factory), weekly_max=1, quiet_end="06:30"
    )
    assert rules.weekly_max == 1 and rules.quiet_end == "06:30"
    t = default_translator()
    ids = []
    for day in (1, 2):
        start = START + timedelta(days=day)
        view = await patrols.create_shift(
            uow_factory(),
            actor_telegram_id=USERS.coordinator,
            route_id=route.id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            capacity=3,
            now=START,
        )
        ids.append(view.id)
    await patrols.sign_up(uow_factory(), t, USERS.patrol, ids[0], START)
    try:
        await patrols.sign_up(uow_factory(), t, USERS.patrol, ids[1], START)
    except UserFacingError as error:
        assert error.key == "patrols.weekly_max" and error.values == {"limit": 1}
    else:
        raise AssertionError("the weekly maximum was not enforced")


def test_cli_import_refuses_a_file_with_bad_dates(database_url: str, tmp_path: Path, capsys: object) -> None:
    from bot.cli_commands.events import cmd_import_events

    bad = _workbook(
        tmp_path / "bad.xlsx",
        [[COMPOUND, "义诊", "明天上午", "2026-12-02 11:00", "活动室", 20, "", "义诊", ""]],
    )
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    assert cmd_import_events(argparse.Namespace(file=bad), settings) == 1
    not_a_workbook = tmp_path / "notes.xlsx"
    not_a_workbook.write_text("hello")
    assert cmd_import_events(argparse.Namespace(file=not_a_workbook), settings) == 1
